import SimUV
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Why a sandbox's cgroup could not be set up.
package struct CgroupError: Error, CustomStringConvertible, Equatable {
    /// The file or directory that failed.
    package var path: String
    /// What failed there (`strerror`).
    package var reason: String

    package var description: String {
        "cgroup freeze mode needs a writable cgroup hierarchy: \(path): \(reason) (run as root, or use --freeze signal)"
    }
}

/// The cgroup hierarchy sandboxes' cgroups live in.
package enum CgroupHierarchy: Equatable, Sendable {
    /// cgroup v1: one directory per controller, `<root>/<controller>/lambda-sim/<name>`.
    case v1(root: String)
    /// cgroup v2: one directory, `<root>/lambda-sim/<name>`, in the unified hierarchy mounted at `root`.
    case v2(root: String)

    /// Where the machine's cgroups are mounted.
    package static let mountPoint = "/sys/fs/cgroup"

    /// v2 when the unified hierarchy at the mount point has the memory and pids controllers, else v1.
    package static func detect() -> CgroupHierarchy {
        let controllers = SmallFiles.readSmallFile("\(mountPoint)/cgroup.controllers") ?? ""
        return controllers.contains("memory") && controllers.contains("pids")
            ? .v2(root: mountPoint) : .v1(root: mountPoint)
    }
}

/// Failed cgroup writes and reads, each reported once per process (per file name and errno), so that a
/// thousand sandboxes hitting the same missing file print one line, and no failure goes unsaid.
package enum CgroupDiagnostics {
    private static let reported = Mutex<Set<String>>([])

    /// The line to log for a failed operation on `path`, the first time this file name fails with this errno;
    /// nil when it was reported already.
    static func firstReport(_ operation: String, path: String, errno code: Int32, degraded: String) -> String? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard reported.withLock({ $0.insert("\(operation) \(name) \(code)").inserted }) else { return nil }
        return "lambda-sim: cgroup: cannot \(operation) \(path): \(String(cString: strerror(code))) (errno \(code));"
            + " degraded: \(degraded)"
    }
}

/// One sandbox's cgroup(s) under a `lambda-sim` parent: the freezer, a memory limit of MemorySize, a pids
/// limit of 1,024 and optionally a CPU quota proportional to memory.
///
/// The freezer is cgroup v2's `cgroup.freeze` wherever a writable unified hierarchy exists, also on a v1 host
/// that mounts one beside its controllers (`/sys/fs/cgroup/unified`): a v2 freeze and thaw cost the kernel
/// about a third of what the v1 freezer's do (measured here: ~40 µs against ~120 µs of CPU per cycle). The v1
/// freezer is used only where there is no unified hierarchy.
///
/// Every process of the sandbox is a member from its first instruction (`spawn`): on cgroup v1 the loop
/// thread joins the sandbox's cgroups for the fork (a child starts in its forking thread's cgroups) and leaves
/// right after; on v2, where threads cannot join a domain cgroup alone, a `/bin/sh` prelude writes its own pid
/// into `cgroup.procs` and then execs the command. No write fails silently: a limit or a reading that cannot
/// be set up is reported once (`CgroupDiagnostics`) and listed in `degraded`; only what makes the mode
/// unusable (the directories, the freezer) throws.
package final class SandboxCgroup {
    /// The directory name: `<simulator pid>-<sandbox id>`, so stale ones can be recognised.
    package let name: String
    package let hierarchy: CgroupHierarchy
    /// Directories per controller (v1), or the one directory (v2) under key "".
    package private(set) var directories: [String: String] = [:]
    /// Where the sandbox is frozen.
    package private(set) var freezer: Freezer = .none
    /// The freezer state last asked for.
    private var freezeRequested = false
    /// The freezer's control file (`cgroup.freeze` or `freezer.state`) and state file (`cgroup.events` or
    /// `freezer.state`), kept open while `keptFreezerFiles` allows, so that a freeze or a thaw is one write and
    /// each check of it one read instead of an open, a write or read and a close; -1 where not kept.
    private var freezerFiles: (control: Int32, state: Int32)?
    /// Whether `freezerFiles` hold room in the budget.
    private var freezerFilesCounted = false
    /// The freezer files kept open by all sandboxes together (two each): at most 2,048.
    static let keptFreezerFiles = KeptFileBudget(limit: 2_048)

    /// What the freezer reports.
    package enum FreezerState: Sendable, Equatable {
        /// Every task is frozen.
        case frozen
        /// A freeze was asked for and is not complete yet.
        case freezing
        /// Not frozen (or no freezer).
        case thawed
    }

    /// A cgroup freezer.
    package enum Freezer: Equatable, Sendable {
        /// None set up (the cgroup is being removed).
        case none
        /// cgroup v1's freezer controller: `freezer.state` in this directory.
        case v1(String)
        /// cgroup v2's core freezer: `cgroup.freeze` and `cgroup.events` in this directory.
        case v2(String)

        /// The directory, for membership and clean-up.
        package var directory: String? {
            switch self {
            case .none: return nil
            case .v1(let dir), .v2(let dir): return dir
            }
        }
    }
    /// Features that do not work as designed for this cgroup, e.g. `memory limit`.
    package private(set) var degraded: [String] = []
    /// Lines to log (first reports of failures), taken by `takeMessages`.
    private var messages: [String] = []

    static let parent = "lambda-sim"
    static let v1Controllers = ["freezer", "memory", "pids", "cpu"]

    package var isV2: Bool {
        if case .v2 = hierarchy { return true }
        return false
    }

    private var root: String {
        switch hierarchy {
        case .v1(let root), .v2(let root): return root
        }
    }

    /// Creates the cgroup(s) and applies the limits.
    package init(name: String, memoryMB: Int, cpuScaling: Bool, hierarchy: CgroupHierarchy = .detect())
        throws(CgroupError)
    {
        self.name = name
        self.hierarchy = hierarchy
        let memoryBytes = String(memoryMB * 1_048_576)
        if case .v2(let root) = hierarchy {
            let parent = "\(root)/\(Self.parent)"
            try Self.makeDirectory(parent)
            // Enabling controllers for the children fails for those the hierarchy lacks; each limit says so below.
            _ = Self.write("\(parent)/cgroup.subtree_control", "+memory +pids +cpu")
            let dir = "\(parent)/\(name)"
            try Self.makeDirectory(dir)
            directories[""] = dir
            guard access("\(dir)/cgroup.freeze", F_OK) == 0 else {
                throw CgroupError(path: "\(dir)/cgroup.freeze", reason: "no cgroup v2 freezer (Linux 5.2 or later)")
            }
            freezer = .v2(dir)
            set("\(dir)/memory.max", memoryBytes, feature: "memory limit (no Runtime.OutOfMemory)")
            set("\(dir)/memory.swap.max", "0", feature: "swap limit (swap use is not limited)")
            set("\(dir)/pids.max", "1024", feature: "pids limit")
            if cpuScaling {
                set("\(dir)/cpu.max", "\(Self.quota(memoryMB: memoryMB)) 100000", feature: "--cpu-scaling quota")
            }
            return
        }
        if let unified = Self.unifiedFreezerRoot(under: root) {
            let parent = "\(unified)/\(Self.parent)"
            try Self.makeDirectory(parent)
            let dir = "\(parent)/\(name)"
            try Self.makeDirectory(dir)
            freezer = .v2(dir)
        }
        for controller in Self.v1Controllers {
            if controller == "freezer", case .v2 = freezer { continue }
            let mount = "\(root)/\(controller)"
            guard access(mount, F_OK) == 0 else {
                if controller == "freezer" { throw CgroupError(path: mount, reason: "no freezer controller mounted") }
                note("find", path: mount, errno: ENOENT, feature: "\(controller) controller")
                continue
            }
            let parent = "\(mount)/\(Self.parent)"
            try Self.makeDirectory(parent)
            let dir = "\(parent)/\(name)"
            try Self.makeDirectory(dir)
            directories[controller] = dir
            if controller == "freezer" { freezer = .v1(dir) }
        }
        if let memory = directories["memory"] {
            set("\(memory)/memory.limit_in_bytes", memoryBytes, feature: "memory limit (no Runtime.OutOfMemory)")
            set("\(memory)/memory.memsw.limit_in_bytes", memoryBytes, feature: "swap limit (swap use is not limited)")
        }
        if let pids = directories["pids"] { set("\(pids)/pids.max", "1024", feature: "pids limit") }
        if cpuScaling, let cpu = directories["cpu"] {
            set("\(cpu)/cpu.cfs_period_us", "100000", feature: "--cpu-scaling quota")
            set("\(cpu)/cpu.cfs_quota_us", String(Self.quota(memoryMB: memoryMB)), feature: "--cpu-scaling quota")
        }
    }

    /// The unified (v2) hierarchy mounted beside v1's controllers, when it can be written (a freezer needs no
    /// controller in v2).
    static func unifiedFreezerRoot(under root: String) -> String? {
        let unified = "\(root)/unified"
        guard access("\(unified)/cgroup.procs", W_OK) == 0 else { return nil }
        return unified
    }

    /// CPU microseconds per 100 ms period: 1,769 MB is one vCPU.
    static func quota(memoryMB: Int) -> Int { max(1_000, memoryMB * 100_000 / 1_769) }

    /// Lines to log about failures since the last call (each failure kind is reported once per process).
    package func takeMessages() -> [String] {
        defer { messages.removeAll() }
        return messages
    }

    /// Writes a limit; a failure is reported and marks `feature` degraded.
    private func set(_ path: String, _ value: String, feature: String) {
        if let code = Self.write(path, value) { note("write", path: path, errno: code, feature: feature) }
    }

    private func note(_ operation: String, path: String, errno code: Int32, feature: String) {
        if !degraded.contains(feature) { degraded.append(feature) }
        if let line = CgroupDiagnostics.firstReport(operation, path: path, errno: code, degraded: feature) {
            messages.append(line)
        }
    }

    // MARK: - Membership

    /// Starts `spec` as a member of the cgroup from its first instruction (see the type's notes).
    package func spawn(_ spec: ProcessSpec, on loop: EventLoop) throws(UVError) -> ChildProcess {
        if case .v2 = hierarchy, let dir = directories[""] {
            // The shell would start even when the command cannot: find that out first, as exec would.
            if case .unusable(let code) = ExecutableLookup.resolve(spec.arguments[0], environment: spec.environment) {
                throw UVError(code: -code, operation: "uv_spawn(\(spec.arguments[0]))")
            }
            var shimmed = spec
            shimmed.arguments = ["/bin/sh", "-c", Self.v2Prelude, "\(dir)/cgroup.procs"] + spec.arguments
            return try ChildProcess(loop: loop, spec: shimmed)
        }
        let thread = currentThreadID()
        let home = joinThread(thread)
        defer { leaveThread(thread, home: home) }
        let process = try ChildProcess(loop: loop, spec: spec)
        if home == nil { addAfterStart(pid: process.pid) }
        joinFreezer(process.pid)
        return process
    }

    /// Moves a process that is already running into the cgroup (memory it touched before is not counted): for
    /// benchmarks and tools that start their own processes.
    package func adopt(_ pid: Int32) {
        addAfterStart(pid: pid)
        joinFreezer(pid)
    }

    /// A v2 freezer beside v1 controllers: membership matters from the first freeze on, which is later than the
    /// start.
    private func joinFreezer(_ pid: Int32) {
        guard case .v2(let dir) = freezer, !isV2 else { return }
        if let code = Self.write("\(dir)/cgroup.procs", String(pid)) {
            note("write", path: "\(dir)/cgroup.procs", errno: code, feature: "freeze")
        }
    }

    /// The v2 prelude: the shell moves itself (`0` is the writer) into the cgroup, then becomes the command.
    static let v2Prelude =
        #"echo 0 > "$0" || echo "lambda-sim: cgroup: cannot join $0; memory before exec is not counted" >&2; exec "$@""#

    /// Moves thread `thread` into every controller's cgroup; returns the cgroups to go back to, or nil (after
    /// undoing a partial join) when the thread could not join them all.
    private func joinThread(_ thread: Int32) -> [String]? {
        let home = Self.threadCgroups(thread, root: root)
        var joined: [String] = []
        for (controller, dir) in directories.sorted(by: { $0.key < $1.key }) {
            if let code = Self.write("\(dir)/tasks", String(thread)) {
                note("write", path: "\(dir)/tasks", errno: code, feature: "membership from the first instruction")
                leaveThread(thread, home: joined.map { home[$0] ?? "\(root)/\($0)" })
                return nil
            }
            joined.append(controller)
        }
        return joined.map { home[$0] ?? "\(root)/\($0)" }
    }

    /// Moves thread `thread` back to `home` (its cgroups' directories); the root cgroup if that fails.
    private func leaveThread(_ thread: Int32, home: [String]?) {
        for dir in home ?? [] where Self.write("\(dir)/tasks", String(thread)) != nil {
            let fallback = Self.controllerMount(of: dir, root: root) + "/tasks"
            if let code = Self.write(fallback, String(thread)) {
                note("write", path: fallback, errno: code, feature: "the simulator's own cgroup")
            }
        }
    }

    /// Fallback when the thread could not join: the process joins once started (memory it touched before is
    /// not counted).
    private func addAfterStart(pid: Int32) {
        for dir in Set(directories.values) {
            if let code = Self.write("\(dir)/cgroup.procs", String(pid)) {
                note("write", path: "\(dir)/cgroup.procs", errno: code, feature: "cgroup membership")
            }
        }
    }

    /// `controller → directory` of `thread`'s v1 cgroups, from `/proc/<pid>/task/<tid>/cgroup`.
    static func threadCgroups(_ thread: Int32, root: String) -> [String: String] {
        let text = SmallFiles.readSmallFile("/proc/\(getpid())/task/\(thread)/cgroup") ?? ""
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = fields[2] == "/" ? "" : String(fields[2])
            for controller in fields[1].split(separator: ",") where v1Controllers.contains(String(controller)) {
                result[String(controller)] = "\(root)/\(controller)\(path)"
            }
        }
        return result
    }

    /// `<root>/<controller>` of a v1 cgroup directory.
    static func controllerMount(of dir: String, root: String) -> String {
        let rest = dir.dropFirst(root.count + 1)
        return "\(root)/\(rest.prefix { $0 != "/" })"
    }

    // MARK: - Freezer, memory, processes

    /// Requests the frozen or thawed state.
    package func setFrozen(_ frozen: Bool) {
        freezeRequested = frozen
        let value: StaticString
        switch freezer {
        case .none: return
        case .v1: value = frozen ? "FROZEN" : "THAWED"
        case .v2: value = frozen ? "1" : "0"
        }
        let control = openFreezerFiles().control
        if control >= 0 {
            if pwrite(control, value.utf8Start, value.utf8CodeUnitCount, 0) >= 0 { return }
            note("write", path: controlPath, errno: errno, feature: "freeze")
        } else if let code = Self.write(controlPath, value.description) {
            note("write", path: controlPath, errno: code, feature: "freeze")
        }
    }

    /// What the freezer reports now (v2: `cgroup.events`'s `frozen` field, `freezing` while a freeze is asked for
    /// and not complete).
    package func freezerState() -> FreezerState {
        guard freezer != .none else { return .thawed }
        let state = openFreezerFiles().state
        let read: ((UnsafeRawBufferPointer) -> FreezerState?) -> FreezerState? = { body in
            state >= 0 ? ProcFiles.readKept(fd: state, body) : ProcFiles.readPath(self.statePath, body)
        }
        if case .v1 = freezer {
            return read { bytes in
                if bytes.starts(with: "FROZEN".utf8) { return .frozen }
                return bytes.starts(with: "FREEZING".utf8) ? .freezing : .thawed
            } ?? .thawed
        }
        let frozen = read { bytes in ProcFiles.field("frozen ", in: bytes) == 1 ? .frozen : nil }
        return frozen ?? (freezeRequested ? .freezing : .thawed)
    }

    private var controlPath: String {
        switch freezer {
        case .none: return ""
        case .v1(let dir): return "\(dir)/freezer.state"
        case .v2(let dir): return "\(dir)/cgroup.freeze"
        }
    }

    private var statePath: String {
        switch freezer {
        case .none: return ""
        case .v1(let dir): return "\(dir)/freezer.state"
        case .v2(let dir): return "\(dir)/cgroup.events"
        }
    }

    /// The kept freezer files, opened at first use if the budget allows; (-1, -1) when it does not.
    private func openFreezerFiles() -> (control: Int32, state: Int32) {
        if let freezerFiles { return freezerFiles }
        var files: (control: Int32, state: Int32) = (-1, -1)
        if Self.keptFreezerFiles.take(2) {
            files = (open(controlPath, O_WRONLY | O_CLOEXEC), open(statePath, O_RDONLY | O_CLOEXEC))
            freezerFilesCounted = true
        }
        freezerFiles = files
        return files
    }

    /// Closes the kept freezer files and gives their room back.
    private func closeFreezerFiles() {
        guard let files = freezerFiles else { return }
        freezerFiles = nil
        if files.control >= 0 { close(files.control) }
        if files.state >= 0 { close(files.state) }
        if freezerFilesCounted { Self.keptFreezerFiles.give(2) }
        freezerFilesCounted = false
    }

    deinit { closeFreezerFiles() }

    /// The cgroup's peak memory use in bytes; nil (reported once) when the hierarchy has no such counter.
    package func peakMemoryBytes() -> Int? {
        let file =
            isV2
            ? directories[""].map { "\($0)/memory.peak" }
            : directories["memory"].map { "\($0)/memory.max_usage_in_bytes" }
        guard let file else { return nil }
        guard let value = Self.readFile(file).flatMap({ Int($0.trimmingNewlines) }) else {
            note("read", path: file, errno: errno == 0 ? ENOENT : errno, feature: "cgroup memory peak")
            return nil
        }
        return value
    }

    /// How many processes the kernel's OOM killer killed in this cgroup so far.
    package func oomKillCount() -> Int {
        let file =
            isV2
            ? directories[""].map { "\($0)/memory.events" } : directories["memory"].map { "\($0)/memory.oom_control" }
        guard let text = file.flatMap(Self.readFile) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count)) ?? 0
        }
        return 0
    }

    /// Pids currently in the cgroup.
    package func processes() -> [Int32] {
        let dir = freezer.directory ?? directories[""] ?? directories["memory"]
        return (dir.flatMap { Self.readFile("\($0)/cgroup.procs") } ?? "").split(separator: "\n").compactMap {
            Int32($0)
        }
    }

    /// Thaws, kills whatever is left and removes the directories.
    package func remove() {
        closeFreezerFiles()
        var all = Set(directories.values)
        if let dir = freezer.directory { all.insert(dir) }
        Self.killAndRemove(directories: Array(all))
        directories = [:]
        freezer = .none
    }

    static func killAndRemove(directories: [String]) {
        for dir in directories {
            // Thaw first: a frozen process cannot die.
            if access("\(dir)/cgroup.freeze", F_OK) == 0 {
                _ = write("\(dir)/cgroup.freeze", "0")
            } else if access("\(dir)/freezer.state", F_OK) == 0 {
                _ = write("\(dir)/freezer.state", "THAWED")
            }
            let pids = (readFile("\(dir)/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
            for pid in pids where pid > 1 { kill(pid, SIGKILL) }
        }
        for dir in directories {
            // rmdir fails while a killed process is still exiting; retry briefly.
            for _ in 0..<200 where rmdir(dir) != 0 && errno == EBUSY { usleep(5_000) }
        }
    }

    /// Every directory that may hold sandboxes' cgroups (`<parent>/<simulator pid>-<sandbox id>`), in v1 and v2.
    package static func parentDirectories(root: String = CgroupHierarchy.mountPoint) -> [String] {
        v1Controllers.map { "\(root)/\($0)/\(parent)" } + ["\(root)/\(parent)", "\(root)/unified/\(parent)"]
    }

    /// Removes cgroups left by a lambda-sim that died without cleaning up (its pid no longer runs).
    package static func removeStale(root: String = CgroupHierarchy.mountPoint) {
        for parentDir in parentDirectories(root: root) {
            guard let entries = directoryEntries(parentDir) else { continue }
            var stale: [String] = []
            for entryName in entries {
                guard let owner = entryName.split(separator: "-").first.flatMap({ Int32($0) }) else { continue }
                if kill(owner, 0) != 0 && errno == ESRCH { stale.append("\(parentDir)/\(entryName)") }
            }
            killAndRemove(directories: stale)
        }
    }

    static func makeDirectory(_ path: String) throws(CgroupError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw CgroupError(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Writes `value` to `path`; nil on success, else the errno.
    @discardableResult
    static func write(_ path: String, _ value: String) -> Int32? {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let written = value.withCString { Glibc.write(fd, $0, strlen($0)) }
        return written >= 0 ? nil : errno
    }

    static func readFile(_ path: String) -> String? { SmallFiles.readSmallFile(path) }
}

extension String {
    fileprivate var trimmingNewlines: String {
        var s = Substring(self)
        while s.last == "\n" || s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
