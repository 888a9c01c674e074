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
///   calls (`kill`, reads of `/proc`).
/// - `SIGKILL`, which no handler sees, is covered by the guardian (`startGuardian`): a small process forked at
///   start that outlives the simulator by a moment. The table lives in a shared file mapping (`guard` in the
///   process's private `StateDirectory`) that the guardian reads when the simulator is gone; it then thaws the
///   simulator's cgroups, kills every entry, removes the cgroups and the state directory, within milliseconds.
/// - A later simulator of the same user kills what a dead one's table lists, in case its guardian died too, and
///   removes its state directory (`removeStale`).
///
/// Every process a sandbox starts carries `mark` in its environment, unique to this simulator process. A group or
/// process is signalled only after its identity is re-verified at that moment (its start time as recorded and the
/// mark in its environment, or being a child of such a process); no signal goes to a pid or group at or below 1.
/// See `guardian.h`.
///
/// Slots hold an entry or 0. Writers (any loop thread) hold `slots`, which finds a free slot and an entry's slot
/// in O(1), so registering stays cheap with 10,000 sandboxes.
package enum ProcessGroups {
    private static let capacity = Int(CLIBUV_GUARD_CAPACITY)
    /// The table file's name in the state directory.
    static let tableName = "guard"

    /// `_LAMBDA_SIM_INSTANCE=`, the start of `mark`.
    package static let markKey = "_LAMBDA_SIM_INSTANCE="

    /// The environment entry (`_LAMBDA_SIM_INSTANCE=<32 hex digits>`) every process this simulator starts carries:
    /// 128 random bits, so that no other process carries it by chance and no other user can guess it.
    package static let mark: String = {
        var bytes = [UInt8](repeating: 0, count: 16)
        let filled = bytes.withUnsafeMutableBytes { clibuv_random($0.baseAddress, $0.count) }
        if filled != 16 {
            // No getrandom: time and pid are unique enough on one machine, if guessable.
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            var seed = UInt64(UInt32(bitPattern: getpid())) << 32 ^ UInt64(now.tv_sec) << 20 ^ UInt64(now.tv_nsec)
            for index in bytes.indices {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes[index] = UInt8(truncatingIfNeeded: seed >> 33)
            }
        }
        let digits = Array("0123456789abcdef".utf8)
        let hex = bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] }
        return markKey + String(decoding: hex, as: UTF8.self)
    }()

    /// The table: a shared mapping of the table file, or private memory when no file could be made.
    // SAFETY: written only under `slots`; the fatal-signal handler and the guardian read it when the process dies.
    nonisolated(unsafe) private static let table: UnsafeMutablePointer<clibuv_guard_table> = {
        let table: UnsafeMutablePointer<clibuv_guard_table>
        if let directory = StateDirectory.instance, let mapped = clibuv_guard_map(directory + "/" + tableName) {
            table = mapped
            tablePath.withLock { $0 = directory }
            copy(directory, to: &table.pointee.path, capacity: Int(CLIBUV_GUARD_PATH))
        } else {
            table = privateTable()
        }
        table.pointee.magic = Int32(bitPattern: UInt32(CLIBUV_GUARD_MAGIC))
        table.pointee.owner = getpid()
        table.pointee.owner_start = startTime(of: getpid()) ?? 0
        copy(mark, to: &table.pointee.mark, capacity: Int(CLIBUV_GUARD_MARK))
        return table
    }()
    /// The state directory holding the table file, once mapped.
    private static let tablePath = Mutex<String?>(nil)
    /// The slot of each registered entry, and the slots below the high-water mark that are free again.
    private static let slots = Mutex<(byID: [Int32: Int], free: [Int])>(([:], []))
    /// The write end of the guardian's pipe and the guardian's pid, once started.
    private static let guardian = Mutex<(fd: Int32, pid: pid_t)?>(nil)

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
        guard id > 1 || id < -1, id != Int32.min else { return }
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

    /// Starts the guardian, once per process, telling it the directories that hold this process's cgroups
    /// (`<parent>/<pid>-<sandbox>`). Without a table file (no private state directory) there is no guardian.
    /// Returns its pid, or nil.
    @discardableResult
    package static func startGuardian(cgroupParents: [String]) -> pid_t? {
        guardian.withLock { guardian -> pid_t? in
            if let guardian { return guardian.pid }
            _ = table
            guard tablePath.withLock({ $0 }) != nil else { return nil }
            withUnsafeMutablePointer(to: &table.pointee.parents) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: Int(CLIBUV_GUARD_PARENTS * CLIBUV_GUARD_PATH)) {
                    rows in
                    for (index, parent) in cgroupParents.prefix(Int(CLIBUV_GUARD_PARENTS)).enumerated() {
                        copy(parent, to: rows + index * Int(CLIBUV_GUARD_PATH), capacity: Int(CLIBUV_GUARD_PATH))
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

    /// Writes `text` as a NUL-terminated string into a row of `capacity` bytes, cut to fit.
    private static func copy(_ text: String, to row: UnsafeMutablePointer<CChar>, capacity: Int) {
        let bytes = Array(text.utf8.prefix(capacity - 1))
        for (offset, byte) in bytes.enumerated() { row[offset] = CChar(bitPattern: byte) }
        row[bytes.count] = 0
    }

    /// `copy(_:to:capacity:)` into a fixed-size C array member.
    private static func copy<Row>(_ text: String, to row: UnsafeMutablePointer<Row>, capacity: Int) {
        row.withMemoryRebound(to: CChar.self, capacity: capacity) { copy(text, to: $0, capacity: capacity) }
    }

    /// Kills what simulators of this user that died left (the entries of their tables whose processes it
    /// re-verifies, their descendants and every process carrying their mark, in case their guardian died too) and
    /// removes their state directories. A directory whose simulator still runs (same pid, same start time) is left
    /// alone. Returns how many processes and groups it signalled.
    @discardableResult
    package static func removeStale() -> Int {
        var killed = 0
        for root in StateDirectory.roots() {
            for owner in StateDirectory.instancePIDs(in: root) where owner != getpid() {
                let directory = "\(root)/\(owner)"
                switch leftover(of: directory) {
                case .running:
                    continue
                case .dead(let signalled):
                    killed += signalled
                    StateDirectory.removeTree(directory)
                }
            }
        }
        return killed
    }

    /// Kills what the dead simulator whose state directory is `directory` left running (its own pid is now this
    /// process's, so it is gone). Returns how many processes and groups it signalled.
    @discardableResult
    static func killLeftovers(of directory: String) -> Int {
        guard let stale = clibuv_guard_map_existing(directory + "/" + tableName, geteuid()) else { return 0 }
        defer { clibuv_guard_unmap(stale) }
        return killRecorded(stale)
    }

    /// This process's table file, created on first use; nil when there is none (no private state directory).
    package static var tableFile: String? {
        _ = table
        return tablePath.withLock { $0 }.map { $0 + "/" + tableName }
    }

    /// Whether the file at `path` would be read as a dead simulator's table: a regular file (not a link) owned by
    /// this user, mode 0600, of the table's size and magic.
    package static func isAdoptableTable(_ path: String) -> Bool {
        guard let table = clibuv_guard_map_existing(path, geteuid()) else { return false }
        clibuv_guard_unmap(table)
        return true
    }

    /// Does to a table holding `entries` (ids as registered: a group's leader, or minus a single process's pid, with
    /// start times), owned by `owner` and marked `mark`, what the guardian, a later simulator and the crash handler
    /// do to a dead simulator's table, with the same identity checks. Returns how many processes and groups were
    /// signalled. The table lives in private memory: this is the rule the guardian follows, callable by tests.
    package static func signalAsStaleTable(entries: [(id: Int32, start: UInt64)], owner: Int32, mark: String) -> Int {
        let table = privateTable()
        defer { table.deallocate() }
        table.pointee.magic = Int32(bitPattern: UInt32(CLIBUV_GUARD_MAGIC))
        table.pointee.owner = owner
        copy(mark, to: &table.pointee.mark, capacity: Int(CLIBUV_GUARD_MARK))
        let slots = clibuv_guard_entries(table)!
        for (index, entry) in entries.prefix(capacity).enumerated() {
            slots[index].id = entry.id
            slots[index].start = entry.start
        }
        table.pointee.high_water = Int32(min(entries.count, capacity))
        clibuv_guard_kill_entries(table)
        return killRecorded(table)
    }

    /// Kills what `table` records, as the guardian does: its re-verified entries with their descendants, and every
    /// process carrying its mark. Returns how many processes and groups were signalled.
    private static func killRecorded(_ table: UnsafePointer<clibuv_guard_table>) -> Int {
        Int(clibuv_guard_kill_trees(table)) + Int(clibuv_guard_kill_by_environment(table))
    }

    /// A zeroed table in private memory (the caller deallocates it, or keeps it for the process's life).
    private static func privateTable() -> UnsafeMutablePointer<clibuv_guard_table> {
        let table = UnsafeMutablePointer<clibuv_guard_table>.allocate(capacity: 1)
        UnsafeMutableRawPointer(table).initializeMemory(
            as: UInt8.self, repeating: 0, count: MemoryLayout<clibuv_guard_table>.size)
        return table
    }

    private enum Leftover {
        /// Its simulator still runs.
        case running
        /// Its simulator is gone; this many processes and groups were signalled.
        case dead(signalled: Int)
    }

    /// Whether the simulator of state directory `directory` still runs, and if not, kills what it left. Anything
    /// but a private directory of this user (a link, a file) is no simulator's: it is removed, never followed.
    private static func leftover(of directory: String) -> Leftover {
        guard let owner = Int32(directory.split(separator: "/").last ?? "") else { return .running }
        guard StateDirectory.isPrivateDirectory(directory, repair: false) == nil else { return .dead(signalled: 0) }
        let ownerAlive = kill(owner, 0) == 0 || errno == EPERM
        guard let stale = clibuv_guard_map_existing(directory + "/" + tableName, geteuid()) else {
            // No table of ours (none was written, or what is there fails the checks): the directory's pid decides.
            return ownerAlive ? .running : .dead(signalled: 0)
        }
        defer { clibuv_guard_unmap(stale) }
        if ownerAlive && (stale.pointee.owner_start == 0 || startTime(of: owner) == stale.pointee.owner_start) {
            return .running
        }
        return .dead(signalled: killRecorded(stale))
    }

    /// The path of a Unix socket that sandbox `sandbox` of this simulator offers its processes, in the private state
    /// directory; nil when there is none.
    package static func socketPath(sandbox: String) -> String? {
        StateDirectory.instance.map { "\($0)/\(sandbox).sock" }
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
