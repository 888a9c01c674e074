import SimCore
import SimDomain
import SimHTTP
import SimTelemetry
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// One execution environment: its Runtime API listener, its runtime and extension processes, its timer
/// and its logs.
///
/// Loop-confined. The `SandboxStateMachine` makes every decision; this class turns HTTP requests, process
/// exits and timer ticks into events and carries out the returned actions.
package final class Sandbox {
    /// Short id used in log prefixes and status output.
    package let id: String
    package let function: FunctionSpec
    package let loop: EventLoop
    /// The sandbox's decisions; read and fed only by the sandbox and its performers (the pool and the library learn
    /// of it through the sandbox's events and figures).
    var machine: SandboxStateMachine
    package let logStreamName: String
    /// `host:port` of this sandbox's Runtime API.
    package var runtimeAPI: String { api.address }
    /// Called with each invoke's result.
    package var onResult: ((InvokeResult) -> Void)?
    /// Called when the sandbox can take another invoke, with how it stands then (as its machine decided).
    package var onAvailable: ((Sandbox, PoolStateMachine.Availability) -> Void)?
    /// Called once when the sandbox has shut down for good.
    package var onTerminated: ((Sandbox) -> Void)?
    /// Invokes completed here.
    package internal(set) var invocationCount = 0
    /// Peak memory of the process tree so far, in KiB.
    package var maxMemoryKiB: Int { supervisor.maxMemoryKiB }
    /// `AWS_LAMBDA_INITIALIZATION_TYPE` of the next init.
    package var initializationType: InitializationType {
        get { machine.initializationType }
        set { machine.initializationType = newValue }
    }
    /// Init duration of the last cold start, in milliseconds.
    package internal(set) var coldStartMilliseconds: Double?
    /// When the last invoke ended (epoch ms).
    package internal(set) var lastUsedEpochMilliseconds: Int64?
    /// Durations of this sandbox's invokes (REPORT's Duration) and cold starts (Init Duration), in ns.
    package internal(set) var invokeDurations = LatencyHistogram()
    package internal(set) var initDurations = LatencyHistogram()
    let clock: any SimClock

    /// What the sandbox is doing, as the status API and the library report it.
    package var lifecycleState: SandboxState { machine.sandboxState }

    /// Where the sandbox's events go beyond its own telemetry and log tail.
    let bus: EventBus
    /// The sandbox's processes.
    let supervisor: ProcessSupervisor
    /// The sandbox's Runtime and Extensions APIs.
    let api: RuntimeAPIHandler
    /// When a runtime's exit is handed to the machine: after the loop read what it sent, and after the streamed
    /// response it was writing (what it wrote before dying still reaches the invoker).
    var exitGrace = RuntimeExitGrace()
    /// Runtime API connections refused because they did not come from the sandbox's processes.
    package var refusedConnections: Int { api.refusedConnections }
    var timer: Timer?
    /// Managed instances: each invoke's own timer, by request id, and stopped ones kept for the next invokes.
    var invokeTimers: [String: Timer] = [:]
    var spareTimers: [Timer] = []
    /// Managed instances: the per-worker log socket, the worker streams read from it, and the invoke each worker
    /// (by pid) took last.
    var logSocket: UnixSocketServer?
    var logConnections: [ObjectIdentifier: (UnixSocketConnection, LineSplitter)] = [:]
    var workerRequests: [Int32: String] = [:]
    /// How each process ended in the last shutdown (a reset's, or the final one), and the processes it had to
    /// SIGKILL.
    package var shutdownExits: [ShutdownExit] { supervisor.shutdownExits }
    /// The log tails of the invokes in flight that asked for one (`X-Amz-Log-Type: Tail`), by request id.
    var tails: [String: LogTail] = [:]
    /// Holds the processes still between invokes.
    package var freezer: Freezer { supervisor.freezer }
    /// Telemetry API and Logs API subscriptions and delivery.
    package let telemetry: TelemetryHub

    /// Starts the sandbox's Runtime API listener; no process runs until an offered invoke begins or `prewarm`.
    package init(
        loop: EventLoop, function: FunctionSpec, clock: any SimClock = SystemClock(), bus: EventBus
    ) throws {
        loop.assertInLoop()
        self.id = Identifiers.randomHex(8)
        self.loop = loop
        self.function = function
        self.bus = bus
        self.clock = clock
        self.machine = SandboxStateMachine(function: function, clock: clock, ids: RandomUUIDs())
        self.logStreamName = Identifiers.logStreamName(
            version: function.version, epochMilliseconds: clock.epochMilliseconds)
        let supervisor = try ProcessSupervisor(loop: loop, function: function, clock: clock, sandboxID: id)
        self.supervisor = supervisor
        var telemetryConfiguration = TelemetryHub.Configuration()
        telemetryConfiguration.jsonFunctionLogs = function.logFormat == .json
        self.telemetry = TelemetryHub(loop: loop, clock: clock, configuration: telemetryConfiguration)
        self.api = try RuntimeAPIHandler(loop: loop, function: function, clock: clock, supervisor: supervisor)
        supervisor.sandbox = self
        api.sandbox = self
        supervisor.freezer.onTransition = { [weak self] transition in
            self?.publish(.freeze(transition), requestID: nil)
        }
        if function.isManagedInstance {
            initializationType = .lambdaManagedInstances
            openLogSocket()
        }
        supervisor.reportCgroupMessages()
    }

    /// The pids of the sandbox's live processes (runtime, extensions and their children), read now.
    package var pids: [Int32] { supervisor.pids }

    /// An invoke the sandbox's machine took, whose start is still to be performed (`begin(_:)`).
    package struct AcceptedInvoke {
        fileprivate let actions: [SandboxStateMachine.Action]
    }

    /// Offers an invoke to the sandbox: nil when its machine refuses it (the sandbox cannot take one now, see
    /// `SandboxStateMachine.offer`), else the taken invoke, which `begin(_:)` starts. The caller records the
    /// placement in between, so that whatever starting it reports back comes after.
    package func offer(_ invocation: Invocation) -> AcceptedInvoke? {
        guard case .accepted(let actions) = machine.offer(invocation) else { return nil }
        if invocation.wantsLogTail { tails[invocation.requestID] = LogTail(requestID: invocation.requestID) }
        return AcceptedInvoke(actions: actions)
    }

    /// Starts an invoke `offer(_:)` returned.
    package func begin(_ accepted: AcceptedInvoke) {
        perform(accepted.actions)
    }

    /// Initialises the environment before any invoke.
    package func prewarm() { perform(machine.prewarm()) }

    /// Shuts the sandbox down (SHUTDOWN to extensions, SIGTERM, SIGKILL at the deadline); `onTerminated`
    /// follows.
    package func shutdown(reason: SandboxStateMachine.ShutdownReason = .spindown) {
        perform(machine.shutdown(reason: reason))
    }

    // MARK: - Actions

    func perform(_ actions: [SandboxStateMachine.Action]) {
        // By index rather than `for action in actions`: each action is read where it is stored, not copied out first
        // (a copy retains and then releases every field of its payload).
        for index in actions.indices {
            switch actions[index] {
            case .launchExtensions(let phase):
                startInitTelemetry(phase: phase)
                launchExtensions()
            case .publish(let event, let requestID): publishFromMachine(event, requestID: requestID)
            case .publishFailure(let failure, let requestID):
                publish(
                    .invokeError(errorType: failure.errorType, message: failure.message(requestID: requestID)),
                    requestID: requestID)
            case .spawnRuntime: spawnRuntime()
            case .startTimer(let ms):
                let timer = self.timer ?? Timer(loop: loop)
                self.timer = timer
                // The closure reaches the timer through the sandbox: one weak capture, as cheap to arm per invoke
                // as a closure can be.
                timer.start(afterMilliseconds: ms) { [weak self] in
                    guard let self, let timer = self.timer else { return }
                    self.timerFired(timer) { [weak self] in
                        guard let self else { return }
                        self.perform(self.machine.timerFired())
                    }
                }
            case .cancelTimer: timer?.stop()
            case .startInvokeTimer(let requestID, let ms):
                let timer = invokeTimers[requestID] ?? spareTimers.popLast() ?? Timer(loop: loop)
                invokeTimers[requestID] = timer
                timer.start(afterMilliseconds: ms) { [weak self] in
                    guard let self, let timer = self.invokeTimers[requestID] else { return }
                    self.timerFired(timer) { [weak self] in
                        guard let self else { return }
                        self.releaseInvokeTimer(requestID)
                        self.perform(self.machine.invokeTimerFired(requestID: requestID))
                    }
                }
            case .cancelInvokeTimer(let requestID):
                releaseInvokeTimer(requestID)
            case .dispatch(let invocation, let deadline, let invocationID):
                dispatch(invocation, deadline: deadline, invocationID: invocationID)
            case .extensionEvent(let id, let event):
                api.sendExtensionEvent(event, to: id)
            case .report(
                let requestID, let durationMs, let initDurationMs, let status, let postExtensions, let processExited):
                report(
                    requestID: requestID, durationMs: durationMs, initDurationMs: initDurationMs, status: status,
                    postRuntimeExtensionsMs: postExtensions, processExited: processExited)
            case .complete(let requestID, let outcome):
                var result = InvokeResult(requestID: requestID, outcome: outcome.rendered(requestID: requestID))
                if let tail = tails.removeValue(forKey: requestID) { result.logTail = tail.lines }
                onResult?(result)
            case .kill(_, let deadline): stopProcesses(deadlineMilliseconds: deadline)
            case .available(let availability): onAvailable?(self, availability)
            case .freeze(let epoch):
                switch machine.freezeDecision(epoch: epoch) {
                case .freeze:
                    supervisor.freeze()
                    telemetry.setFrozen(true)
                case .skip:
                    freezer.skip()
                    publish(.freeze(.skipped), requestID: nil)
                case .nothing: break
                }
            case .thaw:
                freezer.thaw()
                telemetry.setFrozen(false)
            case .terminated:
                supervisor.close()
                telemetry.close()
                timer?.close()
                timer = nil
                for timer in invokeTimers.values { timer.close() }
                for timer in spareTimers { timer.close() }
                invokeTimers = [:]
                spareTimers = []
                api.close()
                closeLogSocket()
                publish(.terminated, requestID: nil, toSubscribers: false)
                onTerminated?(self)
            }
        }
    }

    private func dispatch(_ invocation: Invocation, deadline: Int64, invocationID: String) {
        // No runtime is waiting: a classic runtime's next `/next` re-renders the invoke (state `Running`); a managed
        // instance's invoke waits for the next worker's.
        if !api.dispatch(invocation, deadline: deadline, invocationID: invocationID, self),
            function.isManagedInstance
        {
            machine.dispatchFailed(requestID: invocation.requestID)
        }
    }

    /// Runs `fire` for a timer that expired, or re-arms `timer` for a turn of the loop, as `ExpiredTimer` decides
    /// from the Runtime API's unread input (whose readiness check is paid only when a timer expires).
    private func timerFired(_ timer: Timer, deferrals: Int = 0, _ fire: @escaping () -> Void) {
        switch ExpiredTimer.decide(deferrals: deferrals, unreadInput: api.hasUnreadInput) {
        case .fire:
            fire()
        case .wait:
            timer.start(afterMilliseconds: ExpiredTimer.waitMilliseconds) { [weak self, weak timer] in
                guard let self, let timer else { return }
                self.timerFired(timer, deferrals: deferrals + 1, fire)
            }
        }
    }

    /// Stops a managed-instance invoke's timer and keeps it for another invoke.
    private func releaseInvokeTimer(_ requestID: String) {
        guard let timer = invokeTimers.removeValue(forKey: requestID) else { return }
        timer.stop()
        if spareTimers.count < 64 { spareTimers.append(timer) } else { timer.close() }
    }

    // MARK: - Events

    /// Hands `event` to the sandbox's own sinks (its log tail, its Telemetry/Logs API subscribers unless
    /// `toSubscribers` is false) and to the bus. `requestID` is the invoke it belongs to; nil means the invoke in
    /// flight, if any. `time` is when it happened (epoch ms), now by default.
    func publish(_ event: SandboxEvent, requestID: String?, toSubscribers: Bool = true, at time: Int64? = nil) {
        let context = EventContext(
            function: function.name, sandboxID: id, requestID: requestID ?? machine.currentRequestID,
            epochMilliseconds: time ?? clock.epochMilliseconds, logFormat: function.logFormat)
        if let id = context.requestID, !tails.isEmpty { tails[id]?.append(event, context) }
        if toSubscribers, let platform = event.telemetryEvent {
            telemetry.emit(platform, at: context.epochMilliseconds)
        }
        bus.publish(event, context)
    }
}
