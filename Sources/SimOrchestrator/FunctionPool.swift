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

/// How a pool places invokes beyond what `run` needs.
package struct PoolPolicy: Sendable {
    /// Throttle synchronous invokes with 429 instead of queueing them (serve); async ones wait for capacity.
    package var throttle = false
    /// Idle sandboxes shut down (SHUTDOWN `spindown`) after this long.
    package var idleTimeoutMilliseconds: UInt64?
    /// Idle sandboxes older than this are recycled.
    package var maxLifetimeMilliseconds: UInt64?
    /// Sandboxes initialised at start and kept (never reaped).
    package var provisionedConcurrency = 0
    /// New sandboxes per period (Lambda: 1,000 per 10 s), if limited.
    package var scalingRate: (sandboxes: Int, periodMilliseconds: UInt64)?
    /// Retries of asynchronous invokes.
    package var asyncRetry = AsyncRetryPolicy()
    /// Files that receive invocation records (JSON lines) of asynchronous invokes.
    package var onSuccessDestination: String?
    package var onFailureDestination: String?

    package init() {}
}

/// The sandboxes of one function and the queue in front of them. Loop-confined.
package final class FunctionPool {
    package let function: FunctionSpec
    /// The function's unqualified ARN, formatted once.
    package let functionARN: String
    let loop: EventLoop
    let clock: any SimClock
    /// Where the pool's sandboxes (and its asynchronous results) publish their events.
    let bus: EventBus
    let policy: PoolPolicy
    let limiter: AccountLimiter?
    var placement: PlacementStateMachine
    var live: [String: Sandbox] = [:]
    /// Sandboxes created at or before this instant run code that has since changed (`reload`).
    var reloadCutoff: UInt64?
    var waiting: [String: (PoolAnswer) -> Void] = [:]
    /// Who holds this function's units of the account's concurrency: invokes not yet placed, and environments
    /// from an invoke's placement until they are ready for the next one.
    var units = ConcurrencyUnits()
    /// Asynchronous invokes between attempts, by request id.
    var events: [String: PendingEvent] = [:]
    /// Bytes of the asynchronous events waiting in `events` (see `queuedBytes(of:)`).
    package internal(set) var pendingEventBytes = 0
    var createdAt: [String: UInt64] = [:]
    var provisioned: Set<String> = []
    /// Provisioned sandboxes that have finished their first init.
    package internal(set) var provisionedReady: Set<String> = []
    /// Failed inits in a row of provisioned sandboxes, for the pause before the next attempt.
    var provisionedFailures: [String: Int] = [:]
    /// Provisioned sandboxes still to be created, and those whose first init is under way (at most
    /// `provisioningWidth`): provisioned concurrency comes up in a bounded stream, as Lambda allocates it over
    /// time, rather than as thousands of processes starting at once and competing for the CPUs and for the
    /// listener's accept queue.
    var provisionedToCreate = 0
    var provisioning: Set<String> = []
    /// How many provisioned sandboxes initialise at once.
    package static let provisioningWidth = max(16, 8 * Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    /// The longest pause before a failed provisioned sandbox is initialised again.
    static let provisionedRetryMaxMilliseconds: UInt64 = 10_000
    var scaling: TokenBucket?
    var reaper: Timer?
    var stopping = false
    /// Freeze and thaw figures of sandboxes that are gone.
    var retiredStatistics = FreezeStatistics()
    /// Invoke and init durations of sandboxes that are gone.
    var retiredInvokeDurations = LatencyHistogram()
    var retiredInitDurations = LatencyHistogram()
    var onStopped: (() -> Void)?
    /// Counters for `/metrics`.
    package internal(set) var counters = PoolCounters()

    package init(
        loop: EventLoop, function: FunctionSpec, maxConcurrency: Int, policy: PoolPolicy = PoolPolicy(),
        limiter: AccountLimiter? = nil, clock: any SimClock = SystemClock(), bus: EventBus
    ) {
        self.loop = loop
        self.function = function
        self.functionARN = function.functionARN
        self.clock = clock
        self.bus = bus
        self.policy = policy
        self.limiter = limiter
        // With an account (serve), concurrency counts invokes and the limiter bounds them; without, `maxConcurrency`
        // bounds the sandboxes (a managed instance serves several invokes each).
        let sandboxLimit = policy.throttle ? Int.max : max(1, maxConcurrency)
        self.placement = PlacementStateMachine(
            maxSandboxes: sandboxLimit, slotsPerSandbox: function.environmentMaxConcurrency)
        if let rate = policy.scalingRate {
            scaling = TokenBucket(
                capacity: rate.sandboxes, periodNanoseconds: rate.periodMilliseconds * 1_000_000,
                now: clock.monotonicNanoseconds)
        }
    }

    /// The function's sandboxes.
    package var sandboxes: [Sandbox] { Array(live.values) }

    /// Invokes in flight in the function's sandboxes (several in a managed instance).
    package var invokesInFlight: Int { live.values.reduce(0) { $0 + $1.machine.inFlightCount } }

    /// The function's concurrency as Lambda counts it: environments busy from an invoke's placement until they are
    /// ready for the next one (invokes in flight for a managed instance); with account limits, the units it holds.
    package var concurrency: Int { limiter == nil ? placement.inFlight : units.count }

    /// Invokes waiting for a free sandbox, and asynchronous ones waiting for a retry.
    package var queuedCount: Int { placement.queuedCount + events.count }

    /// True once every provisioned sandbox finished its init.
    package var isReady: Bool { provisionedReady.count >= provisionedTarget }

    /// Sandboxes kept from the start: the provisioned ones; for a managed-instance function, enough environments
    /// for the provisioned concurrency and at least one (managed instances start ahead of traffic).
    var provisionedTarget: Int {
        guard let slots = function.environmentMaxConcurrency else { return policy.provisionedConcurrency }
        return max(1, (policy.provisionedConcurrency + slots - 1) / slots)
    }

    /// Starts provisioned sandboxes and the idle reaper.
    package func start() throws {
        loop.assertInLoop()
        provisionedToCreate = provisionedTarget
        // Provisioned environments are allocated out of the reservation (or the unreserved pool), busy or not; a
        // managed instance's invokes are counted one by one instead.
        if let limiter, !function.isManagedInstance {
            limiter.limits.allocateProvisioned(function.name, policy.provisionedConcurrency)
        }
        try provisionMore()
        if policy.idleTimeoutMilliseconds != nil || policy.maxLifetimeMilliseconds != nil {
            let timer = Timer(loop: loop)
            timer.start(afterMilliseconds: 250, repeatMilliseconds: 250) { [weak self] in self?.reap() }
            reaper = timer
        }
    }

    /// Runs `invocation`, or throttles it when concurrency is exhausted (serve).
    package func submit(_ invocation: Invocation, answer: @escaping (PoolAnswer) -> Void) {
        loop.assertInLoop()
        guard !stopping else {
            answer(.result(Self.stoppedResult(invocation.requestID)))
            return
        }
        counters.invocations += 1
        if let limiter {
            // An invoke that goes to an idle provisioned environment uses that environment's allocation.
            let kind: ConcurrencyLimits.Kind
            if !function.isManagedInstance, let target = placement.nextSandbox(), provisioned.contains(target),
                limiter.limits.acquireProvisioned(function.name)
            {
                kind = .provisioned
            } else if let reason = limiter.limits.acquire(function.name) {
                counters.throttles += 1
                publishThrottle(reason, requestID: invocation.requestID)
                answer(.throttled(reason))
                return
            } else {
                kind = .onDemand
            }
            units.admit(invocation.requestID, kind: kind)
        }
        waiting[invocation.requestID] = answer
        perform(placement.invokeArrived(invocation))
    }

    func perform(_ actions: [PlacementStateMachine.Action]) {
        for action in actions {
            switch action {
            case .place(let invocation, let id):
                guard let sandbox = live[id], sandbox.canAcceptInvoke else {
                    placement.requeueFront(invocation, sandboxID: id)
                    continue
                }
                bindUnit(invocation, to: sandbox)
                sandbox.invoke(invocation)
            case .create:
                // A managed instance: it initialises first, and queued invokes go to it once it is available.
                do {
                    let sandbox = try makeSandbox()
                    placement.created(sandboxID: sandbox.id)
                    counters.coldStarts += 1
                    sandbox.prewarm()
                } catch {
                    placement.creationFailed()
                    for invocation in placement.drainQueue() { failWithSandboxFailure(invocation, "\(error)") }
                }
            case .createAndPlace(let invocation):
                if var bucket = scaling {
                    let granted = bucket.take(now: clock.monotonicNanoseconds)
                    scaling = bucket
                    if !granted {
                        placement.creationFailed()
                        throttleAfterPlacement(invocation, reason: .scalingRate)
                        continue
                    }
                }
                do {
                    let sandbox = try makeSandbox()
                    placement.created(sandboxID: sandbox.id)
                    counters.coldStarts += 1
                    bindUnit(invocation, to: sandbox)
                    sandbox.invoke(invocation)
                } catch {
                    placement.creationFailed()
                    failWithSandboxFailure(invocation, "\(error)")
                }
            }
        }
    }

    /// A classic environment holds its invoke's unit of concurrency until it is ready for the next invoke or gone
    /// (Lambda counts it busy until then); a managed instance's invokes keep theirs until they finish.
    private func bindUnit(_ invocation: Invocation, to sandbox: Sandbox) {
        guard !function.isManagedInstance else { return }
        units.bind(invocation.requestID, to: sandbox.id)
    }

    /// Gives back the unit the environment `id` holds, if any: it is ready for the next invoke, or gone.
    private func releaseUnit(ofEnvironment id: String) {
        guard let kind = units.environmentFree(id), let limiter else { return }
        limiter.limits.release(function.name, kind)
    }

    /// Ends `invocation` with a `Sandbox.Failure` that says `reason` (its sandbox could not be created or
    /// initialised).
    private func failWithSandboxFailure(_ invocation: Invocation, _ reason: String) {
        let id = invocation.requestID
        finish(
            InvokeResult(
                requestID: id,
                outcome: .platformError(errorType: "Sandbox.Failure", message: "RequestId: \(id) Error: \(reason)")))
    }

    private func throttleAfterPlacement(_ invocation: Invocation, reason: ConcurrencyLimits.ThrottleReason) {
        releaseSlot(invocation.requestID)
        counters.throttles += 1
        publishThrottle(reason, requestID: invocation.requestID)
        waiting.removeValue(forKey: invocation.requestID)?(.throttled(reason))
    }

    private func publishThrottle(_ reason: ConcurrencyLimits.ThrottleReason, requestID: String) {
        guard !bus.isEmpty else { return }
        bus.publish(
            .throttled(reason: reason.rawValue),
            EventContext(
                function: function.name, sandboxID: "-", requestID: requestID,
                epochMilliseconds: clock.epochMilliseconds, logFormat: function.logFormat))
    }

    func makeSandbox() throws -> Sandbox {
        let sandbox = try Sandbox(loop: loop, function: function, clock: clock, bus: bus)
        live[sandbox.id] = sandbox
        createdAt[sandbox.id] = clock.monotonicNanoseconds
        sandbox.onResult = { [weak self] result in self?.finish(result) }
        sandbox.onAvailable = { [weak self] sandbox in self?.available(sandbox) }
        sandbox.onTerminated = { [weak self] sandbox in self?.terminated(sandbox) }
        return sandbox
    }

    private func available(_ sandbox: Sandbox) {
        releaseUnit(ofEnvironment: sandbox.id)
        guard !stopping else { return }
        if provisioning.remove(sandbox.id) != nil { try? provisionMore() }
        if provisioned.contains(sandbox.id) || function.isManagedInstance {
            if case .idle = sandbox.machine.state {
                // A provisioned sandbox that failed is initialised again, after a pause that doubles with each
                // failure in a row (never at once: a runtime that cannot start would otherwise retry forever on
                // the same stack).
                if function.isManagedInstance && !placement.sandboxes.values.contains(where: \.accepting) {
                    // No managed instance is up: invokes that waited for this one fail rather than wait for the retry.
                    for invocation in placement.drainQueue() {
                        failWithSandboxFailure(invocation, "the execution environment failed to initialize")
                    }
                }
                let failures = provisionedFailures[sandbox.id, default: 0] + 1
                provisionedFailures[sandbox.id] = failures
                let delay = min(Self.provisionedRetryMaxMilliseconds, 50 << UInt64(min(failures, 10)))
                loop.schedule(afterMilliseconds: delay) { [weak self, weak sandbox] in
                    guard let self, !self.stopping, let sandbox, case .idle = sandbox.machine.state else { return }
                    sandbox.prewarm()
                }
                return
            }
            provisionedFailures[sandbox.id] = nil
            provisionedReady.insert(sandbox.id)
        }
        perform(
            placement.sandboxAvailable(
                sandbox.id, inFlight: sandbox.machine.inFlightCount, now: clock.monotonicNanoseconds))
        retireIfStale(sandbox)
    }

    func finish(_ result: InvokeResult) {
        if result.outcome.isError { counters.errors += 1 }
        releaseSlot(result.requestID)
        waiting.removeValue(forKey: result.requestID)?(.result(result))
    }

    /// Gives back the unit the invoke `requestID` holds, if it still holds one (it was never placed, or it ran
    /// on a managed instance); a classic environment keeps its invoke's unit until it is ready.
    private func releaseSlot(_ requestID: String) {
        guard let kind = units.finished(requestID), let limiter else { return }
        limiter.limits.release(function.name, kind)
    }

    private func terminated(_ sandbox: Sandbox) {
        retiredStatistics.merge(sandbox.freezer.statistics)
        retiredInvokeDurations.merge(sandbox.invokeDurations)
        retiredInitDurations.merge(sandbox.initDurations)
        releaseUnit(ofEnvironment: sandbox.id)
        live[sandbox.id] = nil
        createdAt[sandbox.id] = nil
        provisionedReady.remove(sandbox.id)
        provisionedFailures[sandbox.id] = nil
        provisioning.remove(sandbox.id)
        let wasProvisioned = provisioned.remove(sandbox.id) != nil
        if stopping {
            shutdownRecords.append((sandbox.id, sandbox.shutdownExits))
            if live.isEmpty {
                let done = onStopped
                onStopped = nil
                done?()
            }
            return
        }
        perform(placement.sandboxGone(sandbox.id))
        if wasProvisioned { provisionedToCreate += 1 }
        try? provisionMore()
    }

    /// Starts provisioned sandboxes still to be created, up to `provisioningWidth` initialising at once.
    private func provisionMore() throws {
        while provisionedToCreate > 0 && provisioning.count < Self.provisioningWidth && !stopping {
            provisionedToCreate -= 1
            let sandbox = try makeSandbox()
            // An attached function's one sandbox is created at start so that its address is known; its runtime is
            // an on-demand one that its user starts.
            if !function.isManagedInstance {
                sandbox.initializationType = function.isAttached ? .onDemand : .provisionedConcurrency
            }
            provisioned.insert(sandbox.id)
            provisioning.insert(sandbox.id)
            placement.adoptPrewarmed(sandbox.id)
            sandbox.prewarm()
        }
    }

    /// Shuts down idle sandboxes past the idle timeout or the maximum lifetime (never provisioned ones).
    private func reap() {
        guard !stopping else { return }
        let now = clock.monotonicNanoseconds
        var candidates: [String] = []
        if let idle = policy.idleTimeoutMilliseconds {
            candidates += placement.idle(before: now &- idle * 1_000_000)
        }
        if let lifetime = policy.maxLifetimeMilliseconds {
            let cutoff = now &- lifetime * 1_000_000
            candidates += placement.idle(before: now).filter { (createdAt[$0] ?? now) < cutoff }
        }
        for id in candidates where !provisioned.contains(id) {
            guard placement.retire(id), let sandbox = live[id] else { continue }
            sandbox.shutdown()
        }
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
        stopping = true
        reaper?.close()
        reaper = nil
        stopEvents()
        for invocation in placement.drainQueue() {
            finish(Self.stoppedResult(invocation.requestID))
        }
        if live.isEmpty {
            completion()
            return
        }
        onStopped = completion
        for sandbox in Array(live.values) { sandbox.shutdown(reason: reason) }
    }

    static func stoppedResult(_ requestID: String) -> InvokeResult {
        InvokeResult(
            requestID: requestID,
            outcome: .platformError(
                errorType: "Sandbox.Failure", message: "RequestId: \(requestID) Error: the simulator is shutting down"))
    }
}

/// Counts for `/metrics`.
package struct PoolCounters: Sendable, Equatable {
    package var invocations = 0
    package var errors = 0
    package var throttles = 0
    package var coldStarts = 0
}
