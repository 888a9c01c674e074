import SimCore

/// The lifecycle of one execution environment and its runtime, as pure logic.
///
/// The machine decides; the `Sandbox` performs: every event returns the actions to carry out (spawn,
/// timers, answers to the runtime and to the invoker, log lines, kills). Time comes from the injected
/// clock and identifiers from the injected `IdentifierSource`, so tests drive both by hand.
///
/// It renders nothing: a failure is a `PlatformFailure` (worded by `PlatformFailure+Rendering.swift`), a refused
/// call a `RuntimeRejection` or `ExtensionRejection` (worded by `RuntimeAPIError`), an extension's event an
/// `ExtensionEvent` (serialised by `ExtensionEvents`). An event it cannot receive in its state stops it with a
/// `preconditionFailure`; one that a runtime or extension can cause out of turn (an HTTP call, an exit) is answered
/// with a refusal or, for an exit of a process being stopped, with no action.
///
/// ```
/// idle ──invoke / prewarm──► initializing(init) ──first /next──► running (or ready when prewarmed)
///                               │ failure or 10 s ──► resetting ──exit──► initializing(invoke) (retry inside the invoke)
/// ready ──invoke──► running ──/response or /error──► running(responded) ──/next──► ready
///                     │ timeout, crash ──► resetting ──exit──► idle
/// any ──shutdown──► resetting(spindown) ──exit──► shutDown
/// ```
///
/// A managed-instance environment (Lambda Managed Instances, `FunctionSpec.environmentMaxConcurrency`) is
/// initialised ahead of its invokes and then serves up to N of them at once (`serving`, see
/// `SandboxStateMachine+Managed.swift`): it is never frozen, and one invoke's timeout does not reset it.
package struct SandboxStateMachine {
    /// Which init this is: the normal one, or one retried inside an invoke ("suppressed init").
    package enum InitPhase: String, Sendable {
        case initial = "init"
        case invoke
    }

    /// Why processes are being stopped; the SHUTDOWN reason extensions receive.
    package enum ShutdownReason: String, Sendable {
        case spindown, timeout, failure
    }

    /// The Runtime API's view of the runtime (Lambda's state names appear in 403 messages).
    package enum RuntimeState: String, Sendable {
        case started = "Started"
        case initError = "InitError"
        case ready = "Ready"
        case running = "Running"
        /// The runtime is streaming its response: the first byte is out, so `/error` is no longer allowed.
        case streaming = "RuntimeResponseStreamingState"
        case responseSent = "RuntimeResponseSentState"
    }

    /// An init in progress.
    package struct Initializing: Sendable {
        var phase: InitPhase
        var startedAt: UInt64
        /// The invoke this init serves, if it was triggered by one.
        var invocation: Invocation?
        /// When the invoke started (phase `invoke` only): its timeout runs from here.
        var invokeStartedAt: UInt64?
        var runtime: RuntimeState = .started
        /// False while launched extensions are still registering; the runtime starts after them.
        var runtimeSpawned = false
        /// Managed instances: `/next` calls held open so far (each a worker ready for an invoke).
        var idleWorkers = 0
        /// Started as a suppressed init from `idle(nextInit: .invoke)` (an init ahead of traffic had failed): if it
        /// fails too, the next init is suppressed again.
        var suppressed = false
    }

    /// An invoke handed to the runtime.
    package struct Running: Sendable {
        var invocation: Invocation
        var startedAt: UInt64
        var deadlineEpochMilliseconds: Int64
        var initDurationMs: Double?
        var runtime: RuntimeState = .running
        var outcome: SandboxOutcome?
        /// Whether the invoker already got its answer.
        var delivered = false
        /// INVOKE-subscribed extensions that have not called `/event/next` since the INVOKE.
        var pendingExtensions: Set<String> = []
        /// When the runtime called `/next` after its result (the runtime's part is over).
        var runtimeDoneAt: UInt64?
        /// When the runtime's result arrived (monotonic and wall clock) and its size.
        var respondedAt: UInt64?
        var respondedAtEpoch: Int64?
        var producedBytes: Int?
        /// When a streamed response began (monotonic and wall clock), for the `responseDuration` span.
        var streamStartedAt: UInt64?
        var streamStartedAtEpoch: Int64?
        /// Wall-clock start, for spans.
        var startedAtEpoch: Int64 = 0
        /// `Lambda-Runtime-Invocation-Id`: this invoke's nonce, which runtimes echo on `/response` and `/error`.
        var invocationID: String
        /// False while a managed-instance invoke waits for a worker's `/next`.
        var dispatched = true
    }

    /// Processes being stopped; what happens once they are gone.
    package struct Resetting: Sendable {
        var reason: ShutdownReason
        /// An invoke waiting for init to be retried inside it.
        var retry: Invocation?
        var retryStartedAt: UInt64?
        /// Stop for good rather than go back to idle.
        var final: Bool
        /// The dying runtime's state, for 403 messages until it is gone.
        var runtime: RuntimeState = .started
        /// SHUTDOWN events wait while the runtime is being stopped (until `releaseShutdownEvents`).
        var holdingShutdown = false
        /// The phase of the next init once back in `idle`: `invoke` after an init ahead of traffic failed.
        var nextInit: InitPhase = .initial
    }

    package enum State: Sendable {
        /// No processes. `idle --invoke--> initializing(nextInit)`; `--prewarm-->` the same without an invoke.
        /// `nextInit` is `invoke` after an init ahead of traffic failed: Lambda retries it inside the invoke that
        /// needs it (a suppressed init), until one succeeds.
        case idle(nextInit: InitPhase)
        /// Runtime started, waiting for its first `/next`.
        /// `--/next--> running | ready`; `--/init/error, exit, spawn failure, init timeout--> resetting`.
        case initializing(Initializing)
        /// Runtime waiting in `/next`, no invoke. `--invoke--> running`; `--exit--> resetting`.
        case ready
        /// An invoke in flight. `--/response|/error--> running(responded)`; `--/next after responding--> ready`;
        /// `--timeout, exit--> resetting`.
        case running(Running)
        /// Killing processes. `--processes gone--> idle | initializing(invoke) | shutDown`.
        case resetting(Resetting)
        /// A managed-instance environment after init, with invokes in flight or none. `--invoke--> serving` (one
        /// more, while under N); `--/response|/error|timeout of one invoke--> serving` (one fewer);
        /// `--runtime or extension exit--> resetting(final)`.
        case serving(Serving)
        /// Terminal.
        case shutDown
    }

    /// What the runtime's HTTP request gets back.
    package enum RuntimeReply: Equatable, Sendable {
        /// Hold the `/next` long-poll open.
        case hold
        /// Answer `/next` with this invoke and the `Lambda-Runtime-Invocation-Id` it was handed out with.
        case invocation(Invocation, deadlineEpochMilliseconds: Int64, invocationID: String)
        /// 202 `{"status":"OK"}`.
        case accepted
        /// A refusal, which the handler answers with Lambda's error body.
        case error(RuntimeRejection)
    }

    /// A side effect for the sandbox to perform, in order.
    package enum Action: Equatable, Sendable {
        /// An init of `phase` begins (INIT_START): launch the external extensions; the sandbox answers with
        /// `extensionsLaunched`.
        case launchExtensions(phase: SimDomain.InitPhase)
        /// Start the runtime process.
        case spawnRuntime
        /// Arm the one timer (init or invoke limit); firing it is `timerFired`.
        case startTimer(milliseconds: UInt64)
        case cancelTimer
        /// Arm a managed-instance invoke's own timer; firing it is `invokeTimerFired(requestID:)`.
        case startInvokeTimer(requestID: String, milliseconds: UInt64)
        case cancelInvokeTimer(requestID: String)
        /// Answer any held `/next` with the invoke and its `Lambda-Runtime-Invocation-Id`.
        case dispatch(Invocation, deadlineEpochMilliseconds: Int64, invocationID: String)
        /// Publish an event, attributed to the invoke it belongs to (decided when the event is made, since the
        /// state may have moved on by the time it is published).
        case publish(SandboxEvent, requestID: String?)
        /// The invoke phase ended: publish its report (the sandbox adds the memory figures), preceded by
        /// `platform.fault` when `processExited` (the runtime exited or ran out of memory before completing it).
        /// Made by `reportAction`.
        case report(
            requestID: String, durationMs: Double, initDurationMs: Double?, status: LambdaLog.ReportStatus,
            postRuntimeExtensionsMs: Double?, processExited: Bool)
        /// Give the invoker its result (a platform failure rendered as Lambda words it).
        case complete(requestID: String, outcome: SandboxOutcome)
        /// Publish the platform's log lines for an invoke that failed: `SandboxEvent.invokeError`, rendered.
        case publishFailure(PlatformFailure, requestID: String)
        /// Answer this extension's held `/event/next` with an event.
        case extensionEvent(id: String, event: ExtensionEvent)
        /// Stop every process: SIGTERM the runtime and SIGKILL everything still alive `deadlineMilliseconds`
        /// from now (at once when 0). Extensions not subscribed to SHUTDOWN die at once.
        case kill(ShutdownReason, deadlineMilliseconds: UInt64)
        /// The sandbox can take another invoke; how it stands then (decided with the transition that freed it).
        case available(PoolStateMachine.Availability)
        /// The sandbox is gone for good.
        case terminated
        /// Freeze every process, unless a thaw happened since (the epoch moved on).
        case freeze(epoch: UInt64)
        /// Thaw every process before delivering an event.
        case thaw
    }

    package internal(set) var state: State = .idle(nextInit: .initial)

    // Three fields live beside `state` because they describe the processes rather than one lifecycle state, and
    // outlive the transitions between states.

    /// The sandbox's extensions (the current generation of processes): registered during `initializing`, they are
    /// served events in `ready` and `running` and stopped in `resetting`; a new init replaces them.
    package internal(set) var extensions = ExtensionRegistry()
    let clock: any SimClock
    /// Where each invoke's `Lambda-Runtime-Invocation-Id` comes from.
    let ids: any IdentifierSource
    let function: FunctionSpec
    /// Moves on at every thaw decision, so a freeze decided before it is dropped (design.md §3.4). A generation
    /// counter across every state: were it reset with a state, a stale `.freeze(epoch:)` could match again.
    package private(set) var freezeEpoch: UInt64 = 0
    /// Whether the processes are (asked to be) frozen. Only ever true in `ready`, but the thaw it calls for is
    /// decided after the state has moved on (`stopProcesses` thaws once the state is `resetting`).
    package private(set) var frozen = false

    /// A machine for `function` in `idle`, reading time from `clock` and taking identifiers from `ids`.
    /// How this sandbox's inits are started (`AWS_LAMBDA_INITIALIZATION_TYPE`, and the init events' field): a
    /// setting the pool gives it when it creates the sandbox (provisioned concurrency), not a state.
    package var initializationType = InitializationType.onDemand

    package init(function: FunctionSpec, clock: any SimClock, ids: any IdentifierSource) {
        self.function = function
        self.clock = clock
        self.ids = ids
    }

    /// The runtime's state name for 403 messages.
    package var runtimeState: RuntimeState {
        switch state {
        case .initializing(let i): return i.runtime
        case .ready: return .ready
        case .running(let r): return r.runtime
        case .resetting(let r): return r.runtime
        case .serving: return .ready
        case .idle, .shutDown: return .started
        }
    }

    /// True when an invoke may be placed here now.
    package var canAcceptInvoke: Bool {
        switch state {
        case .idle: return !function.isManagedInstance
        case .ready: return true
        case .serving(let s): return s.invokes.count < function.slotsPerEnvironment
        default: return false
        }
    }

    /// `.available`, with how the sandbox stands after the transition that freed it: without processes again (its
    /// init failed) or initialised with its invokes in flight.
    var availableAction: Action {
        if case .idle = state { return .available(.uninitialized) }
        return .available(.ready(inFlight: inFlightCount))
    }

    /// Invokes placed here and not finished: those of a serving managed instance, else 0 or 1.
    package var inFlightCount: Int {
        switch state {
        case .serving(let s): return s.invokes.count
        case .running: return 1
        case .initializing(let i): return i.invocation == nil ? 0 : 1
        case .resetting(let r): return r.retry == nil ? 0 : 1
        case .idle, .ready, .shutDown: return 0
        }
    }

    /// The invoke `requestID` while it is in flight here: the classic invoke in `running`, or one of a serving
    /// managed instance's.
    private func running(_ requestID: String) -> Running? {
        switch state {
        case .running(let r) where r.invocation.requestID == requestID: return r
        case .serving(let s): return s.invokes[requestID]
        default: return nil
        }
    }

    /// The `Lambda-Runtime-Invocation-Id` handed out with the invoke `requestID`, while it is in flight.
    package func invocationID(for requestID: String) -> String? { running(requestID)?.invocationID }

    /// The error for a reply whose echoed `Lambda-Runtime-Invocation-Id` is not its invoke's: 410 `InvokeTimeout`,
    /// as AWS's emulator answers such a cross-wired reply (a handler that outlived its invoke, or one that answers
    /// for another worker's); nil when it matches or was not echoed (runtimes older than the header).
    func invocationIDMismatch(_ echoed: String?, _ r: Running) -> RuntimeReply? {
        guard let echoed, echoed != r.invocationID else { return nil }
        return .error(.invokeTimeout)
    }

    /// The invoke `requestID` while it is in flight here.
    package func invocation(for requestID: String) -> Invocation? { running(requestID)?.invocation }

    /// The request id of the invoke in flight, if any (for a managed instance: the only one in flight, if just one).
    ///
    /// A `mutating get` though it changes nothing, like `freezeDecision(epoch:)`: the sandbox reads it for every event
    /// published without a request id (each freeze and thaw), and a non-mutating read of the machine it stores copies
    /// the whole machine first.
    package var currentRequestID: String? {
        mutating get { requestIDInFlight }
    }

    private var requestIDInFlight: String? {
        switch state {
        case .running(let r): return r.invocation.requestID
        case .initializing(let i): return i.invocation?.requestID
        case .resetting(let r): return r.retry?.requestID
        case .serving(let s) where s.invokes.count == 1: return s.invokes.first?.key
        default: return nil
        }
    }

    var now: UInt64 { clock.monotonicNanoseconds }

    func milliseconds(since start: UInt64) -> Double {
        Double(now &- start) / 1_000_000
    }

    // MARK: - Placement

    /// Starts the environment ahead of any invoke (provisioned or pre-warmed).
    package mutating func prewarm() -> [Action] {
        guard case .idle(let nextInit) = state else { preconditionFailure("prewarm in \(state)") }
        return beginInit(invocation: nil, phase: nextInit)
    }

    /// The answer to an offered invoke (`offer(_:)`).
    package enum Placement: Equatable, Sendable {
        /// The machine took the invoke: these actions start it.
        case accepted([Action])
        /// The sandbox cannot take an invoke now (it is initialising, busy, resetting or shut down, or a managed
        /// instance's slots are full, or it is a managed instance not yet initialised): nothing changed.
        case refused
    }

    /// Offers an invoke: taken when the sandbox can take one now (`canAcceptInvoke`), else refused with nothing
    /// changed. The pool places invokes through this, so it learns a sandbox that left the accepting state on its
    /// own (a crash between invokes, a managed instance failing) from the answer, never by reading the state.
    package mutating func offer(_ invocation: Invocation) -> Placement {
        canAcceptInvoke ? .accepted(invoke(invocation)) : .refused
    }

    /// Places an invoke here; only valid when `canAcceptInvoke` (`offer(_:)` checks).
    package mutating func invoke(_ invocation: Invocation) -> [Action] {
        switch state {
        case .serving(var s):
            return serve(invocation, &s)
        case .idle(let nextInit):
            return beginInit(invocation: invocation, phase: nextInit)
        case .ready:
            return startInvoke(invocation, initDurationMs: nil, after: thawIfFrozen())
        default:
            preconditionFailure("invoke in \(state)")
        }
    }

    private mutating func beginInit(invocation: Invocation?, phase: InitPhase) -> [Action] {
        let start = now
        state = .initializing(
            Initializing(
                phase: phase, startedAt: start, invocation: invocation,
                invokeStartedAt: phase == .invoke ? start : nil, suppressed: phase == .invoke))
        extensions = ExtensionRegistry(managedInstance: function.isManagedInstance)
        var actions: [Action] = [.launchExtensions(phase: phase == .invoke ? .invoke : .initial)]
        if function.isAttached {
            // An attached runtime starts when its user starts it: init has no limit until it calls the API (its
            // first /next ends init).
        } else if function.isManagedInstance {
            // A managed instance initialises ahead of traffic, within the function's timeout (as AWS's emulator).
            actions.append(.startTimer(milliseconds: function.timeoutMilliseconds))
        } else if phase == .initial {
            actions.append(.startTimer(milliseconds: function.initTimeoutMilliseconds))
        } else if invocation != nil {
            actions.append(.startTimer(milliseconds: function.timeoutMilliseconds))
        }
        return actions
    }

    /// Starts `invocation`: its actions are appended to `earlier` (the actions that come before them) rather than
    /// concatenated, which would copy every action once more on each warm invoke.
    private mutating func startInvoke(
        _ invocation: Invocation, initDurationMs: Double?, startedAt: UInt64? = nil, timerRunning: Bool = false,
        after earlier: [Action] = []
    ) -> [Action] {
        let start = startedAt ?? now
        let elapsed = Int64((now &- start) / 1_000_000)
        let deadline = clock.epochMilliseconds - elapsed + Int64(function.timeoutMilliseconds)
        let invocationID = ids.next()
        var running = Running(
            invocation: invocation, startedAt: start, deadlineEpochMilliseconds: deadline,
            initDurationMs: initDurationMs, invocationID: invocationID)
        running.startedAtEpoch = clock.epochMilliseconds - elapsed
        var actions = earlier
        actions.append(startEvent(invocation))
        if !timerRunning { actions.append(.startTimer(milliseconds: function.timeoutMilliseconds)) }
        if extensions.extensions.contains(where: { $0.subscribes(.invoke) }) {
            let event = ExtensionEvent.invoke(invocation, deadlineEpochMilliseconds: deadline)
            for ext in extensions.extensions where ext.subscribes(.invoke) && ext.state == .ready {
                running.pendingExtensions.insert(ext.id)
                actions += deliver(event, to: ext.id)
            }
        }
        state = .running(running)
        actions.append(.dispatch(invocation, deadlineEpochMilliseconds: deadline, invocationID: invocationID))
        return actions
    }

    /// Freezes the environment: the runtime and every extension are waiting for their next event.
    /// `available` comes first, so the freeze is dropped when that hands out the next invoke at once. With freezing
    /// off (`none`) there is nothing to freeze, and so nothing to thaw at the next event.
    private mutating func freezeActions() -> [Action] {
        guard function.freezeMode != .none else { return [] }
        frozen = true
        return [.freeze(epoch: freezeEpoch)]
    }

    /// Thaws before an event is delivered; the epoch moves on so a pending freeze never fires.
    mutating func thawIfFrozen() -> [Action] {
        freezeEpoch &+= 1
        guard frozen else { return [] }
        frozen = false
        return [.thaw]
    }

    /// Hands `event` to an extension now if its `/event/next` is held, else at its next call.
    mutating func deliver(_ event: ExtensionEvent, to id: String) -> [Action] {
        var actions: [Action] = []
        extensions.update(id) { ext in
            if ext.waiting {
                ext.waiting = false
                ext.state = .running
                actions.append(.extensionEvent(id: id, event: event))
            } else {
                ext.pendingEvent = event
            }
        }
        return actions
    }

    /// Init is over when the runtime and every extension (every launched one registered: an attached runtime may
    /// ask before them) have asked for their first event.
    mutating func finishInitIfReady() -> [Action] {
        guard case .initializing(let i) = state, i.runtime == .ready, extensions.allLaunchedRegistered,
            extensions.allReady
        else { return [] }
        let initMs = milliseconds(since: i.startedAt)
        let actions: [Action] = initTelemetry(
            phase: i.phase, outcome: .success, durationMs: initMs, requestID: i.invocation?.requestID)
        if function.isManagedInstance {
            // Never frozen: a managed instance keeps running between invokes.
            state = .serving(Serving(idleWorkers: i.idleWorkers))
            return actions + [.cancelTimer, availableAction]
        }
        guard let invocation = i.invocation else {
            state = .ready
            return actions + [.cancelTimer, availableAction] + freezeActions()
        }
        if i.phase == .invoke {
            // The invoke's timer already runs; its duration counts from the invoke's start.
            return startInvoke(
                invocation, initDurationMs: nil, startedAt: i.invokeStartedAt, timerRunning: true, after: actions)
        }
        return startInvoke(invocation, initDurationMs: initMs, after: actions + [.cancelTimer])
    }

    /// The invoke phase is over when the runtime asked for the next event and every INVOKE-subscribed
    /// extension did too: END, REPORT, and the sandbox is free.
    mutating func finishInvokeIfDone() -> [Action] {
        guard case .running(let r) = state, let runtimeDoneAt = r.runtimeDoneAt, r.pendingExtensions.isEmpty else {
            return []
        }
        let outcome = r.outcome ?? .runtime(.success(body: [], contentType: nil))
        state = .ready
        let id = r.invocation.requestID
        var actions: [Action] = [
            .cancelTimer,
            Self.reportAction(
                requestID: id, durationMs: milliseconds(since: r.startedAt), initDurationMs: r.initDurationMs,
                status: .success,
                postRuntimeExtensionsMs: extensions.extensions.isEmpty ? nil : milliseconds(since: runtimeDoneAt)),
        ]
        if !r.delivered { actions.append(.complete(requestID: id, outcome: outcome)) }
        actions.append(availableAction)
        // A placement made by `available` thaws (epoch + 1) and the freeze is dropped. Appended in place:
        // `actions + freezeActions()` copies the array, one allocation per warm invoke.
        actions += freezeActions()
        return actions
    }
}
