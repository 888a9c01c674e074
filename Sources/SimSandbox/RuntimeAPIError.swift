import SimCore
import SimDomain

/// An error the Runtime API answers with: status, `errorType` and `errorMessage` exactly as Lambda's agent.
package struct RuntimeAPIError: Error, Equatable, Sendable {
    package var status: Int
    package var errorType: String
    package var errorMessage: String

    package init(status: Int, errorType: String, errorMessage: String) {
        self.status = status
        self.errorType = errorType
        self.errorMessage = errorMessage
    }

    /// 400: the request id is not the current invoke's.
    package static let invalidRequestID = RuntimeAPIError(
        status: 400, errorType: "InvalidRequestID", errorMessage: "Invalid request ID")
    /// 400: `Lambda-Runtime-Function-Response-Mode` has a value other than `streaming`.
    package static let invalidResponseMode = RuntimeAPIError(
        status: 400, errorType: "InvalidFunctionResponseMode", errorMessage: "Invalid function response mode")
    /// 413: the response is larger than 6,291,556 bytes.
    package static let payloadTooLarge = RuntimeAPIError(
        status: 413, errorType: "RequestEntityTooLarge",
        errorMessage: "Exceeded maximum allowed payload size (\(Limits.maxResponseBytes) bytes).")
    /// 400: the body could not be read whole (its chunked framing was malformed, or it was cut short); the invoke
    /// fails with `Runtime.TruncatedResponse`.
    package static let truncatedRequest = RuntimeAPIError(
        status: 400, errorType: "TruncatedHTTPRequest", errorMessage: "HTTP request detected as truncated")
    /// 410: a reply for an invoke that already timed out, or carrying a `Lambda-Runtime-Invocation-Id` that is not
    /// its invoke's (LMI-RIE's wording).
    package static let invokeTimeout = RuntimeAPIError(
        status: 410, errorType: "InvokeTimeout", errorMessage: "Invoke timeout")
    /// 500: the agent failed.
    package static let internalError = RuntimeAPIError(
        status: 500, errorType: "InternalServerError", errorMessage: "Internal Server Error")

    /// 403: the runtime's state does not allow the call.
    package static func invalidTransition(from: String, to: String) -> RuntimeAPIError {
        RuntimeAPIError(
            status: 403, errorType: "InvalidStateTransition",
            errorMessage:
                "State transition from \(from) to \(to) failed for runtime. Error: State transition is not allowed"
        )
    }

    /// The error Lambda's agent answers `rejection` with.
    package init(_ rejection: RuntimeRejection) {
        switch rejection {
        case .invalidRequestID: self = .invalidRequestID
        case .invokeTimeout: self = .invokeTimeout
        case .tooManyIdleRuntimes: self = .internalError
        case .invalidResponseMode: self = .invalidResponseMode
        case .payloadTooLarge: self = .payloadTooLarge
        case .truncatedRequest: self = .truncatedRequest
        case .invalidTransition(let from, let to):
            self = .invalidTransition(from: from.rawValue, to: to.rawValue)
        }
    }

    /// The JSON body, with the trailing newline Go's encoder writes.
    package var body: String { JSON.errorBody(type: errorType, message: errorMessage) + "\n" }
}
