/// How a sandbox's processes are held still between invokes.
package enum FreezeMode: String, Sendable, CaseIterable {
    /// Never frozen: background work keeps running between invokes.
    case none
    /// SIGSTOP / SIGCONT to every process group of the sandbox, confirmed through `/proc`.
    case signal
    /// The cgroup freezer (v2 `cgroup.freeze`, else v1 `freezer.state`), with memory and pids limits.
    case cgroup
}
