import SimCore

/// One function's asynchronous (`Event`) invokes between their attempts, as pure logic: each accepted event is
/// attempted, retried as `AsyncRetryPolicy` decides (its age measured in Lambda's time, the time scale stretching
/// measured time back) and ends in exactly one record: success, retries exhausted, too old, or the simulator
/// stopping. The caller submits the attempts, arms the retry timers and writes the records.
///
/// ```
/// accepted ──running──► attempt ; ──stopping──► record(SimulatorStopped, 0 attempts)
/// attemptEnded ── policy: done(condition) ──► record(condition)
///              ── policy: retry(after) ──► scheduleRetry(after) ── retryTimerFired ──► attempt
/// shutdown ──► record(SimulatorStopped) for every waiting event; later events are recorded at once
/// ```
package struct AsyncInvokeStateMachine {
    /// What the caller does.
    package enum Action: Equatable, Sendable {
        /// Submit an attempt of the invoke to the function's pool, then report `attemptEnded`.
        case attempt(Invocation)
        /// Report `retryTimerFired(requestID:)` after this many (real, already scaled) milliseconds.
        case scheduleRetry(requestID: String, afterMilliseconds: UInt64)
        /// The event is over: publish its result and write its invocation record.
        case record(Record)
    }

    /// How an event ended.
    package struct Record: Equatable, Sendable {
        /// The invocation record's `condition`.
        package var condition: AsyncRetryPolicy.Condition
        /// The invoke.
        package var invocation: Invocation
        /// The times the function ran (throttled attempts are not counted, as Lambda counts them).
        package var attempts: Int
        /// The last attempt's result, if it ran.
        package var result: InvokeResult?
    }

    /// How an attempt ended.
    package enum AttemptResult: Equatable, Sendable {
        /// The function ran, successfully or not.
        case ran(InvokeResult)
        /// No concurrency was left.
        case throttled
    }

    /// An event between attempts.
    private struct Pending {
        var invocation: Invocation
        /// When it was accepted, monotonic ns.
        var receivedAt: UInt64
        var attempts = 0
        var functionErrors = 0
        var throttles = 0
    }

    /// Whether events are still attempted.
    private enum State {
        /// `running ---- shutdown ----> stopping`
        case running
        /// Every event is recorded as stopped. Final.
        case stopping
    }

    /// What one waiting event counts against the account's queue bound: its payload and a fixed allowance for
    /// its ids, headers and timer.
    package static func queuedBytes(of invocation: Invocation) -> Int { invocation.payload.count + 1024 }

    package let policy: AsyncRetryPolicy
    private var state = State.running
    private var pending: [String: Pending] = [:]
    /// Bytes of the waiting events (see `queuedBytes(of:)`).
    package private(set) var pendingBytes = 0

    /// Events that retry as `policy` says.
    package init(policy: AsyncRetryPolicy) {
        self.policy = policy
    }

    /// Events accepted and not yet recorded.
    package var count: Int { pending.count }

    /// An event was accepted (and answered 202) at `now`.
    package mutating func accepted(_ invocation: Invocation, now: UInt64) -> [Action] {
        guard case .running = state else {
            return [.record(Record(condition: .simulatorStopped, invocation: invocation, attempts: 0, result: nil))]
        }
        pending[invocation.requestID] = Pending(invocation: invocation, receivedAt: now)
        pendingBytes += Self.queuedBytes(of: invocation)
        return attempt(invocation.requestID)
    }

    /// The attempt of `requestID` ended at `now`.
    package mutating func attemptEnded(requestID id: String, _ result: AttemptResult, now: UInt64) -> [Action] {
        guard case .running = state, var event = pending[id] else { return [] }
        let outcome: AsyncRetryPolicy.AttemptOutcome
        var last: InvokeResult?
        switch result {
        case .ran(let invokeResult):
            last = invokeResult
            if invokeResult.outcome.isError {
                outcome = .functionError
                event.functionErrors += 1
            } else {
                outcome = .success
            }
        case .throttled:
            outcome = .throttled
            event.throttles += 1
        }
        // Ages are compared in Lambda's time: the scale shrinks delays, so it stretches measured time back.
        let elapsed = Double(now &- event.receivedAt) / 1_000_000
        let age = UInt64(elapsed / max(policy.timeScale, 1e-9))
        switch policy.decide(
            outcome: outcome, functionErrors: event.functionErrors, throttles: event.throttles, ageMilliseconds: age)
        {
        case .done(let condition):
            pending[id] = nil
            pendingBytes -= Self.queuedBytes(of: event.invocation)
            return [.record(Self.record(condition, event, last))]
        case .retry(let delay):
            pending[id] = event
            return [.scheduleRetry(requestID: id, afterMilliseconds: delay)]
        }
    }

    /// The pause before the next attempt of `requestID` is over.
    package mutating func retryTimerFired(requestID id: String) -> [Action] {
        attempt(id)
    }

    /// The simulator stops: every waiting event is recorded as stopped, so none is lost silently.
    package mutating func shutdown() -> [Action] {
        guard case .running = state else { return [] }
        state = .stopping
        let records = pending.values.map { Action.record(Self.record(.simulatorStopped, $0, nil)) }
        pending.removeAll()
        pendingBytes = 0
        return records
    }

    private mutating func attempt(_ id: String) -> [Action] {
        guard case .running = state, var event = pending[id] else { return [] }
        event.attempts += 1
        pending[id] = event
        return [.attempt(event.invocation)]
    }

    /// Lambda counts the times the function ran, not the throttled attempts (lambda-behaviour.md §4.6).
    private static func record(
        _ condition: AsyncRetryPolicy.Condition, _ event: Pending, _ result: InvokeResult?
    ) -> Record {
        Record(
            condition: condition, invocation: event.invocation, attempts: event.attempts - event.throttles,
            result: result)
    }
}
