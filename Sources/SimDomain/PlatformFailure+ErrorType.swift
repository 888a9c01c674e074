/// Lambda's error type for each platform failure (`x-amzn-ErrorType`, REPORT's status, telemetry): what the machine
/// decides faults and outcomes by. The invoker's message is worded where it leaves (`PlatformFailure+Rendering`).
extension PlatformFailure {
    /// The Lambda error type.
    package var errorType: String {
        switch self {
        case .timeout: return "Sandbox.Timedout"
        case .runtimeExit: return Self.runtimeExitErrorType
        case .outOfMemory: return Self.outOfMemoryErrorType
        case .extensionExit: return "Extension.Crash"
        case .extensionLaunch: return "Extension.LaunchError"
        case .extensionInitError: return "Extension.InitError"
        case .invalidEntrypoint: return "Runtime.InvalidEntrypoint"
        case .invalidWorkingDirectory: return "Runtime.InvalidWorkingDir"
        case .runtimeNotStarted, .shuttingDown: return "Sandbox.Failure"
        case .unknownInitError: return "Runtime.Unknown"
        case .invalidResponseMode: return "Runtime.InvalidResponseModeHeader"
        case .responseTooLarge: return "Function.ResponseSizeTooLarge"
        case .truncatedResponse: return "Runtime.TruncatedResponse"
        }
    }

    static let runtimeExitErrorType = "Runtime.ExitError"
    static let outOfMemoryErrorType = "Runtime.OutOfMemory"

    /// True when a runtime reported its own error under the name of a process exit: its REPORT is a fault as the
    /// exit's would be (Lambda goes by the error type).
    package static func isProcessExit(errorType: String) -> Bool {
        errorType == runtimeExitErrorType || errorType == outOfMemoryErrorType
    }
}
