import SimCore
import SimHTTP
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// Starting, watching and stopping the sandbox's processes.
extension Sandbox {
    /// The runtime's environment for the current init.
    var runtimeEnvironment: [String] {
        RuntimeEnvironment.runtime(
            function: function, runtimeAPI: runtimeAPI, logStreamName: logStreamName,
            initializationType: initializationType)
    }

    /// Starts every executable file of the extensions directory, sorted by name, each in its own group.
    func launchExtensions() {
        extensionProcesses = [:]
        outputs = [:]
        processGroups = []
        let names = function.extensionsDirectory.map(ExtensionDiscovery.executables(in:)) ?? []
        if names.count > ExtensionRegistry.maxExtensions {
            // Lambda launches at most ten and fails the init with Extension.LaunchError.
            let extra = names[ExtensionRegistry.maxExtensions]
            perform(
                machine.extensionLaunchFailed(
                    name: extra,
                    message: "TooManyExtensions: extension limit (\(ExtensionRegistry.maxExtensions)) reached"))
            return
        }
        let environment = RuntimeEnvironment.extensionEnvironment(fromRuntime: runtimeEnvironment)
        var launched: [String] = []
        for name in names {
            let path = function.extensionsDirectory! + "/" + name
            do {
                let process = try start(
                    ProcessSpec(
                        arguments: [path], environment: environment, workingDirectory: function.codeDirectory,
                        fileDescriptorLimit: Limits.processFileDescriptors, output: .file))
                extensionProcesses[name] = process
                adopt(process)
                watchOutput(of: process, as: .extension(name))
                process.onExit = { [weak self] status in self?.extensionExited(name, status) }
                launched.append(name)
            } catch {
                perform(machine.extensionLaunchFailed(name: name, message: "fork/exec \(path): \(error)"))
                return
            }
        }
        perform(machine.extensionsLaunched(names: launched))
    }

    func spawnRuntime() {
        runtime = nil
        var arguments = function.command
        // Managed runtimes start their bootstrap through AWS_LAMBDA_EXEC_WRAPPER when it is set.
        if let wrapper = function.environment.last(where: { $0.0 == "AWS_LAMBDA_EXEC_WRAPPER" })?.1, !wrapper.isEmpty {
            arguments.insert(wrapper, at: 0)
        }
        let spec = ProcessSpec(
            arguments: arguments, environment: runtimeEnvironment, workingDirectory: function.codeDirectory,
            fileDescriptorLimit: Limits.processFileDescriptors, output: .file)
        do {
            let process = try start(spec)
            runtime = process
            adopt(process)
            watchOutput(of: process, as: .runtime)
            process.onExit = { [weak self] status in self?.runtimeExited(status) }
        } catch {
            let prefix = machine.currentRequestID.map { "RequestId: \($0) " } ?? ""
            switch -error.code {
            case ENOENT, EACCES:
                // The bootstrap is missing or cannot be run: Lambda's Runtime.InvalidEntrypoint, in Go's wording.
                let reason = -error.code == EACCES ? "permission denied" : "no such file or directory"
                let message = "\(prefix)Error: fork/exec \(arguments.first ?? ""): \(reason)"
                perform(machine.spawnFailed(errorType: "Runtime.InvalidEntrypoint", message: message))
            default:
                // The simulator could not start it (out of descriptors, processes or memory): a platform failure.
                let reason = String(cString: strerror(-error.code))
                let message = "\(prefix)Error: the simulator could not start the runtime: \(reason)"
                publish(.notice("lambda-sim: cannot start \(arguments.first ?? ""): \(reason)"), requestID: nil)
                perform(machine.spawnFailed(errorType: "Sandbox.Failure", message: message))
            }
        }
    }

    /// Starts a process of the sandbox: in `cgroup` mode a member of the cgroup from its first instruction.
    private func start(_ spec: ProcessSpec) throws(UVError) -> ChildProcess {
        guard let cgroup else { return try ChildProcess(loop: loop, spec: spec) }
        defer { reportCgroupMessages() }
        return try cgroup.spawn(spec, on: loop)
    }

    /// Logs what the cgroup could not set up (each kind once per simulator process).
    func reportCgroupMessages() {
        for line in cgroup?.takeMessages() ?? [] { publish(.notice(line), requestID: nil) }
    }

    /// Tracks a new process's group for signals and crash cleanup.
    private func adopt(_ process: ChildProcess) {
        processGroups.append(process.pid)
        ProcessGroups.register(process.pid)
    }

    /// Splits a process's output into lines and emits them as `source`.
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
            self?.publish(
                .notice("lambda-sim: dropped \(count) bytes of output from \(writer) (more than \(limit) MiB unread)"),
                requestID: nil)
        }
    }

    private func output(_ bytes: UnsafeRawBufferPointer, stderr: Bool, from source: OutputSource) {
        outputs[source]?.feed(bytes, stderr: stderr) {
            publish(.output(source, String(decoding: $0, as: UTF8.self)), requestID: nil)
        }
    }

    /// Emits the last, unterminated lines of a process that exited.
    private func flushOutput(of source: OutputSource) {
        outputs[source]?.flush { publish(.output(source, String(decoding: $0, as: UTF8.self)), requestID: nil) }
    }

    private func runtimeExited(_ status: ExitStatus) {
        flushOutput(of: .runtime)
        measureMemory()
        runtime = nil
        // During a shutdown, SHUTDOWN goes out once the runtime is gone.
        if killing {
            runtimeStopped = true
            releaseShutdownIfReady()
        }
        let code: Int32? = if case .exited(let c) = status { c } else { nil }
        var outOfMemory = false
        if let cgroup {
            let kills = cgroup.oomKillCount()
            outOfMemory = kills > oomKills && status == .signaled(SIGKILL)
            oomKills = kills
        }
        if !killing { perform(machine.runtimeExited(status.description, code: code, outOfMemory: outOfMemory)) }
        finishKillIfDone()
    }

    private func extensionExited(_ name: String, _ status: ExitStatus) {
        flushOutput(of: .extension(name))
        extensionProcesses[name] = nil
        if !killing { perform(machine.extensionExited(name: name, status: status.description)) }
        finishKillIfDone()
    }

    private var anyProcessAlive: Bool {
        (runtime.map { $0.exitStatus == nil } ?? false) || extensionProcesses.values.contains { $0.exitStatus == nil }
    }

    /// Stops every process. The runtime gets SIGTERM and a grace period (none for a reset without
    /// extensions); subscribed external extensions got SHUTDOWN from the machine and live until the
    /// deadline; everything else dies at once.
    func stopProcesses(_ reason: SandboxStateMachine.ShutdownReason, deadlineMilliseconds deadline: UInt64) {
        // A runtime blocked in /next is left blocked, as Lambda leaves it: it learns of the shutdown from
        // SIGTERM. Answering its /next (with a 500) made runtimes exit on their own and race their own
        // SIGTERM handling. Its connection closes when the process dies.
        runtimeWaiters.removeAll()
        killing = true
        runtimeStopped = false
        // Buffered telemetry goes out before SHUTDOWN (subscribers usually exit on it).
        flushingTelemetry = true
        telemetry.flush(deadlineMilliseconds: min(deadline, Self.telemetryFlushMilliseconds)) { [weak self] _ in
            guard let self else { return }
            self.flushingTelemetry = false
            self.releaseShutdownIfReady()
        }
        guard anyProcessAlive else {
            finishKillIfDone()
            return
        }
        let hasExtensions = !machine.extensions.extensions.isEmpty
        if let runtime, runtime.exitStatus == nil {
            if deadline == 0 {
                runtime.signalGroup(SIGKILL)
            } else {
                runtime.signalGroup(SIGTERM)
                let grace = hasExtensions ? min(deadline, Self.runtimeShareMilliseconds) : deadline
                killTimers.append(
                    loop.schedule(afterMilliseconds: grace) { [weak self, weak runtime] in
                        runtime?.signalGroup(SIGKILL)
                        // The runtime's share is over: extensions get SHUTDOWN now.
                        guard let self else { return }
                        self.runtimeStopped = true
                        self.releaseShutdownIfReady()
                    })
            }
        } else {
            runtimeStopped = true
            releaseShutdownIfReady()
        }
        let subscribed = Set(
            machine.extensions.extensions.filter { $0.isExternal && $0.subscribes(.shutdown) }.map(\.name))
        for (name, process) in extensionProcesses where process.exitStatus == nil {
            if deadline == 0 || !subscribed.contains(name) { process.signalGroup(SIGKILL) }
        }
        if deadline > 0 {
            killTimers.append(
                loop.schedule(afterMilliseconds: deadline) { [weak self] in
                    guard let self else { return }
                    self.runtime?.signalGroup(SIGKILL)
                    for process in self.extensionProcesses.values { process.signalGroup(SIGKILL) }
                })
        }
    }

    /// SHUTDOWN goes to extensions once the runtime has stopped and buffered telemetry was flushed.
    func releaseShutdownIfReady() {
        guard killing, runtimeStopped, !flushingTelemetry else { return }
        perform(machine.releaseShutdownEvents())
    }

    /// The longest a shutdown waits for telemetry to be delivered before SHUTDOWN.
    static let telemetryFlushMilliseconds: UInt64 = 500

    /// The runtime's share of a shutdown with extensions before SIGKILL (Lambda: 300 ms).
    static let runtimeShareMilliseconds: UInt64 = 300

    private func finishKillIfDone() {
        guard killing, !anyProcessAlive else { return }
        killing = false
        for timer in killTimers { timer.close() }
        killTimers.removeAll()
        // Children the processes forked may outlive them; their groups die with them.
        for group in processGroups {
            _ = kill(-group, SIGKILL)
            ProcessGroups.unregister(group)
        }
        processGroups.removeAll()
        if let cgroup {
            // Anything that escaped the groups (setsid) but stayed in the cgroup dies too.
            for pid in cgroup.processes() { _ = kill(pid, SIGKILL) }
        }
        for waiter in extensionWaiters.values where !waiter.isCompleted {
            waiter.send(RuntimeAPIResponses.reply(.error(.internalError)))
        }
        extensionWaiters.removeAll()
        perform(machine.processesGone())
    }
}

/// Finds external extensions: executable regular files, sorted by name (as Lambda's agent lists them).
enum ExtensionDiscovery {
    static func executables(in directory: String) -> [String] {
        let names = (directoryEntries(directory) ?? []).filter { name in
            let path = directory + "/" + name
            var info = stat()
            return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
        }
        return names.sorted()
    }
}
