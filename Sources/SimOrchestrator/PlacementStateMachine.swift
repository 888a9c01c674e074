import SimCore

/// Where each invoke of one function goes, as pure logic: the most recently used idle sandbox, else a new
/// sandbox while under the concurrency limit, else the queue (arrival order).
///
/// ```
/// invoke ──idle sandbox──► place (busy)
///        ──under limit──► create + place (busy)
///        ──otherwise──► queued
/// sandbox available ──queue not empty──► place head (busy) ; ──empty──► idle
/// sandbox gone ──queue not empty and under limit──► create + place
/// ```
package struct PlacementStateMachine {
    /// A sandbox as placement sees it.
    package enum SandboxState: Equatable, Sendable {
        /// Free since this instant (monotonic ns).
        case idle(since: UInt64)
        case busy
    }

    package enum Action: Equatable, Sendable {
        /// Give the invoke to this existing sandbox.
        case place(Invocation, sandboxID: String)
        /// Start a new sandbox and give it the invoke.
        case createAndPlace(Invocation)
    }

    package private(set) var sandboxes: [String: SandboxState] = [:]
    /// Idle sandboxes in the order they became idle: the last is the most recently used, so placing an
    /// invoke does not scan every sandbox. Entries that are no longer idle are skipped lazily.
    private var idleStack: [String] = []
    package private(set) var queue: [Invocation] = []
    private var queueHead = 0
    /// Most sandboxes this function may run at once.
    package let maxSandboxes: Int
    /// Sandboxes requested but not yet registered by `created`.
    private var creating = 0

    package init(maxSandboxes: Int) {
        precondition(maxSandboxes >= 1)
        self.maxSandboxes = maxSandboxes
    }

    /// Invokes waiting for a sandbox.
    package var queuedCount: Int { queue.count - queueHead }

    /// A new invoke arrived.
    package mutating func invokeArrived(_ invocation: Invocation) -> [Action] {
        if let id = mostRecentlyUsedIdle() {
            sandboxes[id] = .busy
            return [.place(invocation, sandboxID: id)]
        }
        if sandboxes.count + creating < maxSandboxes {
            creating += 1
            return [.createAndPlace(invocation)]
        }
        queue.append(invocation)
        return []
    }

    /// A sandbox started for `createAndPlace` exists now, busy with its invoke.
    package mutating func created(sandboxID: String) {
        creating -= 1
        sandboxes[sandboxID] = .busy
    }

    /// A sandbox could not be created.
    package mutating func creationFailed() { creating -= 1 }

    /// A sandbox finished its invoke (or its reset) and can take another.
    package mutating func sandboxAvailable(_ id: String, now: UInt64) -> [Action] {
        guard sandboxes[id] != nil else { return [] }
        if let next = dequeue() {
            sandboxes[id] = .busy
            return [.place(next, sandboxID: id)]
        }
        sandboxes[id] = .idle(since: now)
        idleStack.append(id)
        return []
    }

    /// A sandbox shut down for good.
    package mutating func sandboxGone(_ id: String) -> [Action] {
        sandboxes[id] = nil
        if queuedCount > 0, sandboxes.count + creating < maxSandboxes, let next = dequeue() {
            creating += 1
            return [.createAndPlace(next)]
        }
        return []
    }

    /// A placed invoke could not start because its sandbox is resetting: it goes back to the head of the queue
    /// and the sandbox stays busy until it reports itself available.
    package mutating func requeueFront(_ invocation: Invocation) {
        if queueHead > 0 {
            queueHead -= 1
            queue[queueHead] = invocation
        } else {
            queue.insert(invocation, at: 0)
        }
    }

    /// Idle sandboxes that have been idle since before `cutoff` (monotonic ns), most idle first.
    package func idle(before cutoff: UInt64) -> [String] {
        sandboxes.compactMap { id, state -> (String, UInt64)? in
            if case .idle(let since) = state, since < cutoff { return (id, since) }
            return nil
        }.sorted { $0.1 < $1.1 }.map(\.0)
    }

    /// Takes an idle sandbox out of placement (it is being reaped); false if it is not idle.
    package mutating func retire(_ id: String) -> Bool {
        guard case .idle = sandboxes[id] else { return false }
        sandboxes[id] = nil
        return true
    }

    /// Registers a sandbox started ahead of any invoke (provisioned); it is busy until it reports available.
    package mutating func adoptPrewarmed(_ id: String) {
        sandboxes[id] = .busy
    }

    /// Removes and returns every queued invoke (at shutdown).
    package mutating func drainQueue() -> [Invocation] {
        let rest = Array(queue[queueHead...])
        queue.removeAll()
        queueHead = 0
        return rest
    }

    private mutating func dequeue() -> Invocation? {
        guard queueHead < queue.count else { return nil }
        let next = queue[queueHead]
        queueHead += 1
        if queueHead > 64 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return next
    }

    private mutating func mostRecentlyUsedIdle() -> String? {
        while let id = idleStack.popLast() {
            if case .idle = sandboxes[id] { return id }
        }
        return nil
    }
}
