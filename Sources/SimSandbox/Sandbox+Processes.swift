import SimCore
import SimDomain
import SimHTTP
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// Starting, watching and stopping the sandbox's processes.
extension Sandbox {
    /// The runtime's environment for the current init.
    package var runtimeEnvironment: [String] {
        RuntimeEnvironment.runtime(
            function: function, runtimeAPI: runtimeAPI, logStreamName: logStreamName,
            initializationType: initializationType, logSocket: logSocket?.path)
    }

    /// Starts every executable file of the extensions directory, sorted by name, each in its own group.
    func launchExtensions() {
        extensionProcesses = [:]
        outputs = [:]
        processGroups = []
        if failsOnMissingCodeDirectory() { return }
        let names = function.extensionsDirectory.map(ExtensionDiscovery.executables(in:)) ?? []
        if let refused = machine.extensionsFound(names: names) {
            perform(refused)
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
                perform(machine.extensionLaunchFailed(name: name, reason: "fork/exec \(path): \(error)"))
                return
            }
        }
        // Extensions the user starts (attach mode) are expected like launched ones.
        perform(machine.extensionsLaunched(names: launched + function.attachedExtensions))
    }

    /// What a process started for an attached function plays.
    package enum AttachedRole: Sendable {
        /// The runtime.
        case runtime
        /// The external extension of this name (one of `attachedExtensions`).
        case `extension`(String)
    }

    /// Starts a process for an attached function with Lambda's environment for `role` (plus `extraEnvironment`), as
    /// one of the sandbox's processes: its output is the sandbox's, its exit fails the init or invoke as a launched
    /// process's would, and it is stopped with the sandbox. Returns its pid.
    package func spawnAttached(
        _ arguments: [String], as role: AttachedRole, extraEnvironment: [String] = []
    ) throws(UVError) -> Int32 {
        let environment: [String]
        switch role {
        case .runtime: environment = runtimeEnvironment + extraEnvironment
        case .extension:
            environment =
                RuntimeEnvironment.extensionEnvironment(fromRuntime: runtimeEnvironment) + extraEnvironment
        }
        let process = try start(
            ProcessSpec(
                arguments: arguments, environment: environment, workingDirectory: function.codeDirectory,
                fileDescriptorLimit: Limits.processFileDescriptors, output: .file))
        adopt(process)
        switch role {
        case .runtime:
            runtime = process
            watchOutput(of: process, as: .runtime)
            process.onExit = { [weak self] status in self?.runtimeExited(status) }
        case .extension(let name):
            extensionProcesses[name] = process
            watchOutput(of: process, as: .extension(name))
            process.onExit = { [weak self] status in self?.extensionExited(name, status) }
        }
        return process.pid
    }

    func spawnRuntime() {
        if function.isAttached {
            // The user's runtime may already run (started with `spawnAttached` before the extensions registered).
            if runtime != nil { return }
            // Attach mode: the user starts the runtime with this environment; init ends at its first /next.
            publish(
                .notice("lambda-sim: waiting for a runtime to attach: AWS_LAMBDA_RUNTIME_API=\(runtimeAPI)"),
                requestID: nil)
            return
        }
        runtime = nil
        if failsOnMissingCodeDirectory() { return }
        var arguments = function.command
        // Managed runtimes start their bootstrap through AWS_LAMBDA_EXEC_WRAPPER when it is set.
        if let wrapper = function.environment["AWS_LAMBDA_EXEC_WRAPPER"], !wrapper.isEmpty {
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
            perform(
                machine.spawnFailed(
                    .exec(program: arguments.first ?? "", cause: SandboxStateMachine.ExecFailure(errno: -error.code))))
        }
    }

    /// Fails the init with Lambda's `Runtime.InvalidWorkingDir` when the code directory (every process's working
    /// directory) is not a directory, rather than letting the spawn blame the program; true when it did.
    private func failsOnMissingCodeDirectory() -> Bool {
        var info = stat()
        let directory = function.codeDirectory
        let exists = stat(directory, &info) == 0
        if exists, (info.st_mode & S_IFMT) == S_IFDIR { return false }
        // Go's wording, as Lambda's own errors read: "chdir /var/task: no such file or directory".
        let cause = exists ? "not a directory" : String(cString: strerror(errno)).lowercased()
        perform(machine.spawnFailed(.workingDirectory(path: directory, cause: cause)))
        return true
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
        outputs[source]?.feed(bytes, stderr: stderr) { line in
            // Workers of a managed instance share stdout: a line that names an invoke in flight is that invoke's.
            let requestID =
                function.isManagedInstance && source == .runtime ? machine.requestID(mentionedIn: line) : nil
            publish(.output(source, String(decoding: line, as: UTF8.self)), requestID: requestID)
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
        runtimeExitedAt = clock.monotonicNanoseconds
        admitOwnerlessAfterExit()
        let outOfMemory = cgroup.map { oomKills.runtimeExited(status, killCount: $0.oomKillCount()) } ?? false
        if shutdownSequence.isStopping {
            shutdownExits.append(
                ShutdownExit(name: "runtime", status: status, killed: killedInShutdown.contains("runtime")))
            // During a shutdown, SHUTDOWN goes out once the runtime is gone.
            perform(shutdownSequence.runtimeExited())
            noteExit()
            return
        }
        perform(exitGrace.runtimeExited(RuntimeExitGrace.Exit(status: status, outOfMemory: outOfMemory)))
        noteExit()
    }

    /// Carries out what the exit grace decided. An exit reported once a shutdown began is one the machine, then
    /// stopping its processes, ignores.
    func perform(_ action: RuntimeExitGrace.Action) {
        switch action {
        case .wait(let step, let milliseconds, let exit):
            loop.schedule(afterMilliseconds: milliseconds) { [weak self] in
                guard let self else { return }
                let streamBeingRead = activeResponseStreams.values.contains { !$0.isEnded }
                perform(exitGrace.waited(step, exit: exit, streamBeingRead: streamBeingRead))
            }
        case .report(let exit):
            perform(machine.runtimeExited(exit.status, outOfMemory: exit.outOfMemory))
        case .none:
            break
        }
    }

    /// A streamed response's body ended: a runtime exit held for it goes on.
    func runtimeStreamEnded() {
        perform(exitGrace.streamEnded())
    }

    private func extensionExited(_ name: String, _ status: ExitStatus) {
        flushOutput(of: .extension(name))
        extensionProcesses[name] = nil
        if shutdownSequence.isStopping {
            shutdownExits.append(
                ShutdownExit(name: name, status: status, killed: killedInShutdown.contains(name)))
        } else {
            perform(machine.extensionExited(name: name, status: status))
        }
        noteExit()
    }

    private var anyProcessAlive: Bool {
        (runtime.map { $0.exitStatus == nil } ?? false) || extensionProcesses.values.contains { $0.exitStatus == nil }
    }

    /// Ends a shutdown once its last process has exited.
    private func noteExit() {
        if shutdownSequence.isStopping && !anyProcessAlive { perform(shutdownSequence.allExited()) }
    }

    /// Stops every process, in the order `ShutdownSequence` gives.
    func stopProcesses(_ reason: SandboxStateMachine.ShutdownReason, deadlineMilliseconds deadline: UInt64) {
        // A runtime blocked in /next is left blocked, as Lambda leaves it: it learns of the shutdown from
        // SIGTERM. Answering its /next (with a 500) made runtimes exit on their own and race their own
        // SIGTERM handling. Its connection closes when the process dies.
        runtimeWaiters.removeAll()
        // Whatever left the groups since the last invoke's measurement is found now, while its parents live.
        _ = processTree.measure(roots: processRoots)
        noteEscapedProcesses()
        let subscribed = Set(
            machine.extensions.extensions.filter { $0.isExternal && $0.subscribes(.shutdown) }.map(\.name))
        let alive = extensionProcesses.filter { $0.value.exitStatus == nil }.keys.sorted()
        let processes = ShutdownSequence.Processes(
            runtimeAlive: runtime.map { $0.exitStatus == nil } ?? false,
            hasExtensions: !machine.extensions.extensions.isEmpty,
            subscribed: alive.filter { subscribed.contains($0) },
            unsubscribed: alive.filter { !subscribed.contains($0) })
        // Only this shutdown's exits count (a reset before it had its own).
        shutdownExits = []
        killedInShutdown = []
        perform(shutdownSequence.begin(processes, deadlineMilliseconds: deadline))
    }

    /// Carries out what the shutdown sequence decided.
    func perform(_ actions: [ShutdownSequence.Action]) {
        for action in actions {
            switch action {
            case .flushTelemetry(let deadline):
                telemetry.flush(deadlineMilliseconds: deadline) { [weak self] _ in
                    guard let self else { return }
                    self.perform(self.shutdownSequence.telemetryFlushed())
                }
            case .signalRuntime(let signal):
                if signal == SIGKILL { killedInShutdown.insert("runtime") }
                runtime?.signalGroup(signal)
            case .killExtensions(let names):
                killedInShutdown.formUnion(names)
                for name in names { extensionProcesses[name]?.signalGroup(SIGKILL) }
            case .killEverything:
                killedInShutdown.insert("runtime")
                killedInShutdown.formUnion(extensionProcesses.keys)
                runtime?.signalGroup(SIGKILL)
                for process in extensionProcesses.values { process.signalGroup(SIGKILL) }
            case .startTimer(let kind, let milliseconds):
                killTimers.append(
                    loop.schedule(afterMilliseconds: milliseconds) { [weak self] in
                        guard let self else { return }
                        self.perform(self.shutdownSequence.timerFired(kind))
                    })
            case .releaseShutdownEvents: perform(machine.releaseShutdownEvents())
            case .finish: finishShutdown()
            }
        }
    }

    /// Every process has exited: what they left behind dies, and the machine learns that they are gone.
    private func finishShutdown() {
        for timer in killTimers { timer.close() }
        killTimers.removeAll()
        // Children the processes forked may outlive them; their groups die with them, and so do processes that left
        // the groups. All are stopped before any is killed: a shell whose child dies first would run its next
        // command (a new process, in no list) before its own SIGKILL arrived.
        let escaped = escapedProcesses.filter { ProcessGroups.startTime(of: $0.key) == $0.value }.map(\.key)
        for group in processGroups { _ = kill(-group, SIGSTOP) }
        for pid in escaped { _ = kill(pid, SIGSTOP) }
        for group in processGroups {
            _ = kill(-group, SIGKILL)
            _ = kill(-group, SIGCONT)
            ProcessGroups.unregister(group)
        }
        processGroups.removeAll()
        for pid in escaped {
            _ = kill(pid, SIGKILL)
            _ = kill(pid, SIGCONT)
        }
        for pid in escapedProcesses.keys { ProcessGroups.unregisterProcess(pid) }
        escapedProcesses.removeAll()
        if let cgroup {
            // Anything that escaped the groups (setsid) but stayed in the cgroup dies too.
            for pid in cgroup.processes() where pid > 1 { _ = kill(pid, SIGKILL) }
        }
        for waiter in extensionWaiters.values where !waiter.isCompleted {
            waiter.send(RuntimeAPIResponses.error(.internalError))
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
