import SimCore
import SimDomain
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// The processes' exits, and the shutdown that stops them all in the order `ShutdownSequence` gives.
extension ProcessSupervisor {
    func runtimeExited(_ status: ExitStatus) {
        flushOutput(of: .runtime)
        measureMemory()
        runtime = nil
        sandbox?.api.runtimeExited()
        let outOfMemory = cgroup.map { oomKills.runtimeExited(status, killCount: $0.oomKillCount()) } ?? false
        if shutdownSequence.isStopping {
            shutdownExits.append(
                ShutdownExit(name: "runtime", status: status, killed: killedInShutdown.contains("runtime")))
            // During a shutdown, SHUTDOWN goes out once the runtime is gone.
            perform(shutdownSequence.runtimeExited())
            noteExit()
            return
        }
        sandbox?.runtimeExited(RuntimeExitGrace.Exit(status: status, outOfMemory: outOfMemory))
        noteExit()
    }

    func extensionExited(_ name: String, _ status: ExitStatus) {
        flushOutput(of: .extension(name))
        extensionProcesses[name] = nil
        if shutdownSequence.isStopping {
            shutdownExits.append(
                ShutdownExit(name: name, status: status, killed: killedInShutdown.contains(name)))
        } else {
            sandbox?.extensionExited(name, status)
        }
        noteExit()
    }

    /// Ends a shutdown once its last process has exited.
    private func noteExit() {
        if shutdownSequence.isStopping && !anyProcessAlive { perform(shutdownSequence.allExited()) }
    }

    /// Stops every process within `deadline` milliseconds; `subscribed` names the external extensions subscribed to
    /// SHUTDOWN and `hasExtensions` says whether the sandbox has any extension (internal ones included).
    func stopProcesses(subscribed: Set<String>, hasExtensions: Bool, deadlineMilliseconds deadline: UInt64) {
        // Whatever left the groups since the last invoke's measurement is found now, while its parents live.
        _ = processTree.measure(roots: processRoots)
        noteEscapedProcesses()
        let alive = extensionProcesses.filter { $0.value.exitStatus == nil }.keys.sorted()
        let processes = ShutdownSequence.Processes(
            runtimeAlive: runtimeAlive, hasExtensions: hasExtensions,
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
                sandbox?.telemetry.flush(deadlineMilliseconds: deadline) { [weak self] _ in
                    guard let self else { return }
                    self.perform(self.shutdownSequence.telemetryFlushed())
                }
            case .signalRuntime(let signal):
                if signal == .kill { killedInShutdown.insert("runtime") }
                runtime?.signalGroup(signal.number)
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
            case .releaseShutdownEvents: sandbox?.releaseShutdownEvents()
            case .finish: finishShutdown()
            }
        }
    }

    /// Every process has exited: what they left behind dies, and the sandbox learns that they are gone.
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
        sandbox?.processesGone()
    }
}

extension ShutdownSequence.Signal {
    /// The system's number for the signal.
    fileprivate var number: Int32 {
        switch self {
        case .terminate: SIGTERM
        case .kill: SIGKILL
        }
    }
}
