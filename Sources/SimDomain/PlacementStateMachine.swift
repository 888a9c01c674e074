import DequeModule
import SimCore

/// Where each invoke of one function goes, as pure logic: the most recently used sandbox with a free slot, else
/// a new sandbox while under the limit, else the queue (arrival order).
///
/// A classic sandbox has one slot; a managed-instance sandbox (Lambda Managed Instances) has
/// `slotsPerSandbox`, and is filled up to that many invokes in flight before another sandbox starts. A classic
/// sandbox is created with its invoke (a cold start inside the invoke); a managed-instance one starts on its own
/// (its init runs before it takes traffic) while the invokes that asked for it wait in the queue.
///
/// ```
/// invoke ──sandbox with a free slot──► place (one more in flight)
///        ──under limit──► createAndPlace (classic) | create + queued (managed instances)
///        ──otherwise──► queued
/// sandbox available(inFlight) ──queue not empty──► place heads until full ; ──nothing in flight──► idle
/// sandbox gone ──queue not empty and under limit──► create(AndPlace)
/// ```
package struct PlacementStateMachine {
    /// A sandbox as placement sees it.
    package struct SandboxSlots: Equatable, Sendable {
        /// Invokes placed here that have not finished.
        package var inFlight = 0
        /// False until the sandbox reports itself available (initialising, or resetting after a failure).
        package var accepting = false
        /// Since when nothing has been in flight (monotonic ns), while accepting.
        package var idleSince: UInt64?
        /// Whether the sandbox is on the stack of sandboxes with a free slot.
        var stacked = false
    }

    /// What placement asks for: `place`, `createAndPlace` or `create` — the pool's own actions, so that the pool
    /// machine hands placement's decisions on without copying them.
    package typealias Action = PoolStateMachine.Action

    package private(set) var sandboxes: [String: SandboxSlots] = [:]
    /// Sandboxes with a free slot, in the order they got it: the last is the most recently used, so placing an
    /// invoke does not scan every sandbox. Entries that no longer have a free slot are skipped lazily.
    private var spareStack: [String] = []
    package private(set) var queue = Deque<Invocation>()
    /// Most sandboxes this function may run at once.
    package let maxSandboxes: Int
    /// Invokes one sandbox serves at once.
    package let slotsPerSandbox: Int
    /// Whether sandboxes start on their own before they take invokes (managed instances).
    private let startsAhead: Bool
    /// Sandboxes requested but not yet registered by `created`.
    private var creating = 0

    /// `slotsPerSandbox` nil: classic sandboxes, one invoke each, created with their invoke; else managed-instance
    /// sandboxes with that many slots, created ahead of their invokes.
    package init(maxSandboxes: Int, slotsPerSandbox: Int? = nil) {
        precondition(maxSandboxes >= 1)
        self.maxSandboxes = maxSandboxes
        self.slotsPerSandbox = max(1, slotsPerSandbox ?? 1)
        self.startsAhead = slotsPerSandbox != nil
    }

    /// Invokes waiting for a sandbox.
    package var queuedCount: Int { queue.count }

    /// Invokes in flight over all sandboxes.
    package var inFlight: Int { sandboxes.values.reduce(0) { $0 + $1.inFlight } }

    /// A new invoke arrived.
    package mutating func invokeArrived(_ invocation: Invocation) -> [Action] {
        if let id = mostRecentlyUsedWithSpareSlot() {
            return [place(invocation, in: id)]
        }
        guard sandboxes.count + creating < maxSandboxes else {
            queue.append(invocation)
            return []
        }
        if !startsAhead {
            creating += 1
            return [.createAndPlace(invocation)]
        }
        queue.append(invocation)
        return createForQueue()
    }

    /// The sandbox the next invoke would be placed on now (the most recently used one with a free slot), or nil
    /// when it would start a sandbox or wait: what `invokeArrived` will do, without doing it.
    package func nextSandbox() -> String? {
        spareStack.last { id in
            guard let slots = sandboxes[id] else { return false }
            return slots.accepting && slots.inFlight < slotsPerSandbox
        }
    }

    /// A sandbox started for `createAndPlace` (busy with its invoke) or `create` (initialising) exists now.
    package mutating func created(sandboxID: String) {
        creating -= 1
        sandboxes[sandboxID] = SandboxSlots(inFlight: startsAhead ? 0 : 1)
    }

    /// A sandbox could not be created.
    package mutating func creationFailed() { creating -= 1 }

    /// A sandbox can take invokes: it has `inFlight` (0 for a classic one) and the rest of its slots free. Queued
    /// invokes fill the free slots.
    package mutating func sandboxAvailable(_ id: String, inFlight: Int = 0, now: UInt64) -> [Action] {
        guard var slots = sandboxes[id] else { return [] }
        slots.accepting = true
        slots.inFlight = inFlight
        sandboxes[id] = slots
        var actions: [Action] = []
        while sandboxes[id]!.inFlight < slotsPerSandbox, let next = dequeue() {
            actions.append(place(next, in: id))
        }
        slots = sandboxes[id]!
        if slots.inFlight == 0 {
            slots.idleSince = slots.idleSince ?? now
        }
        if slots.inFlight < slotsPerSandbox && !slots.stacked {
            slots.stacked = true
            spareStack.append(id)
        }
        sandboxes[id] = slots
        return actions
    }

    /// A sandbox shut down for good.
    package mutating func sandboxGone(_ id: String) -> [Action] {
        sandboxes[id] = nil
        guard queuedCount > 0, sandboxes.count + creating < maxSandboxes else { return [] }
        if startsAhead { return createForQueue() }
        guard let next = dequeue() else { return [] }
        creating += 1
        return [.createAndPlace(next)]
    }

    /// A placed invoke could not start because its sandbox is resetting: it goes back to the head of the queue
    /// and the sandbox takes no more until it reports itself available.
    package mutating func requeueFront(_ invocation: Invocation, sandboxID: String? = nil) {
        if let sandboxID, var slots = sandboxes[sandboxID] {
            slots.inFlight = max(0, slots.inFlight - 1)
            slots.accepting = false
            sandboxes[sandboxID] = slots
        }
        queue.prepend(invocation)
    }

    /// Sandboxes with nothing in flight since before `cutoff` (monotonic ns), most idle first.
    package func idle(before cutoff: UInt64) -> [String] {
        sandboxes.compactMap { id, slots -> (String, UInt64)? in
            guard slots.accepting, slots.inFlight == 0, let since = slots.idleSince, since < cutoff else { return nil }
            return (id, since)
        }.sorted { $0.1 < $1.1 }.map(\.0)
    }

    /// Takes an idle sandbox out of placement (it is being reaped); false if it has invokes in flight.
    package mutating func retire(_ id: String) -> Bool {
        guard let slots = sandboxes[id], slots.accepting, slots.inFlight == 0 else { return false }
        sandboxes[id] = nil
        return true
    }

    /// Registers a sandbox started ahead of any invoke (provisioned, or a managed instance); it takes invokes once
    /// it reports itself available.
    package mutating func adoptPrewarmed(_ id: String) {
        sandboxes[id] = SandboxSlots()
    }

    /// Removes and returns every queued invoke (at shutdown).
    package mutating func drainQueue() -> [Invocation] {
        let rest = Array(queue)
        queue.removeAll()
        return rest
    }

    private mutating func place(_ invocation: Invocation, in id: String) -> Action {
        sandboxes[id]!.inFlight += 1
        sandboxes[id]!.idleSince = nil
        return .place(invocation, sandboxID: id)
    }

    /// Managed instances: one more sandbox when the queue holds more than the sandboxes being created or
    /// initialised will take.
    private mutating func createForQueue() -> [Action] {
        guard sandboxes.count + creating < maxSandboxes else { return [] }
        let starting = creating + sandboxes.values.count { !$0.accepting }
        guard queuedCount > starting * slotsPerSandbox else { return [] }
        creating += 1
        return [.create]
    }

    private mutating func dequeue() -> Invocation? { queue.popFirst() }

    private mutating func mostRecentlyUsedWithSpareSlot() -> String? {
        while let id = spareStack.last {
            guard var slots = sandboxes[id], slots.accepting, slots.inFlight < slotsPerSandbox else {
                spareStack.removeLast()
                sandboxes[id]?.stacked = false
                continue
            }
            if slots.inFlight + 1 == slotsPerSandbox {
                spareStack.removeLast()
                slots.stacked = false
                sandboxes[id] = slots
            }
            return id
        }
        return nil
    }
}
