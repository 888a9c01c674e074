import SimCore
import Testing

@testable import SimDomain

private func event(_ id: String, bytes: Int = 10) -> Invocation {
    Invocation(requestID: id, payload: Array(repeating: 0x61, count: bytes), invokedFunctionARN: "arn", traceID: "t")
}

private func ran(_ id: String, error: Bool = false) -> AsyncInvokeStateMachine.AttemptResult {
    .ran(
        InvokeResult(
            requestID: id,
            outcome: error
                ? .functionError(body: Array("{}".utf8), contentType: nil, errorType: "Boom")
                : .success(body: [], contentType: nil)))
}

private let millisecond: UInt64 = 1_000_000

@Suite struct AsyncInvokeStateMachineTests {
    /// An accepted event is attempted at once and recorded as Success with one attempt when it succeeds; its bytes
    /// count against the queue until then.
    @Test func successIsRecordedOnce() {
        var events = AsyncInvokeStateMachine(policy: AsyncRetryPolicy())
        #expect(events.accepted(event("a"), now: 0) == [.attempt(event("a"))])
        #expect(events.pendingBytes == 10 + 1024 && events.count == 1)
        let result = ran("a")
        guard case .ran(let invokeResult) = result else { return }
        #expect(
            events.attemptEnded(requestID: "a", result, now: millisecond) == [
                .record(.init(condition: .success, invocation: event("a"), attempts: 1, result: invokeResult))
            ])
        #expect(events.pendingBytes == 0 && events.count == 0)
        #expect(events.attemptEnded(requestID: "a", result, now: millisecond).isEmpty)
    }

    /// Function errors retry after 1 and 2 minutes (scaled), then end as RetriesExhausted after three runs.
    @Test func functionErrorsRetryThenExhaust() {
        var events = AsyncInvokeStateMachine(policy: AsyncRetryPolicy(timeScale: 0.001))
        _ = events.accepted(event("a"), now: 0)
        #expect(
            events.attemptEnded(requestID: "a", ran("a", error: true), now: millisecond) == [
                .scheduleRetry(requestID: "a", afterMilliseconds: 60)
            ])
        #expect(events.retryTimerFired(requestID: "a") == [.attempt(event("a"))])
        #expect(
            events.attemptEnded(requestID: "a", ran("a", error: true), now: 70 * millisecond) == [
                .scheduleRetry(requestID: "a", afterMilliseconds: 120)
            ])
        _ = events.retryTimerFired(requestID: "a")
        let last = events.attemptEnded(requestID: "a", ran("a", error: true), now: 200 * millisecond)
        guard case .record(let record)? = last.first else {
            Issue.record("no record: \(last)")
            return
        }
        #expect(record.condition == .retriesExhausted && record.attempts == 3 && record.result != nil)
    }

    /// Throttled attempts retry after 1 s, 2 s, … and are not counted as runs of the function.
    @Test func throttlesRetryAndAreNotCounted() {
        var events = AsyncInvokeStateMachine(policy: AsyncRetryPolicy())
        _ = events.accepted(event("a"), now: 0)
        #expect(
            events.attemptEnded(requestID: "a", .throttled, now: 0) == [
                .scheduleRetry(requestID: "a", afterMilliseconds: 1_000)
            ])
        _ = events.retryTimerFired(requestID: "a")
        #expect(
            events.attemptEnded(requestID: "a", .throttled, now: 1_000 * millisecond) == [
                .scheduleRetry(requestID: "a", afterMilliseconds: 2_000)
            ])
        _ = events.retryTimerFired(requestID: "a")
        let done = events.attemptEnded(requestID: "a", ran("a"), now: 3_000 * millisecond)
        guard case .record(let record)? = done.first else {
            Issue.record("no record: \(done)")
            return
        }
        #expect(record.condition == .success && record.attempts == 1)
    }

    /// The event's age is compared in Lambda's time: with a time scale of 0.001, 60 ms measured is a minute, so an
    /// event whose next retry would pass its 60 s maximum age ends as EventAgeExceeded.
    @Test func ageIsMeasuredInLambdasTime() {
        var events = AsyncInvokeStateMachine(
            policy: AsyncRetryPolicy(maximumEventAgeMilliseconds: 90_000, timeScale: 0.001))
        _ = events.accepted(event("a"), now: 0)
        // 40 ms measured = 40 s of Lambda's: the 60 s retry would end at 100 s, past the 90 s maximum.
        let done = events.attemptEnded(requestID: "a", ran("a", error: true), now: 40 * millisecond)
        guard case .record(let record)? = done.first else {
            Issue.record("no record: \(done)")
            return
        }
        #expect(record.condition == .eventAgeExceeded && record.attempts == 1)
        _ = events.accepted(event("b"), now: 0)
        #expect(
            events.attemptEnded(requestID: "b", ran("b", error: true), now: 20 * millisecond) == [
                .scheduleRetry(requestID: "b", afterMilliseconds: 60)
            ])
    }

    /// Shutting down records every waiting event as SimulatorStopped with the runs made, and later events at once
    /// with none; a retry timer that fires after that attempts nothing.
    @Test func shutdownRecordsEveryWaitingEvent() {
        var events = AsyncInvokeStateMachine(policy: AsyncRetryPolicy())
        _ = events.accepted(event("a"), now: 0)
        _ = events.attemptEnded(requestID: "a", .throttled, now: 0)
        let stopped = events.shutdown()
        #expect(
            stopped == [.record(.init(condition: .simulatorStopped, invocation: event("a"), attempts: 0, result: nil))])
        #expect(events.pendingBytes == 0 && events.retryTimerFired(requestID: "a").isEmpty)
        #expect(
            events.accepted(event("b"), now: 1) == [
                .record(.init(condition: .simulatorStopped, invocation: event("b"), attempts: 0, result: nil))
            ])
        #expect(events.shutdown().isEmpty)
    }
}
