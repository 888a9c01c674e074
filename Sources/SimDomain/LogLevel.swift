/// The least severe application log lines a runtime writes with the JSON log format (Lambda's
/// `ApplicationLogLevel`), given to runtimes as `AWS_LAMBDA_LOG_LEVEL`.
public enum LogLevel: String, Sendable, CaseIterable {
    /// Everything, down to tracing detail.
    case trace = "TRACE"
    /// Debugging detail and above.
    case debug = "DEBUG"
    /// Informational lines and above (Lambda's default).
    case info = "INFO"
    /// Warnings and above.
    case warn = "WARN"
    /// Errors and above.
    case error = "ERROR"
    /// Only fatal errors.
    case fatal = "FATAL"
}
