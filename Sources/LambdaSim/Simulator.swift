import SimCore
import SimDomain
import SimOrchestrator
import SimSandbox
import SimServer
import SimUV
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A running lambda-sim: one event loop, the Invoke API on the front port, and the functions' sandboxes.
///
/// Start it with `start`, invoke it over HTTP at `endpoint`, and `stop` it to shut every sandbox down.
public final class Simulator: Sendable {
    /// A line the simulator logged: platform lines (START, END, REPORT, ...) and runtime output.
    public struct LogLine: Sendable, Equatable {
        /// The function whose sandbox logged it.
        public var function: String
        /// The sandbox (its short id, as in `[function sandbox]` prefixes and `/_sim/sandboxes`).
        public var sandboxID: String
        /// The invoke it belongs to, when it happened during one.
        public var requestID: String?
        /// True for the platform's lines (`INIT_START`, `START`, `END`, `REPORT`, errors, notices), false for what
        /// the runtime and extensions printed.
        public var isPlatform: Bool
        /// The external extension that printed the line, if one did.
        public var extensionName: String?
        /// The line, without its trailing newline.
        public var text: String
    }

    private let loop: EventLoop
    /// Everything that lives on the loop thread, reached through the actor the loop runs.
    private let state: SimulatorLoop
    private let history: EventHistory?
    /// Where `stop` stands: a second call waits for the first and returns its outcome.
    private let stopping = Mutex(StopState.running)
    /// The front port's host.
    public let host: String
    /// The front port.
    public let port: Int

    /// The most bytes of recent events kept for `logLines` and `telemetryEvents` when `keepHistory` is on.
    public static let historyBytes = 8 * 1024 * 1024

    /// Account-wide settings of `serve`: concurrency limits and throttling instead of queueing.
    public struct AccountOptions: Sendable {
        /// Concurrent executions of the account (Lambda's default: 1,000).
        public var concurrency: Int
        /// New sandboxes per function and period (Lambda: 1,000 per 10 s); nil for no limit.
        public var scalingRate: (sandboxes: Int, periodSeconds: Double)?
        /// Multiplies asynchronous retry delays (0.001 runs Lambda's minutes in milliseconds).
        public var timeScale: Double
        /// Bytes of asynchronous events that may wait at once over all functions (payloads plus 1 KiB each;
        /// default 512 MiB). Beyond it an `Event` invoke is refused with 429 `CallerRateLimitExceeded`, as Lambda
        /// may throttle the asynchronous call itself, instead of being queued.
        public var maxQueuedEventBytes: Int

        /// Lambda's defaults, optionally overridden.
        public init(
            concurrency: Int = 1_000, scalingRate: (sandboxes: Int, periodSeconds: Double)? = (1_000, 10),
            timeScale: Double = 1, maxQueuedEventBytes: Int = 512 * 1024 * 1024
        ) {
            self.concurrency = concurrency
            self.scalingRate = scalingRate
            self.timeScale = timeScale
            self.maxQueuedEventBytes = maxQueuedEventBytes
        }
    }

    /// A setting that cannot take effect as given.
    public struct OptionError: Error, CustomStringConvertible {
        /// What is wrong, naming the function and the setting.
        public var message: String
        /// The message.
        public var description: String { message }
    }

    /// Starts the loop, the sandboxes' pools and the Invoke API on `host:port` (0 for an ephemeral port).
    /// With `account`, invokes beyond the concurrency limits are throttled (429) as Lambda does, provisioned
    /// sandboxes start at once and idle ones are reaped; without it (`run`), invokes queue.
    /// - Parameters:
    ///   - functions: the functions to serve, each with its own pool of sandboxes.
    ///   - host: the Invoke API's address (127.0.0.1 by default; 0.0.0.0 for every interface).
    ///   - port: the Invoke API's port; 0 for an ephemeral one (`Simulator.port` says which).
    ///   - account: the account's limits (serve mode); nil to queue invokes instead of throttling them (run mode).
    ///   - console: receives every log line as it happens (on the loop thread).
    ///   - standardOutput: writes every log line to standard output as `[function sandbox] text`, batched per turn
    ///     of the event loop (what the `lambda-sim` command does).
    ///   - keepHistory: keeps the most recent events (`historyBytes`) for `logLines` and `telemetryEvents`;
    ///     without it both return nothing, and no event is kept.
    ///   - events: receives every event from the first one on (the provisioned sandboxes' inits included), and
    ///     ends once `stop` has finished.
    public static func start(
        functions: [FunctionOptions], host: String = "127.0.0.1", port: Int = 9000, account: AccountOptions? = nil,
        console: (@Sendable (LogLine) -> Void)? = nil, standardOutput: Bool = false, keepHistory: Bool = false,
        events: SimulatorEventStream? = nil
    ) async throws -> Simulator {
        if let attached = functions.first(where: { $0.command.isEmpty && $0.maxConcurrency != 1 }) {
            throw OptionError(
                message: "function '\(attached.name)' has no command (attach mode) and so one sandbox: maxConcurrency 1"
            )
        }
        if let function = functions.first(where: {
            $0.environmentMaxConcurrency.map { !(1...1_600).contains($0) } ?? false
        }) {
            throw OptionError(
                message: "function '\(function.name)': environmentMaxConcurrency must be between 1 and 1600"
            )
        }
        if account == nil, let problem = functions.lazy.compactMap(\.serveOnlySetting).first {
            throw OptionError(message: "\(problem) needs an account (serve mode): pass `account:` to Simulator.start")
        }
        signal(SIGPIPE, SIG_IGN)
        ProcessGroups.installFatalSignalHandlers()
        // What a simulator killed with SIGKILL left (if its guardian died too): its processes, state directory and
        // cgroups, whatever this one's freeze mode; then this one's guardian.
        ProcessGroups.removeStale()
        SandboxCgroup.removeStale()
        ProcessGroups.startGuardian(cgroupParents: SandboxCgroup.parentDirectories())
        raiseFileDescriptorLimit()
        var cgroupMessages: [String] = StateDirectory.problem.map { [$0] } ?? []
        if let first = functions.first(where: { $0.freezeMode == .cgroup }) {
            // Fail at start, naming the path, rather than at the first invoke; and say at start what is degraded.
            let probe = try SandboxCgroup(
                name: "\(getpid())-probe-\(Identifiers.randomHex(8))", memoryMB: 128, cpuScaling: first.cpuScaling)
            cgroupMessages += probe.takeMessages()
            probe.remove()
        }
        let loop = try EventLoop()
        let state = SimulatorLoop(loop: loop)
        let history = keepHistory ? EventHistory(capacityBytes: historyBytes) : nil
        let setup = SimulatorLoop.Setup(
            functions: functions.map(\.asRun),
            scalingRate: account?.scalingRate.map { ($0.sandboxes, UInt64($0.periodSeconds * 1000)) },
            timeScale: account?.timeScale ?? 1,
            reservations: Dictionary(
                functions.compactMap { f in f.reservedConcurrency.map { (f.name, $0) } },
                uniquingKeysWith: { a, _ in a }
            ),
            accountLimit: account?.concurrency, maxQueuedEventBytes: account?.maxQueuedEventBytes, history: history,
            events: events, console: console, standardOutput: standardOutput, notices: cgroupMessages, host: host,
            port: port)
        do {
            let boundPort = try await state.start(setup)
            return Simulator(loop: loop, state: state, history: history, host: host, port: boundPort)
        } catch {
            await loop.shutdown()
            throw error
        }
    }

    /// Runs `body` on the loop with the function pools and keeps the closer it returns for `stop`: how a further
    /// front server (the HTTP front end) is attached. Returns what `body` returns.
    func attachFront(
        _ body: @Sendable (EventLoop, [FunctionPool]) throws -> (port: Int, close: () -> Void)
    ) async throws -> Int {
        try await state.gate.pass("attach a front server") { try await state.attachFront(body) }
    }

    /// True once every provisioned sandbox has initialised (what `/_sim/health` reports).
    public func isReady() async throws -> Bool {
        try await state.gate.pass("isReady") { await state.isReady }
    }

    private init(loop: EventLoop, state: SimulatorLoop, history: EventHistory?, host: String, port: Int) {
        self.loop = loop
        self.state = state
        self.history = history
        self.host = host
        self.port = port
    }

    /// `http://host:port`, the Invoke API endpoint for SDKs (`endpoint_url`).
    public var endpoint: String { "http://\(host):\(port)" }

    /// Invokes `function` through this simulator's Invoke API, on its own event loop (no thread of its own), with
    /// `payload`, `type`, `logType` and a client context (a JSON object), and returns what the Invoke API answered.
    /// `qualifier` is a version or alias; `headers` are further request headers, sent as they are.
    public func invoke(
        function: String, payload: [UInt8] = [], type: InvocationType = .requestResponse, logType: LogType = .none,
        clientContext: String? = nil, qualifier: String? = nil, headers: [(String, String)] = []
    ) async throws -> InvokeClient.Response {
        let request = InvokeClient.request(
            function: function, payload: payload, type: type.rawValue, logType: logType.rawValue,
            clientContext: clientContext, qualifier: qualifier, extraHeaders: headers)
        let address = host == "0.0.0.0" ? "127.0.0.1" : host
        return try await state.gate.pass("invoke") {
            try await InvokeClient.send(request, loop: loop, host: address, port: port)
        }
    }

    /// The log lines of the events kept so far (the most recent `historyBytes` of events), when started with
    /// `keepHistory`; otherwise none.
    public func logLines() -> [LogLine] { history?.lines ?? [] }

    /// Status of every sandbox: id, function, Runtime API address, pids and invocation count.
    public func sandboxes() async throws -> [SandboxStatus] {
        try await state.gate.pass("sandboxes") { await state.sandboxes() }
    }

    /// For a function in attach mode (no command): the environment its runtime should be started with — Lambda's
    /// variables and the function's, `AWS_LAMBDA_RUNTIME_API` among them — by name; nil when the function has no
    /// sandbox. The simulator waits for that runtime's first `/next`; invokes queue until then.
    public func attachEnvironment(function: String) async throws -> [String: String]? {
        guard
            let entries = try await state.gate.pass(
                "attachEnvironment", { await state.runtimeEnvironment(function: function) })
        else { return nil }
        var environment: [String: String] = [:]
        for entry in entries {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            // As getenv reads it: the first of two entries with one name wins.
            let name = String(entry[..<equals])
            if environment[name] == nil { environment[name] = String(entry[entry.index(after: equals)...]) }
        }
        return environment
    }

    /// For a function in attach mode: starts `arguments` as its runtime, with Lambda's environment for it (the one
    /// `attachEnvironment` gives) plus `environment` (`KEY=value`), as the Rust crate's `spawn_process` does. The
    /// process is one of the sandbox's: its output is logged as the runtime's, its exit fails the init or the invoke
    /// as a crash does (`Runtime.ExitError`), and it is stopped with the simulator. Returns a handle on it (its pid,
    /// a wait for its exit, a way to signal it).
    @discardableResult
    public func spawn(
        runtime arguments: [String], function: String, environment: [String: String] = [:]
    ) async throws -> SpawnedProcess {
        try await spawnAttached(arguments, function: function, role: .runtime, environment: environment)
    }

    /// For a function with `attachedExtensions`: starts `arguments` as the external extension `name` (by default
    /// the executable's file name, which is also the name it must register with), with Lambda's environment for
    /// extensions plus `environment`. Like a launched extension, init waits for it to register, it may subscribe to
    /// SHUTDOWN, its exit outside a shutdown fails the init or invoke (`Extension.Crash`), and it is stopped with
    /// the simulator. Returns a handle on it.
    @discardableResult
    public func spawn(
        extension arguments: [String], named name: String? = nil, function: String,
        environment: [String: String] = [:]
    ) async throws -> SpawnedProcess {
        let name = name ?? arguments.first.map { String($0.split(separator: "/").last ?? Substring($0)) } ?? ""
        return try await spawnAttached(arguments, function: function, role: .extension(name), environment: environment)
    }

    private func spawnAttached(
        _ arguments: [String], function: String, role: Sandbox.AttachedRole, environment: [String: String]
    ) async throws -> SpawnedProcess {
        guard !arguments.isEmpty else { throw OptionError(message: "spawn: no command") }
        let entries = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return try await state.gate.pass("spawn") {
            try await state.spawnAttached(arguments, function: function, role: role, environment: entries)
        }
    }

    /// The Telemetry API events of the events kept so far (see `keepHistory`), oldest first, keyed by sandbox id:
    /// each with its type, time and JSON object `{"time","type","record"}` (the Logs API's shape for events the
    /// Telemetry API does not have).
    public func telemetryEvents() async throws -> [String: [TelemetryRecord]] { history?.telemetryBySandbox ?? [:] }

    /// Freeze and thaw latency per freeze mode, over every sandbox so far (live or gone).
    public func freezeSummary() async throws -> [FreezeSummary] {
        try await state.gate.pass("freezeSummary") { await state.freezeSummary() }
    }

    /// The freeze and thaw figures of one function's sandboxes so far (nil for an unknown function).
    public func freezeSummary(function: String) async throws -> FreezeSummary? {
        try await state.gate.pass("freezeSummary") { await state.freezeSummary(function: function) }
    }

    /// Stops accepting invokes, shuts every sandbox down (SIGTERM, SIGKILL after the budget) and ends the loop.
    /// Returns the freeze and thaw figures of the whole run.
    @discardableResult
    public func stop() async -> [FreezeSummary] { await stop(reason: .spindown).freeze }

    /// Stops accepting invokes and shuts every sandbox down as Lambda shuts an execution environment down for
    /// `reason`: external extensions subscribed to SHUTDOWN get it with that reason and a deadline (2,000 ms with
    /// external extensions, 500 ms with only internal ones; with none, the runtime gets 300 ms of SIGTERM for a
    /// `spindown` and an immediate SIGKILL otherwise), and whatever is still running at the deadline is killed.
    /// Returns how each process ended, and the freeze figures of the whole run. Queued and in-flight invokes end
    /// with an error. Once it has returned, every other method that needs the loop throws `StoppedError` at once
    /// (`waitForSignal` waiting meanwhile too); a second `stop` waits for the first and returns its outcome.
    @discardableResult
    public func stop(reason: ShutdownReason) async -> ShutdownOutcome {
        let first = await withCheckedContinuation { (continuation: CheckedContinuation<ShutdownOutcome?, Never>) in
            let answer = stopping.withLock { state -> ShutdownOutcome?? in
                switch state {
                case .running:
                    state = .stopping(waiters: [])
                    return .some(nil)
                case .stopping(var waiters):
                    waiters.append(continuation)
                    state = .stopping(waiters: waiters)
                    return nil
                case .stopped(let outcome):
                    return .some(outcome)
                }
            }
            if let answer { continuation.resume(returning: answer) }
        }
        if let first { return first }
        let sandboxReason: SandboxStateMachine.ShutdownReason
        switch reason {
        case .spindown: sandboxReason = .spindown
        case .timeout: sandboxReason = .timeout
        case .failure: sandboxReason = .failure
        }
        let outcome = await state.shutdown(reason: sandboxReason)
        // Nothing may be queued to the loop once it has ended: close the door and let the calls inside finish.
        await state.gate.close()
        await state.finish()
        await loop.shutdown()
        let waiters = stopping.withLock { state -> [CheckedContinuation<ShutdownOutcome?, Never>] in
            defer { state = .stopped(outcome) }
            if case .stopping(let waiters) = state { return waiters }
            return []
        }
        for waiter in waiters { waiter.resume(returning: outcome) }
        return outcome
    }

    /// Where `stop` stands.
    private enum StopState {
        case running
        /// The first `stop` is under way; later ones wait here.
        case stopping(waiters: [CheckedContinuation<ShutdownOutcome?, Never>])
        case stopped(ShutdownOutcome)
    }

    /// Why the simulator shuts its execution environments down: the reason extensions receive in their SHUTDOWN
    /// event.
    public enum ShutdownReason: String, Sendable {
        /// The environment is no longer needed (Lambda's scale-in, and the simulator's normal stop).
        case spindown
        /// The function timed out.
        case timeout
        /// The runtime or an extension failed.
        case failure
    }

    /// What a shutdown did: how every process of every sandbox ended.
    public struct ShutdownOutcome: Sendable, Equatable {
        /// One process's end.
        public struct Process: Sendable, Equatable {
            /// `runtime`, or the external extension's file name.
            public var name: String
            /// How it ended: its exit code, or the signal that killed it (`.signaled(SIGKILL)` when it had to be
            /// killed). Its `description` is Lambda's wording (`exit status 0`, `signal: killed`).
            public var status: Simulator.ExitStatus
            /// True when it exited on its own (or on SIGTERM) within its time; false when it had to be killed
            /// (the deadline passed, or it was an extension not subscribed to SHUTDOWN).
            public var exitedInTime: Bool
        }

        /// One sandbox's processes.
        public struct Sandbox: Sendable, Equatable {
            /// The sandbox's id.
            public var id: String
            /// Its function.
            public var function: String
            /// Its processes, in the order they ended (a sandbox that never ran one has none).
            public var processes: [Process]
        }

        /// Every sandbox that was shut down, in the order each finished.
        public var sandboxes: [Sandbox]
        /// The freeze and thaw figures of the whole run.
        public var freeze: [FreezeSummary]
    }

    /// A stream of the events that happen from now on (see `SimulatorEventStream`); it ends once `stop` has
    /// finished.
    public func events(capacityBytes: Int = 8 << 20, includeOutput: Bool = true) async throws -> SimulatorEventStream {
        let stream = SimulatorEventStream(capacityBytes: capacityBytes, includeOutput: includeOutput)
        try await state.gate.pass("events") { await state.addStream(stream) }
        return stream
    }
}

/// One sandbox as `Simulator.sandboxes()` reports it.
public struct SandboxStatus: Sendable, Equatable {
    /// The sandbox's short id.
    public var id: String
    /// The function it runs.
    public var function: String
    /// `host:port` of its Runtime API.
    public var runtimeAPI: String
    /// Its live processes: runtime, extensions and their descendants, read when the status was taken.
    public var pids: [Int32]
    /// Invokes it has run.
    public var invocations: Int
    /// What it is doing, as `/_sim/sandboxes` says.
    public var state: SandboxState
    /// Whether an invoke can start in it at once (`ready` or `frozen`, or a managed instance with a free slot).
    public var isFree: Bool { state == .ready || state == .frozen || (state == .busy && inFlight < slots) }
    /// Invokes in flight in it now.
    public var inFlight: Int
    /// Invokes it serves at once: 1, or a managed instance's `FunctionOptions.environmentMaxConcurrency`.
    public var slots: Int
    /// Whether it is a Lambda Managed Instances environment (many invokes at once, never frozen).
    public var isManagedInstance: Bool
    /// How it is frozen between invokes (`none` for a managed instance, which is never frozen).
    public var freezeMode: FreezeMode
    /// Whether its processes are frozen now.
    public var frozen: Bool
    /// The freeze epoch: it moves on at every thaw decision (a freeze decided before the last one is dropped), so
    /// two readings with the same epoch and `frozen` saw no thaw in between.
    public var freezeEpoch: UInt64
    /// Freeze latency, request to confirmation.
    public var freezes: LatencySummary
    /// Thaw latency, request to confirmation.
    public var thaws: LatencySummary
    /// This sandbox's freezes and thaws counted (carried out, skipped, unconfirmed).
    public var freezeCounts: FreezeSummary
}

/// Count and percentiles of a latency, in microseconds.
public struct LatencySummary: Sendable, Equatable, CustomStringConvertible {
    /// Transitions measured.
    public var count: Int
    /// Median latency.
    public var p50Microseconds: Double
    /// 99th percentile.
    public var p99Microseconds: Double
    /// Slowest.
    public var maxMicroseconds: Double

    init(_ histogram: LatencyHistogram) {
        count = histogram.count
        p50Microseconds = Double(histogram.percentile(0.5)) / 1000
        p99Microseconds = Double(histogram.percentile(0.99)) / 1000
        maxMicroseconds = Double(histogram.max) / 1000
    }

    /// `count N  p50 X µs  p99 Y µs  max Z µs`, as the CLI prints it.
    public var description: String {
        "count \(count)  p50 \(LambdaLog.fixed(p50Microseconds, decimals: 1)) µs"
            + "  p99 \(LambdaLog.fixed(p99Microseconds, decimals: 1)) µs  max \(LambdaLog.fixed(maxMicroseconds, decimals: 1)) µs"
    }
}

/// Freezes and thaws of every sandbox using one freeze mode: how many happened, and their latency.
public struct FreezeSummary: Sendable, Equatable, CustomStringConvertible {
    /// The freeze mode of the sandboxes counted.
    public var mode: FreezeMode
    /// Latency of confirmed freezes (request to every process stopped, or the freezer `FROZEN`).
    public var freezes: LatencySummary
    /// Latency of confirmed thaws.
    public var thaws: LatencySummary
    /// Freezes carried out. Every one is thawed again, so this equals `thawed` plus the sandboxes frozen now.
    public var frozen: Int
    /// Thaws carried out.
    public var thawed: Int
    /// Freezes that were due when an invoke phase ended but were dropped because the next invoke had already
    /// arrived (back-to-back traffic): those invokes never froze.
    public var skipped: Int
    /// Freezes thawed before their confirmation, so without a latency.
    public var freezesUnconfirmed: Int
    /// Thaws frozen again before their confirmation, so without a latency.
    public var thawsUnconfirmed: Int

    init(mode: FreezeMode, _ statistics: FreezeStatistics) {
        self.mode = mode
        freezes = LatencySummary(statistics.freezes)
        thaws = LatencySummary(statistics.thaws)
        frozen = statistics.frozen
        thawed = statistics.thawed
        skipped = statistics.skipped
        freezesUnconfirmed = statistics.freezesUnconfirmed
        thawsUnconfirmed = statistics.thawsUnconfirmed
    }

    /// `12 freezes, 3 skipped (the next invoke was already waiting), 12 thaws`.
    public var description: String {
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        return "\(count(frozen, "freeze")), \(skipped) skipped (the next invoke was already waiting), "
            + count(thawed, "thaw")
    }
}

/// Raises the soft limit of open files to the hard limit, and a privileged simulator's hard limit to the
/// kernel's `fs.nr_open`.
///
/// A sandbox keeps one descriptor open in the simulator while it is idle: its runtime's keep-alive connection to
/// the Runtime API (the listener is shared, output goes to files, exits are reaped by `SIGCHLD`), plus one per
/// extension's connection and, while a request is being served, the invoker's. So 10,000 sandboxes need somewhat
/// over 10,000 descriptors; the hard limit (`ulimit -Hn`, or `LimitNOFILE=` of a systemd unit) caps the number of
/// sandboxes, and a sandbox that cannot get descriptors fails with `Sandbox.Failure` naming the error.
/// The processes the simulator starts get Lambda's own limit instead (`childFileDescriptorLimit`).
private func raiseFileDescriptorLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    let kernelMaximum = SmallFiles.readSmallFile("/proc/sys/fs/nr_open").flatMap {
        rlim_t($0.filter { $0.isNumber })
    }
    if let kernelMaximum, kernelMaximum > limit.rlim_max {
        var raised = rlimit(rlim_cur: kernelMaximum, rlim_max: kernelMaximum)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return }
    }
    guard limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

extension Simulator {
    /// How many provisioned sandboxes of a function initialise at once (eight per processor, at least 16): the
    /// rest start as those finish, so that thousands of provisioned sandboxes come up at a steady rate.
    public static var provisioningWidth: Int { FunctionPool.provisioningWidth }

    /// Waits until the process receives one of `signals` (SIGINT and SIGTERM by default) and returns it. Throws
    /// `StoppedError` when the simulator has stopped, or stops while it waits.
    public func waitForSignal(_ signals: [Int32] = [SIGINT, SIGTERM]) async throws -> Int32 {
        let loop = self.loop
        let gate = state.gate
        let wait = SignalWait()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            wait.begin(continuation)
            do {
                let id = try gate.register(
                    "waitForSignal", onClose: { wait.end(.failure(StoppedError(operation: "waitForSignal"))) }
                ) {
                    loop.submit {
                        var watchers: [SignalWatcher] = []
                        for number in signals {
                            if let watcher = try? SignalWatcher(
                                loop: loop, signal: number,
                                { received in
                                    for watcher in watchers { watcher.close() }
                                    watchers = []
                                    wait.end(.success(received))
                                })
                            {
                                watchers.append(watcher)
                            }
                        }
                    }
                }
                wait.onEnd { gate.cancel(id) }
            } catch {
                wait.end(.failure(error))
            }
        }
    }
}

/// One `waitForSignal`: its continuation, resumed once by whichever comes first, a signal or the simulator's stop.
private final class SignalWait: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Int32, any Error>?
        var ended = false
        var onEnd: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func begin(_ continuation: CheckedContinuation<Int32, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Runs `action` when the wait ends (at once if it has).
    func onEnd(_ action: @escaping @Sendable () -> Void) {
        let ended = state.withLock { state -> Bool in
            if !state.ended { state.onEnd = action }
            return state.ended
        }
        if ended { action() }
    }

    /// Resumes the continuation with `result`, unless it was resumed before.
    func end(_ result: Result<Int32, any Error>) {
        let (continuation, action) = state.withLock { state in
            defer {
                state.continuation = nil
                state.onEnd = nil
                state.ended = true
            }
            return (state.continuation, state.onEnd)
        }
        continuation?.resume(with: result)
        action?()
    }

}
