import SimCore
import SimUV
import Testing

@testable import SimTelemetry

/// Fast retries, so failing subscribers show up within a test; a send deadline (1,025 ms for a 25 ms
/// batch timeout) long enough that a healthy listener on a busy debug build is never taken for a stuck one.
private let fastFailure = TelemetryHub.Configuration(
    policy: .init(initialBackoffMilliseconds: 10, maxBackoffMilliseconds: 40, maxAttempts: 3),
    sendTimeoutGraceMilliseconds: 1000)

/// Subscribers that fail, freeze and flush, over real sockets.
@Suite(.timeLimit(.minutes(1)))
struct FailureTests {
    /// One subscriber never answers, one is gone: both drop and count what they cannot deliver with a
    /// bounded queue; a healthy one receives everything; once the stuck one answers again, what it
    /// received plus the `platform.logsDropped` counts add up to everything emitted.
    @Test func failingSubscribersAreIsolatedAndAccounted() async throws {
        let fixture = try await HubFixture(configuration: fastFailure)
        let healthy = try await HTTPListener.start(loop: fixture.loop)
        let stuck = try await HTTPListener.start(loop: fixture.loop, mode: .hold)
        let gonePort = try await fixture.loop.run {
            let server = try TCPServer(loop: fixture.loop, host: "127.0.0.1", port: 0) { $0.close() }
            server.close()
            return server.port
        }
        #expect(try await fixture.subscribe(.telemetry, "healthy", httpBody(port: healthy.port, maxItems: 1000)) == .ok)
        #expect(
            try await fixture.subscribe(
                .telemetry, "stuck", httpBody(port: stuck.port, types: #"["function"]"#, maxItems: 1000)) == .ok)
        #expect(try await fixture.subscribe(.telemetry, "gone", httpBody(port: gonePort, maxItems: 1000)) == .ok)
        let rounds = 5
        for round in 0..<rounds {
            try await fixture.emit(lines("r\(round)", 0..<1000))
            #expect(await fixture.loop.wait { healthy.functionLines.count >= (round + 1) * 1000 })
            let statuses = try await fixture.run { $0.subscriberStatuses }
            #expect(statuses.allSatisfy { $0.queuedEvents <= 2000 })
        }
        #expect(await fixture.loop.wait { fixture.hub.subscriberStatuses[2].statistics.droppedBatches > 0 })
        let (stuckStats, goneStats) = try await fixture.run { ($0.subscriberStatuses[1], $0.subscriberStatuses[2]) }
        #expect(stuckStats.statistics.droppedRecords > 0 && stuckStats.statistics.deliveredBatches == 0)
        #expect(goneStats.statistics.droppedRecords > 0 && goneStats.queuedEvents <= 2000)
        let healthyLines = try await fixture.run { _ in healthy.functionLines }
        #expect(healthyLines == (0..<rounds).flatMap { round in (0..<1000).map { "r\(round) \($0)" } })

        try await fixture.run { _ in stuck.mode = .answer(200) }
        let total = rounds * 1000
        let settled = await fixture.loop.wait(upTo: 20_000) {
            let dropped = stuck.events.filter { $0["type"] == .string("platform.logsDropped") }
            let reported = dropped.reduce(0) { sum, event in
                guard case .number(let n)? = event["record"]?["droppedRecords"] else { return sum }
                return sum + (Int(n) ?? 0)
            }
            return stuck.functionLines.count + reported == total
        }
        #expect(settled)
        let (received, stats) = try await fixture.run { hub in (stuck.functionLines, hub.subscriberStatuses[1]) }
        #expect(received.count + stats.statistics.droppedRecords == total)
        #expect(stats.pendingDropRecords == 0 && stats.statistics.dropNoticesDelivered >= 1)
        #expect(Set(received).count == received.count)
        try await fixture.stop(closing: [healthy.close, stuck.close])
    }

    /// While frozen nothing is delivered; on thaw the buffered events arrive.
    @Test func frozenSandboxDeliversNothing() async throws {
        let fixture = try await HubFixture()
        let listener = try await HTTPListener.start(loop: fixture.loop)
        #expect(try await fixture.subscribe(.telemetry, "ext", httpBody(port: listener.port)) == .ok)
        #expect(await fixture.loop.wait { listener.events.count == 1 })
        try await fixture.run { $0.setFrozen(true) }
        try await fixture.emit(lines("frozen", 0..<10))
        // Absence can only be observed over time: eight times the batch timeout.
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await fixture.run { _ in listener.functionLines.count } == 0)
        #expect(try await fixture.run { $0.subscriberStatuses[0].queuedEvents } == 10)
        try await fixture.run { $0.setFrozen(false) }
        #expect(await fixture.loop.wait { listener.functionLines.count == 10 })
        try await fixture.stop(closing: [listener.close])
    }

    /// A flush sends at once what a 30 s batch timeout would hold and reports drained; a flush toward a
    /// subscriber that never answers reports not drained at its deadline.
    @Test func flushDeliversNowOrGivesUpAtDeadline() async throws {
        let fixture = try await HubFixture()
        let listener = try await HTTPListener.start(loop: fixture.loop)
        #expect(try await fixture.subscribe(.telemetry, "ext", httpBody(port: listener.port, timeoutMs: 30_000)) == .ok)
        try await fixture.emit(lines("x", 0..<10))
        let result = LoopResult()
        try await fixture.run { hub in
            hub.flush(deadlineMilliseconds: 5000) { drained in result.value = (drained, listener.functionLines.count) }
        }
        #expect(await fixture.loop.wait { result.value != nil })
        #expect(try await fixture.run { _ in result.value?.drained } == true)
        #expect(try await fixture.run { _ in result.value?.received } == 10)

        try await fixture.run { _ in listener.mode = .hold }
        try await fixture.emit(lines("y", 0..<3))
        let stuck = LoopResult()
        try await fixture.run { hub in
            hub.flush(deadlineMilliseconds: 300) { drained in stuck.value = (drained, 0) }
        }
        #expect(await fixture.loop.wait { stuck.value != nil })
        #expect(try await fixture.run { _ in stuck.value?.drained } == false)
        let empty = try await HubFixture()
        let immediate = try await empty.run { hub in
            var answer: Bool?
            hub.flush(deadlineMilliseconds: 10) { answer = $0 }
            return answer
        }
        #expect(immediate == true)
        try await empty.stop()
        try await fixture.stop(closing: [listener.close])
    }
}

/// A flush result written on the loop.
private final class LoopResult: @unchecked Sendable {
    var value: (drained: Bool, received: Int)?
}
