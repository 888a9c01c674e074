import SimDomain

#if canImport(Glibc)
    import Glibc
#endif

/// The process layer's side of a failed spawn: the `errno` it got, as the state machine's cause.
extension SandboxStateMachine.ExecFailure {
    /// The cause of a spawn that failed with `errno`: `ENOENT`, `EACCES` and `ENOEXEC` by name, any other with the
    /// system's text for it (`strerror`).
    package init(errno code: Int32) {
        switch code {
        case ENOENT: self = .notFound
        case EACCES: self = .permissionDenied
        case ENOEXEC: self = .notAProgram
        default: self = .system(systemMessage: String(cString: strerror(code)))
        }
    }
}
