// Delivery to subscribers (lambda-behaviour.md §3.2, §3.3): failing subscribers never hold invokes up, a
// subscriber that falls behind loses data with platform.logsDropped, delivery pauses while the sandbox is
// frozen, and what is buffered goes out before SHUTDOWN.

import Foundation
import LambdaSim
import Testing

@Suite("Telemetry API: delivery", .serialized)
struct TelemetryDeliveryTests {
    /// With a subscriber that never answers, one whose port has nothing listening and one that stalls for 1.5 s
    /// during a 5,000-line invoke, every invoke succeeds quickly; a healthy subscriber still gets every line and
    /// every start/runtimeDone/report; the stalled one (queue capped at 2 × maxItems) gets platform.logsDropped
    /// with Lambda's reason, and what it got plus what was dropped covers what the healthy one got.
    @Test(.timeLimit(.minutes(1)))
    func failingSubscribersDoNotHoldInvokes() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addTelemetry(
            "tel-healthy", [("TEL_BUFFERING", #"{"maxItems":10000,"maxBytes":1048576,"timeoutMs":25}"#)])
        try folder.addTelemetry("tel-stuck", [("TEL_LISTENER", "stuck"), ("TEL_LINGER_MS", "0")])
        try folder.addTelemetry("tel-closed", [("TEL_LISTENER", "closed"), ("TEL_LINGER_MS", "0")])
        try folder.addTelemetry(
            "tel-slow",
            [
                ("TEL_TYPES", "platform,function"), ("TEL_STALL_MS", "1500"),
                ("TEL_BUFFERING", #"{"maxItems":1000,"maxBytes":262144,"timeoutMs":25}"#),
            ])
        let function = TestFunctions.telemetryPython("telemetry_handlers.flood", extensions: folder)
        var ids: [String] = []

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            let flood = try await sim.invoke("tel-py", payload: #"{"n":5000}"#)
            #expect(flood.status == 200 && text(flood) == "5000", "\(text(flood))")
            ids.append(try #require(flood.headers["x-amzn-RequestId"]))
            for _ in 0..<10 {
                let started = ContinuousClock.now
                let response = try await sim.invoke("tel-py", payload: #"{"n":1}"#)
                let elapsed = ContinuousClock.now - started
                #expect(response.status == 200 && text(response) == "1", "\(text(response))")
                #expect(elapsed < .seconds(1), "a warm invoke took \(elapsed)")
                ids.append(try #require(response.headers["x-amzn-RequestId"]))
            }
            _ = try #require(await sim.logs.report(for: ids.last ?? ""))
        }

        let healthy = try folder.receivedEvents(of: "tel-healthy")
        let healthyExit = try folder.telemetryRecords(of: "tel-healthy", kind: "exiting")
        #expect(healthyExit.map { $0.fields["complete"] as? Bool } == [true])
        // The handler's lines (awslambdaric may print more when it is stopped).
        let lines = healthy.compactMap(\.line).filter { $0.hasPrefix("flood ") }
        #expect(Array(lines.prefix(5000)) == (0..<5000).map { "flood \($0)" }, "healthy lost lines: \(lines.count)")
        #expect(lines.count == 5010)
        for type in ["platform.start", "platform.runtimeDone", "platform.report"] {
            #expect(healthy.filter { $0.type == type }.compactMap(\.requestID) == ids, "\(type)")
        }
        #expect(!healthy.contains { $0.type == "platform.logsDropped" })

        #expect(!(try folder.telemetryRecords(of: "tel-stuck", kind: "stuck-request")).isEmpty, "never posted to")
        #expect(try folder.telemetryRecords(of: "tel-stuck", kind: "batch").isEmpty)
        #expect(try folder.telemetryRecords(of: "tel-closed", kind: "batch").isEmpty)
        for ext in ["tel-stuck", "tel-closed"] {
            let subscribe = try folder.telemetryRecords(of: ext, kind: "subscribe")
            #expect(subscribe.map { $0.fields["status"] as? Int } == [200], "\(ext)")
        }

        let slow = try folder.receivedEvents(of: "tel-slow")
        let drops = slow.filter { $0.type == "platform.logsDropped" }
        #expect(!drops.isEmpty, "no platform.logsDropped: \(slow.count) events")
        var dropped = 0
        for drop in drops {
            #expect(
                drop.record["reason"] as? String
                    == "Consumer seems to have fallen behind as it has not acknowledged receipt of logs.")
            #expect(isJSONInteger(drop.record["droppedRecords"]) && isJSONInteger(drop.record["droppedBytes"]))
            #expect((drop.record["droppedBytes"] as? Int ?? 0) > 0)
            dropped += drop.record["droppedRecords"] as? Int ?? 0
        }
        // Every platform event and handler line was delivered or counted as dropped (the count may also cover
        // lines the runtime printed while it was stopped).
        func counted(_ event: ReceivedEvent) -> Bool {
            (event.type.hasPrefix("platform.") && event.type != "platform.logsDropped")
                || event.line?.hasPrefix("flood ") == true
        }
        let delivered = slow.filter(counted).count
        let wanted = healthy.filter(counted).count
        #expect(delivered < wanted && delivered + dropped >= wanted, "delivered \(delivered), dropped \(dropped)")
    }

    /// A listener outside the sandbox (never frozen) sees no batch while the sandbox is frozen: an invoke's
    /// report, queued as the sandbox froze, arrives only once the next invoke thaws it; with freeze `none` the
    /// same report arrives on its own.
    @Test(.timeLimit(.minutes(1)))
    func deliveryPausesWhileFrozen() async throws {
        let frozenListener = try await NDJSONListener()
        let thawedListener = try await NDJSONListener()
        let frozenFolder = try ExtensionFolder()
        defer { frozenFolder.remove() }
        let thawedFolder = try ExtensionFolder()
        defer { thawedFolder.remove() }
        for (folder, listener) in [(frozenFolder, frozenListener), (thawedFolder, thawedListener)] {
            try folder.addTelemetry(
                "tel-outside",
                [
                    ("TEL_LISTENER", "external"), ("TEL_PORT", "\(listener.port)"), ("TEL_LINGER_MS", "0"),
                    ("TEL_BUFFERING", #"{"timeoutMs":100}"#),
                ])
        }
        var frozen = TestFunctions.fixture(extensions: frozenFolder, name: "tel-frozen")
        frozen.freezeMode = .signal
        var thawed = TestFunctions.fixture(extensions: thawedFolder, name: "tel-thawed")
        thawed.freezeMode = .none
        func reportArrival(_ listener: NDJSONListener, _ id: String) throws -> Int64? {
            try listener.events().first { $0.event.type == "platform.report" && $0.event.requestID == id }?.arrivedAt
        }

        do {
            try await withExtensionSimulator([frozen, thawed], folders: [frozenFolder, thawedFolder]) { sim in
                let control = try await sim.invoke("tel-thawed", payload: #"{"print":"a"}"#)
                let controlID = try #require(control.headers["x-amzn-RequestId"])
                let arrived = try await pollUntil(timeout: .seconds(5)) {
                    try reportArrival(thawedListener, controlID) != nil
                }
                #expect(arrived, "freeze none: the report never arrived")

                let first = try await sim.invoke("tel-frozen", payload: #"{"print":"b"}"#)
                let firstID = try #require(first.headers["x-amzn-RequestId"])
                _ = try #require(await sim.logs.report(for: firstID))
                let isFrozen = try await pollUntil {
                    try await sim.simulator.sandboxes().first { $0.function == "tel-frozen" }?.frozen == true
                }
                #expect(isFrozen)
                try await Task.sleep(for: .milliseconds(600))
                #expect(try reportArrival(frozenListener, firstID) == nil, "a batch arrived while frozen")
                #expect(try await sim.simulator.sandboxes().first { $0.function == "tel-frozen" }?.frozen == true)

                let thawedAt = epochMilliseconds()
                let second = try await sim.invoke("tel-frozen", payload: #"{"print":"c"}"#)
                #expect(second.status == 200)
                let delivered = try await pollUntil(timeout: .seconds(5)) {
                    try reportArrival(frozenListener, firstID) != nil
                }
                #expect(delivered, "the report never arrived after the thaw")
                let at = try reportArrival(frozenListener, firstID) ?? 0
                #expect(at >= thawedAt, "report arrived at \(at), before the thaw at \(thawedAt)")
            }
        } catch {
            await frozenListener.close()
            await thawedListener.close()
            throw error
        }
        await frozenListener.close()
        await thawedListener.close()
    }

    /// A subscriber whose batches may wait 30 s (timeoutMs 30000, the maximum) still gets everything buffered
    /// when the sandbox stops, before it must exit: telemetry is flushed before SHUTDOWN (README "flushed when it
    /// stops"; TelemetryHub.flush "call it, thawed, before SHUTDOWN").
    @Test(.timeLimit(.minutes(1)))
    func bufferedEventsAreFlushedBeforeShutdown() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addTelemetry("tel-lazy", [("TEL_BUFFERING", #"{"timeoutMs":30000}"#)])
        let function = TestFunctions.fixture(extensions: folder, name: "tel-fx")
        var requestID = ""

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            let response = try await sim.invoke("tel-fx", payload: #"{"print":"buffered"}"#)
            #expect(response.status == 200)
            requestID = try #require(response.headers["x-amzn-RequestId"])
            _ = try #require(await sim.logs.report(for: requestID))
        }

        let events = try folder.receivedEvents(of: "tel-lazy")
        let exits = try folder.telemetryRecords(of: "tel-lazy", kind: "exiting")
        #expect(exits.map { $0.fields["complete"] as? Bool } == [true], "nothing flushed: \(events.map(\.type))")
        #expect(events.contains { $0.type == "platform.report" && $0.requestID == requestID })
        #expect(events.first?.type == "platform.initStart")
    }
}
