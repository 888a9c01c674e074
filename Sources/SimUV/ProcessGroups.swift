import CLibUV
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Every live process group the simulator started (and every process that left its group with `setsid`), so that
/// nothing it started outlives it, running or stopped, however it ends.
///
/// - A clean stop kills and unregisters each sandbox's processes itself.
/// - A crash (a fatal signal) runs a handler that kills every registered entry; it may only make async-signal-safe
///   calls (`kill`).
/// - `SIGKILL`, which no handler sees, is covered by the guardian (`startGuardian`): a small process forked at
///   start that outlives the simulator by a moment. The table lives in a shared file mapping
///   (`/dev/shm/lambda-sim-guard-<pid>`) that the guardian reads when the simulator is gone; it then thaws the
///   simulator's cgroups, kills every entry and removes the cgroups, within milliseconds.
/// - A later simulator removes a dead one's table file, first killing the entries whose leader still runs with the
///   recorded start time (`removeStale`), in case the guardian was killed too.
///
/// Slots hold an entry or 0. Writers (any loop thread) hold `slots`, which finds a free slot and an entry's slot
/// in O(1), so registering stays cheap with 10,000 sandboxes.
package enum ProcessGroups {
    private static let capacity = Int(CLIBUV_GUARD_CAPACITY)
    /// The prefix of the table files' names, followed by the owner's pid.
    static let filePrefix = "lambda-sim-guard-"

    /// The table: a shared mapping of the table file, or private memory when no file could be made.
    // SAFETY: written only under `slots`; the fatal-signal handler and the guardian read it when the process dies.
    nonisolated(unsafe) private static let table: UnsafeMutablePointer<clibuv_guard_table> = {
        let path = tableDirectory + "/" + filePrefix + String(getpid())
        if let mapped = clibuv_guard_map(path) {
            mapped.pointee.magic = Int32(bitPattern: UInt32(CLIBUV_GUARD_MAGIC))
            mapped.pointee.owner = getpid()
            mapped.pointee.owner_start = startTime(of: getpid()) ?? 0
            tablePath.withLock { $0 = path }
            return mapped
        }
        let memory = UnsafeMutablePointer<clibuv_guard_table>.allocate(capacity: 1)
        UnsafeMutableRawPointer(memory).initializeMemory(
            as: UInt8.self, repeating: 0, count: MemoryLayout<clibuv_guard_table>.size)
        return memory
    }()
    /// The table file's path, once mapped.
    private static let tablePath = Mutex<String?>(nil)
    /// The slot of each registered entry, and the slots below the high-water mark that are free again.
    private static let slots = Mutex<(byID: [Int32: Int], free: [Int])>(([:], []))
    /// The write end of the guardian's pipe and the guardian's pid, once started.
    private static let guardian = Mutex<(fd: Int32, pid: pid_t)?>(nil)

    /// Where the table files live: `/dev/shm` when writable, else the temporary directory.
    static var tableDirectory: String {
        access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
    }

    /// Records a group the simulator owns (its leader's pid).
    package static func register(_ pgid: Int32) { add(pgid, start: startTime(of: pgid) ?? 0) }

    /// Forgets a group once it is dead.
    package static func unregister(_ pgid: Int32) { remove(pgid) }

    /// Records a process of a sandbox that is not in any of its groups (it called `setsid`); `start` is its start
    /// time in clock ticks after boot (`startTime(of:)`).
    package static func registerProcess(_ pid: Int32, start: UInt64) { add(-pid, start: start) }

    /// Forgets a single process.
    package static func unregisterProcess(_ pid: Int32) { remove(-pid) }

    private static func add(_ id: Int32, start: UInt64) {
        slots.withLock { slots in
            guard slots.byID[id] == nil else { return }
            let slot: Int
            if let reused = slots.free.popLast() {
                slot = reused
            } else {
                let highWater = Int(table.pointee.high_water)
                guard highWater < capacity else { return }
                slot = highWater
                table.pointee.high_water = Int32(highWater + 1)
            }
            withEntry(slot) { entry in
                entry.pointee.start = start
                entry.pointee.id = id
            }
            slots.byID[id] = slot
        }
    }

    private static func remove(_ id: Int32) {
        slots.withLock { slots in
            guard let slot = slots.byID.removeValue(forKey: id) else { return }
            withEntry(slot) { $0.pointee.id = 0 }
            slots.free.append(slot)
        }
    }

    private static func withEntry(_ slot: Int, _ body: (UnsafeMutablePointer<clibuv_guard_entry>) -> Void) {
        body(clibuv_guard_entries(table) + slot)
    }

    /// SIGKILL then SIGCONT to every registered entry. Async-signal-safe.
    package static func killAll() { clibuv_guard_kill_entries(table) }

    /// Records the port of a Runtime API listener: processes whose `AWS_LAMBDA_RUNTIME_API` names it were started by
    /// this simulator's sandboxes, so the guardian (or a later simulator) can find them even when no group or
    /// process tree leads to them any more.
    package static func registerRuntimeAPIPort(_ port: Int) {
        slots.withLock { _ in
            let ports = clibuv_guard_ports(table)!
            for index in 0..<Int(CLIBUV_GUARD_PORTS) where ports[index] == 0 || ports[index] == Int32(port) {
                ports[index] = Int32(port)
                return
            }
        }
    }

    /// Starts the guardian, once per process, telling it the directories that hold this process's cgroups
    /// (`<parent>/<pid>-<sandbox>`). Without a table file (no writable `/dev/shm` or temporary directory) there is
    /// no guardian. Returns its pid, or nil.
    @discardableResult
    package static func startGuardian(cgroupParents: [String]) -> pid_t? {
        guardian.withLock { guardian -> pid_t? in
            if let guardian { return guardian.pid }
            _ = table
            guard let path = tablePath.withLock({ $0 }) else { return nil }
            withUnsafeMutablePointer(to: &table.pointee.path) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: Int(CLIBUV_GUARD_PATH)) { copy(path, to: $0) }
            }
            withUnsafeMutablePointer(to: &table.pointee.parents) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: Int(CLIBUV_GUARD_PARENTS * CLIBUV_GUARD_PATH)) {
                    rows in
                    for (index, parent) in cgroupParents.prefix(Int(CLIBUV_GUARD_PARENTS)).enumerated() {
                        copy(parent, to: rows + index * Int(CLIBUV_GUARD_PATH))
                    }
                }
            }
            var pid: pid_t = 0
            let fd = clibuv_guard_start(table, &pid)
            guard fd >= 0 else { return nil }
            guardian = (fd, pid)
            return pid
        }
    }

    /// Writes `text` as a NUL-terminated string into a row of `CLIBUV_GUARD_PATH` bytes, cut to fit.
    private static func copy(_ text: String, to row: UnsafeMutablePointer<CChar>) {
        let bytes = Array(text.utf8.prefix(Int(CLIBUV_GUARD_PATH) - 1))
        for (offset, byte) in bytes.enumerated() { row[offset] = CChar(bitPattern: byte) }
        row[bytes.count] = 0
    }

    /// Kills what simulators that died left in their table files (entries whose leader still runs with the
    /// recorded start time, and their descendants, in case their guardian died too) and removes those files.
    /// Returns how many processes and groups it signalled.
    @discardableResult
    package static func removeStale() -> Int {
        let directory = tableDirectory
        var killed = 0
        for name in directoryEntries(directory) ?? [] where name.hasPrefix(filePrefix) {
            guard let owner = Int32(name.dropFirst(filePrefix.count)), owner != getpid() else { continue }
            let path = directory + "/" + name
            guard let stale = clibuv_guard_map_existing(path) else { continue }
            defer { clibuv_guard_unmap(stale) }
            let ownerAlive = kill(owner, 0) == 0 || errno == EPERM
            if ownerAlive && (stale.pointee.owner_start == 0 || startTime(of: owner) == stale.pointee.owner_start) {
                continue
            }
            killed += Int(clibuv_guard_kill_trees(stale, 1))
            killed += Int(clibuv_guard_kill_by_environment(stale, 1))
            unlink(path)
        }
        removeStaleSockets()
        return killed
    }

    /// The path of a Unix socket that a sandbox of this simulator offers its processes (named after the simulator's
    /// pid, so that a restart can remove what a killed simulator left).
    package static func socketPath(sandbox: String) -> String { "/tmp/lambda-sim-\(getpid())-\(sandbox).sock" }

    /// Removes the sockets (`socketPath`) of simulators that are gone: their guardian killed their processes and
    /// removed their table, but it does not touch files.
    private static func removeStaleSockets() {
        let prefix = "lambda-sim-"
        for name in directoryEntries("/tmp") ?? [] where name.hasPrefix(prefix) && name.hasSuffix(".sock") {
            guard let owner = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), owner != getpid() else {
                continue
            }
            if kill(owner, 0) != 0 && errno == ESRCH { unlink("/tmp/" + name) }
        }
    }

    /// The start time of `pid` in clock ticks after boot (field 22 of `/proc/<pid>/stat`, read by the same code the
    /// guardian uses), or nil when it is gone.
    package static func startTime(of pid: Int32) -> UInt64? {
        let ticks = clibuv_guard_start_time(pid)
        return ticks == 0 ? nil : ticks
    }

    /// The handlers that were installed before ours (the Swift runtime's backtracer, say), restored before
    /// the signal is raised again.
    nonisolated(unsafe) private static let previous: UnsafeMutablePointer<sigaction> = {
        let table = UnsafeMutablePointer<sigaction>.allocate(capacity: 32)
        table.initialize(repeating: sigaction(), count: 32)
        return table
    }()
    private static let fatalSignals = [SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE, SIGTRAP]

    /// Installs handlers for the signals a crashing process dies of: they kill every registered group, then
    /// restore the previous handler and raise the signal again, so nothing is left frozen or orphaned.
    package static func installFatalSignalHandlers() {
        _ = table
        for number in fatalSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                ProcessGroups.killAll()
                sigaction(number, ProcessGroups.previous + Int(number), nil)
                raise(number)
            }
            action.sa_flags = Int32(bitPattern: UInt32(SA_NODEFER))
            sigaction(number, &action, previous + Int(number))
        }
    }
}
