import SimCore

/// An event the Extensions API hands an extension through `/event/next`, as the machine decides it; the sandbox
/// serialises it (`ExtensionEvents`).
package enum ExtensionEvent: Equatable, Sendable {
    /// INVOKE: the invoke `requestID` of `invokedFunctionARN` started, due at `deadlineEpochMilliseconds`; `traceID`
    /// is its `X-Amzn-Trace-Id` (none when empty).
    case invoke(requestID: String, invokedFunctionARN: String, traceID: String, deadlineEpochMilliseconds: Int64)
    /// SHUTDOWN: the environment is stopping for `reason`; processes die at `deadlineEpochMilliseconds`.
    case shutdown(reason: SandboxStateMachine.ShutdownReason, deadlineEpochMilliseconds: Int64)

    /// The INVOKE event of `invocation`.
    package static func invoke(_ invocation: Invocation, deadlineEpochMilliseconds: Int64) -> ExtensionEvent {
        .invoke(
            requestID: invocation.requestID, invokedFunctionARN: invocation.invokedFunctionARN,
            traceID: invocation.traceID, deadlineEpochMilliseconds: deadlineEpochMilliseconds)
    }
}
