import SimCore
import Testing

@testable import SimTelemetry

/// A machine with small limits (3 items, 400 bytes, 50 ms; queue cap 6 items / 800 bytes; 4 tries).
private func makeBuffer(
    maxItems: Int = 3, maxBytes: Int = 400, timeoutMs: Int = 50, maxAttempts: Int = 4
) -> (SubscriberBuffer, ManualClock) {
    let clock = ManualClock()
    let policy = SubscriberBuffer.Policy(
        initialBackoffMilliseconds: 100, maxBackoffMilliseconds: 300, maxAttempts: maxAttempts, queueFactor: 2)
    let buffer = SubscriberBuffer(
        configuration: BufferingConfiguration(maxItems: maxItems, maxBytes: maxBytes, timeoutMs: timeoutMs),
        policy: policy, clock: clock)
    return (buffer, clock)
}

/// A 10-byte event `"<n>…"` recognisable in batches.
private func event(_ n: Int, size: Int = 10) -> [UInt8] {
    let label = Array("e\(n)".utf8)
    return label + [UInt8](repeating: UInt8(ascii: "."), count: max(0, size - label.count))
}

/// The batch of the first `.send` in `actions`.
private func sent(_ actions: [SubscriberBuffer.Action]) -> SubscriberBuffer.Batch? {
    for case .send(let batch) in actions { return batch }
    return nil
}

/// Labels of a batch's events (`e1`, …, or `dropped(records,bytes)` for a notice).
private func labels(_ batch: SubscriberBuffer.Batch?) -> [String] {
    (batch?.events ?? []).map { bytes in
        if let json = try? JSON.parse(bytes), json["type"] == .string("platform.logsDropped"),
            case .number(let records)? = json["record"]?["droppedRecords"],
            case .number(let dropped)? = json["record"]?["droppedBytes"]
        {
            return "dropped(\(records),\(dropped))"
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: ".").first.map(String.init) ?? ""
    }
}

/// The pure buffer: every trigger, the cap and drop accounting, retries, pause and flush.
@Suite struct SubscriberBufferTests {
    /// A lone event is sent `timeoutMs` after it arrived, not before.
    @Test func timeoutTrigger() {
        var (buffer, clock) = makeBuffer()
        #expect(buffer.append(event(1)) == [.armTimer(atMilliseconds: 1050)])
        clock.advance(milliseconds: 20)
        #expect(buffer.append(event(2)).isEmpty)
        clock.advance(milliseconds: 29)
        #expect(buffer.tick() == [.armTimer(atMilliseconds: 1050)])
        clock.advance(milliseconds: 1)
        let actions = buffer.tick()
        #expect(labels(sent(actions)) == ["e1", "e2"])
        #expect(actions.count == 1)
        #expect(buffer.deliverySucceeded(sent(actions)!.id).isEmpty)
        #expect(buffer.statistics.deliveredBatches == 1 && buffer.statistics.deliveredEvents == 2)
    }

    /// Reaching `maxItems` sends at once and disarms the timer.
    @Test func maxItemsTrigger() {
        var (buffer, _) = makeBuffer()
        _ = buffer.append(event(1))
        #expect(buffer.append(event(2)).isEmpty)
        let actions = buffer.append(event(3))
        #expect(labels(sent(actions)) == ["e1", "e2", "e3"])
        #expect(actions.last == .cancelTimer)
    }

    /// Reaching `maxBytes` sends what fits; the rest waits for its own trigger.
    @Test func maxBytesTrigger() {
        var (buffer, clock) = makeBuffer(maxItems: 10, maxBytes: 100)
        _ = buffer.append(event(1, size: 40))
        _ = buffer.append(event(2, size: 40))
        clock.advance(milliseconds: 10)
        let actions = buffer.append(event(3, size: 40))
        let batch = sent(actions)
        #expect(labels(batch) == ["e1", "e2"])
        #expect(batch?.byteCount == 80 && buffer.queuedEvents == 1 && buffer.queuedBytes == 40)
        #expect(buffer.deliverySucceeded(batch!.id) == [.armTimer(atMilliseconds: 1060)])
    }

    /// An event larger than `maxBytes` goes out alone.
    @Test func oversizedEventAlone() {
        var (buffer, _) = makeBuffer(maxItems: 10, maxBytes: 100)
        _ = buffer.append(event(1, size: 30))
        let actions = buffer.append(event(2, size: 150))
        #expect(labels(sent(actions)) == ["e1"])
        let next = buffer.deliverySucceeded(sent(actions)!.id)
        #expect(labels(sent(next)) == ["e2"])
    }

    /// Only one batch is out; a full queue waits and goes as soon as the first is acknowledged.
    @Test func oneBatchInFlight() {
        var (buffer, clock) = makeBuffer()
        let first = sent((1...3).flatMap { buffer.append(event($0)) })
        #expect(first != nil)
        for n in 4...6 { #expect(sent(buffer.append(event(n))) == nil) }
        clock.advance(milliseconds: 500)
        #expect(sent(buffer.tick()) == nil)
        let second = sent(buffer.deliverySucceeded(first!.id))
        #expect(labels(second) == ["e4", "e5", "e6"])
        #expect(buffer.hasBatchOutstanding)
    }

    /// Beyond the queue cap events are dropped and counted; a `platform.logsDropped` at the point of the
    /// gap reports them once delivery reaches it.
    @Test func capDropsAndReports() {
        var (buffer, clock) = makeBuffer()
        let first = sent((1...3).flatMap { buffer.append(event($0)) })!
        for n in 4...9 { _ = buffer.append(event(n)) }
        #expect(buffer.queuedEvents == 6 && buffer.queuedBytes == 60)
        _ = buffer.append(event(10))
        _ = buffer.append(event(11, size: 15))
        #expect(buffer.queuedEvents == 6)
        #expect(buffer.pendingDrops == (2, 25))
        #expect(buffer.statistics.droppedRecords == 2 && buffer.statistics.droppedBytes == 25)
        let second = sent(buffer.deliverySucceeded(first.id))!
        _ = buffer.append(event(12))
        let third = sent(buffer.deliverySucceeded(second.id))!
        #expect(labels(third) == ["e7", "e8", "e9"])
        #expect(buffer.deliverySucceeded(third.id) == [.armTimer(atMilliseconds: 1050)])
        clock.advance(milliseconds: 50)
        let fourth = sent(buffer.tick())!
        #expect(labels(fourth) == ["dropped(2,25)", "e12"])
        #expect(fourth.records == 1 && fourth.carriedRecords == 2)
        _ = buffer.deliverySucceeded(fourth.id)
        #expect(buffer.statistics.dropNoticesDelivered == 1 && buffer.pendingDrops == (0, 0))
        #expect(buffer.statistics.deliveredEvents == 11)
    }

    /// The byte cap counts too: an event that would pass `2 × maxBytes` queued is dropped.
    @Test func byteCap() {
        var (buffer, _) = makeBuffer(maxItems: 100, maxBytes: 100)
        _ = buffer.append(event(1, size: 100))
        _ = buffer.append(event(2, size: 90))
        _ = buffer.append(event(3, size: 90))
        _ = buffer.append(event(4, size: 30))
        #expect(buffer.queuedBytes == 180 && buffer.statistics.droppedRecords == 1)
        #expect(buffer.statistics.droppedBytes == 30)
    }

    /// Failures retry with doubling backoff (100, 200, 300 capped); after the last try the batch is
    /// dropped, counted and reported ahead of what was queued behind it.
    @Test func retryBackoffThenDrop() {
        var (buffer, clock) = makeBuffer()
        var batch = sent((1...3).flatMap { buffer.append(event($0)) })!
        _ = buffer.append(event(4))
        for (attempt, wait) in [(1, 100), (2, 200), (3, 300)] {
            #expect(batch.attempt == attempt)
            #expect(buffer.deliveryFailed(batch.id) == [.armTimer(atMilliseconds: clock.milliseconds + UInt64(wait))])
            clock.advance(milliseconds: UInt64(wait) - 1)
            #expect(sent(buffer.tick()) == nil)
            clock.advance(milliseconds: 1)
            batch = sent(buffer.tick())!
            #expect(labels(batch) == ["e1", "e2", "e3"])
        }
        #expect(batch.attempt == 4)
        let afterDrop = buffer.deliveryFailed(batch.id)
        #expect(labels(sent(afterDrop)) == ["dropped(3,30)", "e4"])
        #expect(buffer.statistics.droppedBatches == 1 && buffer.statistics.droppedRecords == 3)
        #expect(buffer.statistics.failedSends == 4)
        #expect(
            SubscriberBuffer.Policy(initialBackoffMilliseconds: 100, maxBackoffMilliseconds: 5000)
                .backoff(afterAttempt: 7) == 5000)
    }

    /// A dropped batch that carried a drop notice counts those drops again in the next notice.
    @Test func droppedNoticeIsCarriedForward() {
        var (buffer, clock) = makeBuffer(maxAttempts: 1)
        let first = sent((1...3).flatMap { buffer.append(event($0)) })!
        let second = sent(buffer.deliveryFailed(first.id))
        #expect(second == nil)
        clock.advance(milliseconds: 50)
        let notice = sent(buffer.tick())!
        #expect(labels(notice) == ["dropped(3,30)"])
        _ = buffer.append(event(4))
        _ = buffer.deliveryFailed(notice.id)
        #expect(buffer.pendingDrops == (3, 30))
        #expect(buffer.statistics.droppedRecords == 3)
        clock.advance(milliseconds: 50)
        #expect(labels(sent(buffer.tick())) == ["dropped(3,30)", "e4"])
    }

    /// While paused nothing is sent and no timer is armed; resuming sends what became due.
    @Test func pauseAndResume() {
        var (buffer, clock) = makeBuffer()
        _ = buffer.append(event(1))
        #expect(buffer.pause() == [.cancelTimer])
        for n in 2...5 { #expect(buffer.append(event(n)).isEmpty) }
        clock.advance(milliseconds: 1000)
        #expect(buffer.tick().isEmpty)
        let actions = buffer.resume()
        #expect(labels(sent(actions)) == ["e1", "e2", "e3"])
    }

    /// A batch acknowledged while paused does not start the next one until resumed.
    @Test func acknowledgementWhilePaused() {
        var (buffer, _) = makeBuffer()
        let first = sent((1...3).flatMap { buffer.append(event($0)) })!
        _ = buffer.append(event(4))
        _ = buffer.pause()
        #expect(buffer.deliverySucceeded(first.id).isEmpty)
        #expect(labels(sent(buffer.resume())) == [])
        #expect(buffer.queuedEvents == 1)
    }

    /// A retry that fell due while paused goes out on resume.
    @Test func retryDueWhilePaused() {
        var (buffer, clock) = makeBuffer()
        let first = sent((1...3).flatMap { buffer.append(event($0)) })!
        _ = buffer.deliveryFailed(first.id)
        #expect(buffer.pause() == [.cancelTimer])
        clock.advance(milliseconds: 500)
        let retry = sent(buffer.resume())
        #expect(retry?.attempt == 2 && retry?.id == first.id)
    }

    /// Flushing an empty buffer finishes at once.
    @Test func flushEmpty() {
        var (buffer, _) = makeBuffer()
        #expect(buffer.flush(deadlineMilliseconds: 500) == [.flushFinished(drained: true)])
    }

    /// A flush sends batch after batch without waiting for triggers and reports when drained.
    @Test func flushDrains() {
        var (buffer, _) = makeBuffer(maxItems: 2)
        _ = buffer.append(event(1))
        let first = sent(buffer.append(event(2)))!
        _ = buffer.append(event(3))
        _ = buffer.append(event(4))
        _ = buffer.append(event(5))
        #expect(buffer.flush(deadlineMilliseconds: 500) == [.armTimer(atMilliseconds: 1500)])
        let second = sent(buffer.deliverySucceeded(first.id))!
        #expect(labels(second) == ["e3", "e4"])
        let third = sent(buffer.deliverySucceeded(second.id))!
        #expect(labels(third) == ["e5"])
        #expect(buffer.deliverySucceeded(third.id) == [.flushFinished(drained: true), .cancelTimer])
    }

    /// A flush whose subscriber never answers gives up at the deadline; sending resumes normally after.
    @Test func flushDeadline() {
        var (buffer, clock) = makeBuffer()
        _ = buffer.append(event(1))
        let flushActions = buffer.flush(deadlineMilliseconds: 200)
        let batch = sent(flushActions)!
        #expect(flushActions.last == .armTimer(atMilliseconds: 1200))
        clock.advance(milliseconds: 200)
        #expect(buffer.tick() == [.flushFinished(drained: false)])
        #expect(buffer.deliverySucceeded(batch.id).isEmpty)
    }

    /// A flush retries a batch waiting for its backoff at once.
    @Test func flushRetriesImmediately() {
        var (buffer, _) = makeBuffer()
        let first = sent((1...3).flatMap { buffer.append(event($0)) })!
        _ = buffer.deliveryFailed(first.id)
        let retry = sent(buffer.flush(deadlineMilliseconds: 1000))
        #expect(retry?.id == first.id && retry?.attempt == 2)
    }

    /// A flush while paused sends nothing and ends at its deadline.
    @Test func flushWhilePaused() {
        var (buffer, clock) = makeBuffer()
        _ = buffer.append(event(1))
        _ = buffer.pause()
        #expect(buffer.flush(deadlineMilliseconds: 100) == [.armTimer(atMilliseconds: 1100)])
        clock.advance(milliseconds: 100)
        #expect(buffer.tick() == [.flushFinished(drained: false)])
    }
}
