import SimCore
import SimDomain
import SimUV
import Testing

@testable import SimTelemetry

private let initStart = PlatformEvent.initStart(
    .init(
        phase: .initial, functionName: "f", functionVersion: "$LATEST", instanceID: "i",
        instanceMaxMemoryBytes: 134_217_728))
private let initReport = PlatformEvent.initReport(.init(phase: .initial, outcome: .success, durationMs: 12.5))

/// The hub's subscription rules, capture ring and Init replay.
@Suite(.timeLimit(.minutes(1)))
struct TelemetryHubTests {
    /// After Init, both APIs answer 403 with their own error type and message.
    @Test func closedSubscriptions() async throws {
        let fixture = try await HubFixture()
        let telemetry = try await fixture.subscribe(.telemetry, "a", httpBody(port: 1234), open: false)
        #expect(telemetry == .closed(.telemetry))
        let logs = try await fixture.subscribe(.logs, "a", httpBody(port: 1234, api: .logs), open: false)
        #expect(logs.status == 403)
        #expect(
            logs.bodyString
                == #"{"errorMessage":"Logs API subscription is closed","errorType":"Logs.SubscriptionClosed"}"#)
        try await fixture.stop()
    }

    /// An invalid body gets 400; an extension on one API cannot use the other; a repeat replaces.
    @Test func subscriptionRules() async throws {
        let fixture = try await HubFixture()
        try await fixture.run { $0.setFrozen(true) }
        let invalid = try await fixture.subscribe(.logs, "a", #"{"types":[]}"#)
        #expect(
            invalid.bodyString
                == #"{"errorMessage":"types should not be empty; destination is not provided","errorType":"Logs.ValidationError"}"#
        )
        #expect(try await fixture.subscribe(.telemetry, "a", httpBody(port: 1234)) == .ok)
        let other = try await fixture.subscribe(.logs, "a", httpBody(port: 1234, api: .logs))
        #expect(
            other.bodyString
                == #"{"errorMessage":"extension already subscribed to the Telemetry API","errorType":"Logs.ValidationError"}"#
        )
        #expect(try await fixture.subscribe(.telemetry, "a", httpBody(port: 4321, types: #"["function"]"#)) == .ok)
        #expect(try await fixture.subscribe(.logs, "b", httpBody(port: 1234, api: .logs)) == .ok)
        let statuses = try await fixture.run { $0.subscriberStatuses }
        #expect(statuses.map(\.api) == [.telemetry, .logs])
        #expect(statuses.map(\.types) == [[.function], [.platform, .function]])
        #expect(statuses.allSatisfy { $0.isPaused })
        let port = try await fixture.run { $0.subscription(ofExtension: "a")?.destination.port }
        #expect(port == 4321)
        try await fixture.stop()
    }

    /// A subscriber that subscribes during Init first receives what Init emitted so far, then its own
    /// subscription; after `platform.initReport` nothing is replayed.
    @Test func initEventsAreReplayed() async throws {
        let fixture = try await HubFixture()
        let early = try await HTTPListener.start(loop: fixture.loop)
        let late = try await HTTPListener.start(loop: fixture.loop)
        try await fixture.emit([initStart, .functionLog("init line"), .extensionLog(name: "ext", line: "ext line")])
        #expect(try await fixture.subscribe(.telemetry, "early", httpBody(port: early.port)) == .ok)
        try await fixture.emit([initReport])
        #expect(try await fixture.subscribe(.telemetry, "late", httpBody(port: late.port)) == .ok)
        #expect(await fixture.loop.wait { early.events.count >= 5 && late.events.count >= 1 })
        let earlyTypes = try await fixture.run { _ in early.types }
        #expect(
            earlyTypes == [
                "platform.initStart", "function", "platform.telemetrySubscription", "platform.initReport",
                "platform.telemetrySubscription",
            ])
        let lateTypes = try await fixture.run { _ in late.types }
        #expect(lateTypes == ["platform.telemetrySubscription"])
        try await fixture.stop(closing: [early.close, late.close])
    }

    /// The Init replay is bounded: beyond `replayCapacity` events nothing more is kept.
    @Test func replayIsBounded() async throws {
        let fixture = try await HubFixture(configuration: .init(replayCapacity: 3))
        try await fixture.run { $0.setFrozen(true) }
        try await fixture.emit([initStart] + lines("init", 0..<5))
        #expect(try await fixture.subscribe(.telemetry, "ext", httpBody(port: 1234)) == .ok)
        let queued = try await fixture.run { $0.subscriberStatuses[0].queuedEvents }
        #expect(queued == 4)
        try await fixture.stop()
    }

    /// Subscribers of every sandbox on a loop share one byte budget: with two stuck (frozen) subscribers in two
    /// hubs, what both queue stays within it, the rest is dropped and counted for `platform.logsDropped`, and
    /// closing the hubs gives every byte back.
    @Test func subscribersShareOneByteBudget() async throws {
        let limit = 40_000
        let fixture = try await HubFixture(configuration: .init(sharedQueueLimitBytes: limit))
        let other = try await fixture.loop.run {
            LoopBound(TelemetryHub(loop: fixture.loop, configuration: .init(sharedQueueLimitBytes: limit)))
        }
        try await fixture.run { hub in
            hub.setFrozen(true)
            other.value.setFrozen(true)
            for (index, each) in [hub, other.value].enumerated() {
                _ = each.subscribe(
                    api: .telemetry, extensionID: "ext\(index)", extensionName: "ext\(index)",
                    body: Array(httpBody(port: 1234).utf8), subscriptionOpen: true)
            }
            let line = String(repeating: "x", count: 1000)
            for _ in 0..<40 {
                hub.emit(.functionLog(line), at: 0)
                other.value.emit(.functionLog(line), at: 0)
            }
        }
        let statuses = try await fixture.run { hub in hub.subscriberStatuses + other.value.subscriberStatuses }
        let queued = statuses.map(\.queuedBytes).reduce(0, +)
        #expect(queued <= limit && queued > limit / 2)
        #expect(statuses.allSatisfy { $0.statistics.droppedRecords > 0 && $0.pendingDropRecords > 0 })
        let used = try await fixture.run { _ in TelemetryBudget.of(fixture.loop).usedBytes }
        #expect(used == queued)
        let released = try await fixture.run { hub in
            hub.close()
            other.value.close()
            return TelemetryBudget.of(fixture.loop).usedBytes
        }
        #expect(released == 0)
        try await fixture.stop()
    }
}
