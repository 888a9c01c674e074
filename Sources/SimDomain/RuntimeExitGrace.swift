import SimCore

/// When a runtime's exit (outside a shutdown) is handed to `SandboxStateMachine.runtimeExited`: not at once, since
/// what the runtime sent just before it died may still wait in its connections.
///
/// The sandbox first lets the loop read: a 0 ms wait (a timer that runs before the loop's next poll), then a 1 ms
/// one (armed only after that poll). A streamed response still being read then is read to its end first (its end
/// reports the exit), or for at most `streamCapMilliseconds` (a child that inherited the socket keeps it open).
///
/// ```
/// free ──runtimeExited──► wait(firstTurn, 0 ms) ──► wait(secondTurn, 1 ms) ──no stream being read──► report
///                                                        └──a stream being read──► holding ──stream ended──► report
///                                                                                     └──100 ms──► report
/// ```
///
/// Each wait carries its exit, so the sandbox keeps nothing but this value: one exit at most is held for a stream.
package struct RuntimeExitGrace: Sendable {
    /// A runtime's exit as the sandbox saw it.
    package struct Exit: Equatable, Sendable {
        /// How the process ended.
        package var status: ExitStatus
        /// The cgroup killed it for memory.
        package var outOfMemory: Bool

        /// An exit with `status`, `outOfMemory` when the cgroup killed it for memory.
        package init(status: ExitStatus, outOfMemory: Bool) {
            self.status = status
            self.outOfMemory = outOfMemory
        }
    }

    /// The waits of the grace, each ended by `waited`.
    package enum Step: Equatable, Sendable {
        /// The 0 ms turn: data already in the connections is read at the loop's next poll.
        case firstTurn
        /// The 1 ms turn, armed after that poll.
        case secondTurn
        /// The most a streamed response being read holds the exit.
        case streamCap
    }

    /// What the sandbox does for the grace.
    package enum Action: Equatable, Sendable {
        /// Call `waited(step, exit:streamBeingRead:)` after `milliseconds`.
        case wait(Step, milliseconds: UInt64, Exit)
        /// Hand the exit to the sandbox machine (`SandboxStateMachine.runtimeExited`).
        case report(Exit)
        /// Nothing to do.
        case none
    }

    /// Where the grace is.
    package enum State: Equatable, Sendable {
        /// No exit held for a stream (exits may be in their 0 and 1 ms turns: those carry their exit).
        /// `--secondTurn ended with a stream being read--> holding`.
        case free
        /// An exit waits for the streamed response being read. `--stream ended | streamCap ended--> free` with
        /// `.report`.
        case holding(Exit)
    }

    /// The longest a streamed response being read holds the exit: 100 ms.
    package static let streamCapMilliseconds: UInt64 = 100

    package private(set) var state = State.free

    /// A grace with no exit held.
    package init() {}

    /// Whether an exit waits for a streamed response (which then reports it when it ends).
    package var isHoldingExit: Bool {
        if case .holding = state { return true }
        return false
    }

    /// The runtime exited outside a shutdown: the first turn begins.
    package func runtimeExited(_ exit: Exit) -> Action {
        .wait(.firstTurn, milliseconds: 0, exit)
    }

    /// The wait `step` for `exit` ended; `streamBeingRead` when a streamed response's body is still being read.
    package mutating func waited(_ step: Step, exit: Exit, streamBeingRead: Bool) -> Action {
        switch step {
        case .firstTurn:
            return .wait(.secondTurn, milliseconds: 1, exit)
        case .secondTurn:
            guard streamBeingRead else { return .report(exit) }
            state = .holding(exit)
            return .wait(.streamCap, milliseconds: Self.streamCapMilliseconds, exit)
        case .streamCap:
            // The held exit, whichever it is by now (none when its stream already reported it).
            return release()
        }
    }

    /// A streamed response's body ended (or its invoke ended it): the held exit, if any, is reported.
    package mutating func streamEnded() -> Action { release() }

    private mutating func release() -> Action {
        guard case .holding(let exit) = state else { return .none }
        state = .free
        return .report(exit)
    }
}
