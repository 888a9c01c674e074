/// How a sandbox's processes are held still between invokes.
package enum FreezeMode: String, Sendable, CaseIterable {
    /// Never frozen: background work keeps running between invokes.
    case none
    /// SIGSTOP / SIGCONT to every process group of the sandbox, confirmed through `/proc`.
    case signal
    /// The cgroup freezer (v2 `cgroup.freeze`, else v1 `freezer.state`), with memory and pids limits.
    case cgroup
}

/// Who may use a sandbox's Runtime API (and Extensions and Telemetry APIs) on its loopback address.
package enum RuntimeAPIAccess: String, Sendable, CaseIterable {
    /// Only the sandbox's own processes (its runtime, extensions and their descendants), as in Lambda, where the
    /// API is reachable only from inside the execution environment. Other connections are closed unread.
    case sandbox
    /// Any local process: for a runtime started by hand, under a debugger, or a test poking the API.
    case any
}
