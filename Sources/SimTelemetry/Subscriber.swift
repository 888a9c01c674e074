import SimCore
import SimDomain
import SimUV

/// One extension's subscription on the loop: runs its `SubscriberBuffer`'s actions with a real timer and a
/// `TelemetryDelivery`. Loop thread only.
final class Subscriber {
    let extensionID: String
    let extensionName: String
    let request: SubscriptionRequest
    /// The record shapes this subscriber receives.
    let format: RecordFormat
    private let loop: EventLoop
    private let clock: any SimClock
    private var buffer: SubscriberBuffer
    private let delivery: TelemetryDelivery
    private var timer: Timer?
    private var flushWaiters: [(Bool) -> Void] = []
    private var isClosed = false
    /// The loop-wide byte budget, and what this subscriber's queue holds of it.
    private let budget: TelemetryBudget
    private var charged = 0

    init(
        extensionID: String, extensionName: String, request: SubscriptionRequest, loop: EventLoop,
        clock: any SimClock, configuration: TelemetryHub.Configuration
    ) {
        self.extensionID = extensionID
        self.extensionName = extensionName
        self.request = request
        format = RecordFormat(request)
        self.loop = loop
        self.clock = clock
        buffer = SubscriberBuffer(configuration: request.buffering, policy: configuration.policy, clock: clock)
        budget = TelemetryBudget.of(loop, limitBytes: configuration.sharedQueueLimitBytes)
        delivery = TelemetryDelivery(
            loop: loop, destination: request.destination, connectHost: configuration.connectHost,
            timeoutMilliseconds: UInt64(request.buffering.timeoutMs) + configuration.sendTimeoutGraceMilliseconds)
    }

    /// Where the subscriber stands, for tests and diagnostics.
    var status: SubscriberStatus {
        SubscriberStatus(
            api: request.api, extensionName: extensionName, types: request.types,
            queuedEvents: buffer.queuedEvents, queuedBytes: buffer.queuedBytes,
            pendingDropRecords: buffer.pendingDrops.records, batchOutstanding: buffer.hasBatchOutstanding,
            isPaused: buffer.isPaused, statistics: buffer.statistics)
    }

    /// Queues `event` when the subscription's `types` include its category.
    func offer(_ event: TelemetryEvent) {
        guard !isClosed, request.types.contains(event.category) else { return }
        let bytes = event.serialized
        perform(buffer.append(bytes, overBudget: budget.wouldExceed(bytes.count)))
    }

    /// Stops or restarts sending, and the deadline of a send in progress, with the sandbox's freeze.
    func setPaused(_ paused: Bool) {
        guard !isClosed, paused != buffer.isPaused else { return }
        delivery.setTimeoutSuspended(paused)
        perform(paused ? buffer.pause() : buffer.resume())
    }

    /// Sends everything now; `completion(drained)` runs when the buffer is empty or after the deadline
    /// (possibly before this returns).
    func flush(deadlineMilliseconds: UInt64, completion: @escaping (Bool) -> Void) {
        guard !isClosed else { return completion(false) }
        flushWaiters.append(completion)
        perform(buffer.flush(deadlineMilliseconds: deadlineMilliseconds))
    }

    /// Stops everything; a flush in progress completes with `false`.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        budget.adjust(by: -charged)
        charged = 0
        timer?.close()
        timer = nil
        delivery.close()
        finishFlush(drained: false)
    }

    private func perform(_ actions: [SubscriberBuffer.Action]) {
        defer {
            if !isClosed && buffer.queuedBytes != charged {
                budget.adjust(by: buffer.queuedBytes - charged)
                charged = buffer.queuedBytes
            }
        }
        for action in actions {
            guard !isClosed else { return }
            switch action {
            case .send(let batch):
                delivery.send(batch.events) { [weak self] result in
                    guard let self, !isClosed else { return }
                    switch result {
                    case .success: perform(buffer.deliverySucceeded(batch.id))
                    case .failure: perform(buffer.deliveryFailed(batch.id))
                    }
                }
            case .armTimer(let at):
                let now = clock.monotonicNanoseconds / 1_000_000
                if timer == nil { timer = Timer(loop: loop) }
                timer?.start(afterMilliseconds: at > now ? at - now : 0) { [weak self] in
                    guard let self, !isClosed else { return }
                    perform(buffer.tick())
                }
            case .cancelTimer:
                timer?.stop()
            case .flushFinished(let drained):
                finishFlush(drained: drained)
            }
        }
    }

    private func finishFlush(drained: Bool) {
        let waiters = flushWaiters
        flushWaiters.removeAll()
        for waiter in waiters { waiter(drained) }
    }
}

/// A snapshot of one subscriber.
package struct SubscriberStatus: Equatable, Sendable {
    package var api: SubscriptionAPI
    package var extensionName: String
    package var types: [TelemetryCategory]
    /// Events waiting (not yet in a batch) and their bytes.
    package var queuedEvents: Int
    package var queuedBytes: Int
    /// Drops not yet reported to the subscriber in a `platform.logsDropped`.
    package var pendingDropRecords: Int
    /// A batch is out or waiting for its retry.
    package var batchOutstanding: Bool
    package var isPaused: Bool
    package var statistics: SubscriberBuffer.Statistics
}
