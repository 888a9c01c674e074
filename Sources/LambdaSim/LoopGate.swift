import Synchronization

extension Simulator {
    /// A call on a simulator that has stopped: its loop has ended, so nothing can run there any more.
    public struct StoppedError: Error, CustomStringConvertible, Equatable {
        /// What was called.
        public var operation: String
        /// `<operation>: the simulator has stopped`.
        public var description: String { "\(operation): the simulator has stopped" }
    }
}

/// The door to the simulator's loop: every call that hops onto the loop passes it, so that none is queued to a loop
/// that has ended (its work would never run, and the caller would wait forever).
///
/// `stop` closes the door once the pools are shut down and waits for the calls already through it; only then does
/// the loop end. A call that comes later throws `Simulator.StoppedError` at once, and waits that last until the
/// simulator stops (`waitForSignal`) are ended with that error when it closes.
final class LoopGate: Sendable {
    private struct State {
        var closed = false
        /// Calls through the door that have not returned.
        var inside = 0
        /// `close` waiting for `inside` to reach zero.
        var drained: CheckedContinuation<Void, Never>?
        /// Waits to end when the door closes, by id.
        var onClose: [UInt64: @Sendable () -> Void] = [:]
        var nextID: UInt64 = 0
    }
    private let state = Mutex(State())

    /// Runs `body` unless the door is closed (then throws `StoppedError` naming `operation`); `close` waits for it.
    func pass<T: Sendable>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        try enter(operation)
        defer { leave() }
        return try await body()
    }

    /// Runs `body`, which must not wait, unless the door is closed; registers `onClose` to run when it closes
    /// (nothing once `cancel` removed it). Returns the id for `cancel`.
    func register(_ operation: String, onClose: @escaping @Sendable () -> Void, _ body: () -> Void) throws -> UInt64 {
        let id = try state.withLock { state throws(Simulator.StoppedError) -> UInt64 in
            guard !state.closed else { throw Simulator.StoppedError(operation: operation) }
            state.inside += 1
            state.nextID += 1
            state.onClose[state.nextID] = onClose
            return state.nextID
        }
        body()
        leave()
        return id
    }

    /// Forgets the close action registered as `id` (its wait ended otherwise).
    func cancel(_ id: UInt64) {
        _ = state.withLock { $0.onClose.removeValue(forKey: id) }
    }

    /// Closes the door, ends the registered waits, and returns once every call through it has returned.
    /// Idempotent.
    func close() async {
        let waits = state.withLock { state -> [@Sendable () -> Void] in
            state.closed = true
            defer { state.onClose = [:] }
            return Array(state.onClose.values)
        }
        for wait in waits { wait() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                guard state.inside > 0 else { return true }
                state.drained = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func enter(_ operation: String) throws(Simulator.StoppedError) {
        try state.withLock { state throws(Simulator.StoppedError) in
            guard !state.closed else { throw Simulator.StoppedError(operation: operation) }
            state.inside += 1
        }
    }

    private func leave() {
        let drained = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.inside -= 1
            guard state.inside == 0 else { return nil }
            defer { state.drained = nil }
            return state.drained
        }
        drained?.resume()
    }
}
