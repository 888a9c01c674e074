import DequeModule
import SimCore

/// One subscriber's queue and delivery pacing, as pure logic: events go in, batches come out.
///
/// A batch is due when the queue holds `maxItems` events or `maxBytes` bytes, or `timeoutMs` after its
/// oldest event arrived, or at once while flushing. Only one batch is out at a time; while it is, events
/// queue up to `policy.queueFactor ×` the batch limits and beyond that are dropped and counted. The count
/// travels in the queue as a marker at the point of the gap and goes out as `platform.logsDropped` when
/// delivery reaches it. A failed batch is retried with exponential backoff, then dropped (and counted the
/// same way). While paused (sandbox frozen) nothing is sent and no timer is armed. The caller performs
/// the actions: send a batch, arm or cancel its one timer (calling `tick` when it fires), report a flush.
package struct SubscriberBuffer {
    /// Retry and memory limits.
    package struct Policy: Equatable, Sendable {
        /// Wait before the first retry; doubles on each failure.
        package var initialBackoffMilliseconds: UInt64
        /// Longest wait between retries.
        package var maxBackoffMilliseconds: UInt64
        /// Tries per batch, the first included, before it is dropped.
        package var maxAttempts: Int
        /// The queue holds at most this many times `maxItems` events and `maxBytes` bytes.
        package var queueFactor: Int

        /// Defaults: 100 ms doubling to 5 s, 6 tries (about 3 s of backoff), a queue of 2 batches.
        package init(
            initialBackoffMilliseconds: UInt64 = 100, maxBackoffMilliseconds: UInt64 = 5000, maxAttempts: Int = 6,
            queueFactor: Int = 2
        ) {
            self.initialBackoffMilliseconds = max(1, initialBackoffMilliseconds)
            self.maxBackoffMilliseconds = max(self.initialBackoffMilliseconds, maxBackoffMilliseconds)
            self.maxAttempts = max(1, maxAttempts)
            self.queueFactor = max(1, queueFactor)
        }

        /// The wait after failed attempt number `attempt` (1-based).
        package func backoff(afterAttempt attempt: Int) -> UInt64 {
            let shift = UInt64(min(max(attempt - 1, 0), 32))
            return min(initialBackoffMilliseconds << shift, maxBackoffMilliseconds)
        }
    }

    /// Serialised events delivered together.
    package struct Batch: Equatable, Sendable {
        /// Identifies the batch in `deliverySucceeded` / `deliveryFailed`.
        package var id: UInt64
        /// Each event's compact JSON, in order.
        package var events: [[UInt8]]
        /// 1 for the first try.
        package var attempt: Int
        /// Events from the stream in this batch (`platform.logsDropped` notices excluded) and their bytes.
        package var records = 0
        package var recordBytes = 0
        /// Drops reported by the notices inside, counted again if this batch is dropped.
        package var carriedRecords = 0
        package var carriedBytes = 0

        package init(id: UInt64, events: [[UInt8]] = [], attempt: Int = 1) {
            self.id = id
            self.events = events
            self.attempt = attempt
        }

        /// Bytes of all events.
        package var byteCount: Int { events.reduce(0) { $0 + $1.count } }
    }

    /// What the caller must do.
    package enum Action: Equatable, Sendable {
        /// Deliver `batch`, then call `deliverySucceeded` or `deliveryFailed` with its id.
        case send(Batch)
        /// Arm the one timer (replacing any earlier) to call `tick` at this monotonic millisecond.
        case armTimer(atMilliseconds: UInt64)
        /// Disarm the timer.
        case cancelTimer
        /// The flush ended: everything was delivered (`drained`), or its deadline passed first.
        case flushFinished(drained: Bool)
    }

    /// Counters since creation.
    package struct Statistics: Equatable, Sendable {
        /// Events lost: dropped at the queue cap or in a batch that failed every try.
        package var droppedRecords = 0
        package var droppedBytes = 0
        /// Batches that failed every try.
        package var droppedBatches = 0
        package var deliveredBatches = 0
        /// Events delivered, `platform.logsDropped` notices included.
        package var deliveredEvents = 0
        /// Sends that failed (each try counts).
        package var failedSends = 0
        /// `platform.logsDropped` notices delivered.
        package var dropNoticesDelivered = 0
    }

    /// A queued item: an event, or the drops at this point of the stream.
    enum Entry: Equatable {
        case event(bytes: [UInt8], arrivedAt: UInt64)
        case dropped(records: Int, bytes: Int, since: UInt64)

        var arrivedAt: UInt64 {
            switch self {
            case .event(_, let arrivedAt), .dropped(_, _, let arrivedAt): return arrivedAt
            }
        }
    }

    /// The delivery side.
    enum State: Equatable {
        /// Nothing out.
        // idle ---- batch due (not paused) ----> sending
        case idle
        /// One batch out, waiting for its result.
        // sending ---- success ----> idle
        // sending ---- failure, tries left ----> backingOff
        // sending ---- failure, last try ----> idle (batch dropped and counted)
        case sending(Batch)
        /// A failed batch waits for its retry.
        // backingOff ---- retryAt reached or flush (not paused) ----> sending
        case backingOff(Batch, retryAt: UInt64)
    }

    package let configuration: BufferingConfiguration
    package let policy: Policy
    let clock: any SimClock
    var state = State.idle
    var queue = Deque<Entry>()
    /// Events (not drop markers) queued, and their bytes.
    package internal(set) var queuedEvents = 0
    package internal(set) var queuedBytes = 0
    package internal(set) var isPaused = false
    /// When the flush in progress gives up (monotonic ms).
    var flushDeadline: UInt64?
    var armedTimer: UInt64?
    var nextBatchID: UInt64 = 1
    package internal(set) var statistics = Statistics()

    package init(configuration: BufferingConfiguration, policy: Policy = .init(), clock: any SimClock) {
        self.configuration = configuration
        self.policy = policy
        self.clock = clock
    }

    /// Monotonic milliseconds now.
    var now: UInt64 { clock.monotonicNanoseconds / 1_000_000 }

    /// True while a batch is out or waiting for its retry.
    package var hasBatchOutstanding: Bool { state != .idle }

    /// Queues one serialised event, or drops and counts it when the queue is full or `overBudget` (the loop's
    /// shared `TelemetryBudget` has no room for it).
    package mutating func append(_ bytes: [UInt8], overBudget: Bool = false) -> [Action] {
        let now = now
        if overBudget || queuedEvents >= configuration.maxItems * policy.queueFactor
            || queuedBytes + bytes.count > configuration.maxBytes * policy.queueFactor
        {
            statistics.droppedRecords += 1
            statistics.droppedBytes += bytes.count
            recordDrop(records: 1, bytes: bytes.count, now: now, atFront: false)
        } else {
            queue.append(.event(bytes: bytes, arrivedAt: now))
            queuedEvents += 1
            queuedBytes += bytes.count
        }
        return step(now)
    }

    /// The batch `id` was delivered.
    package mutating func deliverySucceeded(_ id: UInt64) -> [Action] {
        guard case .sending(let batch) = state, batch.id == id else {
            preconditionFailure("delivery of batch \(id) succeeded in state \(state)")
        }
        statistics.deliveredBatches += 1
        statistics.deliveredEvents += batch.events.count
        if batch.carriedRecords > 0 || batch.carriedBytes > 0 { statistics.dropNoticesDelivered += 1 }
        state = .idle
        return step(now)
    }

    /// The batch `id` could not be delivered: retry it later, or drop it after the last try.
    package mutating func deliveryFailed(_ id: UInt64) -> [Action] {
        guard case .sending(let batch) = state, batch.id == id else {
            preconditionFailure("delivery of batch \(id) failed in state \(state)")
        }
        let now = now
        statistics.failedSends += 1
        if batch.attempt >= policy.maxAttempts {
            state = .idle
            statistics.droppedBatches += 1
            statistics.droppedRecords += batch.records
            statistics.droppedBytes += batch.recordBytes
            recordDrop(
                records: batch.records + batch.carriedRecords, bytes: batch.recordBytes + batch.carriedBytes,
                now: now, atFront: true)
        } else {
            state = .backingOff(batch, retryAt: now + policy.backoff(afterAttempt: batch.attempt))
        }
        return step(now)
    }

    /// The timer fired.
    package mutating func tick() -> [Action] {
        armedTimer = nil
        return step(now)
    }

    /// Stops sending (the sandbox froze); a batch already out still completes.
    package mutating func pause() -> [Action] {
        isPaused = true
        return step(now)
    }

    /// Sends again whatever became due while paused.
    package mutating func resume() -> [Action] {
        isPaused = false
        return step(now)
    }

    /// Sends everything now, batch after batch, and reports `flushFinished` when the queue is empty and
    /// nothing is out, or after `deadlineMilliseconds`. A batch waiting for its retry is retried at once.
    package mutating func flush(deadlineMilliseconds: UInt64) -> [Action] {
        let now = now
        flushDeadline = now + deadlineMilliseconds
        var actions: [Action] = []
        if !isPaused, case .backingOff(var batch, _) = state {
            batch.attempt += 1
            state = .sending(batch)
            actions.append(.send(batch))
        }
        return actions + step(now)
    }
}
