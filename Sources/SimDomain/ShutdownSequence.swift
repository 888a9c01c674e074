import SimCore

/// How one process of a sandbox ended during a shutdown.
package struct ShutdownExit: Sendable, Equatable {
    /// `runtime`, or an external extension's file name.
    package var name: String
    /// How it ended: its exit code, or the signal that killed it.
    package var status: ExitStatus
    /// True when the shutdown had to SIGKILL it (its share or the deadline was over, or it was an extension not
    /// subscribed to SHUTDOWN); false when it exited on its own or on SIGTERM within its time.
    package var killed: Bool

    /// The exit of the process `name` with `status`, `killed` when the shutdown SIGKILLed it.
    package init(name: String, status: ExitStatus, killed: Bool) {
        self.name = name
        self.status = status
        self.killed = killed
    }
}

/// The order in which a sandbox's processes are stopped, as Lambda stops an execution environment: buffered
/// telemetry is delivered, the runtime gets SIGTERM and a share of the deadline (300 ms when extensions run,
/// the whole deadline otherwise), then the subscribed external extensions get their SHUTDOWN event and live
/// until the deadline, when whatever is left is killed. The rest of the extensions die at once.
///
/// A pure state machine: each event returns what the sandbox must do (signals, timers, releasing the SHUTDOWN
/// events), and the sandbox performs it and reports back what happened (a timer fired, the runtime exited,
/// telemetry was flushed, every process is gone).
package struct ShutdownSequence: Sendable {
    /// Where a shutdown is.
    package enum State: Equatable, Sendable {
        /// No shutdown under way. `begin` → `.stopping` (or straight to `.finish`, staying here, when no process
        /// is alive).
        case idle
        /// Processes are being stopped. The SHUTDOWN events go out once the runtime is done and telemetry is
        /// flushed; `allExited` → `.idle` with `.finish`.
        case stopping(Progress)
    }

    /// What a shutdown under way has done so far.
    package struct Progress: Equatable, Sendable {
        /// The runtime exited, or used its share of the deadline, or there was none.
        package var runtimeDone = false
        /// Buffered telemetry was delivered (or its flush gave up).
        package var telemetryFlushed = false
        /// The SHUTDOWN events were released.
        package var released = false
    }

    /// The shutdown's timers.
    package enum Timer: Equatable, Sendable {
        /// The runtime's share is over: SIGKILL to it, and the extensions' turn.
        case runtimeShare
        /// The deadline: SIGKILL to everything left.
        case deadline
    }

    /// The signals a shutdown sends to the runtime; the sandbox maps them to the system's numbers.
    package enum Signal: Equatable, Sendable {
        /// SIGTERM: the runtime may end on its own within its share of the deadline.
        case terminate
        /// SIGKILL: the runtime dies at once.
        case kill
    }

    /// What the sandbox does for the sequence.
    package enum Action: Equatable, Sendable {
        /// Deliver buffered telemetry within `deadlineMilliseconds`, then call `telemetryFlushed`.
        case flushTelemetry(deadlineMilliseconds: UInt64)
        /// Send `signal` to the runtime's process group.
        case signalRuntime(Signal)
        /// SIGKILL the process groups of these extensions.
        case killExtensions([String])
        /// SIGKILL every process group left.
        case killEverything
        /// Call `timerFired(timer)` after `milliseconds`.
        case startTimer(Timer, milliseconds: UInt64)
        /// Send the held SHUTDOWN events to the extensions (`SandboxStateMachine.releaseShutdownEvents`).
        case releaseShutdownEvents
        /// Every process has exited: cancel the timers, kill what the processes left behind, end the shutdown.
        case finish
    }

    /// The longest a shutdown waits for telemetry to be delivered before SHUTDOWN.
    package static let telemetryFlushMilliseconds: UInt64 = 500
    /// The runtime's share of a shutdown with extensions before SIGKILL (Lambda: 300 ms).
    package static let runtimeShareMilliseconds: UInt64 = 300

    package private(set) var state = State.idle

    package init() {}

    /// Whether a shutdown is under way.
    package var isStopping: Bool {
        if case .stopping = state { return true }
        return false
    }

    /// The processes a shutdown starts with.
    package struct Processes: Equatable, Sendable {
        /// The runtime is alive.
        package var runtimeAlive: Bool
        /// The sandbox has extensions (internal or external), which shortens the runtime's share.
        package var hasExtensions: Bool
        /// Live external extensions subscribed to SHUTDOWN, which may run until the deadline.
        package var subscribed: [String]
        /// Live extensions that get no SHUTDOWN, killed at once.
        package var unsubscribed: [String]

        package init(runtimeAlive: Bool, hasExtensions: Bool, subscribed: [String], unsubscribed: [String]) {
            self.runtimeAlive = runtimeAlive
            self.hasExtensions = hasExtensions
            self.subscribed = subscribed
            self.unsubscribed = unsubscribed
        }

        var anyAlive: Bool { runtimeAlive || !subscribed.isEmpty || !unsubscribed.isEmpty }
    }

    /// Starts stopping `processes` within `deadline` milliseconds (0: kill everything at once).
    package mutating func begin(_ processes: Processes, deadlineMilliseconds deadline: UInt64) -> [Action] {
        guard case .idle = state else { return [] }
        var progress = Progress()
        var actions: [Action] = [.flushTelemetry(deadlineMilliseconds: min(deadline, Self.telemetryFlushMilliseconds))]
        guard processes.anyAlive else { return actions + [.finish] }
        if processes.runtimeAlive {
            if deadline == 0 {
                actions.append(.signalRuntime(.kill))
            } else {
                actions.append(.signalRuntime(.terminate))
                let share = processes.hasExtensions ? min(deadline, Self.runtimeShareMilliseconds) : deadline
                actions.append(.startTimer(.runtimeShare, milliseconds: share))
            }
        } else {
            progress.runtimeDone = true
        }
        let killedNow = deadline == 0 ? processes.unsubscribed + processes.subscribed : processes.unsubscribed
        if !killedNow.isEmpty { actions.append(.killExtensions(killedNow)) }
        if deadline > 0 { actions.append(.startTimer(.deadline, milliseconds: deadline)) }
        state = .stopping(progress)
        return actions + release()
    }

    /// Buffered telemetry went out (or its flush gave up).
    package mutating func telemetryFlushed() -> [Action] {
        guard case .stopping(var progress) = state else { return [] }
        progress.telemetryFlushed = true
        state = .stopping(progress)
        return release()
    }

    /// The runtime exited.
    package mutating func runtimeExited() -> [Action] {
        guard case .stopping(var progress) = state else { return [] }
        progress.runtimeDone = true
        state = .stopping(progress)
        return release()
    }

    /// `timer` fired.
    package mutating func timerFired(_ timer: Timer) -> [Action] {
        guard case .stopping(var progress) = state else { return [] }
        switch timer {
        case .runtimeShare:
            // The runtime's share is over: it dies, and extensions get SHUTDOWN now.
            progress.runtimeDone = true
            state = .stopping(progress)
            return [.signalRuntime(.kill)] + release()
        case .deadline:
            return [.killEverything]
        }
    }

    /// Every process of the sandbox has exited.
    package mutating func allExited() -> [Action] {
        guard case .stopping = state else { return [] }
        state = .idle
        return [.finish]
    }

    /// SHUTDOWN goes to extensions once the runtime is done and buffered telemetry was flushed.
    private mutating func release() -> [Action] {
        guard case .stopping(var progress) = state, progress.runtimeDone, progress.telemetryFlushed,
            !progress.released
        else { return [] }
        progress.released = true
        state = .stopping(progress)
        return [.releaseShutdownEvents]
    }
}
