/// Why the Runtime API refuses a runtime's call, as `SandboxStateMachine` decides it; `RuntimeAPIError(_:)` words it
/// as Lambda's agent does, where the handler answers.
package enum RuntimeRejection: Error, Equatable, Sendable {
    /// The request id is not an invoke in flight here, or its reply is already being taken: 400.
    case invalidRequestID
    /// A reply for an invoke that timed out, or echoing another invoke's `Lambda-Runtime-Invocation-Id`: 410.
    case invokeTimeout
    /// Managed instances: one more idle `/next` than the environment has slots (`Runtime.TooManyIdleRuntimes`,
    /// which AWS's emulator answers with a plain 500).
    case tooManyIdleRuntimes
    /// A `Lambda-Runtime-Function-Response-Mode` other than `streaming`: 400.
    case invalidResponseMode
    /// A response over the limit: 413.
    case payloadTooLarge
    /// A streamed response whose chunked framing was malformed (the sandbox finds it as it reads): 400.
    case truncatedRequest
    /// The runtime's state does not allow the call: 403 naming both.
    case invalidTransition(from: SandboxStateMachine.RuntimeState, to: Target)

    /// The state a refused call would have moved the runtime to (Lambda's names, which appear in 403 messages).
    package enum Target: String, Equatable, Sendable {
        case ready = "Ready"
        case initError = "InitError"
        case invocationResponse = "InvocationResponse"
        case invocationErrorResponse = "InvocationErrorResponse"
    }
}
