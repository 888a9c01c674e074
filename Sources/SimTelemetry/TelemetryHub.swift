import SimCore
import SimDomain
import SimUV

/// The Telemetry API and Logs API of one sandbox: subscriptions, routing, replay of the Init phase, freeze
/// and flush. Loop thread only. An event is rendered only for the subscribers that exist (once per record
/// format); without subscribers emitting costs nothing beyond keeping the current Init's events for replay.
///
/// The sandbox calls `subscribe` from its `PUT /2022-07-01/telemetry` and `PUT /2020-08-15/logs` handlers
/// and `emit` for every platform event and log line; the hub renders each event per subscriber (API and
/// schema), filters it by the subscriber's `types` and queues it in that subscriber's buffer.
///
/// Choices where Lambda's behaviour is unconfirmed:
/// - An extension subscribed to one API that subscribes to the other gets 400 with the requested API's
///   validation error type and `extension already subscribed to the <other> API`.
/// - Subscribing again to the same API replaces the earlier subscription (its queued events are dropped)
///   and replays the Init phase to the new one.
/// - Events emitted from `platform.initStart` to `platform.initReport` are kept (bounded) and replayed to
///   a subscriber that subscribes during that Init, before its own subscription event.
package final class TelemetryHub {
    /// Knobs of the hub.
    package struct Configuration: Sendable {
        /// The address dialled for `sandbox.localdomain` / `sandbox` destinations.
        package var connectHost: String
        /// The function logs in JSON format: a `function` line that is a JSON object is sent as an object.
        package var jsonFunctionLogs: Bool
        /// Retries and queue cap of every subscriber.
        package var policy: SubscriberBuffer.Policy
        /// A send fails after the subscription's `timeoutMs` plus this long without an answer.
        package var sendTimeoutGraceMilliseconds: UInt64
        /// Events of the current Init kept for replay.
        package var replayCapacity: Int
        /// Approximate bytes of the current Init's events kept for replay (also drawn from the shared budget).
        package var replayMaxBytes: Int
        /// The most bytes queued for subscribers over every sandbox on the loop (`TelemetryBudget`; the first
        /// hub on a loop sets it).
        package var sharedQueueLimitBytes: Int

        package init(
            connectHost: String = "127.0.0.1", jsonFunctionLogs: Bool = false,
            policy: SubscriberBuffer.Policy = .init(),
            sendTimeoutGraceMilliseconds: UInt64 = 5000, replayCapacity: Int = 10_000,
            replayMaxBytes: Int = 4 * 1024 * 1024, sharedQueueLimitBytes: Int = TelemetryBudget.defaultLimitBytes
        ) {
            self.sharedQueueLimitBytes = sharedQueueLimitBytes
            self.connectHost = connectHost
            self.jsonFunctionLogs = jsonFunctionLogs
            self.policy = policy
            self.sendTimeoutGraceMilliseconds = sendTimeoutGraceMilliseconds
            self.replayCapacity = replayCapacity
            self.replayMaxBytes = replayMaxBytes
        }
    }

    package let loop: EventLoop
    package let configuration: Configuration
    private let clock: any SimClock
    private var subscribers: [Subscriber] = []
    /// `(epoch ms, event)` since `platform.initStart`, until `platform.initReport`.
    private var initEvents: [(time: Int64, event: PlatformEvent)]?
    private var initEventBytes = 0
    /// The loop-wide byte budget the replay and the subscribers' queues draw on.
    private lazy var budget = TelemetryBudget.of(loop, limitBytes: configuration.sharedQueueLimitBytes)
    private var frozen = false
    private var isClosed = false

    /// A hub on `loop`, stamping events with `clock`.
    package init(loop: EventLoop, clock: any SimClock = SystemClock(), configuration: Configuration = .init()) {
        self.loop = loop
        self.clock = clock
        self.configuration = configuration
    }

    /// Handles a subscribe request of extension `extensionID` (registered as `extensionName`).
    /// - Parameter subscriptionOpen: false once the Init phase is over (answers 403).
    /// - Returns: 200 `"OK"`, 400 validation error, or 403 subscription closed, for the sandbox to send.
    /// - Parameter time: when it happened (epoch ms), for the `platform.*Subscription` event; now by default.
    package func subscribe(
        api: SubscriptionAPI, extensionID: String, extensionName: String, body: [UInt8], subscriptionOpen: Bool,
        at time: Int64? = nil
    ) -> SubscriptionResponse {
        loop.assertInLoop()
        guard subscriptionOpen, !isClosed else { return .closed(api) }
        let request: SubscriptionRequest
        do {
            request = try SubscriptionRequest.parse(body, api: api)
        } catch {
            return .validation(api, error.messages)
        }
        if subscribers.contains(where: { $0.extensionID == extensionID && $0.request.api != api }) {
            return .validation(api, ["extension already subscribed to the \(api.other.displayName) API"])
        }
        if let index = subscribers.firstIndex(where: { $0.extensionID == extensionID }) {
            subscribers.remove(at: index).close()
        }
        let subscriber = Subscriber(
            extensionID: extensionID, extensionName: extensionName, request: request, loop: loop, clock: clock,
            configuration: configuration)
        subscribers.append(subscriber)
        if frozen { subscriber.setPaused(true) }
        for (time, event) in initEvents ?? [] {
            for rendered in render(event, as: subscriber.format, at: time) { subscriber.offer(rendered) }
        }
        emit(.subscription(api: api, name: extensionName, types: request.types), at: time ?? clock.epochMilliseconds)
        return .ok
    }

    /// Sends `event`, which happened at `time` (epoch ms), to every subscriber that wants it, in its API's shape.
    package func emit(_ event: PlatformEvent, at time: Int64) {
        loop.assertInLoop()
        guard !isClosed else { return }
        if case .initStart = event {
            dropInitEvents()
            initEvents = []
        }
        if let count = initEvents?.count, count < configuration.replayCapacity,
            initEventBytes + event.approximateSize <= configuration.replayMaxBytes,
            !budget.wouldExceed(event.approximateSize)
        {
            initEvents?.append((time, event))
            initEventBytes += event.approximateSize
            budget.adjust(by: event.approximateSize)
        }
        guard !subscribers.isEmpty else {
            if case .initReport = event { dropInitEvents() }
            return
        }
        let category = event.category
        var rendered: [(format: RecordFormat, events: [TelemetryEvent])] = []
        for subscriber in subscribers where subscriber.request.types.contains(category) {
            let events: [TelemetryEvent]
            if let cached = rendered.first(where: { $0.format == subscriber.format }) {
                events = cached.events
            } else {
                events = render(event, as: subscriber.format, at: time)
                rendered.append((subscriber.format, events))
            }
            for item in events { subscriber.offer(item) }
        }
        if case .initReport = event { dropInitEvents() }
    }

    /// Forgets the Init replay and gives its bytes back to the budget.
    private func dropInitEvents() {
        initEvents = nil
        budget.adjust(by: -initEventBytes)
        initEventBytes = 0
    }

    /// Pauses (`true`) or resumes delivery to every subscriber with the sandbox's freeze and thaw.
    package func setFrozen(_ frozen: Bool) {
        loop.assertInLoop()
        self.frozen = frozen
        for subscriber in subscribers { subscriber.setPaused(frozen) }
    }

    /// Sends everything buffered now (call it, thawed, before SHUTDOWN); `completion(drained)` runs once
    /// every subscriber's buffer is empty (`true`) or after `deadlineMilliseconds` (`false`). It runs
    /// before this returns when there is nothing to wait for.
    package func flush(deadlineMilliseconds: UInt64, completion: @escaping (Bool) -> Void) {
        loop.assertInLoop()
        let active = subscribers
        guard !active.isEmpty else { return completion(true) }
        let progress = FlushProgress(remaining: active.count, completion: completion)
        for subscriber in active {
            subscriber.flush(deadlineMilliseconds: deadlineMilliseconds) { drained in progress.finished(drained) }
        }
    }

    /// Drops every subscription and its connection; later calls are ignored.
    package func close() {
        loop.assertInLoop()
        isClosed = true
        let active = subscribers
        subscribers.removeAll()
        for subscriber in active { subscriber.close() }
        dropInitEvents()
    }

    /// Drops every subscription (their extensions are gone after a reset).
    package func removeSubscribers() {
        loop.assertInLoop()
        let active = subscribers
        subscribers.removeAll()
        for subscriber in active { subscriber.close() }
    }

    /// Subscribers, in subscription order.
    package var subscriberStatuses: [SubscriberStatus] { subscribers.map(\.status) }

    /// The subscription of extension `extensionID`, if any.
    package func subscription(ofExtension extensionID: String) -> SubscriptionRequest? {
        subscribers.first { $0.extensionID == extensionID }?.request
    }

    private func render(_ event: PlatformEvent, as format: RecordFormat, at time: Int64) -> [TelemetryEvent] {
        event.rendered(as: format, epochMilliseconds: time, jsonFunctionLogs: configuration.jsonFunctionLogs)
    }
}

/// Counts subscribers' flush completions down to one hub completion.
private final class FlushProgress {
    private var remaining: Int
    private var drained = true
    private let completion: (Bool) -> Void

    init(remaining: Int, completion: @escaping (Bool) -> Void) {
        self.remaining = remaining
        self.completion = completion
    }

    func finished(_ drained: Bool) {
        self.drained = self.drained && drained
        remaining -= 1
        if remaining == 0 { completion(self.drained) }
    }
}
