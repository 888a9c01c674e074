import SimCore
import SimDomain
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// The processes of one sandbox: it starts them (in the sandbox's cgroup in `cgroup` mode, each in its own process
/// group), splits their output into lines, reads their memory from `/proc` and the cgroup, freezes and thaws them,
/// follows the processes that left their groups, and carries out a shutdown's signals and kills.
///
/// Loop-confined and owned by its `Sandbox`, which it tells what happened (exits, output lines, notices) through a
/// weak reference; it decides nothing about the sandbox's lifecycle.
final class ProcessSupervisor {
    let loop: EventLoop
    let function: FunctionSpec
    let clock: any SimClock
    /// The sandbox these processes belong to.
    weak var sandbox: Sandbox?
    /// Peak memory of the process tree so far, in KiB.
    private(set) var maxMemoryKiB = 0
    /// The processes found by the last memory measurement.
    let processTree = ProcessTree()
    /// When memory is read at invokes' ends, and the timer of a catch-up reading.
    var memoryReadings = MemoryReadings()
    var memoryTimer: Timer?
    var runtime: ChildProcess?
    var extensionProcesses: [String: ChildProcess] = [:]
    /// Process groups started in this generation, killed together at the end of a shutdown.
    var processGroups: [Int32] = []
    /// Processes of the sandbox seen outside all of its groups (they called `setsid`), with their start times:
    /// frozen, thawed and killed one by one, and registered with `ProcessGroups` so that they die with the
    /// simulator too.
    var escapedProcesses: [Int32: UInt64] = [:]
    /// Line splitters of the runtime's and every extension's output.
    var outputs: [OutputSource: ProcessOutput] = [:]
    /// Holds the processes still between invokes.
    let freezer: Freezer
    /// The sandbox's cgroup in `cgroup` freeze mode.
    let cgroup: SandboxCgroup?
    /// OOM kills seen in the cgroup so far, to tell a new one apart.
    var oomKills = OutOfMemoryKills()
    /// The timers of a shutdown under way.
    var killTimers: [Timer] = []
    /// The order in which a shutdown stops the processes.
    var shutdownSequence = ShutdownSequence()
    /// How each process ended in the last shutdown (a reset's, or the final one), and the processes it had to
    /// SIGKILL.
    var shutdownExits: [ShutdownExit] = []
    var killedInShutdown: Set<String> = []

    /// A supervisor for `function`'s processes in the sandbox `sandboxID`, with its cgroup in `cgroup` mode.
    init(loop: EventLoop, function: FunctionSpec, clock: any SimClock, sandboxID: String) throws {
        self.loop = loop
        self.function = function
        self.clock = clock
        let cgroup =
            function.freezeMode == .cgroup
            ? try SandboxCgroup(
                name: "\(getpid())-\(sandboxID)", memoryMB: function.memorySizeMB, cpuScaling: function.cpuScaling)
            : nil
        self.cgroup = cgroup
        self.freezer = Freezer(mode: function.freezeMode, loop: loop, cgroup: cgroup)
    }

    /// The pids of the sandbox's live processes (runtime, extensions and their children), read now.
    var pids: [Int32] {
        let tree = ProcessTree()
        _ = tree.measure(roots: processRoots)
        return tree.pids
    }

    /// The runtime and extension processes still running.
    var processRoots: [Int32] {
        var roots: [Int32] = []
        if let runtime, runtime.exitStatus == nil { roots.append(runtime.pid) }
        for process in extensionProcesses.values where process.exitStatus == nil { roots.append(process.pid) }
        return roots
    }

    /// Whether the runtime process is running.
    var runtimeAlive: Bool { runtime.map { $0.exitStatus == nil } ?? false }

    var anyProcessAlive: Bool {
        runtimeAlive || extensionProcesses.values.contains { $0.exitStatus == nil }
    }

    /// A new generation of processes begins (an init): the last one's lists are dropped.
    func beginGeneration() {
        extensionProcesses = [:]
        outputs = [:]
        processGroups = []
    }

    /// Why the code directory (every process's working directory) cannot be used, in Go's wording
    /// (`no such file or directory`, `not a directory`); nil when it is a directory.
    func codeDirectoryProblem() -> String? {
        var info = stat()
        let exists = stat(function.codeDirectory, &info) == 0
        if exists, (info.st_mode & S_IFMT) == S_IFDIR { return nil }
        return exists ? "not a directory" : String(cString: strerror(errno)).lowercased()
    }

    /// Starts `arguments` with `environment` as the runtime or an extension (`source`), as every process of a
    /// sandbox starts: in the code directory, with Lambda's descriptor limit, its output captured to a file; in
    /// `cgroup` mode a member of the cgroup from its first instruction, in its own process group, its output split
    /// into lines.
    @discardableResult
    func start(_ arguments: [String], environment: [String], as source: OutputSource) throws(UVError) -> ChildProcess {
        let spec = ProcessSpec(
            arguments: arguments, environment: environment, workingDirectory: function.codeDirectory,
            fileDescriptorLimit: Limits.processFileDescriptors, output: .file)
        let process: ChildProcess
        if let cgroup {
            defer { reportCgroupMessages() }
            process = try cgroup.spawn(spec, on: loop)
        } else {
            process = try ChildProcess(loop: loop, spec: spec)
        }
        adopt(process)
        switch source {
        case .runtime:
            runtime = process
            watchOutput(of: process, as: .runtime)
            process.onExit = { [weak self] status in self?.runtimeExited(status) }
        case .extension(let name):
            extensionProcesses[name] = process
            watchOutput(of: process, as: .extension(name))
            process.onExit = { [weak self] status in self?.extensionExited(name, status) }
        }
        return process
    }

    /// Forgets the runtime (a new one is about to start, or none will).
    func forgetRuntime() { runtime = nil }

    /// Logs what the cgroup could not set up (each kind once per simulator process).
    func reportCgroupMessages() {
        for line in cgroup?.takeMessages() ?? [] { sandbox?.publish(.notice(line), requestID: nil) }
    }

    /// Tracks a new process's group for signals and crash cleanup.
    private func adopt(_ process: ChildProcess) {
        processGroups.append(process.pid)
        ProcessGroups.register(process.pid)
    }

    /// Splits a process's output into lines and hands them to the sandbox as `source`'s.
    private func watchOutput(of process: ChildProcess, as source: OutputSource) {
        outputs[source] = ProcessOutput()
        process.onStdout = { [weak self] bytes in self?.output(bytes, stderr: false, from: source) }
        process.onStderr = { [weak self] bytes in self?.output(bytes, stderr: true, from: source) }
        let writer =
            switch source {
            case .runtime: "the runtime"
            case .extension(let name): "extension \(name)"
            }
        process.onOutputDropped = { [weak self] count in
            let limit = LogFiles.maxBacklogBytes >> 20
            self?.sandbox?.publish(
                .notice("lambda-sim: dropped \(count) bytes of output from \(writer) (more than \(limit) MiB unread)"),
                requestID: nil)
        }
    }

    private func output(_ bytes: UnsafeRawBufferPointer, stderr: Bool, from source: OutputSource) {
        guard let sandbox else { return }
        outputs[source]?.feed(bytes, stderr: stderr) { line in sandbox.processPrinted(line, from: source) }
    }

    /// Emits the last, unterminated lines of a process that exited.
    func flushOutput(of source: OutputSource) {
        guard let sandbox else { return }
        outputs[source]?.flush {
            sandbox.publish(.output(source, String(decoding: $0, as: UTF8.self)), requestID: nil)
        }
    }

    /// Delivers what the runtime printed and the loop has not read yet.
    func drainRuntimeOutput() { runtime?.drainOutput() }

    /// Delivers what the extensions printed and the loop has not read yet.
    func drainExtensionOutput() {
        for process in extensionProcesses.values { process.drainOutput() }
    }

    /// Raises `maxMemoryKiB` to the sandbox's peak: the process tree's summed peak RSS, and in `cgroup` mode also
    /// the cgroup's own peak, which catches children that came and went between two readings, while the RSS
    /// counts file pages (the runtime's binary and libraries) that the page cache charged to another cgroup.
    func measureMemory() {
        memoryReadings.read(at: clock.monotonicNanoseconds, runtimeCPU: runtimeCPUNanoseconds())
        memoryTimer?.stop()
        if let cgroup, let peak = cgroup.peakMemoryBytes() {
            maxMemoryKiB = max(maxMemoryKiB, peak / 1024)
        }
        reportCgroupMessages()
        maxMemoryKiB = max(maxMemoryKiB, processTree.measure(roots: processRoots))
        noteEscapedProcesses()
    }

    /// Reads memory at the end of an invoke that lasted `durationMs`, or arms the one catch-up reading
    /// `MemoryReadings` decides on.
    func measureMemoryIfDue(durationMs: Double, failed: Bool) {
        let decision = memoryReadings.invokeEnded(
            failed: failed, durationMs: durationMs, runtimeThreads: processTree.firstRootThreads,
            runtimeCPU: runtimeCPUNanoseconds(),
            at: clock.monotonicNanoseconds)
        switch decision {
        case .read:
            measureMemory()
        case .skip:
            break
        case .armCatchUp(let nanoseconds):
            let timer = memoryTimer ?? Timer(loop: loop)
            memoryTimer = timer
            timer.start(afterMilliseconds: (nanoseconds + 999_999) / 1_000_000) { [weak self] in
                self?.measureMemory()
            }
        }
    }

    /// The CPU time the running runtime process has used (its threads', not its children's), in nanoseconds; nil
    /// when there is no runtime or its clock cannot be read. One `clock_gettime` of the process's CPU clock, whose
    /// id the kernel defines as `(~pid << 3) | CPUCLOCK_SCHED` (what glibc's `clock_getcpuclockid` returns, without
    /// the `clock_getres` it makes to check it).
    func runtimeCPUNanoseconds() -> UInt64? {
        guard let runtime, runtime.exitStatus == nil else { return nil }
        let schedulerClock: Int32 = 2
        var time = timespec()
        guard clock_gettime(clockid_t((~runtime.pid) << 3 | schedulerClock), &time) == 0 else { return nil }
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// The first reading of memory after a successful init.
    func initEnded() {
        measureMemory()
        memoryReadings.initEnded()
    }

    /// Records the processes of the last measurement that are in none of the sandbox's groups, and forgets
    /// recorded ones that are gone. Costs nothing for a sandbox whose processes have no children.
    func noteEscapedProcesses() {
        let members = processTree.pids
        let roots = processRoots
        guard members.count > roots.count || !escapedProcesses.isEmpty else { return }
        for pid in members where !roots.contains(pid) && escapedProcesses[pid] == nil {
            let group = getpgid(pid)
            guard group > 0, !processGroups.contains(group), let start = ProcessGroups.startTime(of: pid) else {
                continue
            }
            escapedProcesses[pid] = start
            ProcessGroups.registerProcess(pid, start: start)
        }
        for (pid, start) in escapedProcesses where !members.contains(pid) && ProcessGroups.startTime(of: pid) != start {
            escapedProcesses[pid] = nil
            ProcessGroups.unregisterProcess(pid)
        }
    }

    /// Freezes every process: the members of the last memory reading (at most 50 ms old, see `MemoryReadings`).
    func freeze() {
        freezer.freeze(
            groups: processGroups, singles: Array(escapedProcesses.keys), members: processTree.pids,
            directChildren: processRoots)
    }

    /// Releases what the supervisor holds (the sandbox is gone).
    func close() {
        processTree.closeAll()
        freezer.close()
        cgroup?.remove()
        memoryTimer?.close()
        memoryTimer = nil
    }
}
