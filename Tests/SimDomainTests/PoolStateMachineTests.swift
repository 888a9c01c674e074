import SimCore
import Testing

@testable import SimDomain

private func invocation(_ id: String) -> Invocation {
    Invocation(requestID: id, payload: [], invokedFunctionARN: "arn", traceID: "t")
}

private let second: UInt64 = 1_000_000_000

/// A pool machine with `configure` applied to its settings, started at `now`: the actions of `start` are returned
/// alongside, and provisioned sandboxes are reported created as `p1`, `p2`, … when `createProvisioned` is true.
private func startedPool(
    limits: inout ConcurrencyLimits, now: UInt64 = 0, createProvisioned: Bool = true,
    _ configure: (inout PoolStateMachine.Settings) -> Void = { _ in }
) -> (PoolStateMachine, [PoolStateMachine.Action]) {
    var settings = PoolStateMachine.Settings(functionName: "fn")
    configure(&settings)
    var pool = PoolStateMachine(settings: settings, now: now)
    let actions = pool.start(limits: &limits)
    if createProvisioned {
        for (index, _) in actions.enumerated() { pool.provisionedCreated(sandboxID: "p\(index + 1)", now: now) }
    }
    return (pool, actions)
}

/// A classic sandbox `id` that served `request` and is now available at `now`.
private func coldStart(
    _ pool: inout PoolStateMachine, _ request: String, as id: String, now: UInt64, limits: inout ConcurrencyLimits
) {
    let actions = pool.invokeArrived(invocation(request), now: now, limits: &limits)
    #expect(actions == [.createAndPlace(invocation(request))])
    pool.created(sandboxID: id, invocation: invocation(request), now: now)
    pool.invokeFinished(requestID: request, isError: false, limits: &limits)
    _ = pool.sandboxAvailable(id, .ready(inFlight: 0), now: now, limits: &limits)
}

@Suite struct PoolStateMachineTests {
    /// Provisioned sandboxes are asked for at start at most `provisioningWidth` at a time; each finished first init
    /// asks for the next, and the pool is ready once all have initialised.
    @Test func provisioningIsABoundedStream() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, first) = startedPool(limits: &limits) {
            $0.provisionedConcurrency = 3
            $0.provisioningWidth = 2
        }
        #expect(first == [.createProvisioned(.provisionedConcurrency), .createProvisioned(.provisionedConcurrency)])
        #expect(!pool.isReady)
        #expect(
            pool.sandboxAvailable("p1", .ready(inFlight: 0), now: 1, limits: &limits) == [
                .createProvisioned(.provisionedConcurrency)
            ])
        pool.provisionedCreated(sandboxID: "p3", now: 1)
        #expect(pool.sandboxAvailable("p2", .ready(inFlight: 0), now: 2, limits: &limits).isEmpty)
        #expect(!pool.isReady)
        #expect(pool.sandboxAvailable("p3", .ready(inFlight: 0), now: 3, limits: &limits).isEmpty)
        #expect(pool.isReady && pool.provisionedReady == ["p1", "p2", "p3"])
    }

    /// An attached function's one sandbox is created at start as an on-demand one; a managed-instance function
    /// starts ceil(provisioned / slots) environments, at least one, that set their own initialization type.
    @Test func provisionedTargetsAndInitializationTypes() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        let (_, attached) = startedPool(limits: &limits) {
            $0.isAttached = true
            $0.provisionedConcurrency = 1
        }
        #expect(attached == [.createProvisioned(.onDemand)])
        let (managed, some) = startedPool(limits: &limits) {
            $0.environmentMaxConcurrency = 4
            $0.provisionedConcurrency = 9
        }
        #expect(some == Array(repeating: .createProvisioned(nil), count: 3) && managed.provisionedTarget == 3)
        let (_, none) = startedPool(limits: &limits) { $0.environmentMaxConcurrency = 4 }
        #expect(none == [.createProvisioned(nil)])
    }

    /// With an account, a classic function's provisioned environments are allocated at start, and an invoke that
    /// goes to an idle provisioned environment is not throttled even when the reservation is used up by them.
    @Test func idleProvisionedEnvironmentTakesTheInvokeWithinItsAllocation() {
        var limits = ConcurrencyLimits(accountLimit: 10, reservations: ["fn": 1])
        var (pool, _) = startedPool(limits: &limits) {
            $0.accountLimited = true
            $0.provisionedConcurrency = 1
        }
        #expect(limits.provisioned["fn"] == 1 && limits.charged("fn") == 1)
        _ = pool.sandboxAvailable("p1", .ready(inFlight: 0), now: 1, limits: &limits)
        #expect(
            pool.invokeArrived(invocation("a"), now: 2, limits: &limits) == [.place(invocation("a"), sandboxID: "p1")])
        pool.placed(requestID: "a", sandboxID: "p1")
        #expect(limits.provisionedInUse["fn"] == 1 && pool.concurrency == 1)
        // The reservation is all provisioned: a second invoke while p1 is busy is throttled.
        #expect(pool.invokeArrived(invocation("b"), now: 3, limits: &limits) == [.throttle(invocation("b"), .reserved)])
        #expect(pool.counters.throttles == 1 && pool.counters.invocations == 2)
        // The environment's unit comes back when it is ready again, not when its invoke is answered.
        pool.invokeFinished(requestID: "a", isError: false, limits: &limits)
        #expect(limits.provisionedInUse["fn"] == 1)
        _ = pool.sandboxAvailable("p1", .ready(inFlight: 0), now: 4, limits: &limits)
        #expect(limits.provisionedInUse["fn"] == 0 && limits.inUse["fn"] == 0 && pool.concurrency == 0)
    }

    /// An invoke throttled by the account takes no unit and is not placed.
    @Test func accountThrottleTakesNoUnit() {
        var limits = ConcurrencyLimits(accountLimit: 1)
        var (pool, _) = startedPool(limits: &limits) { $0.accountLimited = true }
        #expect(pool.invokeArrived(invocation("a"), now: 0, limits: &limits) == [.createAndPlace(invocation("a"))])
        #expect(pool.invokeArrived(invocation("b"), now: 0, limits: &limits) == [.throttle(invocation("b"), .account)])
        #expect(limits.totalInUse == 1 && pool.placement.queuedCount == 0)
    }

    /// Past the scaling rate a cold start is throttled (FunctionInvocationRateLimitExceeded) and its unit given back;
    /// the bucket refills with time.
    @Test func scalingRateThrottlesColdStarts() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, _) = startedPool(limits: &limits) {
            $0.accountLimited = true
            $0.scalingRate = (sandboxes: 1, periodMilliseconds: 1_000)
        }
        #expect(pool.invokeArrived(invocation("a"), now: 0, limits: &limits) == [.createAndPlace(invocation("a"))])
        pool.created(sandboxID: "s1", invocation: invocation("a"), now: 0)
        #expect(
            pool.invokeArrived(invocation("b"), now: second / 2, limits: &limits) == [
                .throttle(invocation("b"), .scalingRate)
            ])
        #expect(limits.totalInUse == 1 && pool.counters.throttles == 1)
        #expect(pool.invokeArrived(invocation("c"), now: second, limits: &limits) == [.createAndPlace(invocation("c"))])
    }

    /// A provisioned sandbox whose init failed is retried after 100 ms, then 200 ms, … at most 10 s; a successful
    /// init resets the pause.
    @Test func provisionedRetryBacksOff() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, _) = startedPool(limits: &limits) { $0.provisionedConcurrency = 1 }
        var delays: [UInt64] = []
        for attempt in 1...9 {
            let actions = pool.sandboxAvailable("p1", .uninitialized, now: UInt64(attempt), limits: &limits)
            guard case .scheduleRetry("p1", let delay)? = actions.last else {
                Issue.record("no retry in \(actions)")
                return
            }
            delays.append(delay)
            #expect(pool.retryTimerFired(sandboxID: "p1") == [.prewarm(sandboxID: "p1")])
        }
        #expect(delays == [100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000])
        #expect(!pool.isReady)
        _ = pool.sandboxAvailable("p1", .ready(inFlight: 0), now: 20, limits: &limits)
        #expect(pool.isReady)
        #expect(
            pool.sandboxAvailable("p1", .uninitialized, now: 21, limits: &limits) == [
                .scheduleRetry(sandboxID: "p1", afterMilliseconds: 100)
            ])
    }

    /// A retry timer does nothing once its sandbox is gone, the pool stopped, or it already fired.
    @Test func staleRetryTimersDoNothing() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, _) = startedPool(limits: &limits) { $0.provisionedConcurrency = 2 }
        _ = pool.sandboxAvailable("p1", .uninitialized, now: 1, limits: &limits)
        _ = pool.sandboxAvailable("p2", .uninitialized, now: 1, limits: &limits)
        #expect(pool.retryTimerFired(sandboxID: "p1") == [.prewarm(sandboxID: "p1")])
        #expect(pool.retryTimerFired(sandboxID: "p1").isEmpty)
        // p2 goes: its retry is moot, and a provisioned replacement is asked for.
        #expect(pool.sandboxGone("p2", limits: &limits) == [.createProvisioned(.provisionedConcurrency)])
        #expect(pool.retryTimerFired(sandboxID: "p2").isEmpty)
        _ = pool.sandboxAvailable("p1", .uninitialized, now: 2, limits: &limits)
        _ = pool.shutdown()
        #expect(pool.retryTimerFired(sandboxID: "p1").isEmpty)
    }

    /// A managed-instance function none of whose environments is up fails its queued invokes when an init fails,
    /// rather than keeping them for the retry; with an environment up they keep waiting.
    @Test func managedInstanceFailsItsQueueWhenNoEnvironmentIsUp() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, _) = startedPool(limits: &limits) {
            $0.environmentMaxConcurrency = 2
            $0.maxSandboxes = 1
        }
        #expect(pool.invokeArrived(invocation("a"), now: 0, limits: &limits).isEmpty)
        #expect(
            pool.sandboxAvailable("p1", .uninitialized, now: 1, limits: &limits) == [
                .fail(invocation("a"), .environmentFailedToInitialize),
                .scheduleRetry(sandboxID: "p1", afterMilliseconds: 100),
            ])
        // Up now: it takes invokes; a later failed re-init of an environment leaves the queue to those up.
        _ = pool.sandboxAvailable("p1", .ready(inFlight: 0), now: 2, limits: &limits)
        #expect(
            pool.invokeArrived(invocation("b"), now: 3, limits: &limits) == [.place(invocation("b"), sandboxID: "p1")])
    }

    /// Idle on-demand sandboxes are shut down past the idle timeout, the most idle first; provisioned ones never;
    /// busy ones are not.
    @Test func reaperShutsDownIdleOnDemandSandboxes() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, _) = startedPool(limits: &limits) {
            $0.accountLimited = true
            $0.maxSandboxes = 3
            $0.provisionedConcurrency = 1
            $0.idleTimeoutMilliseconds = 1_000
        }
        _ = pool.sandboxAvailable("p1", .ready(inFlight: 0), now: 0, limits: &limits)
        _ = pool.invokeArrived(invocation("a"), now: 0, limits: &limits)  // placed on p1
        pool.placed(requestID: "a", sandboxID: "p1")
        coldStart(&pool, "b", as: "s1", now: second, limits: &limits)
        pool.invokeFinished(requestID: "a", isError: false, limits: &limits)
        _ = pool.sandboxAvailable("p1", .ready(inFlight: 0), now: 0, limits: &limits)
        #expect(pool.reapTimerFired(now: second + second / 2).isEmpty)
        #expect(pool.reapTimerFired(now: 2 * second + 1) == [.shutdown(sandboxID: "s1")])
        #expect(pool.reapTimerFired(now: 10 * second).isEmpty)
    }

    /// Idle sandboxes older than the maximum lifetime are recycled even if recently used.
    @Test func reaperRecyclesSandboxesPastTheirLifetime() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, _) = startedPool(limits: &limits) {
            $0.accountLimited = true
            $0.maxLifetimeMilliseconds = 5_000
        }
        let start = 100 * second
        coldStart(&pool, "a", as: "s1", now: start, limits: &limits)
        let used = start + 4 * second
        #expect(
            pool.invokeArrived(invocation("b"), now: used, limits: &limits) == [
                .place(invocation("b"), sandboxID: "s1")
            ])
        pool.placed(requestID: "b", sandboxID: "s1")
        _ = pool.sandboxAvailable("s1", .ready(inFlight: 0), now: used, limits: &limits)
        #expect(pool.reapTimerFired(now: used + second / 2).isEmpty)
        #expect(pool.reapTimerFired(now: start + 5 * second + 1) == [.shutdown(sandboxID: "s1")])
    }

    /// After a reload idle sandboxes shut down at once and busy ones when they are available; newer ones stay.
    @Test func reloadRetiresStaleSandboxes() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, _) = startedPool(limits: &limits) {
            $0.accountLimited = true
            $0.maxSandboxes = 3
        }
        coldStart(&pool, "a", as: "idle", now: 1, limits: &limits)
        _ = pool.invokeArrived(invocation("b"), now: 2, limits: &limits)  // placed on "idle"
        pool.placed(requestID: "b", sandboxID: "idle")
        _ = pool.invokeArrived(invocation("c"), now: 2, limits: &limits)
        pool.created(sandboxID: "busy", invocation: invocation("c"), now: 2)
        pool.invokeFinished(requestID: "b", isError: false, limits: &limits)
        _ = pool.sandboxAvailable("idle", .ready(inFlight: 0), now: 3, limits: &limits)
        #expect(pool.reload(now: 4) == [.shutdown(sandboxID: "idle")])
        pool.invokeFinished(requestID: "c", isError: false, limits: &limits)
        #expect(
            pool.sandboxAvailable("busy", .ready(inFlight: 0), now: 5, limits: &limits) == [
                .shutdown(sandboxID: "busy")
            ])
        coldStart(&pool, "d", as: "new", now: 6, limits: &limits)
        #expect(pool.placement.sandboxes["new"]?.accepting == true)
    }

    /// A sandbox that cannot be created fails its invoke; for a managed instance, every queued invoke fails.
    @Test func creationFailureFailsTheInvokes() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (classic, _) = startedPool(limits: &limits)
        _ = classic.invokeArrived(invocation("a"), now: 0, limits: &limits)
        #expect(
            classic.creationFailed(invocation: invocation("a"), error: "spawn") == [
                .fail(invocation("a"), .sandboxNotCreated("spawn"))
            ])
        var (managed, _) = startedPool(limits: &limits, createProvisioned: false) {
            $0.environmentMaxConcurrency = 1
            $0.maxSandboxes = 2
        }
        managed.provisionedCreationFailed()
        #expect(managed.invokeArrived(invocation("b"), now: 0, limits: &limits) == [.create])
        #expect(
            managed.creationFailed(invocation: nil, error: "cgroup") == [
                .fail(invocation("b"), .sandboxNotCreated("cgroup"))
            ])
    }

    /// An invoke placed on a sandbox that turns out to be resetting goes back to the head of the queue and is
    /// placed when a sandbox is available.
    @Test func refusedPlacementRequeuesAtTheHead() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, _) = startedPool(limits: &limits)
        coldStart(&pool, "a", as: "s1", now: 0, limits: &limits)
        #expect(
            pool.invokeArrived(invocation("b"), now: 1, limits: &limits) == [.place(invocation("b"), sandboxID: "s1")])
        pool.placeRefused(invocation("b"), sandboxID: "s1")
        #expect(pool.invokeArrived(invocation("c"), now: 2, limits: &limits).isEmpty)
        #expect(
            pool.sandboxAvailable("s1", .ready(inFlight: 0), now: 3, limits: &limits) == [
                .place(invocation("b"), sandboxID: "s1")
            ])
    }

    /// A gone provisioned sandbox is replaced; the queue starts a sandbox for its head when one goes.
    @Test func goneSandboxesAreReplaced() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, _) = startedPool(limits: &limits) {
            $0.maxSandboxes = 2
            $0.provisionedConcurrency = 1
        }
        _ = pool.sandboxAvailable("p1", .ready(inFlight: 0), now: 0, limits: &limits)
        _ = pool.invokeArrived(invocation("a"), now: 0, limits: &limits)
        _ = pool.invokeArrived(invocation("b"), now: 0, limits: &limits)
        pool.created(sandboxID: "s1", invocation: invocation("b"), now: 0)
        #expect(pool.invokeArrived(invocation("c"), now: 0, limits: &limits).isEmpty)
        #expect(
            pool.sandboxGone("p1", limits: &limits) == [
                .createAndPlace(invocation("c")), .createProvisioned(.provisionedConcurrency),
            ])
    }

    /// Without an account a managed instance's invoke holds no unit; with one, an invoke keeps its unit until it
    /// finishes, and errors are counted.
    @Test func managedInstanceInvokesHoldTheirUnitUntilTheyFinish() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, _) = startedPool(limits: &limits) {
            $0.accountLimited = true
            $0.environmentMaxConcurrency = 2
        }
        #expect(limits.provisioned["fn"] == nil)
        _ = pool.sandboxAvailable("p1", .ready(inFlight: 0), now: 0, limits: &limits)
        #expect(
            pool.invokeArrived(invocation("a"), now: 1, limits: &limits) == [.place(invocation("a"), sandboxID: "p1")])
        pool.placed(requestID: "a", sandboxID: "p1")
        #expect(limits.inUse["fn"] == 1)
        pool.invokeFinished(requestID: "a", isError: true, limits: &limits)
        #expect(limits.inUse["fn"] == 0 && pool.counters.errors == 1)
    }

    /// Shutting down fails the queued invokes, rejects later ones uncounted, and creates nothing more.
    @Test func shutdownFailsTheQueueAndRejectsLaterInvokes() {
        var limits = ConcurrencyLimits(accountLimit: 10)
        var (pool, _) = startedPool(limits: &limits) { $0.provisionedConcurrency = 1 }
        _ = pool.invokeArrived(invocation("a"), now: 0, limits: &limits)
        #expect(pool.shutdown() == [.fail(invocation("a"), .simulatorStopping)])
        #expect(pool.invokeArrived(invocation("b"), now: 1, limits: &limits) == [.reject(invocation("b"))])
        #expect(pool.counters.invocations == 1 && pool.isStopping)
        #expect(pool.sandboxGone("p1", limits: &limits).isEmpty)
        #expect(pool.reapTimerFired(now: 100 * second).isEmpty && pool.reload(now: 1).isEmpty)
    }
}
