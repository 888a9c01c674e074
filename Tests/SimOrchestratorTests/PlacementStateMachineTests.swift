import SimCore
import Testing

@testable import SimOrchestrator

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
