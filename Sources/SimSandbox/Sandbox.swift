import SimCore
import SimHTTP
import SimTelemetry
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// One line of a sandbox's log: a platform line or a line of a process's output.
package struct LogRecord: Sendable {
    /// Where the line came from.
    package enum Source: Sendable, Hashable {
        case platform
        case runtime
        /// An external extension, by name.
        case `extension`(String)
    }

    package var function: String
    package var sandboxID: String
    /// The invoke the line belongs to, if one was in flight.
    package var requestID: String?
    package var source: Source
    package var text: String

    package init(function: String, sandboxID: String, requestID: String?, source: Source, text: String) {
        self.function = function
        self.sandboxID = sandboxID
        self.requestID = requestID
        self.source = source
        self.text = text
    }

    /// The extension's name for extension output.
    package var extensionName: String? {
        if case .extension(let name) = source { return name }
        return nil
    }
}

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
    package internal(set) var machine: SandboxStateMachine
    package let logStreamName: String
    /// `host:port` of this sandbox's Runtime API.
    package private(set) var runtimeAPI = ""
    /// Called with each invoke's result.
    package var onResult: ((InvokeResult) -> Void)?
    /// Called when the sandbox can take another invoke.
    package var onAvailable: ((Sandbox) -> Void)?
    /// Called once when the sandbox has shut down for good.
    package var onTerminated: ((Sandbox) -> Void)?
    /// Invokes completed here.
    package internal(set) var invocationCount = 0
    /// Peak memory of the process tree so far, in KiB.
    package internal(set) var maxMemoryKiB = 0
    /// `AWS_LAMBDA_INITIALIZATION_TYPE` of the next init.
    package var initializationType = "on-demand"
    /// Init duration of the last cold start, in milliseconds.
    package internal(set) var coldStartMilliseconds: Double?
    /// When the last invoke ended (epoch ms).
    package internal(set) var lastUsedEpochMilliseconds: Int64?
    /// Durations of this sandbox's invokes (REPORT's Duration) and cold starts (Init Duration), in ns.
    package internal(set) var invokeDurations = LatencyHistogram()
    package internal(set) var initDurations = LatencyHistogram()
    let clock: any SimClock

    /// The lifecycle state as status output names it.
    package var stateName: String {
        switch machine.state {
        case .idle: return "idle"
        case .initializing: return "initializing"
        case .ready: return machine.frozen ? "frozen" : "ready"
        case .running: return "busy"
        case .resetting: return "resetting"
        case .shutDown: return "shutdown"
        }
    }

    let logSink: (LogRecord) -> Void
    var server: HTTPServer?
    var runtime: ChildProcess?
    var extensionProcesses: [String: ChildProcess] = [:]
    /// Process groups started in this generation, killed together at the end of a shutdown.
    var processGroups: [Int32] = []
    var timer: Timer?
    var killTimers: [Timer] = []
    var killing = false
    /// During a shutdown: the runtime has exited (or used its share), and telemetry is being flushed.
    var runtimeStopped = false
    var flushingTelemetry = false
    var runtimeWaiters: [HTTPResponder] = []
    var extensionWaiters: [String: HTTPResponder] = [:]
    /// Line splitters of the runtime's and every extension's output.
    var outputs: [LogRecord.Source: ProcessOutput] = [:]
    var tail: [UInt8] = []
    var tailWanted: Set<String> = []
    /// Holds the processes still between invokes.
    package let freezer: Freezer
    /// The sandbox's cgroup in `cgroup` freeze mode.
    let cgroup: SandboxCgroup?
    /// OOM kills seen in the cgroup so far, to tell a new one apart.
    var oomKills = 0
    /// Telemetry API and Logs API subscriptions and delivery; also keeps every event for `telemetryEvents`.
    package let telemetry: TelemetryHub

    /// Starts the sandbox's Runtime API listener; no process runs until `invoke` or `prewarm`.
    package init(
        loop: EventLoop, function: FunctionSpec, clock: any SimClock = SystemClock(),
        logSink: @escaping (LogRecord) -> Void
    ) throws {
        loop.assertInLoop()
        self.id = Identifiers.randomHex(8)
        self.loop = loop
        self.function = function
        self.logSink = logSink
        self.clock = clock
        self.machine = SandboxStateMachine(function: function, clock: clock)
        self.logStreamName = Identifiers.logStreamName(
            version: function.version, epochMilliseconds: clock.epochMilliseconds)
        let cgroup =
            function.freezeMode == .cgroup
            ? try SandboxCgroup(
                name: "\(getpid())-\(id)", memoryMB: function.memorySizeMB, cpuScaling: function.cpuScaling)
            : nil
        self.cgroup = cgroup
        self.freezer = Freezer(mode: function.freezeMode, loop: loop, cgroup: cgroup)
        var telemetryConfiguration = TelemetryHub.Configuration()
        telemetryConfiguration.jsonFunctionLogs = function.logFormat == .json
        self.telemetry = TelemetryHub(loop: loop, clock: clock, configuration: telemetryConfiguration)
        var configuration = HTTPServer.Configuration()
        configuration.maxBodyBytes = Limits.maxResponseBytes
        // Runtimes keep one connection across long handler runs and frozen periods: never idle it out.
        configuration.idleTimeoutMilliseconds = 24 * 3600 * 1000
        let server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0, configuration: configuration) {
            [weak self] request, responder in
            self?.handle(request, responder)
        }
        self.server = server
        self.runtimeAPI = "127.0.0.1:\(server.port)"
        reportCgroupMessages()
    }

    /// True when an invoke may be placed here now.
    package var canAcceptInvoke: Bool { machine.canAcceptInvoke }

    /// The pids of the sandbox's live processes (runtime, extensions and their children).
    package var pids: [Int32] {
        var roots: [Int32] = []
        if let runtime, runtime.exitStatus == nil { roots.append(runtime.pid) }
        for process in extensionProcesses.values where process.exitStatus == nil { roots.append(process.pid) }
        return roots.flatMap { [$0] + ProcessMemory.descendants(of: $0) }
    }

    /// Places an invoke here; only when `canAcceptInvoke`.
    package func invoke(_ invocation: Invocation) {
        if invocation.wantsLogTail { tailWanted.insert(invocation.requestID) }
        tail.removeAll(keepingCapacity: true)
        perform(machine.invoke(invocation))
    }

    /// Initialises the environment before any invoke.
    package func prewarm() { perform(machine.prewarm()) }

    /// Shuts the sandbox down (SHUTDOWN to extensions, SIGTERM, SIGKILL at the deadline); `onTerminated`
    /// follows.
    package func shutdown() { perform(machine.shutdown()) }

    // MARK: - Actions

    func perform(_ actions: [SandboxStateMachine.Action], skipDispatch: Bool = false) {
        for action in actions {
            switch action {
            case .launchExtensions:
                startInitTelemetry()
                launchExtensions()
            case .telemetry(let event): emitTelemetry(event)
            case .spawnRuntime: spawnRuntime()
            case .startTimer(let ms):
                let timer = self.timer ?? Timer(loop: loop)
                self.timer = timer
                timer.start(afterMilliseconds: ms) { [weak self] in
                    guard let self else { return }
                    self.perform(self.machine.timerFired())
                }
            case .cancelTimer: timer?.stop()
            case .dispatch(let invocation, let deadline):
                if !skipDispatch { dispatch(invocation, deadline: deadline) }
            case .extensionEvent(let id, let event):
                if let waiter = extensionWaiters.removeValue(forKey: id), !waiter.isCompleted {
                    waiter.send(ExtensionAPIResponses.event(event))
                }
            case .log(let text, let requestID): emit(text, source: .platform, requestID: requestID)
            case .report(let requestID, let durationMs, let initDurationMs, let status):
                invocationCount += 1
                if let initDurationMs {
                    coldStartMilliseconds = initDurationMs
                    initDurations.record(UInt64(initDurationMs * 1_000_000))
                }
                invokeDurations.record(UInt64(max(0, durationMs) * 1_000_000))
                lastUsedEpochMilliseconds = clock.epochMilliseconds
                measureMemory()
                let line = LambdaLog.report(
                    requestID: requestID, durationMs: durationMs, memorySizeMB: function.memorySizeMB,
                    maxMemoryUsedMB: (maxMemoryKiB + 1023) / 1024, initDurationMs: initDurationMs, status: status)
                emit(line, source: .platform, requestID: requestID)
                reportTelemetry(
                    requestID: requestID, durationMs: durationMs, initDurationMs: initDurationMs, status: status)
            case .complete(let requestID, let outcome):
                var result = InvokeResult(requestID: requestID, outcome: outcome)
                if tailWanted.remove(requestID) != nil { result.logTail = Array(tail.suffix(Limits.logTailBytes)) }
                onResult?(result)
            case .kill(let reason, let deadline): stopProcesses(reason, deadlineMilliseconds: deadline)
            case .available: onAvailable?(self)
            case .freeze(let epoch):
                // Dropped when a thaw was decided after this freeze (an invoke arrived meanwhile).
                if epoch == machine.freezeEpoch, freezer.mode != .none {
                    freezer.freeze(groups: processGroups, members: pids)
                    telemetry.setFrozen(true)
                } else {
                    freezer.skip()
                }
            case .thaw:
                freezer.thaw()
                telemetry.setFrozen(false)
            case .terminated:
                telemetry.close()
                freezer.close()
                cgroup?.remove()
                timer?.close()
                timer = nil
                server?.close()
                server = nil
                onTerminated?(self)
            }
        }
    }

    private func dispatch(_ invocation: Invocation, deadline: Int64) {
        while !runtimeWaiters.isEmpty {
            let waiter = runtimeWaiters.removeFirst()
            if waiter.isConnectionOpen && !waiter.isCompleted {
                waiter.send(RuntimeAPIResponses.next(invocation, deadlineEpochMilliseconds: deadline))
                return
            }
        }
        // No runtime is waiting: its next `/next` re-renders the invoke (state `Running`).
    }

    // MARK: - Logs

    func emit(_ text: String, source: LogRecord.Source, requestID: String? = nil) {
        // In the JSON log format the platform's lines are its telemetry records (see `logRecords`).
        if source == .platform && function.logFormat == .json && Self.isRecordedAsJSON(text) { return }
        let id = requestID ?? machine.currentRequestID
        if id != nil {
            tail.append(contentsOf: text.utf8)
            tail.append(0x0A)
            if tail.count > 2 * Limits.logTailBytes { tail.removeFirst(tail.count - Limits.logTailBytes) }
        }
        logSink(LogRecord(function: function.name, sandboxID: self.id, requestID: id, source: source, text: text))
        switch source {
        case .platform: break
        case .runtime: telemetry.emit(.functionLog(text))
        case .extension: telemetry.emit(.extensionLog(text))
        }
    }

    /// Text platform lines that the JSON format replaces with `platform.*` records.
    static func isRecordedAsJSON(_ text: String) -> Bool {
        ["START ", "END ", "REPORT ", "INIT_START ", "INIT_REPORT ", "EXTENSION\t"].contains { text.hasPrefix($0) }
    }

    /// In the JSON log format, writes telemetry records of the platform as log lines.
    func logRecords(_ events: [TelemetryEvent], requestID: String?) {
        guard function.logFormat == .json else { return }
        for event in events where event.type.hasPrefix("platform.") {
            emit(String(decoding: event.serialized, as: UTF8.self), source: .platform, requestID: requestID)
        }
    }

    /// Raises `maxMemoryKiB` to the sandbox's peak: the process tree's summed peak RSS, and in `cgroup` mode also
    /// the cgroup's own peak, which catches children that came and went between two readings, while the RSS
    /// counts file pages (the runtime's binary and libraries) that the page cache charged to another cgroup.
    func measureMemory() {
        if let cgroup, let peak = cgroup.peakMemoryBytes() {
            maxMemoryKiB = max(maxMemoryKiB, peak / 1024)
        }
        reportCgroupMessages()
        var total = 0
        if let runtime, runtime.exitStatus == nil { total += ProcessMemory.peakResidentKiB(root: runtime.pid) }
        for process in extensionProcesses.values where process.exitStatus == nil {
            total += ProcessMemory.peakResidentKiB(root: process.pid)
        }
        maxMemoryKiB = max(maxMemoryKiB, total)
    }
}
