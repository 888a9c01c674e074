import SimCore
import SimDomain
import SimSandbox
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// What an invoke submitted to a pool gets back.
package enum PoolAnswer: Sendable, Equatable {
    /// The invoke ran (successfully or not).
    case result(InvokeResult)
    /// No concurrency was left: 429 `TooManyRequestsException` with this reason.
    case throttled(ConcurrencyLimits.ThrottleReason)
}

/// The account-wide concurrency shared by every function's pool. Loop-confined.
package final class AccountLimiter {
    package var limits: ConcurrencyLimits
    package init(limits: ConcurrencyLimits) {
        self.limits = limits
    }
}

/// The sandboxes of one function and the queue in front of them: the performer of `PoolStateMachine`, which makes
/// every decision; this class creates, invokes and shuts down sandboxes, arms timers, answers invokes and reports
/// back what happened. Loop-confined.
package final class FunctionPool {
    package let function: FunctionSpec
    /// The function's unqualified ARN, formatted once.
    package let functionARN: String
    let loop: EventLoop
    let clock: any SimClock
    /// Where the pool's sandboxes (and its asynchronous results) publish their events.
    let bus: EventBus
    /// The account's limits (serve), or limits of the pool's own that its machine never consults (run).
    let account: AccountLimiter
    /// What the pool decides.
    var machine: PoolStateMachine
    var live: [String: Sandbox] = [:]
    var waiting: [String: (PoolAnswer) -> Void] = [:]
    /// What happens to asynchronous invokes between their attempts.
    var asyncEvents: AsyncInvokeStateMachine
    /// Timers of asynchronous invokes waiting for their next attempt, by request id.
    var retryTimers: [String: Timer] = [:]
    /// How many provisioned sandboxes initialise at once.
    package static let provisioningWidth = max(16, 8 * Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    var reaper: Timer?
    /// Freeze and thaw figures of sandboxes that are gone.
    var retiredStatistics = FreezeStatistics()
    /// Invoke and init durations of sandboxes that are gone.
    var retiredInvokeDurations = LatencyHistogram()
    var retiredInitDurations = LatencyHistogram()
    var onStopped: (() -> Void)?
    /// Why the first provisioned sandbox that could not be created failed, for `start` to throw.
    var provisioningError: (any Error)?

    package init(
        loop: EventLoop, function: FunctionSpec, limiter: AccountLimiter? = nil,
        scalingRate: (sandboxes: Int, periodMilliseconds: UInt64)? = nil, timeScale: Double = 1,
        clock: any SimClock = SystemClock(), bus: EventBus
    ) {
        self.loop = loop
        self.function = function
        self.functionARN = function.functionARN
        self.clock = clock
        self.bus = bus
        self.account = limiter ?? AccountLimiter(limits: ConcurrencyLimits(accountLimit: 0))
        let settings = PoolStateMachine.Settings(
            function: function, accountLimited: limiter != nil, scalingRate: scalingRate,
            provisioningWidth: Self.provisioningWidth)
        machine = PoolStateMachine(settings: settings, now: clock.monotonicNanoseconds)
        asyncEvents = AsyncInvokeStateMachine(policy: AsyncRetryPolicy(function: function, timeScale: timeScale))
    }

    /// The function's sandboxes.
    package var sandboxes: [Sandbox] { Array(live.values) }

    /// Invokes in flight in the function's sandboxes (several in a managed instance).
    package var invokesInFlight: Int { live.values.reduce(0) { $0 + $1.invokesInFlight } }

    /// The function's concurrency as Lambda counts it: environments busy from an invoke's placement until they are
    /// ready for the next one (invokes in flight for a managed instance); with account limits, the units it holds.
    package var concurrency: Int { machine.concurrency }

    /// Invokes waiting for a free sandbox, and asynchronous ones waiting for a retry.
    package var queuedCount: Int { machine.placement.queuedCount + asyncEvents.count }

    /// True once every provisioned sandbox finished its init.
    package var isReady: Bool { machine.isReady }

    /// Provisioned sandboxes that have finished their first init.
    package var provisionedReady: Set<String> { machine.provisionedReady }

    /// Counters for `/metrics`.
    package var counters: PoolCounters { machine.counters }

    /// True once `shutdown` was called.
    var stopping: Bool { machine.isStopping }

    /// Starts provisioned sandboxes and the idle reaper.
    package func start() throws {
        loop.assertInLoop()
        perform(machine.start(limits: &account.limits))
        if let error = provisioningError { throw error }
        if machine.settings.idleTimeoutMilliseconds != nil || machine.settings.maxLifetimeMilliseconds != nil {
            let timer = Timer(loop: loop)
            timer.start(afterMilliseconds: 250, repeatMilliseconds: 250) { [weak self] in self?.reap() }
            reaper = timer
        }
    }

    /// Runs `invocation`, or throttles it when concurrency is exhausted (serve).
    package func submit(_ invocation: Invocation, answer: @escaping (PoolAnswer) -> Void) {
        loop.assertInLoop()
        waiting[invocation.requestID] = answer
        perform(machine.invokeArrived(invocation, now: clock.monotonicNanoseconds, limits: &account.limits))
    }

    /// Performs `actions`, every one of them: a provisioned sandbox that cannot be created is not retried (its
    /// replacement is asked for when another one goes), and the first such error is kept for `start`.
    func perform(_ actions: [PoolStateMachine.Action]) {
        // By index: each action is read where it is stored, not copied out (and its invocation retained) first.
        for index in actions.indices {
            switch actions[index] {
            case .place(let invocation, let id):
                // The sandbox answers the offer; one that left the accepting state on its own refuses it.
                guard let sandbox = live[id], let accepted = sandbox.offer(invocation) else {
                    machine.placeRefused(invocation, sandboxID: id)
                    continue
                }
                machine.placed(requestID: invocation.requestID, sandboxID: id)
                sandbox.begin(accepted)
            case .create:
                // A managed instance: it initialises first, and queued invokes go to it once it is available.
                do {
                    let sandbox = try makeSandbox()
                    machine.created(sandboxID: sandbox.id, invocation: nil, now: clock.monotonicNanoseconds)
                    sandbox.prewarm()
                } catch {
                    perform(machine.creationFailed(invocation: nil, error: "\(error)"))
                }
            case .createAndPlace(let invocation):
                do {
                    let sandbox = try makeSandbox()
                    machine.created(sandboxID: sandbox.id, invocation: invocation, now: clock.monotonicNanoseconds)
                    // A new sandbox takes any invoke but a managed instance's, which the pool never places on one.
                    guard let accepted = sandbox.offer(invocation) else {
                        preconditionFailure("a new sandbox refused \(invocation.requestID)")
                    }
                    sandbox.begin(accepted)
                } catch {
                    perform(machine.creationFailed(invocation: invocation, error: "\(error)"))
                }
            case .createProvisioned(let initializationType):
                let sandbox: Sandbox
                do {
                    sandbox = try makeSandbox()
                } catch {
                    machine.provisionedCreationFailed()
                    provisioningError = provisioningError ?? error
                    continue
                }
                if let initializationType { sandbox.initializationType = initializationType }
                machine.provisionedCreated(sandboxID: sandbox.id, now: clock.monotonicNanoseconds)
                sandbox.prewarm()
            case .prewarm(let id):
                live[id]?.prewarm()
            case .scheduleRetry(let id, let delay):
                loop.schedule(afterMilliseconds: delay) { [weak self] in
                    guard let self else { return }
                    self.perform(self.machine.retryTimerFired(sandboxID: id))
                }
            case .shutdown(let id):
                live[id]?.shutdown()
            case .fail(let invocation, let failure):
                finish(Self.failureResult(invocation.requestID, failure))
            case .throttle(let invocation, let reason):
                publishThrottle(reason, requestID: invocation.requestID)
                waiting.removeValue(forKey: invocation.requestID)?(.throttled(reason))
            case .reject(let invocation):
                waiting.removeValue(forKey: invocation.requestID)?(
                    .result(Self.failureResult(invocation.requestID, .simulatorStopping)))
            }
        }
    }

    /// The `Sandbox.Failure` result an invoke gets for `failure`.
    static func failureResult(_ requestID: String, _ failure: PoolStateMachine.Failure) -> InvokeResult {
        let reason: String
        switch failure {
        case .sandboxNotCreated(let error): reason = error
        case .environmentFailedToInitialize: reason = "the execution environment failed to initialize"
        case .simulatorStopping: reason = "the simulator is shutting down"
        }
        return InvokeResult(
            requestID: requestID,
            outcome: .platformError(errorType: "Sandbox.Failure", message: "RequestId: \(requestID) Error: \(reason)"))
    }

    private func publishThrottle(_ reason: ConcurrencyLimits.ThrottleReason, requestID: String) {
        guard !bus.isEmpty else { return }
        bus.publish(
            .throttled(reason: reason),
            EventContext(
                function: function.name, sandboxID: "-", requestID: requestID,
                epochMilliseconds: clock.epochMilliseconds, logFormat: function.logFormat))
    }

    func makeSandbox() throws -> Sandbox {
        let sandbox = try Sandbox(loop: loop, function: function, clock: clock, bus: bus)
        live[sandbox.id] = sandbox
        sandbox.onResult = { [weak self] result in self?.finish(result) }
        sandbox.onAvailable = { [weak self] sandbox, availability in self?.available(sandbox, availability) }
        sandbox.onTerminated = { [weak self] sandbox in self?.terminated(sandbox) }
        return sandbox
    }

    private func available(_ sandbox: Sandbox, _ availability: PoolStateMachine.Availability) {
        perform(
            machine.sandboxAvailable(
                sandbox.id, availability, now: clock.monotonicNanoseconds, limits: &account.limits))
    }

    func finish(_ result: InvokeResult) {
        machine.invokeFinished(
            requestID: result.requestID, isError: result.outcome.isError, limits: &account.limits)
        waiting.removeValue(forKey: result.requestID)?(.result(result))
    }

    private func terminated(_ sandbox: Sandbox) {
        retiredStatistics.merge(sandbox.freezer.statistics)
        retiredInvokeDurations.merge(sandbox.invokeDurations)
        retiredInitDurations.merge(sandbox.initDurations)
        live[sandbox.id] = nil
        let actions = machine.sandboxGone(sandbox.id, limits: &account.limits)
        if stopping {
            shutdownRecords.append((sandbox.id, sandbox.shutdownExits))
            if live.isEmpty {
                let done = onStopped
                onStopped = nil
                done?()
            }
            return
        }
        perform(actions)
    }

    /// Shuts down idle sandboxes past the idle timeout or the maximum lifetime (never provisioned ones).
    private func reap() {
        perform(machine.reapTimerFired(now: clock.monotonicNanoseconds))
    }

    /// Invoke durations (REPORT's Duration) of every sandbox this function had, in ns.
    package var invokeDurations: LatencyHistogram {
        var total = retiredInvokeDurations
        for sandbox in live.values { total.merge(sandbox.invokeDurations) }
        return total
    }

    /// Init durations of every cold start of this function, in ns.
    package var initDurations: LatencyHistogram {
        var total = retiredInitDurations
        for sandbox in live.values { total.merge(sandbox.initDurations) }
        return total
    }

    /// Freeze and thaw figures of every sandbox this function had.
    package var freezeStatistics: FreezeStatistics {
        var total = retiredStatistics
        for sandbox in live.values { total.merge(sandbox.freezer.statistics) }
        return total
    }

    /// How the processes of each sandbox ended in the final shutdown, by sandbox id, in the order they finished.
    package private(set) var shutdownRecords: [(sandboxID: String, exits: [ShutdownExit])] = []

    /// Shuts every sandbox down with SHUTDOWN `reason`; queued invokes fail. `completion` runs once all processes
    /// are gone.
    package func shutdown(
        reason: SandboxStateMachine.ShutdownReason = .spindown, completion: @escaping () -> Void
    ) {
        loop.assertInLoop()
        guard !stopping else { return }
        let failures = machine.shutdown()
        reaper?.close()
        reaper = nil
        stopEvents()
        perform(failures)
        if live.isEmpty {
            completion()
            return
        }
        onStopped = completion
        for sandbox in Array(live.values) { sandbox.shutdown(reason: reason) }
    }

}
