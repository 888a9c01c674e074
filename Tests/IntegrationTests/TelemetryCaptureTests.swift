// Telemetry without subscribers (lambda-behaviour.md §3.4, §6.8): the JSON log format writes the platform's
// lines as platform.* records, and Simulator.telemetryEvents() reads every sandbox's events in-process.

import Foundation
import LambdaSim
import Testing

@Suite("Telemetry API: log format and in-process capture")
struct TelemetryCaptureTests {
    /// With the JSON format the runtime sees the function's `logLevel` as AWS_LAMBDA_LOG_LEVEL in Lambda's spelling
    /// (`.debug` is `DEBUG`), and Lambda's `INFO` when none is set.
    @Test(.timeLimit(.minutes(1)))
    func logLevelReachesTheRuntime() async throws {
        var debug = TestFunctions.fixture(name: "level-debug")
        debug.logFormat = .json
        debug.logLevel = .debug
        var unset = TestFunctions.fixture(name: "level-unset")
        unset.logFormat = .json
        try await withSimulator([debug, unset]) { sim in
            let payload = #"{"env":"AWS_LAMBDA_LOG_LEVEL"}"#
            let set = try await sim.invoke("level-debug", payload: payload)
            #expect(try stringObject(set.body) == ["AWS_LAMBDA_LOG_LEVEL": "DEBUG"])
            let defaulted = try await sim.invoke("level-unset", payload: payload)
            #expect(try stringObject(defaulted.body) == ["AWS_LAMBDA_LOG_LEVEL": "INFO"])
        }
    }

    /// With `logFormat: .json` the runtime sees AWS_LAMBDA_LOG_FORMAT=JSON and the platform's log lines are
    /// `{"time","type","record"}` records (initStart, initRuntimeDone, initReport, then start, runtimeDone, report
    /// per invoke) instead of INIT_START/START/END/REPORT text; a function line that is a JSON object stays as
    /// printed and is captured as an object record.
    @Test(.timeLimit(.minutes(1)))
    func jsonLogFormatWritesPlatformRecords() async throws {
        var function = TestFunctions.fixture(name: "tel-json")
        function.logFormat = .json
        let structured = #"{"level":"INFO","message":"structured"}"#
        var ids: [String] = []
        var captured: [TelemetryRecord] = []
        var lines: [Simulator.LogLine] = []

        try await withSimulator([function]) { sim in
            let env = try await sim.invoke("tel-json", payload: #"{"env":"AWS_LAMBDA_LOG_FORMAT"}"#)
            #expect(try stringObject(env.body) == ["AWS_LAMBDA_LOG_FORMAT": "JSON"])
            ids.append(try #require(env.headers["x-amzn-RequestId"]))
            let printed = try await sim.invoke(
                "tel-json", payload: #"{"print":"{\"level\":\"INFO\",\"message\":\"structured\"}"}"#)
            #expect(printed.status == 200)
            let last = try #require(printed.headers["x-amzn-RequestId"])
            ids.append(last)
            let report = await sim.logs.first {
                $0.isPlatform && $0.text.contains(#""type":"platform.report""#) && $0.text.contains(last)
            }
            _ = try #require(report, "no platform.report line")
            captured = try #require(try await sim.simulator.telemetryEvents().values.first)
            lines = sim.simulator.logLines()
        }

        let platform = lines.filter(\.isPlatform)
        var records: [ReceivedEvent] = []
        for line in platform {
            let object = try jsonObject(line.text)
            #expect(Set(object.keys) == ["time", "type", "record"], "\(line.text)")
            let event = ReceivedEvent(fields: object)
            #expect(isTelemetryTime(event.time))
            if let id = event.requestID { #expect(line.requestID == id, "\(line.text)") }
            records.append(event)
        }
        let invoke = ["platform.start", "platform.runtimeDone", "platform.report"]
        #expect(
            records.map(\.type) == ["platform.initStart", "platform.initRuntimeDone", "platform.initReport"] + invoke
                + invoke, "\(platform.map(\.text))")
        #expect(records.filter { $0.requestID != nil }.map(\.requestID) == ids.flatMap { [$0, $0, $0] })
        let report = try #require(records.first { $0.type == "platform.report" })
        #expect(report.status == "success")
        #expect(isJSONFloat(report.metrics["durationMs"]) && isJSONInteger(report.metrics["billedDurationMs"]))
        #expect(isJSONFloat(report.metrics["initDurationMs"]))

        #expect(lines.contains { !$0.isPlatform && $0.text == structured && $0.requestID == ids.last })
        let line = try #require(
            try captured.map { ReceivedEvent(fields: try jsonObject($0.json)) }.first { $0.type == "function" })
        #expect(line.record["level"] as? String == "INFO" && line.record["message"] as? String == "structured")
    }

    /// Without any subscriber, Simulator.telemetryEvents() holds the sandbox's events as `{"time","type","record"}`
    /// JSON: the init, then start, the function line, runtimeDone and report for each of two invokes, with integer
    /// and three-decimal numbers; only the cold invoke's report has initDurationMs.
    @Test(.timeLimit(.minutes(1)))
    func telemetryEventsWithoutSubscriber() async throws {
        let function = TestFunctions.fixture(name: "tel-capture")
        try await withSimulator([function]) { sim in
            var ids: [String] = []
            for word in ["first", "second"] {
                let response = try await sim.invoke("tel-capture", payload: #"{"print":"\#(word)"}"#)
                #expect(response.status == 200)
                let id = try #require(response.headers["x-amzn-RequestId"])
                ids.append(id)
                _ = try #require(await sim.logs.report(for: id))
            }
            let all = try await sim.simulator.telemetryEvents()
            let sandboxes = try await sim.simulator.sandboxes()
            #expect(Set(all.keys) == Set(sandboxes.map(\.id)) && all.count == 1)
            let records = try #require(all.values.first)
            let raw = records.map(\.json)
            for text in raw { #expect(text.hasPrefix(#"{"time":""#), "\(text)") }
            let events = try raw.map { ReceivedEvent(fields: try jsonObject($0)) }
            #expect(records.map(\.type.rawValue) == events.map(\.type) && records.map(\.time) == events.map(\.time))
            let invoke = ["platform.start", "function", "platform.runtimeDone", "platform.report"]
            #expect(
                events.map(\.type) == ["platform.initStart", "platform.initRuntimeDone", "platform.initReport"]
                    + invoke + invoke, "\(events.map(\.type))")
            #expect(events.filter { $0.type == "function" }.map(\.line) == ["first", "second"])
            #expect(events.filter { $0.type == "platform.start" }.map(\.requestID) == ids)
            let reports = events.filter { $0.type == "platform.report" }
            #expect(reports.map(\.requestID) == ids)
            #expect(reports.first?.metrics["initDurationMs"] != nil && reports.last?.metrics["initDurationMs"] == nil)
            #expect(events.allSatisfy { isTelemetryTime($0.time) })
            let reportText = try #require(raw.last)
            #expect(reportText.contains(/"billedDurationMs":\d+,/), "\(reportText)")
            #expect(reportText.contains(/"durationMs":\d+\.\d{1,3},/), "\(reportText)")
        }
    }
}
