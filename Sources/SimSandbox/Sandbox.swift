import SimCore
import SimHTTP
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// One line of a sandbox's log: a platform line or a line of a process's output.
package struct LogRecord: Sendable {
    /// Where the line came from.
    package enum Source: Sendable, Equatable {
        case platform
        case runtime
    }

    package var function: String
    package var sandboxID: String
    /// The invoke the line belongs to, if one was in flight.
    package var requestID: String?
    package var source: Source
    package var text: String
}

/// One execution environment: its Runtime API listener, its runtime process, its timer and its logs.
///
/// Loop-confined. The `SandboxStateMachine` makes every decision; this class turns HTTP requests, process
/// exits and timer ticks into events and carries out the returned actions.
package final class Sandbox {
    /// Short id used in log prefixes and status output.
    package let id: String
    package let function: FunctionSpec
    package let loop: EventLoop
    package private(set) var machine: SandboxStateMachine
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
    package private(set) var invocationCount = 0
    /// Peak memory of the process tree so far, in KiB.
    package private(set) var maxMemoryKiB = 0
    /// Whether the next init is a provisioned-concurrency one.
    package var initializationType = "on-demand"

    private let logSink: (LogRecord) -> Void
    private var server: HTTPServer?
    private var runtime: ChildProcess?
    private var runtimePGID: Int32 = 0
    private var timer: Timer?
    private var killTimer: Timer?
    private var killing = false
    private var waiters: [HTTPResponder] = []
    private var stdoutLines = LineSplitter()
    private var stderrLines = LineSplitter()
    private var tail: [UInt8] = []
    private var tailWanted: Set<String> = []

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
        self.machine = SandboxStateMachine(function: function, clock: clock)
        self.logStreamName = Identifiers.logStreamName(
            version: function.version, epochMilliseconds: clock.epochMilliseconds)
        var configuration = HTTPServer.Configuration()
        configuration.maxBodyBytes = Limits.maxResponseBytes
        configuration.idleTimeoutMilliseconds = 24 * 3600 * 1000
        let server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0, configuration: configuration) {
            [weak self] request, responder in
            self?.handle(request, responder)
        }
        self.server = server
        self.runtimeAPI = "127.0.0.1:\(server.port)"
    }

    /// True when an invoke may be placed here now.
    package var canAcceptInvoke: Bool { machine.canAcceptInvoke }

    /// The pids of the sandbox's live processes.
    package var pids: [Int32] {
        guard let runtime, runtime.exitStatus == nil else { return [] }
        return [runtime.pid] + ProcessMemory.children(of: runtime.pid)
    }

    /// Places an invoke here; only when `canAcceptInvoke`.
    package func invoke(_ invocation: Invocation) {
        if invocation.wantsLogTail { tailWanted.insert(invocation.requestID) }
        tail.removeAll(keepingCapacity: true)
        perform(machine.invoke(invocation))
    }

    /// Initialises the environment before any invoke.
    package func prewarm() { perform(machine.prewarm()) }

    /// Shuts the sandbox down (SIGTERM, then SIGKILL after the budget); `onTerminated` follows.
    package func shutdown() { perform(machine.shutdown()) }

    // MARK: - Actions

    private func perform(_ actions: [SandboxStateMachine.Action], skipDispatch: Bool = false) {
        for action in actions {
            switch action {
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
            case .log(let text): emit(text, source: .platform)
            case .report(let requestID, let durationMs, let initDurationMs, let status):
                invocationCount += 1
                measureMemory()
                let line = LambdaLog.report(
                    requestID: requestID, durationMs: durationMs, memorySizeMB: function.memorySizeMB,
                    maxMemoryUsedMB: (maxMemoryKiB + 1023) / 1024, initDurationMs: initDurationMs, status: status)
                emit(line, source: .platform, requestID: requestID)
            case .complete(let requestID, let outcome):
                var result = InvokeResult(requestID: requestID, outcome: outcome)
                if tailWanted.remove(requestID) != nil { result.logTail = Array(tail.suffix(Limits.logTailBytes)) }
                onResult?(result)
            case .kill(let reason): kill(reason)
            case .available: onAvailable?(self)
            case .terminated:
                timer?.close()
                timer = nil
                server?.close()
                server = nil
                onTerminated?(self)
            }
        }
    }

    private func dispatch(_ invocation: Invocation, deadline: Int64) {
        while !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            if waiter.isConnectionOpen && !waiter.isCompleted {
                waiter.send(RuntimeAPIResponses.next(invocation, deadlineEpochMilliseconds: deadline))
                return
            }
        }
        // No runtime is waiting: its next `/next` re-renders the invoke (state `Running`).
    }

    private func spawnRuntime() {
        runtime = nil
        stdoutLines = LineSplitter()
        stderrLines = LineSplitter()
        let runtimeName = function.runtime ?? "provided:custom"
        emit(
            LambdaLog.initStart(
                runtimeVersion: "\(runtimeName).lambda-sim",
                runtimeVersionARN: "arn:aws:lambda:\(function.region)::runtime:lambda-sim"), source: .platform)
        let environment = RuntimeEnvironment.runtime(
            function: function, runtimeAPI: runtimeAPI, logStreamName: logStreamName,
            initializationType: initializationType)
        let spec = ProcessSpec(
            arguments: function.command, environment: environment, workingDirectory: function.codeDirectory)
        do {
            let process = try ChildProcess(loop: loop, spec: spec)
            runtime = process
            runtimePGID = process.pid
            process.onStdout = { [weak self] bytes in self?.output(bytes, stderr: false) }
            process.onStderr = { [weak self] bytes in self?.output(bytes, stderr: true) }
            process.onExit = { [weak self] status in self?.runtimeExited(status) }
        } catch {
            let reason = error.code == -13 ? "permission denied" : "no such file or directory"
            let prefix = machine.currentRequestID.map { "RequestId: \($0) " } ?? ""
            let message = "\(prefix)Error: fork/exec \(function.command.first ?? ""): \(reason)"
            perform(machine.spawnFailed(errorType: "Runtime.InvalidEntrypoint", message: message))
        }
    }

    private func runtimeExited(_ status: ExitStatus) {
        stdoutLines.flush { emit(String(decoding: $0, as: UTF8.self), source: .runtime) }
        stderrLines.flush { emit(String(decoding: $0, as: UTF8.self), source: .runtime) }
        measureMemory()
        runtime = nil
        let code: Int32? = if case .exited(let c) = status { c } else { nil }
        perform(machine.runtimeExited(status.description, code: code))
        if killing { finishKill() }
    }

    /// Stops every process: SIGTERM then SIGKILL after the budget for a spindown, SIGKILL at once for a reset.
    private func kill(_ reason: SandboxStateMachine.ShutdownReason) {
        for waiter in waiters where !waiter.isCompleted {
            waiter.send(
                HTTPResponse(
                    status: 500, headers: ["Content-Type": "application/json"],
                    body: Array(RuntimeAPIError.internalError.body.utf8)))
        }
        waiters.removeAll()
        guard let runtime, runtime.exitStatus == nil else {
            finishKill()
            return
        }
        killing = true
        if reason == .spindown {
            runtime.signalGroup(SIGTERM)
            killTimer = loop.schedule(afterMilliseconds: Self.runtimeShutdownBudgetMilliseconds) { [weak self] in
                self?.killTimer = nil
                self?.runtime?.signalGroup(SIGKILL)
            }
        } else {
            runtime.signalGroup(SIGKILL)
        }
    }

    /// How long a runtime gets between SIGTERM and SIGKILL when the sandbox spins down.
    package static let runtimeShutdownBudgetMilliseconds: UInt64 = 300

    private func finishKill() {
        killing = false
        killTimer?.close()
        killTimer = nil
        // Children the runtime forked may outlive it; the group dies with it.
        if runtimePGID > 0 { _ = Glibc.kill(-runtimePGID, SIGKILL) }
        perform(machine.processesGone())
    }

    // MARK: - Logs

    private func output(_ bytes: UnsafeRawBufferPointer, stderr: Bool) {
        if stderr {
            stderrLines.feed(bytes) { emit(String(decoding: $0, as: UTF8.self), source: .runtime) }
        } else {
            stdoutLines.feed(bytes) { emit(String(decoding: $0, as: UTF8.self), source: .runtime) }
        }
    }

    private func emit(_ text: String, source: LogRecord.Source, requestID: String? = nil) {
        let id = requestID ?? machine.currentRequestID
        if id != nil {
            tail.append(contentsOf: text.utf8)
            tail.append(0x0A)
            if tail.count > 2 * Limits.logTailBytes { tail.removeFirst(tail.count - Limits.logTailBytes) }
        }
        logSink(LogRecord(function: function.name, sandboxID: self.id, requestID: id, source: source, text: text))
    }

    private func measureMemory() {
        guard let runtime, runtime.exitStatus == nil else { return }
        maxMemoryKiB = max(maxMemoryKiB, ProcessMemory.peakResidentKiB(root: runtime.pid))
    }

    // MARK: - Runtime API

    private func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch RuntimeAPIRoute(method: request.method, path: request.path) {
        case .next:
            let (reply, actions) = machine.runtimeNext()
            switch reply {
            case .hold:
                waiters.append(responder)
                perform(actions)
            case .invocation(let invocation, let deadline):
                responder.send(RuntimeAPIResponses.next(invocation, deadlineEpochMilliseconds: deadline))
                perform(actions, skipDispatch: true)
            case .accepted, .error:
                responder.send(RuntimeAPIResponses.reply(reply))
                perform(actions)
            }
        case .response(let requestID):
            handleResult(request, responder, requestID: requestID, isError: false)
        case .error(let requestID):
            handleResult(request, responder, requestID: requestID, isError: true)
        case .initError:
            let errorType = request.headers[RuntimeAPIResponses.errorTypeHeader] ?? "Runtime.Unknown"
            let body = request.body
            let contentType = JSON.isValid(body) ? "application/json" : "application/octet-stream"
            let outcome = InvokeOutcome.functionError(body: body, contentType: contentType, errorType: errorType)
            let (reply, actions) = machine.runtimeInitError(outcome: outcome, errorType: errorType)
            responder.send(RuntimeAPIResponses.reply(reply))
            perform(actions)
        case .ping:
            responder.send(HTTPResponse(status: 200, headers: ["Content-Type": "text/plain"], body: Array("pong".utf8)))
        case .notFound:
            responder.send(RuntimeAPIResponses.notFound)
        case .methodNotAllowed(let allow):
            responder.send(HTTPResponse(status: 405, headers: ["Allow": allow]))
        }
    }

    private func handleResult(_ request: HTTPRequest, _ responder: HTTPResponder, requestID: String, isError: Bool) {
        let mode = request.headers[RuntimeAPIResponses.responseModeHeader]
        let outcome =
            isError ? RuntimeAPIResponses.errorOutcome(request) : RuntimeAPIResponses.responseOutcome(request)
        let (reply, actions) = machine.runtimeResult(
            requestID: requestID, isError: isError, outcome: outcome,
            tooLargeBytes: request.bodyTooLarge ? request.bodyLength : nil,
            invalidResponseMode: !isError && mode != nil && mode != "streaming")
        responder.send(RuntimeAPIResponses.reply(reply))
        perform(actions)
    }
}
