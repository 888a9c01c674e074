import SimCore
import SimSandbox
import SimUV

/// The sandboxes of one function and the queue in front of them. Loop-confined.
package final class FunctionPool {
    package let function: FunctionSpec
    private let loop: EventLoop
    private let clock: any SimClock
    private let logSink: (LogRecord) -> Void
    private var placement: PlacementStateMachine
    private var live: [String: Sandbox] = [:]
    private var waiting: [String: (InvokeResult) -> Void] = [:]
    private var stopping = false
    /// Freeze and thaw figures of sandboxes that are gone.
    private var retiredStatistics = FreezeStatistics()
    private var onStopped: (() -> Void)?

    package init(
        loop: EventLoop, function: FunctionSpec, maxConcurrency: Int, clock: any SimClock = SystemClock(),
        logSink: @escaping (LogRecord) -> Void
    ) {
        self.loop = loop
        self.function = function
        self.clock = clock
        self.logSink = logSink
        self.placement = PlacementStateMachine(maxSandboxes: max(1, maxConcurrency))
    }

    /// The function's sandboxes.
    package var sandboxes: [Sandbox] { Array(live.values) }

    /// Invokes waiting for a free sandbox.
    package var queuedCount: Int { placement.queuedCount }

    /// Runs `invocation`; `completion` gets its result (also for `Event` invokes, which nobody awaits).
    package func submit(_ invocation: Invocation, completion: @escaping (InvokeResult) -> Void) {
        loop.assertInLoop()
        guard !stopping else {
            completion(Self.stoppedResult(invocation.requestID))
            return
        }
        waiting[invocation.requestID] = completion
        perform(placement.invokeArrived(invocation))
    }

    private func perform(_ actions: [PlacementStateMachine.Action]) {
        for action in actions {
            switch action {
            case .place(let invocation, let id):
                guard let sandbox = live[id], sandbox.canAcceptInvoke else {
                    placement.requeueFront(invocation)
                    continue
                }
                sandbox.invoke(invocation)
            case .createAndPlace(let invocation):
                do {
                    let sandbox = try makeSandbox()
                    placement.created(sandboxID: sandbox.id)
                    sandbox.invoke(invocation)
                } catch {
                    placement.creationFailed()
                    finish(
                        InvokeResult(
                            requestID: invocation.requestID,
                            outcome: .platformError(
                                errorType: "Sandbox.Failure",
                                message: "RequestId: \(invocation.requestID) Error: \(error)")))
                }
            }
        }
    }

    private func makeSandbox() throws -> Sandbox {
        let sandbox = try Sandbox(loop: loop, function: function, clock: clock, logSink: logSink)
        live[sandbox.id] = sandbox
        sandbox.onResult = { [weak self] result in self?.finish(result) }
        sandbox.onAvailable = { [weak self] sandbox in
            guard let self, !self.stopping else { return }
            self.perform(self.placement.sandboxAvailable(sandbox.id, now: self.clock.monotonicNanoseconds))
        }
        sandbox.onTerminated = { [weak self] sandbox in self?.terminated(sandbox) }
        return sandbox
    }

    private func finish(_ result: InvokeResult) {
        waiting.removeValue(forKey: result.requestID)?(result)
    }

    /// Freeze and thaw figures of every sandbox this function had.
    package var freezeStatistics: FreezeStatistics {
        var total = retiredStatistics
        for sandbox in live.values { total.merge(sandbox.freezer.statistics) }
        return total
    }

    private func terminated(_ sandbox: Sandbox) {
        retiredStatistics.merge(sandbox.freezer.statistics)
        live[sandbox.id] = nil
        if stopping {
            if live.isEmpty {
                let done = onStopped
                onStopped = nil
                done?()
            }
            return
        }
        perform(placement.sandboxGone(sandbox.id))
    }

    /// Shuts every sandbox down; queued invokes fail. `completion` runs once all processes are gone.
    package func shutdown(completion: @escaping () -> Void) {
        loop.assertInLoop()
        guard !stopping else { return }
        stopping = true
        for invocation in placement.drainQueue() {
            finish(Self.stoppedResult(invocation.requestID))
        }
        if live.isEmpty {
            completion()
            return
        }
        onStopped = completion
        for sandbox in Array(live.values) { sandbox.shutdown() }
    }

    private static func stoppedResult(_ requestID: String) -> InvokeResult {
        InvokeResult(
            requestID: requestID,
            outcome: .platformError(
                errorType: "Sandbox.Failure", message: "RequestId: \(requestID) Error: the simulator is shutting down"))
    }
}
