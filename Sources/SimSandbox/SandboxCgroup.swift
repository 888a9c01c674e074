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

/// One sandbox's cgroup(s) under a `lambda-sim` parent: the freezer, a memory limit of MemorySize, a pids
/// limit of 1,024 and optionally a CPU quota proportional to memory.
///
/// cgroup v2 (a unified hierarchy with controllers) uses `cgroup.freeze`, `memory.max`, `memory.peak`,
/// `pids.max`, `cpu.max`; otherwise the v1 controllers `freezer`, `memory`, `pids`, `cpu` are used.
package final class SandboxCgroup {
    /// The directory name: `<simulator pid>-<sandbox id>`, so stale ones can be recognised.
    package let name: String
    package let isV2: Bool
    /// Directories per controller (v1), or the one directory (v2) under key "".
    package private(set) var directories: [String: String] = [:]

    static let root = "/sys/fs/cgroup"
    static let parent = "lambda-sim"
    static let v1Controllers = ["freezer", "memory", "pids", "cpu"]

    /// Whether the machine has a cgroup v2 hierarchy with the controllers lambda-sim needs.
    static var hasUsableV2: Bool {
        guard let controllers = readFile("\(root)/cgroup.controllers") else { return false }
        return controllers.contains("memory") && controllers.contains("pids")
    }

    /// Creates the cgroup(s) and applies the limits.
    package init(name: String, memoryMB: Int, cpuScaling: Bool) throws(CgroupError) {
        self.name = name
        isV2 = Self.hasUsableV2
        if isV2 {
            let parent = "\(Self.root)/\(Self.parent)"
            try Self.makeDirectory(parent)
            try? Self.write("\(parent)/cgroup.subtree_control", "+memory +pids +cpu")
            let dir = "\(parent)/\(name)"
            try Self.makeDirectory(dir)
            directories[""] = dir
            try Self.write("\(dir)/memory.max", String(memoryMB * 1_048_576))
            try? Self.write("\(dir)/memory.swap.max", "0")
            try Self.write("\(dir)/pids.max", "1024")
            if cpuScaling { try? Self.write("\(dir)/cpu.max", "\(Self.quota(memoryMB: memoryMB)) 100000") }
            return
        }
        for controller in Self.v1Controllers {
            let parent = "\(Self.root)/\(controller)/\(Self.parent)"
            guard access("\(Self.root)/\(controller)", F_OK) == 0 else {
                if controller == "freezer" { throw CgroupError(path: "\(Self.root)/freezer", reason: "no freezer") }
                continue
            }
            try Self.makeDirectory(parent)
            let dir = "\(parent)/\(name)"
            try Self.makeDirectory(dir)
            directories[controller] = dir
        }
        if let memory = directories["memory"] {
            try? Self.write("\(memory)/memory.move_charge_at_immigrate", "3")
            try Self.write("\(memory)/memory.limit_in_bytes", String(memoryMB * 1_048_576))
            try? Self.write("\(memory)/memory.memsw.limit_in_bytes", String(memoryMB * 1_048_576))
        }
        if let pids = directories["pids"] { try Self.write("\(pids)/pids.max", "1024") }
        if cpuScaling, let cpu = directories["cpu"] {
            try? Self.write("\(cpu)/cpu.cfs_period_us", "100000")
            try? Self.write("\(cpu)/cpu.cfs_quota_us", String(Self.quota(memoryMB: memoryMB)))
        }
    }

    /// CPU microseconds per 100 ms period: 1,769 MB is one vCPU.
    static func quota(memoryMB: Int) -> Int { max(1_000, memoryMB * 100_000 / 1_769) }

    /// Moves `pid` (and the children it forks from now on) into the cgroup(s).
    package func add(pid: Int32) throws(CgroupError) {
        for dir in directories.values { try Self.write("\(dir)/cgroup.procs", String(pid)) }
    }

    /// Requests the frozen or thawed state.
    package func setFrozen(_ frozen: Bool) {
        if isV2 {
            try? Self.write("\(directories[""]!)/cgroup.freeze", frozen ? "1" : "0")
        } else if let dir = directories["freezer"] {
            try? Self.write("\(dir)/freezer.state", frozen ? "FROZEN" : "THAWED")
        }
    }

    /// `FROZEN`, `FREEZING` or `THAWED` (v2's `cgroup.events` `frozen` field mapped to the same words).
    package func freezerState() -> String {
        if isV2 {
            let events = Self.readFile("\(directories[""]!)/cgroup.events") ?? ""
            let frozenLine = events.split(separator: "\n").first { $0.hasPrefix("frozen ") }
            let wanted = Self.readFile("\(directories[""]!)/cgroup.freeze")?.hasPrefix("1") ?? false
            if frozenLine == "frozen 1" { return "FROZEN" }
            return wanted ? "FREEZING" : "THAWED"
        }
        guard let dir = directories["freezer"] else { return "THAWED" }
        return (Self.readFile("\(dir)/freezer.state") ?? "THAWED").trimmingNewlines
    }

    /// The cgroup's peak memory use in bytes.
    package func peakMemoryBytes() -> Int? {
        let file =
            isV2
            ? directories[""].map { "\($0)/memory.peak" }
            : directories["memory"].map { "\($0)/memory.max_usage_in_bytes" }
        return file.flatMap(Self.readFile).flatMap { Int($0.trimmingNewlines) }
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
        let dir = isV2 ? directories[""] : directories["freezer"]
        return (dir.flatMap { Self.readFile("\($0)/cgroup.procs") } ?? "").split(separator: "\n").compactMap {
            Int32($0)
        }
    }

    /// Thaws, kills whatever is left and removes the directories.
    package func remove() {
        Self.killAndRemove(directories: Array(directories.values), isV2: isV2)
        directories = [:]
    }

    static func killAndRemove(directories: [String], isV2: Bool) {
        for dir in directories {
            if isV2 {
                try? write("\(dir)/cgroup.freeze", "0")
            } else if dir.contains("/freezer/") {
                try? write("\(dir)/freezer.state", "THAWED")
            }
            let pids = (readFile("\(dir)/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
            for pid in pids { kill(pid, SIGKILL) }
        }
        for dir in directories {
            // rmdir fails while a killed process is still exiting; retry briefly.
            for _ in 0..<200 where rmdir(dir) != 0 && errno == EBUSY { usleep(5_000) }
        }
    }

    /// Removes cgroups left by a lambda-sim that died without cleaning up (its pid no longer runs).
    package static func removeStale() {
        var parents = v1Controllers.map { "\(root)/\($0)/\(parent)" }
        parents.append("\(root)/\(parent)")
        for parentDir in parents {
            guard let entries = directoryEntries(parentDir) else { continue }
            var stale: [String] = []
            for entryName in entries {
                guard let owner = entryName.split(separator: "-").first.flatMap({ Int32($0) }) else { continue }
                if kill(owner, 0) != 0 && errno == ESRCH { stale.append("\(parentDir)/\(entryName)") }
            }
            killAndRemove(directories: stale, isV2: parentDir == "\(root)/\(parent)")
        }
    }

    static func makeDirectory(_ path: String) throws(CgroupError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw CgroupError(path: path, reason: String(cString: strerror(errno)))
        }
    }

    static func write(_ path: String, _ value: String) throws(CgroupError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CgroupError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let ok = value.withCString { Glibc.write(fd, $0, strlen($0)) } >= 0
        if !ok { throw CgroupError(path: path, reason: String(cString: strerror(errno))) }
    }

    static func readFile(_ path: String) -> String? { ProcessMemory.readSmallFile(path) }
}

extension String {
    fileprivate var trimmingNewlines: String {
        var s = Substring(self)
        while s.last == "\n" || s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
