import SimCore
import SimDomain
import SimHTTP
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// Starting and stopping the sandbox's processes (performed by its `ProcessSupervisor`), and what their exits and
/// output mean for the machine.
extension Sandbox {
    /// The runtime's environment for the current init.
    package var runtimeEnvironment: [String] {
        RuntimeEnvironment.runtime(
            function: function, runtimeAPI: runtimeAPI, logStreamName: logStreamName,
            initializationType: initializationType, logSocket: logSocket?.path)
    }

    /// Starts every executable file of the extensions directory, sorted by name, each in its own group.
    func launchExtensions() {
        supervisor.beginGeneration()
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
                try supervisor.start([path], environment: environment, as: .extension(name))
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
        let source: OutputSource
        switch role {
        case .runtime:
            environment = runtimeEnvironment + extraEnvironment
            source = .runtime
        case .extension(let name):
            environment =
                RuntimeEnvironment.extensionEnvironment(fromRuntime: runtimeEnvironment) + extraEnvironment
            source = .extension(name)
        }
        return try supervisor.start(arguments, environment: environment, as: source).pid
    }

    func spawnRuntime() {
        if function.isAttached {
            // The user's runtime may already run (started with `spawnAttached` before the extensions registered).
            if supervisor.runtime != nil { return }
            // Attach mode: the user starts the runtime with this environment; init ends at its first /next.
            publish(
                .notice("lambda-sim: waiting for a runtime to attach: AWS_LAMBDA_RUNTIME_API=\(runtimeAPI)"),
                requestID: nil)
            return
        }
        supervisor.forgetRuntime()
        if failsOnMissingCodeDirectory() { return }
        var arguments = function.command
        // Managed runtimes start their bootstrap through AWS_LAMBDA_EXEC_WRAPPER when it is set.
        if let wrapper = function.environment["AWS_LAMBDA_EXEC_WRAPPER"], !wrapper.isEmpty {
            arguments.insert(wrapper, at: 0)
        }
        do {
            try supervisor.start(arguments, environment: runtimeEnvironment, as: .runtime)
        } catch {
            perform(
                machine.spawnFailed(
                    .exec(program: arguments.first ?? "", cause: SandboxStateMachine.ExecFailure(errno: -error.code))))
        }
    }

    /// Fails the init with Lambda's `Runtime.InvalidWorkingDir` when the code directory (every process's working
    /// directory) is not a directory, rather than letting the spawn blame the program; true when it did.
    private func failsOnMissingCodeDirectory() -> Bool {
        guard let cause = supervisor.codeDirectoryProblem() else { return false }
        perform(machine.spawnFailed(.workingDirectory(path: function.codeDirectory, cause: cause)))
        return true
    }

    /// A line `source` printed, attributed to the invoke the machine says.
    func processPrinted(_ line: [UInt8], from source: OutputSource) {
        publish(
            .output(source, String(decoding: line, as: UTF8.self)),
            requestID: machine.requestID(ofLine: line, from: source))
    }

    /// The runtime exited outside a shutdown: the exit grace decides when the machine learns of it.
    func runtimeExited(_ exit: RuntimeExitGrace.Exit) {
        perform(exitGrace.runtimeExited(exit))
    }

    /// Carries out what the exit grace decided. An exit reported once a shutdown began is one the machine, then
    /// stopping its processes, ignores.
    func perform(_ action: RuntimeExitGrace.Action) {
        switch action {
        case .wait(let step, let milliseconds, let exit):
            loop.schedule(afterMilliseconds: milliseconds) { [weak self] in
                guard let self else { return }
                perform(exitGrace.waited(step, exit: exit, streamBeingRead: api.streamBeingRead))
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

    /// An extension exited outside a shutdown.
    func extensionExited(_ name: String, _ status: ExitStatus) {
        perform(machine.extensionExited(name: name, status: status))
    }

    /// Stops every process, in the order `ShutdownSequence` gives.
    func stopProcesses(deadlineMilliseconds deadline: UInt64) {
        api.forgetRuntimeWaiters()
        let audience = machine.shutdownAudience
        supervisor.stopProcesses(
            subscribed: audience.subscribed, hasExtensions: audience.hasExtensions, deadlineMilliseconds: deadline)
    }

    /// The runtime has stopped (or had its share of the shutdown): SHUTDOWN goes to the extensions.
    func releaseShutdownEvents() { perform(machine.releaseShutdownEvents()) }

    /// Every process of a shutdown has exited: held `/event/next` calls are answered, and the machine goes on.
    func processesGone() {
        api.failExtensionWaiters()
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
