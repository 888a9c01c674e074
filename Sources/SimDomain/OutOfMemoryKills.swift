import SimCore

/// Whether a runtime's exit was an out-of-memory kill, told from the sandbox cgroup's count of OOM kills
/// (`memory.events`' `oom_kill`): a SIGKILL seen while that count went up since the last exit.
///
///     seen n ---- exit with count m ----> seen m (out of memory when m > n and the exit is a SIGKILL)
package struct OutOfMemoryKills: Sendable {
    /// The cgroup's OOM kills counted at the last exit.
    package private(set) var seen = 0

    /// No kills seen yet.
    package init() {}

    /// The runtime exited with `status` while the cgroup had counted `killCount` OOM kills: true when that exit was
    /// one of them.
    package mutating func runtimeExited(_ status: ExitStatus, killCount: Int) -> Bool {
        defer { seen = killCount }
        return killCount > seen && status.isKill
    }
}
