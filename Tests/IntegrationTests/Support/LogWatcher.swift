// Collects a simulator's log lines as they are printed and lets tests wait for a line to appear.

import LambdaSim
import Synchronization

/// Every log line a simulator printed, with waiters woken when a matching line arrives.
final class LogWatcher: Sendable {
    private struct Waiter {
        let id: Int
        let predicate: @Sendable (Simulator.LogLine) -> Bool
        let continuation: CheckedContinuation<Simulator.LogLine?, Never>
    }

    private struct State {
        var lines: [Simulator.LogLine] = []
        var waiters: [Waiter] = []
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Records a line (called on the simulator's loop thread) and wakes the waiters it satisfies.
    func append(_ line: Simulator.LogLine) {
        let satisfied = state.withLock { state -> [Waiter] in
            state.lines.append(line)
            var kept: [Waiter] = []
            var satisfied: [Waiter] = []
            for waiter in state.waiters {
                if waiter.predicate(line) { satisfied.append(waiter) } else { kept.append(waiter) }
            }
            state.waiters = kept
            return satisfied
        }
        for waiter in satisfied { waiter.continuation.resume(returning: line) }
    }

    /// The lines so far.
    var lines: [Simulator.LogLine] { state.withLock { $0.lines } }

    /// The texts of the lines so far.
    var texts: [String] { lines.map(\.text) }

    /// Waits for the first line matching `predicate` (possibly one already printed); nil after `timeout`.
    func first(
        timeout: Duration = .seconds(30), where predicate: @escaping @Sendable (Simulator.LogLine) -> Bool
    ) async -> Simulator.LogLine? {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        let expiry = Task {
            try? await Task.sleep(for: timeout)
            self.expire(id)
        }
        defer { expiry.cancel() }
        return await withCheckedContinuation { continuation in
            let found = state.withLock { state -> Simulator.LogLine? in
                if let line = state.lines.first(where: predicate) { return line }
                state.waiters.append(Waiter(id: id, predicate: predicate, continuation: continuation))
                return nil
            }
            if let found { continuation.resume(returning: found) }
        }
    }

    /// Waits for the REPORT line of `requestID`.
    func report(for requestID: String) async -> String? {
        await first { $0.isPlatform && $0.text.hasPrefix("REPORT RequestId: \(requestID)\t") }?.text
    }

    private func expire(_ id: Int) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(returning: nil)
    }
}
