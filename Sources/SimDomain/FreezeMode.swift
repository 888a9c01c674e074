/// How a sandbox's processes are held still between invokes.
public enum FreezeMode: String, Sendable, CaseIterable {
    /// Never frozen: background work keeps running between invokes.
    case none
    /// SIGSTOP / SIGCONT to every process group of the sandbox, confirmed through `/proc` (the default).
    case signal
    /// The cgroup freezer (v2 `cgroup.freeze`, else v1 `freezer.state`), with a memory limit of MemorySize and a
    /// pids limit of 1,024.
    case cgroup
}

/// Who may use a sandbox's Runtime API (and its Extensions and Telemetry APIs) on its loopback address.
public enum RuntimeAPIAccess: String, Sendable, CaseIterable {
    /// Only the sandbox's own processes (its runtime, extensions and their descendants), as in Lambda, where the
    /// API is reachable only from inside the execution environment (the default): a connection from any other
    /// process is closed before anything is read, so another function's runtime cannot take over an invoke.
    case sandbox
    /// Any local process: for a runtime started by hand, under a debugger, or a test that calls the API itself.
    case any
}
