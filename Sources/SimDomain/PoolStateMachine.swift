import SimCore

/// What one function's pool decides, as pure logic: where invokes go (`PlacementStateMachine`), who holds its units
/// of the account's concurrency (`ConcurrencyLimits`, `ConcurrencyUnits`), how fast it may add sandboxes
/// (`TokenBucket`), provisioned concurrency (a bounded stream of inits, replaced when gone, retried with a growing
/// pause when their init fails), failing the queue of a managed-instance function none of whose environments came
/// up, reaping idle sandboxes and retiring those that run replaced code. The caller (`FunctionPool`) performs the
/// actions and reports back what happened as events; it learns nothing about a sandbox but through events, and
/// time arrives as monotonic nanoseconds.
///
/// ```
/// running ── invokeArrived ──► throttle (no unit) | place | createAndPlace (cold start; throttle past the
///                              scaling rate) | create (managed instance) | queued
///         ── sandboxAvailable(ready) ──► queued invokes placed ; a stale one shut down
///         ── sandboxAvailable(uninitialized), provisioned or managed ──► scheduleRetry(50 ms << failures, ≤ 10 s)
///            (managed with no environment up: queued invokes fail)
///         ── retryTimerFired ──still uninitialized──► prewarm
///         ── sandboxGone ──► queue served ; a provisioned one replaced (createProvisioned)
///         ── reapTimerFired ──► shutdown idle past the idle timeout or the lifetime (never provisioned)
///         ── reload ──► idle sandboxes shut down now, busy ones when available
///         ── shutdown ──► stopping: queued invokes fail, later ones are rejected
/// stopping ── (every event) ──► nothing but unit bookkeeping
/// ```
package struct PoolStateMachine {
    /// What the caller does.
    package enum Action: Equatable, Sendable {
        /// Give the invoke to this existing sandbox; then report `placed`, or `placeRefused` if it cannot take it.
        case place(Invocation, sandboxID: String)
        /// Create a sandbox and give it the invoke (a classic cold start); then report `created` or
        /// `creationFailed`.
        case createAndPlace(Invocation)
        /// Create a managed-instance sandbox and start its init; queued invokes go to it once it is available.
        /// Then report `created` or `creationFailed`.
        case create
        /// Create a provisioned sandbox with this initialization type (nil: the sandbox's own), report
        /// `provisionedCreated`, and start its init.
        case createProvisioned(InitializationType?)
        /// Start the init of this sandbox again (its previous one failed).
        case prewarm(sandboxID: String)
        /// Report `retryTimerFired(sandboxID:)` after this long.
        case scheduleRetry(sandboxID: String, afterMilliseconds: UInt64)
        /// Shut this sandbox down (SHUTDOWN `spindown`); it reports `sandboxGone` once its processes are gone.
        case shutdown(sandboxID: String)
        /// End the invoke with `Sandbox.Failure`, then report `invokeFinished`.
        case fail(Invocation, Failure)
        /// Answer the invoke 429 `TooManyRequestsException` with this reason; it holds no unit.
        case throttle(Invocation, ConcurrencyLimits.ThrottleReason)
        /// Answer the invoke at once with the shutdown failure: it arrived after `shutdown` and was never counted.
        case reject(Invocation)
    }

    /// Why an invoke fails with `Sandbox.Failure`.
    package enum Failure: Equatable, Sendable {
        /// Its sandbox could not be created: the error, as the caller described it.
        case sandboxNotCreated(String)
        /// No environment of a managed-instance function came up.
        case environmentFailedToInitialize
        /// The simulator is shutting down.
        case simulatorStopping
    }

    /// How a sandbox that reports itself available stands.
    package enum Availability: Equatable, Sendable {
        /// Initialised and taking invokes, with this many still in flight (a managed instance's).
        case ready(inFlight: Int)
        /// Without processes again: its init failed, and its next invoke (or `prewarm`) starts a fresh one.
        case uninitialized
    }

    /// The pool's own settings beyond placement.
    package struct Settings: Sendable {
        /// The function's name in the account's limits.
        package var functionName: String
        /// Invokes one environment serves at once for a managed-instance function; nil for a classic one.
        package var environmentMaxConcurrency: Int?
        /// A function without a command: its one sandbox waits for a runtime its user starts.
        package var isAttached = false
        /// Invokes count against the account's limits (serve).
        package var accountLimited = false
        /// Most sandboxes at once (without an account; a managed instance's environments).
        package var maxSandboxes = 1
        /// Sandboxes initialised at start and kept.
        package var provisionedConcurrency = 0
        /// How many provisioned sandboxes initialise at once.
        package var provisioningWidth = 16
        /// Idle sandboxes shut down after this long, in ms.
        package var idleTimeoutMilliseconds: UInt64?
        /// Idle sandboxes older than this are recycled, in ms.
        package var maxLifetimeMilliseconds: UInt64?
        /// New sandboxes per period, if limited.
        package var scalingRate: (sandboxes: Int, periodMilliseconds: UInt64)?

        /// Settings of `functionName`; the others take their defaults.
        package init(functionName: String) {
            self.functionName = functionName
        }

        /// Whether the function runs on Lambda Managed Instances.
        package var isManagedInstance: Bool { environmentMaxConcurrency != nil }

    }

    /// Whether the pool takes invokes.
    private enum State {
        /// Invokes are placed, sandboxes created, reaped and retried.
        /// `running ---- shutdown ----> stopping`
        case running
        /// Shutting down: nothing is created, retried or placed any more. Final.
        case stopping
    }

    /// The longest pause before a failed provisioned sandbox is initialised again.
    package static let provisionedRetryMaxMilliseconds: UInt64 = 10_000

    package let settings: Settings
    private var state = State.running
    package private(set) var placement: PlacementStateMachine
    /// Who holds this function's units of the account's concurrency.
    package private(set) var units = ConcurrencyUnits()
    private var scaling: TokenBucket?
    /// Creation instants (monotonic ns), by sandbox.
    private var createdAt: [String: UInt64] = [:]
    /// Sandboxes created at or before this instant run code that has since changed (`reload`).
    private var reloadCutoff: UInt64?
    /// Provisioned sandboxes (and a managed-instance function's), kept and never reaped.
    package private(set) var provisioned: Set<String> = []
    /// Provisioned sandboxes that have finished their first init.
    package private(set) var provisionedReady: Set<String> = []
    /// Failed inits in a row of provisioned sandboxes, for the pause before the next attempt.
    private var provisionedFailures: [String: Int] = [:]
    /// Sandboxes whose init failed and that wait for `retryTimerFired`.
    private var awaitingRetry: Set<String> = []
    /// Provisioned sandboxes still to be asked for.
    private var provisionedToCreate = 0
    /// Provisioned sandboxes asked for (`createProvisioned`) and not yet reported created.
    private var provisionedRequested = 0
    /// Provisioned sandboxes whose first init is under way.
    private var provisioning: Set<String> = []
    /// Counters for `/metrics`.
    package private(set) var counters = PoolCounters()

    /// A running pool with `settings`, its scaling-rate bucket full at `now`.
    package init(settings: Settings, now: UInt64) {
        self.settings = settings
        // With an account (serve), concurrency counts invokes and the account's limits bound them; without,
        // `maxSandboxes` bounds the sandboxes (a managed instance serves several invokes each).
        let sandboxLimit = settings.accountLimited ? Int.max : max(1, settings.maxSandboxes)
        placement = PlacementStateMachine(
            maxSandboxes: sandboxLimit, slotsPerSandbox: settings.environmentMaxConcurrency)
        if let rate = settings.scalingRate {
            scaling = TokenBucket(
                capacity: rate.sandboxes, periodNanoseconds: rate.periodMilliseconds * 1_000_000, now: now)
        }
    }

    /// Sandboxes kept from the start: the provisioned ones; for a managed-instance function, enough environments
    /// for the provisioned concurrency and at least one (managed instances start ahead of traffic).
    package var provisionedTarget: Int {
        guard let slots = settings.environmentMaxConcurrency else { return settings.provisionedConcurrency }
        return max(1, (settings.provisionedConcurrency + slots - 1) / slots)
    }

    /// True once every provisioned sandbox finished its init.
    package var isReady: Bool { provisionedReady.count >= provisionedTarget }

    /// True after `shutdown`.
    package var isStopping: Bool {
        if case .stopping = state { return true }
        return false
    }

    /// The function's concurrency as Lambda counts it: with account limits, the units it holds; else busy
    /// environments (invokes in flight for a managed instance).
    package var concurrency: Int { settings.accountLimited ? units.count : placement.inFlight }

    // MARK: - Events

    /// The pool starts: the provisioned environments are allocated out of the account's limits (a managed
    /// instance's invokes are counted one by one instead) and the first of them are asked for.
    package mutating func start(limits: inout ConcurrencyLimits) -> [Action] {
        provisionedToCreate = provisionedTarget
        if settings.accountLimited, !settings.isManagedInstance {
            limits.allocateProvisioned(settings.functionName, settings.provisionedConcurrency)
        }
        return provisionMore()
    }

    /// A sandbox asked for by `createProvisioned` exists now (`created` at `now`); the caller starts its init.
    package mutating func provisionedCreated(sandboxID id: String, now: UInt64) {
        provisionedRequested -= 1
        createdAt[id] = now
        provisioned.insert(id)
        provisioning.insert(id)
        placement.adoptPrewarmed(id)
    }

    /// A sandbox asked for by `createProvisioned` could not be created (it is not asked for again).
    package mutating func provisionedCreationFailed() {
        provisionedRequested -= 1
    }

    /// An invoke arrived at `now`: it takes a unit of the account's concurrency (that of an idle provisioned
    /// environment if one will take it) or is throttled, then is placed, starts a sandbox, or waits.
    package mutating func invokeArrived(
        _ invocation: Invocation, now: UInt64, limits: inout ConcurrencyLimits
    ) -> [Action] {
        guard case .running = state else { return [.reject(invocation)] }
        counters.invocations += 1
        if settings.accountLimited {
            // An invoke that goes to an idle provisioned environment uses that environment's allocation.
            let kind: ConcurrencyLimits.Kind
            if !settings.isManagedInstance, let target = placement.nextSandbox(), provisioned.contains(target),
                limits.acquireProvisioned(settings.functionName)
            {
                kind = .provisioned
            } else if let reason = limits.acquire(settings.functionName) {
                counters.throttles += 1
                return [.throttle(invocation, reason)]
            } else {
                kind = .onDemand
            }
            units.admit(invocation.requestID, kind: kind)
        }
        var actions = placement.invokeArrived(invocation)
        limitScaling(&actions, now: now, limits: &limits)
        return actions
    }

    /// `place` was performed: the invoke runs in `sandboxID`, whose environment holds its unit from now on (a
    /// managed instance's invoke keeps its own until it finishes).
    package mutating func placed(requestID: String, sandboxID: String) {
        guard !settings.isManagedInstance else { return }
        units.bind(requestID, to: sandboxID)
    }

    /// `place` could not be performed: the sandbox is resetting. The invoke goes back to the head of the queue.
    package mutating func placeRefused(_ invocation: Invocation, sandboxID: String) {
        placement.requeueFront(invocation, sandboxID: sandboxID)
    }

    /// `createAndPlace` (with `invocation`, now running in the new sandbox) or `create` was performed at `now`.
    package mutating func created(sandboxID id: String, invocation: Invocation?, now: UInt64) {
        createdAt[id] = now
        placement.created(sandboxID: id)
        counters.coldStarts += 1
        if let invocation { placed(requestID: invocation.requestID, sandboxID: id) }
    }

    /// `createAndPlace` (with `invocation`) or `create` could not be performed: `error` says why. The invoke fails;
    /// for a managed instance, every queued invoke does.
    package mutating func creationFailed(invocation: Invocation?, error: String) -> [Action] {
        placement.creationFailed()
        if let invocation { return [.fail(invocation, .sandboxNotCreated(error))] }
        return placement.drainQueue().map { .fail($0, .sandboxNotCreated(error)) }
    }

    /// The invoke `requestID` has its answer (`isError` when it failed): its unit goes back unless its
    /// environment holds it.
    package mutating func invokeFinished(requestID: String, isError: Bool, limits: inout ConcurrencyLimits) {
        if isError { counters.errors += 1 }
        if let kind = units.finished(requestID), settings.accountLimited {
            limits.release(settings.functionName, kind)
        }
    }

    /// The sandbox `id` reports itself available at `now`: it gives its unit back, and takes queued invokes if it
    /// is initialised; a provisioned (or managed) one whose init failed is retried after a pause.
    package mutating func sandboxAvailable(
        _ id: String, _ availability: Availability, now: UInt64, limits: inout ConcurrencyLimits
    ) -> [Action] {
        releaseUnit(ofEnvironment: id, limits: &limits)
        guard case .running = state else { return [] }
        var actions: [Action] = []
        if provisioning.remove(id) != nil { actions += provisionMore() }
        if provisioned.contains(id) || settings.isManagedInstance {
            if case .uninitialized = availability {
                // A provisioned sandbox that failed is initialised again, after a pause that doubles with each
                // failure in a row (never at once: a runtime that cannot start would otherwise retry forever on
                // the same stack).
                if settings.isManagedInstance && !placement.sandboxes.values.contains(where: \.accepting) {
                    // No managed instance is up: invokes that waited for this one fail rather than wait for the retry.
                    actions += placement.drainQueue().map { .fail($0, .environmentFailedToInitialize) }
                }
                let failures = provisionedFailures[id, default: 0] + 1
                provisionedFailures[id] = failures
                awaitingRetry.insert(id)
                let delay = min(Self.provisionedRetryMaxMilliseconds, 50 << UInt64(min(failures, 10)))
                actions.append(.scheduleRetry(sandboxID: id, afterMilliseconds: delay))
                return actions
            }
            provisionedFailures[id] = nil
            provisionedReady.insert(id)
        }
        let inFlight: Int
        if case .ready(let count) = availability { inFlight = count } else { inFlight = 0 }
        if actions.isEmpty {
            actions = placement.sandboxAvailable(id, inFlight: inFlight, now: now)
        } else {
            actions += placement.sandboxAvailable(id, inFlight: inFlight, now: now)
        }
        if let cutoff = reloadCutoff, (createdAt[id] ?? UInt64.max) <= cutoff, placement.retire(id) {
            actions.append(.shutdown(sandboxID: id))
        }
        return actions
    }

    /// The pause after the failed init of `id` is over: its init starts again if it is still waiting for it.
    package mutating func retryTimerFired(sandboxID id: String) -> [Action] {
        guard case .running = state, awaitingRetry.remove(id) != nil else { return [] }
        return [.prewarm(sandboxID: id)]
    }

    /// The sandbox `id` is gone for good: its unit goes back, the queue may start another sandbox, and a provisioned
    /// one is replaced.
    package mutating func sandboxGone(_ id: String, limits: inout ConcurrencyLimits) -> [Action] {
        releaseUnit(ofEnvironment: id, limits: &limits)
        createdAt[id] = nil
        provisionedReady.remove(id)
        provisionedFailures[id] = nil
        awaitingRetry.remove(id)
        provisioning.remove(id)
        let wasProvisioned = provisioned.remove(id) != nil
        guard case .running = state else { return [] }
        var actions = placement.sandboxGone(id)
        if wasProvisioned { provisionedToCreate += 1 }
        actions += provisionMore()
        return actions
    }

    /// The reaper's tick at `now`: idle sandboxes past the idle timeout or the maximum lifetime shut down (never
    /// provisioned ones).
    package mutating func reapTimerFired(now: UInt64) -> [Action] {
        guard case .running = state else { return [] }
        var candidates: [String] = []
        if let idle = settings.idleTimeoutMilliseconds {
            candidates += placement.idle(before: now &- idle * 1_000_000)
        }
        if let lifetime = settings.maxLifetimeMilliseconds {
            let cutoff = now &- lifetime * 1_000_000
            candidates += placement.idle(before: now).filter { (createdAt[$0] ?? now) < cutoff }
        }
        var actions: [Action] = []
        for id in candidates where !provisioned.contains(id) && placement.retire(id) {
            actions.append(.shutdown(sandboxID: id))
        }
        return actions
    }

    /// The function's code changed at `now`: idle sandboxes shut down now, busy ones as soon as they are
    /// available, and later invokes start sandboxes that load the new code.
    package mutating func reload(now: UInt64) -> [Action] {
        guard case .running = state else { return [] }
        reloadCutoff = now
        var actions: [Action] = []
        for id in placement.idle(before: UInt64.max) where placement.retire(id) {
            actions.append(.shutdown(sandboxID: id))
        }
        return actions
    }

    /// The pool shuts down: queued invokes fail, and from now on nothing is created, placed or retried.
    package mutating func shutdown() -> [Action] {
        guard case .running = state else { return [] }
        state = .stopping
        return placement.drainQueue().map { .fail($0, .simulatorStopping) }
    }

    // MARK: - Rules

    /// Gives back the unit the environment `id` holds, if any: it is ready for the next invoke, or gone.
    private mutating func releaseUnit(ofEnvironment id: String, limits: inout ConcurrencyLimits) {
        guard let kind = units.environmentFree(id), settings.accountLimited else { return }
        limits.release(settings.functionName, kind)
    }

    /// Past the scaling rate, a cold start is throttled (`FunctionInvocationRateLimitExceeded`) and its unit given
    /// back. Rewrites `actions` in place.
    private mutating func limitScaling(_ actions: inout [Action], now: UInt64, limits: inout ConcurrencyLimits) {
        guard var bucket = scaling else { return }
        defer { scaling = bucket }
        for index in actions.indices {
            guard case .createAndPlace(let invocation) = actions[index], !bucket.take(now: now) else { continue }
            placement.creationFailed()
            if let kind = units.finished(invocation.requestID), settings.accountLimited {
                limits.release(settings.functionName, kind)
            }
            counters.throttles += 1
            actions[index] = .throttle(invocation, .scalingRate)
        }
    }

    /// Asks for provisioned sandboxes still to be created, up to `provisioningWidth` initialising at once: they
    /// come up in a bounded stream, as Lambda allocates them over time, rather than as thousands of processes
    /// starting at once and competing for the CPUs and for the listener's accept queue.
    private mutating func provisionMore() -> [Action] {
        guard case .running = state else { return [] }
        var actions: [Action] = []
        while provisionedToCreate > 0 && provisioning.count + provisionedRequested < settings.provisioningWidth {
            provisionedToCreate -= 1
            provisionedRequested += 1
            // An attached function's one sandbox is created at start so that its address is known; its runtime is
            // an on-demand one that its user starts. A managed instance's sandbox knows its own type.
            let type: InitializationType? =
                settings.isManagedInstance ? nil : settings.isAttached ? .onDemand : .provisionedConcurrency
            actions.append(.createProvisioned(type))
        }
        return actions
    }
}

/// Counts for `/metrics`.
package struct PoolCounters: Sendable, Equatable {
    /// Invokes submitted while the pool was running (throttled ones included).
    package var invocations = 0
    /// Invokes that ended in an error.
    package var errors = 0
    /// Invokes throttled (429).
    package var throttles = 0
    /// Sandboxes created for invokes (cold starts and managed instances), provisioned ones not included.
    package var coldStarts = 0

    package init() {}
}
