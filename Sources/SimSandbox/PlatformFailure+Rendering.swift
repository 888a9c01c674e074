import SimCore
import SimDomain

/// Lambda's words for the platform's failures: the error type (`x-amzn-ErrorType`, REPORT's status, telemetry)
/// and the invoker's message, byte-exact with Lambda's. The machine decides a `PlatformFailure`; the sandbox renders
/// it here when it leaves (the invoke's result, the platform's log lines).
extension PlatformFailure {
    /// The invoker's message for the invoke `requestID` (nil for an init ahead of any invoke):
    /// `RequestId: <id> Error: <reason>`, or Lambda's fixed text for the failures that have one.
    package func message(requestID: String?) -> String {
        switch self {
        case .unknownInitError:
            return "Unknown application error occurred"
        case .responseTooLarge(let bytes, let limit):
            return Self.responseTooLargeMessage(bytes: bytes, limit: limit)
        default:
            let prefix = requestID.map { "RequestId: \($0) " } ?? ""
            return "\(prefix)Error: \(reason)"
        }
    }

    /// The text after `Error: `.
    private var reason: String {
        switch self {
        case .timeout(let seconds):
            return "Task timed out after \(LambdaLog.fixed(seconds)) seconds"
        case .runtimeExit(let status), .outOfMemory(let status):
            if status == .exited(0) { return "Runtime exited without providing a reason" }
            return "Runtime exited with error: \(status)"
        case .extensionExit(let name, let status):
            return "extension \(name) exited: \(status)"
        case .extensionLaunch(let reason):
            return reason
        case .extensionInitError(let name, let reportedType):
            return "extension \(name) failed: \(reportedType)"
        case .invalidEntrypoint(let program, let reason):
            return "fork/exec \(program): \(reason)"
        case .invalidWorkingDirectory(let path, let cause):
            return "chdir \(path): \(cause)"
        case .runtimeNotStarted(let systemMessage):
            return "the simulator could not start the runtime: \(systemMessage)"
        case .shuttingDown:
            return "the simulator is shutting down"
        case .invalidResponseMode:
            return "Invalid function response mode"
        case .truncatedResponse(.invokerGone):
            return "the invoker went away before the response ended"
        case .truncatedResponse(.malformed):
            return "the runtime's streamed response was malformed"
        case .truncatedResponse(.endedEarly):
            return "the runtime's streamed response ended early"
        case .unknownInitError:
            return "Unknown application error occurred"
        case .responseTooLarge(let bytes, let limit):
            return Self.responseTooLargeMessage(bytes: bytes, limit: limit)
        }
    }

    /// The invoker's message for a response over the limit.
    package static func responseTooLargeMessage(bytes: Int, limit: Int = Limits.maxResponseBytes) -> String {
        "Response payload size (\(bytes) bytes) exceeded maximum allowed payload size (\(limit) bytes)."
    }

    /// The invoke's result as the invoker gets it.
    package func outcome(requestID: String?) -> InvokeOutcome {
        .platformError(errorType: errorType, message: message(requestID: requestID))
    }
}

extension SandboxOutcome {
    /// The invoke `requestID`'s result as the invoker gets it: the runtime's, or the failure rendered.
    package func rendered(requestID: String) -> InvokeOutcome {
        switch self {
        case .runtime(let outcome): return outcome
        case .failure(let failure): return failure.outcome(requestID: requestID)
        }
    }

    /// The error type REPORT and telemetry name: the runtime's (when it gave one) or the failure's.
    package var errorType: String? {
        switch self {
        case .runtime(.success): return nil
        case .runtime(.functionError(_, _, let type)): return type
        case .runtime(.platformError(let type, _)): return type
        case .failure(let failure): return failure.errorType
        }
    }
}
