#if canImport(Glibc)
    import Glibc
#endif

/// How a child process ended.
package enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    /// It called `exit` with this status.
    case exited(Int32)
    /// A signal with this number killed it.
    case signaled(Int32)

    /// Go's `exec.ExitError` wording, which Lambda's messages use: `exit status 1`, `signal: killed`.
    package var description: String {
        switch self {
        case .exited(let code): return "exit status \(code)"
        case .signaled(let signal): return "signal: \(ExitStatus.signalName(signal))"
        }
    }

    /// True when SIGKILL killed it (the kernel's OOM killer among others).
    package var isKill: Bool { self == .signaled(SIGKILL) }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: return "killed"
        case SIGTERM: return "terminated"
        case SIGSEGV: return "segmentation fault"
        case SIGABRT: return "aborted"
        case SIGINT: return "interrupt"
        case SIGBUS: return "bus error"
        case SIGFPE: return "floating point exception"
        case SIGILL: return "illegal instruction"
        case SIGPIPE: return "broken pipe"
        case SIGHUP: return "hangup"
        case SIGQUIT: return "quit"
        case SIGUSR1: return "user defined signal 1"
        case SIGUSR2: return "user defined signal 2"
        default: return String(cString: strsignal(signal)).lowercased()
        }
    }
}
