import DequeModule
import SimCore
import SimDomain
import SimSandbox
import SimTelemetry
import Synchronization

/// One thing that happened in a simulator, as data: an init, an invoke's start, runtime end and report, a line a
/// process wrote, a freeze or thaw with its latency, a throttled invoke, a sandbox gone.
///
/// Read them from a `SimulatorEventStream`. The values are the ones the log lines and the Telemetry API show
/// (durations in milliseconds as Lambda reports them), so a test compares events instead of parsing REPORT lines.
public struct SimulatorEvent: Sendable, Equatable {
    /// The function's name.
    public var function: String
    /// The sandbox (execution environment) it happened in; nil for events of the function as a whole (a throttle,
    /// an asynchronous invoke's result).
    public var sandboxID: String?
    /// The invoke it belongs to, if one was in flight.
    public var requestID: String?
    /// When it happened, in milliseconds since 1970.
    public var epochMilliseconds: Int64
    /// What happened.
    public var kind: Kind

    /// Creates an event (for tests of code that consumes events).
    public init(function: String, sandboxID: String?, requestID: String?, epochMilliseconds: Int64, kind: Kind) {
        self.function = function
        self.sandboxID = sandboxID
        self.requestID = requestID
        self.epochMilliseconds = epochMilliseconds
        self.kind = kind
    }

    /// What happened.
    public enum Kind: Sendable, Equatable {
        /// An init began (`platform.initStart`): how it was started, and whether it is the sandbox's init or one
        /// retried inside an invoke.
        case initStarted(initializationType: InitializationType, phase: InitPhase)
        /// The init phase ended, extensions included (`platform.initReport`).
        case initFinished(durationMilliseconds: Double, status: Status, errorType: String?)
        /// An invoke was handed to the runtime (`platform.start`).
        case invokeStarted
        /// The runtime's part of the invoke ended (`platform.runtimeDone`).
        case runtimeDone(durationMilliseconds: Double, status: Status, errorType: String?, producedBytes: Int?)
        /// The invoke phase ended (`platform.report`, the REPORT line).
        case report(Report)
        /// A line a process of the sandbox wrote (without its newline).
        case output(source: OutputSource, line: String)
        /// The platform's account of a failed invoke (the lines Lambda logs for it).
        case invokeError(errorType: String, message: String)
        /// The invoke ran out of time after `seconds`.
        case timedOut(seconds: Double)
        /// A platform fault line, e.g. `RequestId: … Process exited before completing request`.
        case fault(String)
        /// An extension's state at the end of init (`platform.extension`), e.g. `.ready` with the events it
        /// subscribed to.
        case extensionState(name: String, state: ExtensionState, events: [ExtensionEvent], errorType: String?)
        /// An extension reported `/extension/exit/error`.
        case extensionExitError(name: String, errorType: String)
        /// The sandbox's processes were frozen; the latency from the request to its confirmation, in
        /// microseconds (nil when a thaw came before the confirmation).
        case frozen(latencyMicroseconds: Double?)
        /// The sandbox's processes were thawed; the latency as for `frozen`.
        case thawed(latencyMicroseconds: Double?)
        /// A freeze was due but the next invoke had already arrived, so the processes kept running.
        case freezeSkipped
        /// An asynchronous invoke ended: its condition (`.success`, `.retriesExhausted`, `.eventAgeExceeded`, or
        /// the simulator's `.simulatorStopped`) and the attempts made.
        case asyncResult(condition: AsyncCondition, attempts: Int)
        /// An invoke was refused for want of concurrency (429), with Lambda's `Reason`.
        case throttled(reason: ThrottleReason)
        /// The sandbox shut down for good.
        case sandboxTerminated
        /// A diagnostic of the simulator's own.
        case notice(String)
        /// The stream's reader fell behind by more than its capacity: this many older events were dropped here.
        case eventsDropped(Int)
    }

    /// Which process wrote an output line.
    public enum OutputSource: Sendable, Equatable {
        /// The runtime (and the processes it started).
        case runtime
        /// An external extension, by file name.
        case `extension`(String)
    }

    /// How an init or invoke ended, in the Telemetry API's terms.
    public enum Status: String, Sendable, Equatable {
        /// It completed.
        case success
        /// The function reported an error.
        case error
        /// The runtime or the platform failed (a crash, an unknown error).
        case failure
        /// It ran out of time.
        case timeout
    }

    /// The figures of a REPORT line.
    public struct Report: Sendable, Equatable {
        /// How long the invoke took.
        public var durationMilliseconds: Double
        /// What Lambda would bill: the duration rounded up to a millisecond (plus init on a cold start).
        public var billedDurationMilliseconds: Int
        /// The function's configured memory.
        public var memorySizeMB: Int
        /// The sandbox's peak memory so far.
        public var maxMemoryUsedMB: Int
        /// The init's duration, on a cold start.
        public var initDurationMilliseconds: Double?
        /// How the invoke ended.
        public var status: Status
        /// The error type of a failed invoke.
        public var errorType: String?
        /// How long extensions kept the invoke phase open after the runtime's response.
        public var postRuntimeExtensionsMilliseconds: Double?

        /// Creates a report (for tests of code that consumes events).
        public init(
            durationMilliseconds: Double, billedDurationMilliseconds: Int, memorySizeMB: Int, maxMemoryUsedMB: Int,
            initDurationMilliseconds: Double?, status: Status, errorType: String?,
            postRuntimeExtensionsMilliseconds: Double?
        ) {
            self.durationMilliseconds = durationMilliseconds
            self.billedDurationMilliseconds = billedDurationMilliseconds
            self.memorySizeMB = memorySizeMB
            self.maxMemoryUsedMB = maxMemoryUsedMB
            self.initDurationMilliseconds = initDurationMilliseconds
            self.status = status
            self.errorType = errorType
            self.postRuntimeExtensionsMilliseconds = postRuntimeExtensionsMilliseconds
        }
    }
}

extension SimulatorEvent {
    /// The public form of a sandbox event; nil for those the stream does not carry (subscriptions).
    init?(_ event: SandboxEvent, _ context: EventContext) {
        let kind: Kind
        switch event {
        case .platform(let platform):
            switch platform {
            case .initStart(let data):
                kind = .initStarted(
                    initializationType: InitializationType(data.initializationType), phase: InitPhase(data.phase))
            case .initRuntimeDone, .subscription:
                return nil
            case .initReport(let data):
                kind = .initFinished(
                    durationMilliseconds: data.durationMs, status: Status(data.outcome),
                    errorType: data.outcome.errorType)
            case .start:
                kind = .invokeStarted
            case .runtimeDone(let data):
                kind = .runtimeDone(
                    durationMilliseconds: data.durationMs, status: Status(data.outcome),
                    errorType: data.outcome.errorType, producedBytes: data.producedBytes)
            case .report(let data):
                kind = .report(
                    Report(
                        durationMilliseconds: data.durationMs, billedDurationMilliseconds: data.billedDurationMs,
                        memorySizeMB: data.memorySizeMB, maxMemoryUsedMB: data.maxMemoryUsedMB,
                        initDurationMilliseconds: data.initDurationMs, status: Status(data.outcome),
                        errorType: data.outcome.errorType,
                        postRuntimeExtensionsMilliseconds: data.postRuntimeExtensionsMs))
            case .extensionState(let data):
                kind = .extensionState(
                    name: data.name, state: ExtensionState(data.state), events: data.events.map(ExtensionEvent.init),
                    errorType: data.errorType)
            case .fault(let line):
                kind = .fault(line)
            case .functionLog(let line):
                kind = .output(source: .runtime, line: line)
            case .extensionLog(let name, let line):
                kind = .output(source: .extension(name), line: line)
            }
        case .output(.runtime, let line): kind = .output(source: .runtime, line: line)
        case .output(.extension(let name), let line): kind = .output(source: .extension(name), line: line)
        case .invokeError(let errorType, let message): kind = .invokeError(errorType: errorType, message: message)
        case .timedOut(let seconds): kind = .timedOut(seconds: seconds)
        case .extensionExitError(let name, let errorType): kind = .extensionExitError(name: name, errorType: errorType)
        case .freeze(.frozen(let nanoseconds)):
            kind = .frozen(latencyMicroseconds: nanoseconds.map { Double($0) / 1000 })
        case .freeze(.thawed(let nanoseconds)):
            kind = .thawed(latencyMicroseconds: nanoseconds.map { Double($0) / 1000 })
        case .freeze(.skipped): kind = .freezeSkipped
        case .asyncResult(let condition, let attempts):
            kind = .asyncResult(condition: AsyncCondition(condition), attempts: attempts)
        case .notice(let text): kind = .notice(text)
        case .throttled(let reason): kind = .throttled(reason: ThrottleReason(reason))
        case .terminated: kind = .sandboxTerminated
        }
        self.init(
            function: context.function, sandboxID: context.sandboxID == "-" ? nil : context.sandboxID,
            requestID: context.requestID, epochMilliseconds: context.epochMilliseconds, kind: kind)
    }

    /// About what the event occupies in memory, for the stream's bound.
    var estimatedBytes: Int {
        var bytes = 160 + function.utf8.count + (sandboxID?.utf8.count ?? 0) + (requestID?.utf8.count ?? 0)
        switch kind {
        case .output(_, let line), .fault(let line), .notice(let line): bytes += line.utf8.count
        case .invokeError(let type, let message): bytes += type.utf8.count + message.utf8.count
        case .extensionState(let name, _, let events, _): bytes += name.utf8.count + 16 * events.count
        default: break
        }
        return bytes
    }
}

extension SimulatorEvent {
    /// The Telemetry API event type this event is delivered as to subscribers (`initStart`, `initReport`,
    /// `start`, `runtimeDone`, `report`, `extension`, `fault`, `function`, `extensionOutput`); nil for the
    /// simulator's own events (freezes, throttles, …).
    public var telemetryType: TelemetryEventType? {
        switch kind {
        case .initStarted: return .initStart
        case .initFinished: return .initReport
        case .invokeStarted: return .start
        case .runtimeDone: return .runtimeDone
        case .report: return .report
        case .extensionState: return .extension
        case .fault: return .fault
        case .output(.runtime, _): return .function
        case .output(.extension, _): return .extensionOutput
        default: return nil
        }
    }
}

extension SimulatorEvent.Status {
    init(_ outcome: EventOutcome) {
        switch outcome.status {
        case .success: self = .success
        case .error: self = .error
        case .failure: self = .failure
        case .timeout: self = .timeout
        }
    }
}

/// The events of a simulator as an asynchronous sequence, bounded in memory: when the reader falls behind by
/// more than `capacityBytes`, the oldest waiting events are dropped and an `eventsDropped` event tells how many.
///
/// Pass one to `Simulator.start(events:)` to see everything from the first init on, or get one from
/// `Simulator.events()` to see what happens from then on. One reader iterates it; the sequence ends when the
/// simulator has stopped (after the last sandbox's `sandboxTerminated`).
public final class SimulatorEventStream: AsyncSequence, Sendable {
    /// What the stream yields.
    public typealias Element = SimulatorEvent

    private struct State {
        var queue = Deque<SimulatorEvent>()
        var bytes = 0
        var droppedSinceRead = 0
        var dropped = 0
        var waiter: CheckedContinuation<Wait, Never>?
        /// Identifies the waiter, so that a timeout ends only the wait it was armed for.
        var waiterToken = 0
        var finished = false
        /// Set by a cancelled reader's task when it had no waiter registered yet: its next wait ends at once.
        var cancelled = false
        /// Events that `first(where:)` read past without a match, oldest first, kept for the next wait to look
        /// back on (`lookBackBytes` at most).
        var seen = Deque<SimulatorEvent>()
        var seenBytes = 0
    }

    /// What a wait for the next event ended with.
    private enum Wait {
        case event(SimulatorEvent)
        case end
        case timedOut
        case cancelled
    }

    /// The most memory (estimated) the events read past by waits may keep for later waits to look back on.
    public static let lookBackBytes = 1 << 20

    private let state = Mutex(State())
    /// The most memory the waiting events may occupy (estimated).
    public let capacityBytes: Int
    /// Whether output lines are carried (they are most of the volume of a chatty function).
    public let includesOutput: Bool

    /// A stream keeping at most `capacityBytes` of unread events; without `includeOutput`, processes' output
    /// lines are left out.
    public init(capacityBytes: Int = 8 << 20, includeOutput: Bool = true) {
        self.capacityBytes = capacityBytes
        self.includesOutput = includeOutput
    }

    /// How many events were dropped because the reader fell behind.
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Adds an event (on the loop thread).
    func append(_ event: SimulatorEvent) {
        let waiter = state.withLock { state -> CheckedContinuation<Wait, Never>? in
            guard !state.finished else { return nil }
            if let waiter = state.waiter, state.droppedSinceRead == 0 {
                state.waiter = nil
                return waiter
            }
            let size = event.estimatedBytes
            state.queue.append(event)
            state.bytes += size
            while state.bytes > capacityBytes, state.queue.count > 1 {
                state.bytes -= state.queue.removeFirst().estimatedBytes
                state.dropped += 1
                state.droppedSinceRead += 1
            }
            return nil
        }
        waiter?.resume(returning: .event(event))
    }

    /// Ends the sequence once the waiting events are read.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Wait, Never>? in
            state.finished = true
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: .end)
    }

    /// The next event, waiting for one; nil once the simulator stopped and every event was read, or when the
    /// reading task is cancelled.
    func next() async -> SimulatorEvent? {
        if case .event(let event) = await next(until: nil) { return event }
        return nil
    }

    /// The next event, waiting for one until `deadline` (if any) or until the task is cancelled.
    private func next(until deadline: ContinuousClock.Instant?) async -> Wait {
        await withTaskCancellationHandler {
            await waitForNext(until: deadline)
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Wait, Never>? in
                guard let waiter = state.waiter else {
                    state.cancelled = true
                    return nil
                }
                state.waiter = nil
                return waiter
            }
            waiter?.resume(returning: .cancelled)
        }
    }

    private func waitForNext(until deadline: ContinuousClock.Instant?) async -> Wait {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> (Wait?, Int) in
                if state.cancelled {
                    state.cancelled = false
                    return (.cancelled, 0)
                }
                if state.droppedSinceRead > 0 {
                    let count = state.droppedSinceRead
                    state.droppedSinceRead = 0
                    let time = state.queue.first?.epochMilliseconds ?? 0
                    let marker = SimulatorEvent(
                        function: "lambda-sim", sandboxID: nil, requestID: nil, epochMilliseconds: time,
                        kind: .eventsDropped(count))
                    return (.event(marker), 0)
                }
                if let event = state.queue.popFirst() {
                    state.bytes -= event.estimatedBytes
                    return (.event(event), 0)
                }
                if state.finished { return (.end, 0) }
                state.waiter = continuation
                state.waiterToken += 1
                return (nil, state.waiterToken)
            }
            if let wait = ready.0 {
                continuation.resume(returning: wait)
            } else if let deadline {
                let token = ready.1
                Task { [self] in
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    expire(token)
                }
            }
        }
    }

    /// Ends the wait `token` with a timeout, if it is still waiting.
    private func expire(_ token: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Wait, Never>? in
            guard state.waiterToken == token, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: .timedOut)
    }

    /// Why a wait on the stream gave up.
    public enum WaitError: Error, CustomStringConvertible, Equatable {
        /// Nothing matched within the time allowed.
        case timedOut(waitingFor: String, after: Duration)
        /// The simulator stopped before anything matched.
        case ended(waitingFor: String)

        /// What was awaited, and what happened instead.
        public var description: String {
            switch self {
            case .timedOut(let what, let after): return "no \(what) within \(after)"
            case .ended(let what): return "the simulator stopped before \(what)"
            }
        }
    }

    /// Returns the first event that satisfies `predicate`: one that an earlier wait read past (the most recent
    /// `lookBackBytes` of them, oldest first), else the next to arrive. Events read past without a match are kept
    /// for later waits to look back on, so that waiting for a REPORT and then for the `platform.runtimeDone` before
    /// it finds both; a matched event is taken (a second wait does not find it again). The stream has one reader:
    /// waits and iteration share it. Throws `WaitError` when `timeout` passes first or the simulator stops, and
    /// `CancellationError` as soon as the waiting task is cancelled. `description` names what is awaited in the
    /// error.
    public func first(
        timeout: Duration = .seconds(30), _ description: String = "matching event",
        where predicate: (SimulatorEvent) throws -> Bool
    ) async throws -> SimulatorEvent {
        try Task.checkCancellation()
        if let found = try takeSeen(where: predicate) { return found }
        let deadline = ContinuousClock.now + timeout
        while true {
            switch await next(until: deadline) {
            case .event(let event):
                if try predicate(event) { return event }
                keepSeen(event)
            case .end:
                throw WaitError.ended(waitingFor: description)
            case .timedOut:
                throw WaitError.timedOut(waitingFor: description, after: timeout)
            case .cancelled:
                throw CancellationError()
            }
        }
    }

    /// Removes and returns the oldest event read past earlier that satisfies `predicate`.
    private func takeSeen(where predicate: (SimulatorEvent) throws -> Bool) throws -> SimulatorEvent? {
        let seen = state.withLock { $0.seen }
        guard let index = try seen.firstIndex(where: predicate) else { return nil }
        return state.withLock { state in
            let event = state.seen.remove(at: index)
            state.seenBytes -= event.estimatedBytes
            return event
        }
    }

    /// Keeps `event`, read past by a wait, for later waits; the oldest go beyond `lookBackBytes`.
    private func keepSeen(_ event: SimulatorEvent) {
        state.withLock { state in
            state.seen.append(event)
            state.seenBytes += event.estimatedBytes
            while state.seenBytes > Self.lookBackBytes, let oldest = state.seen.popFirst() {
                state.seenBytes -= oldest.estimatedBytes
            }
        }
    }

    /// Waits for the invoke `requestID` to complete and returns its REPORT figures (the invoke phase is over: the
    /// runtime asked for its next event and extensions are done).
    public func report(for requestID: String, timeout: Duration = .seconds(30)) async throws -> SimulatorEvent.Report {
        let event = try await first(timeout: timeout, "REPORT of \(requestID)") {
            guard $0.requestID == requestID, case .report = $0.kind else { return false }
            return true
        }
        guard case .report(let report) = event.kind else { preconditionFailure("matched a report") }
        return report
    }

    /// Waits for the next invoke of `function` (any function if nil) to complete and returns its request id and
    /// REPORT figures.
    public func nextReport(function: String? = nil, timeout: Duration = .seconds(30)) async throws -> (
        requestID: String, report: SimulatorEvent.Report
    ) {
        let event = try await first(timeout: timeout, "REPORT") {
            guard function == nil || $0.function == function, $0.requestID != nil, case .report = $0.kind else {
                return false
            }
            return true
        }
        guard case .report(let report) = event.kind, let id = event.requestID else { preconditionFailure("a report") }
        return (id, report)
    }

    /// Waits until `count` distinct sandboxes (of `function`, or of any function if nil) have begun an init, and
    /// returns their ids in the order they did.
    public func sandboxesStarted(
        _ count: Int, function: String? = nil, timeout: Duration = .seconds(30)
    ) async throws -> [String] {
        var seen: [String] = []
        while seen.count < count {
            let event = try await first(timeout: timeout, "\(count) sandboxes started (saw \(seen.count))") {
                guard function == nil || $0.function == function, let id = $0.sandboxID, !seen.contains(id),
                    case .initStarted = $0.kind
                else { return false }
                return true
            }
            seen.append(event.sandboxID!)
        }
        return seen
    }

    /// Waits for the next event with the Telemetry API type `type` (`.initStart`, `.report`, `.function`, …; see
    /// `SimulatorEvent.telemetryType`), of `function` if given.
    public func telemetry(
        _ type: TelemetryEventType, function: String? = nil, timeout: Duration = .seconds(30)
    ) async throws -> SimulatorEvent {
        try await first(timeout: timeout, "\(type.rawValue) event") {
            (function == nil || $0.function == function) && $0.telemetryType == type
        }
    }

    /// The sequence's iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: SimulatorEventStream

        /// The next event, or nil at the end.
        public mutating func next() async -> SimulatorEvent? { await stream.next() }
    }

    /// An iterator over the stream (one reader at a time).
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }
}

/// Hands the simulator's events to a `SimulatorEventStream`. Loop-confined.
final class EventStreamSink: SandboxEventSink {
    let stream: SimulatorEventStream

    init(_ stream: SimulatorEventStream) { self.stream = stream }

    func receive(_ event: SandboxEvent, _ context: EventContext) {
        if !stream.includesOutput, case .output = event { return }
        guard let converted = SimulatorEvent(event, context) else { return }
        stream.append(converted)
    }
}
