import SimCore
import Testing

@testable import SimDomain

private func invocation(_ id: String) -> Invocation {
    Invocation(requestID: id, payload: [], invokedFunctionARN: "arn", traceID: "t")
}

@Suite struct PlacementStateMachineTests {
    /// Under the limit every invoke gets a new sandbox; above it invokes queue in arrival order.
    @Test func createsThenQueues() {
        var placement = PlacementStateMachine(maxSandboxes: 2)
        #expect(placement.invokeArrived(invocation("a")) == [.createAndPlace(invocation("a"))])
        placement.created(sandboxID: "s1")
        #expect(placement.invokeArrived(invocation("b")) == [.createAndPlace(invocation("b"))])
        placement.created(sandboxID: "s2")
        #expect(placement.invokeArrived(invocation("c")).isEmpty)
        #expect(placement.invokeArrived(invocation("d")).isEmpty)
        #expect(placement.queuedCount == 2)
        #expect(placement.sandboxAvailable("s2", now: 1) == [.place(invocation("c"), sandboxID: "s2")])
        #expect(placement.sandboxAvailable("s1", now: 2) == [.place(invocation("d"), sandboxID: "s1")])
        #expect(placement.sandboxAvailable("s1", now: 3).isEmpty)
    }

    /// The most recently used idle sandbox takes the next invoke.
    @Test func mostRecentlyUsedFirst() {
        var placement = PlacementStateMachine(maxSandboxes: 3)
        for (id, sandbox) in [("a", "s1"), ("b", "s2")] {
            _ = placement.invokeArrived(invocation(id))
            placement.created(sandboxID: sandbox)
        }
        _ = placement.sandboxAvailable("s2", now: 10)
        _ = placement.sandboxAvailable("s1", now: 20)
        #expect(placement.invokeArrived(invocation("c")) == [.place(invocation("c"), sandboxID: "s1")])
        #expect(placement.invokeArrived(invocation("d")) == [.place(invocation("d"), sandboxID: "s2")])
    }

    /// A classic sandbox whose invoke has its answer is not free until it reports itself available (its runtime
    /// asked for `/next`): `nextSandbox` names no sandbox then, and the next invoke would start another; at
    /// `now` it becomes the sandbox `nextSandbox` names and `invokeArrived` places on.
    @Test func busyUntilAvailable() {
        var placement = PlacementStateMachine(maxSandboxes: 3)
        #expect(placement.nextSandbox() == nil)
        _ = placement.invokeArrived(invocation("a"))
        placement.created(sandboxID: "s1")
        #expect(placement.nextSandbox() == nil)
        #expect(placement.inFlight == 1)
        _ = placement.sandboxAvailable("s1", now: 5)
        #expect(placement.inFlight == 0)
        #expect(placement.idle(before: 6) == ["s1"])
        #expect(placement.nextSandbox() == "s1")
        #expect(placement.invokeArrived(invocation("b")) == [.place(invocation("b"), sandboxID: "s1")])
        #expect(placement.nextSandbox() == nil)
    }

    /// A sandbox that could not take its invoke puts it back at the head of the queue.
    @Test func requeueKeepsOrder() {
        var placement = PlacementStateMachine(maxSandboxes: 1)
        _ = placement.invokeArrived(invocation("a"))
        placement.created(sandboxID: "s1")
        _ = placement.invokeArrived(invocation("b"))
        placement.requeueFront(invocation("a"))
        #expect(placement.sandboxAvailable("s1", now: 1) == [.place(invocation("a"), sandboxID: "s1")])
        #expect(placement.sandboxAvailable("s1", now: 2) == [.place(invocation("b"), sandboxID: "s1")])
    }

    /// When a sandbox is gone, a queued invoke gets a replacement.
    @Test func replacesGoneSandbox() {
        var placement = PlacementStateMachine(maxSandboxes: 1)
        _ = placement.invokeArrived(invocation("a"))
        placement.created(sandboxID: "s1")
        _ = placement.invokeArrived(invocation("b"))
        #expect(placement.sandboxGone("s1") == [.createAndPlace(invocation("b"))])
        #expect(placement.drainQueue().isEmpty)
    }
}

@Suite struct ManagedInstancePlacementTests {
    /// Managed instances start ahead of their invokes: the first invoke asks for one and waits; once it is available
    /// the queue fills it up to its N slots, and another starts only when the queue holds more than it will take.
    @Test func fillsEachEnvironmentBeforeStartingAnother() {
        var placement = PlacementStateMachine(maxSandboxes: 3, slotsPerSandbox: 2)
        #expect(placement.invokeArrived(invocation("a")) == [.create])
        placement.created(sandboxID: "s1")
        #expect(placement.invokeArrived(invocation("b")).isEmpty)
        #expect(placement.invokeArrived(invocation("c")) == [.create])
        placement.created(sandboxID: "s2")
        #expect(
            placement.sandboxAvailable("s1", now: 1) == [
                .place(invocation("a"), sandboxID: "s1"), .place(invocation("b"), sandboxID: "s1"),
            ])
        #expect(placement.sandboxAvailable("s2", now: 2) == [.place(invocation("c"), sandboxID: "s2")])
        #expect(placement.invokeArrived(invocation("d")) == [.place(invocation("d"), sandboxID: "s2")])
        #expect(placement.invokeArrived(invocation("e")) == [.create])
        #expect(placement.inFlight == 4)
        // One invoke of s1 ends: its slot takes the head of the queue.
        #expect(placement.sandboxAvailable("s1", inFlight: 1, now: 3) == [.place(invocation("e"), sandboxID: "s1")])
        #expect(placement.invokeArrived(invocation("f")).isEmpty)
        #expect(placement.queuedCount == 1)
    }

    /// A managed instance with invokes in flight is neither idle nor retired; with none it is both.
    @Test func idleOnlyWithNothingInFlight() {
        var placement = PlacementStateMachine(maxSandboxes: 1, slotsPerSandbox: 4)
        placement.adoptPrewarmed("s1")
        #expect(placement.sandboxAvailable("s1", now: 5).isEmpty)
        #expect(placement.invokeArrived(invocation("a")) == [.place(invocation("a"), sandboxID: "s1")])
        #expect(placement.idle(before: 100).isEmpty)
        let busy = placement.retire("s1")
        #expect(!busy)
        _ = placement.sandboxAvailable("s1", inFlight: 0, now: 10)
        #expect(placement.idle(before: 100) == ["s1"])
    }
}

@Suite struct ReapingTests {
    /// Sandboxes idle since before the cutoff are offered for reaping, most idle first, and leave placement.
    @Test func idleBeforeCutoff() {
        var placement = PlacementStateMachine(maxSandboxes: 3)
        for (id, sandbox) in [("a", "s1"), ("b", "s2"), ("c", "s3")] {
            _ = placement.invokeArrived(Invocation(requestID: id, payload: [], invokedFunctionARN: "", traceID: ""))
            placement.created(sandboxID: sandbox)
        }
        _ = placement.sandboxAvailable("s1", now: 30)
        _ = placement.sandboxAvailable("s2", now: 10)
        _ = placement.sandboxAvailable("s3", now: 50)
        #expect(placement.idle(before: 40) == ["s2", "s1"])
        let retired = placement.retire("s2")
        let again = placement.retire("s2")
        #expect(retired && !again)
        let next = Invocation(requestID: "d", payload: [], invokedFunctionARN: "", traceID: "")
        let placed = placement.invokeArrived(next)
        #expect(placed == [.place(next, sandboxID: "s3")])
        let busyRetired = placement.retire("s3")
        #expect(!busyRetired)
    }
}
