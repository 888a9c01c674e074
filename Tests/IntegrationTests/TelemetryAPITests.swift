// The Telemetry API as an extension sees it (lambda-behaviour.md §3.1–3.5): a real external extension
// (Fixtures/telemetry/telemetry_extension.py) subscribes during init with a listener of its own and records
// every batch; the tests read those records after stop().

import Foundation
import LambdaSim
import Testing

@Suite("Telemetry API: events delivered to an extension")
struct TelemetryAPITests {
    /// Over one awslambdaric invoke and stop(), an HTTP subscriber gets initStart (replayed from before it
    /// subscribed), its telemetrySubscription, initRuntimeDone, platform.extension, initReport, start, the handler's
    /// line, runtimeDone and report, in that order, with Lambda's fields, JSON types and `time` format, exactly as
    /// Simulator.telemetryEvents() captured them.
    @Test(.timeLimit(.minutes(1)))
    func httpSubscriberReceivesTheWholeLifecycle() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addTelemetry("tel-http")
        let function = TestFunctions.telemetryPython("telemetry_handlers.hello", memorySizeMB: 256, extensions: folder)
        var requestID = ""
        var logStream = ""
        var producedBytes = 0
        var captured: [TelemetryRecord] = []

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            let response = try await sim.invoke("tel-py", payload: #"{"a":1}"#)
            #expect(response.status == 200, "\(text(response))")
            requestID = try #require(response.headers["x-amzn-RequestId"])
            logStream = try #require(try jsonObject(response.body)["logStream"] as? String)
            producedBytes = response.body.count
            _ = try #require(await sim.logs.report(for: requestID))
            captured = try #require(try await sim.simulator.telemetryEvents().values.first)
        }

        let subscribe = try #require(try folder.telemetryRecords(of: "tel-http", kind: "subscribe").first)
        #expect(subscribe.fields["status"] as? Int == 200)
        #expect(subscribe.fields["body"] as? String == #""OK""#)
        #expect(subscribe.fields["contentType"] as? String == "application/json")
        let exiting = try folder.telemetryRecords(of: "tel-http", kind: "exiting")
        #expect(exiting.map { $0.fields["complete"] as? Bool } == [true], "the report never arrived")
        let batches = try folder.telemetryRecords(of: "tel-http", kind: "batch")
        for batch in batches {
            #expect(batch.fields["method"] as? String == "POST")
            #expect(batch.fields["path"] as? String == "/")
            #expect(batch.fields["contentType"] as? String == "application/json")
        }
        let first = try #require(batches.first?.fields["events"] as? [[String: Any]])
        #expect(first.first?["type"] as? String == "platform.initStart", "initStart was not replayed first")

        let events = try folder.receivedEvents(of: "tel-http")
        for event in events {
            #expect(isTelemetryTime(event.time), "\(event.fields)")
            #expect(Set(event.fields.keys) == ["time", "type", "record"], "\(event.fields)")
        }
        func index(_ type: String, where extra: (ReceivedEvent) -> Bool = { _ in true }) -> Int? {
            events.firstIndex { $0.type == type && extra($0) }
        }
        let order = [
            index("platform.initStart"), index("platform.telemetrySubscription"), index("platform.initRuntimeDone"),
            index("platform.extension"), index("platform.initReport"), index("platform.start"),
            index("function") { $0.line == "hello from the handler" }, index("platform.runtimeDone"),
            index("platform.report"),
        ]
        #expect(order.allSatisfy { $0 != nil }, "missing events: \(events.map(\.type))")
        let found = order.compactMap { $0 }
        #expect(found == found.sorted(), "out of order: \(events.map(\.type))")
        #expect(events.contains { $0.type == "extension" && $0.line == "telemetry extension tel-http starting" })

        try Self.checkInitEvents(events, logStream: logStream)
        try Self.checkInvokeEvents(events, requestID: requestID, producedBytes: producedBytes)

        // The subscriber got the very events the simulator captured, in the same order.
        let capturedEvents = try captured.map { try jsonObject($0.json) }
        #expect(events.count >= capturedEvents.count)
        for (received, expected) in zip(events, capturedEvents) {
            #expect(NSDictionary(dictionary: received.fields).isEqual(to: expected), "\(received.fields) ≠ \(expected)")
        }
    }

    /// Checks the records of the init events: on-demand, phase init, the function, memory in bytes.
    private static func checkInitEvents(_ events: [ReceivedEvent], logStream: String) throws {
        let initStart = try #require(events.first { $0.type == "platform.initStart" }).record
        #expect(initStart["initializationType"] as? String == "on-demand")
        #expect(initStart["phase"] as? String == "init")
        #expect(initStart["functionName"] as? String == "tel-py")
        #expect(initStart["functionVersion"] as? String == "$LATEST")
        #expect(initStart["instanceId"] as? String == logStream)
        #expect(isJSONInteger(initStart["instanceMaxMemory"]))
        #expect(initStart["instanceMaxMemory"] as? Int == 256 * 1_048_576)
        if let version = initStart["runtimeVersion"] { #expect(version is String) }

        let subscription = try #require(events.first { $0.type == "platform.telemetrySubscription" }).record
        #expect(subscription["name"] as? String == "tel-http")
        #expect(subscription["state"] as? String == "Subscribed")
        #expect(subscription["types"] as? [String] == ["platform", "function", "extension"])

        let runtimeDone = try #require(events.first { $0.type == "platform.initRuntimeDone" }).record
        #expect(runtimeDone["initializationType"] as? String == "on-demand")
        #expect(runtimeDone["phase"] as? String == "init")
        #expect(runtimeDone["status"] as? String == "success")
        #expect(runtimeDone["errorType"] == nil)

        let ext = try #require(events.first { $0.type == "platform.extension" }).record
        #expect(ext["name"] as? String == "tel-http")
        #expect(ext["state"] as? String == "Ready")
        #expect(ext["events"] as? [String] == ["INVOKE", "SHUTDOWN"])

        let report = try #require(events.first { $0.type == "platform.initReport" })
        #expect(report.record["initializationType"] as? String == "on-demand")
        #expect(report.record["phase"] as? String == "init")
        #expect(report.status == "success")
        #expect(isJSONFloat(report.metrics["durationMs"]))
        #expect((report.metrics["durationMs"] as? Double ?? 0) > 0)
    }

    /// Checks start, runtimeDone (metrics and the three spans) and report (integer and float metrics).
    private static func checkInvokeEvents(_ events: [ReceivedEvent], requestID: String, producedBytes: Int) throws {
        let start = try #require(events.first { $0.type == "platform.start" })
        #expect(start.requestID == requestID)
        #expect(start.record["version"] as? String == "$LATEST")
        if let tracing = start.record["tracing"] as? [String: Any] {
            #expect(tracing["type"] as? String == "X-Amzn-Trace-Id")
        }

        let runtimeDone = try #require(events.first { $0.type == "platform.runtimeDone" })
        #expect(runtimeDone.requestID == requestID)
        #expect(runtimeDone.status == "success")
        #expect(runtimeDone.errorType == nil)
        #expect(isJSONFloat(runtimeDone.metrics["durationMs"]))
        #expect(isJSONInteger(runtimeDone.metrics["producedBytes"]))
        #expect(runtimeDone.metrics["producedBytes"] as? Int == producedBytes)
        let spans = runtimeDone.record["spans"] as? [[String: Any]] ?? []
        #expect(spans.map { $0["name"] as? String } == ["responseLatency", "responseDuration", "runtimeOverhead"])
        for span in spans {
            #expect(isTelemetryTime(span["start"] as? String ?? ""), "\(span)")
            #expect(isJSONFloat(span["durationMs"]), "\(span)")
        }

        let report = try #require(events.first { $0.type == "platform.report" })
        #expect(report.requestID == requestID)
        #expect(report.status == "success")
        let metrics = report.metrics
        #expect(isJSONFloat(metrics["durationMs"]))
        #expect(isJSONFloat(metrics["initDurationMs"]))
        for key in ["billedDurationMs", "memorySizeMB", "maxMemoryUsedMB"] {
            #expect(isJSONInteger(metrics[key]), "\(key): \(metrics)")
        }
        #expect(metrics["memorySizeMB"] as? Int == 256)
        #expect((metrics["maxMemoryUsedMB"] as? Int ?? 0) > 0)
        // Billed: the invoke plus the init, rounded up to the millisecond (§6.8); the records show 3 decimals.
        let total = (metrics["durationMs"] as? Double ?? 0) + (metrics["initDurationMs"] as? Double ?? 0)
        let billed = metrics["billedDurationMs"] as? Int ?? 0
        #expect(abs(billed - Int(total.rounded(.up))) <= 1, "\(metrics)")
    }

    /// A TCP subscriber (`{"protocol":"TCP","port":N}`) receives newline-delimited JSON: every line one event
    /// object, the same lifecycle as over HTTP.
    @Test(.timeLimit(.minutes(1)))
    func tcpSubscriberReceivesNDJSON() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addTelemetry("tel-tcp", [("TEL_LISTENER", "tcp")])
        let function = TestFunctions.fixture(extensions: folder, name: "tel-fx")
        var requestID = ""

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            let response = try await sim.invoke("tel-fx", payload: #"{"print":"over tcp"}"#)
            #expect(response.status == 200, "\(text(response))")
            requestID = try #require(response.headers["x-amzn-RequestId"])
            _ = try #require(await sim.logs.report(for: requestID))
        }

        let subscribe = try #require(try folder.telemetryRecords(of: "tel-tcp", kind: "subscribe").first)
        #expect(subscribe.fields["status"] as? Int == 200)
        let request = subscribe.fields["request"] as? [String: Any] ?? [:]
        let destination = request["destination"] as? [String: Any] ?? [:]
        #expect(destination["protocol"] as? String == "TCP")
        #expect(destination["port"] as? Int == subscribe.fields["port"] as? Int)

        let batches = try folder.telemetryRecords(of: "tel-tcp", kind: "batch")
        #expect(!batches.isEmpty)
        for batch in batches {
            #expect(batch.fields["protocol"] as? String == "TCP")
            for line in batch.fields["lines"] as? [String] ?? [] {
                let object = try jsonObject(line)
                #expect(Set(object.keys) == ["time", "type", "record"], "\(line)")
            }
        }
        for closed in try folder.telemetryRecords(of: "tel-tcp", kind: "tcp-closed") {
            #expect(closed.fields["partial"] as? String == "", "a line without its newline")
        }
        let events = try folder.receivedEvents(of: "tel-tcp")
        // Up to the report: the fixture may print more when its held /next fails at shutdown.
        let reportIndex = try #require(events.firstIndex { $0.type == "platform.report" })
        let types = events[...reportIndex].filter { $0.type != "extension" }.map(\.type)
        #expect(
            types == [
                "platform.initStart", "platform.telemetrySubscription", "platform.initRuntimeDone",
                "platform.extension", "platform.initReport", "platform.start", "function", "platform.runtimeDone",
                "platform.report",
            ], "\(types)")
        #expect(events.first { $0.type == "function" }?.line == "over tcp")
        #expect(
            events.filter { $0.type.hasPrefix("platform.") && $0.requestID != nil }.allSatisfy {
                $0.requestID == requestID
            })
    }

    /// With the fixture runtime and a 1 s timeout: a warm invoke brings no init events and no initDurationMs; a
    /// function error gives runtimeDone `error` with its errorType; a timeout gives runtimeDone and report
    /// `timeout` (report duration = the timeout); after the reset, a crash (`exit 3`) in a new environment gives
    /// runtimeDone and report `error` with `Runtime.ExitError`. Each generation's extension gets its own events.
    @Test(.timeLimit(.minutes(1)))
    func warmErrorTimeoutAndCrashSequences() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addTelemetry("tel-seq")
        let function = TestFunctions.fixture(extensions: folder, name: "tel-fx", timeoutSeconds: 1)
        let payloads = [
            "cold": #"{"print":"cold"}"#, "warm": #"{"print":"warm"}"#, "error": #"{"error":"Fixture.Boom"}"#,
            "timeout": #"{"sleepMs":3000}"#, "crash": #"{"exit":3}"#,
        ]
        var ids: [String: String] = [:]

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            for name in ["cold", "warm", "error", "timeout", "crash"] {
                let response = try await sim.invoke("tel-fx", payload: payloads[name]!)
                let id = try #require(response.headers["x-amzn-RequestId"])
                ids[name] = id
                _ = try #require(await sim.logs.report(for: id), "no REPORT for \(name)")
                let errorType = try? jsonObject(response.body)["errorType"] as? String
                switch name {
                case "error": #expect(errorType == "Fixture.Boom")
                case "timeout": #expect(errorType == "Sandbox.Timedout")
                case "crash": #expect(errorType == "Runtime.ExitError")
                default: #expect(response.status == 200 && !response.headers.contains("X-Amz-Function-Error"))
                }
            }
        }

        let generations = try folder.telemetryRecords(of: "tel-seq", kind: "start").map(\.pid)
        #expect(generations.count == 2, "one environment before the timeout's reset, one after")
        let exits = try folder.telemetryRecords(of: "tel-seq", kind: "exiting")
        #expect(exits.map { $0.fields["complete"] as? Bool } == [true, true])
        let first = try folder.receivedEvents(of: "tel-seq", pid: generations.first)
        let second = try folder.receivedEvents(of: "tel-seq", pid: generations.last)
        func events(_ list: [ReceivedEvent], _ name: String) -> [String: ReceivedEvent] {
            var byType: [String: ReceivedEvent] = [:]
            for event in list where event.requestID == ids[name] { byType[event.type] = event }
            return byType
        }

        #expect(first.filter { $0.type.hasPrefix("platform.init") }.count == 3, "one init: \(first.map(\.type))")
        #expect(first.filter { $0.type == "platform.start" }.count == 4)
        let cold = events(first, "cold")
        let warm = events(first, "warm")
        #expect(cold["platform.report"]?.metrics["initDurationMs"] != nil)
        #expect(warm["platform.report"] != nil && warm["platform.report"]?.metrics["initDurationMs"] == nil)
        #expect(cold["platform.runtimeDone"]?.status == "success" && warm["platform.runtimeDone"]?.status == "success")
        let warmStart = try #require(first.firstIndex { $0.type == "platform.start" && $0.requestID == ids["warm"] })
        #expect(first[warmStart...].allSatisfy { !$0.type.hasPrefix("platform.init") }, "init events after warm start")
        let lines = first.filter { $0.type == "function" }.compactMap(\.line)
        #expect(Array(lines.prefix(2)) == ["cold", "warm"], "\(lines)")

        let error = events(first, "error")
        #expect(error["platform.runtimeDone"]?.status == "error")
        #expect(error["platform.runtimeDone"]?.errorType == "Fixture.Boom")
        #expect(error["platform.report"] != nil)

        let timeout = events(first, "timeout")
        #expect(timeout["platform.runtimeDone"]?.status == "timeout")
        #expect(timeout["platform.report"]?.status == "timeout")
        #expect(timeout["platform.report"]?.metrics["durationMs"] as? Double == 1000)

        #expect(second.first?.type == "platform.initStart")
        #expect(second.first?.record["phase"] as? String == "init")
        #expect(second.contains { $0.type == "platform.telemetrySubscription" })
        let crash = events(second, "crash")
        #expect(crash["platform.start"] != nil)
        for type in ["platform.runtimeDone", "platform.report"] {
            #expect(crash[type]?.status == "error", "\(type): \(crash[type]?.record ?? [:])")
            #expect(crash[type]?.errorType == "Runtime.ExitError")
        }
        #expect(!second.contains { $0.requestID != nil && $0.requestID != ids["crash"] })
    }
}
