import SimCore
import SimDomain
import SimOrchestrator
import SimSandbox
import SimServer
import SimUV

/// The simulator's loop-confined parts — the functions' pools, the front servers and the event sinks — isolated to
/// the simulator's event loop: the loop is this actor's executor, so its methods run on the loop thread, where
/// libuv's handles may be touched, and the compiler checks that nothing reaches them from elsewhere.
actor SimulatorLoop {
    /// The loop whose thread runs this actor.
    nonisolated let loop: EventLoop
    /// What every call from outside passes before it hops onto the loop (see `LoopGate`).
    nonisolated let gate = LoopGate()
    private var pools: [FunctionPool] = []
    private var front: InvokeAPIServer?
    /// Where X-Ray SDKs send their segments, read and discarded.
    private var xraySink: UDPSink?
    private let bus = EventBus()
    private var standardOutput: StandardOutputSink?
    private var eventStreams: [SimulatorEventStream] = []
    /// Closers of further front servers (the HTTP front end), run when the simulator stops.
    private var closers: [() -> Void] = []

    /// Runs on `loop`.
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    init(loop: EventLoop) { self.loop = loop }

    /// What `Simulator.start` sets up on the loop.
    struct Setup: Sendable {
        /// The functions, as their sandboxes run them (`FunctionSpec.asRun`).
        var functions: [FunctionSpec]
        /// New sandboxes per function and period (serve), if limited.
        var scalingRate: (sandboxes: Int, periodMilliseconds: UInt64)?
        /// Multiplies asynchronous retry delays.
        var timeScale: Double
        var reservations: [String: Int]
        var accountLimit: Int?
        var maxQueuedEventBytes: Int?
        var history: EventHistory?
        var events: SimulatorEventStream?
        var console: (@Sendable (Simulator.LogLine) -> Void)?
        var standardOutput: Bool
        var notices: [String]
        var host: String
        var port: Int
    }

    /// Adds the sinks, starts the pools and the Invoke API; returns the Invoke API's port.
    func start(_ setup: Setup) throws -> Int {
        if let history = setup.history { bus.add(history) }
        if let events = setup.events { addStream(events) }
        if let console = setup.console { bus.add(LogLineSink(console)) }
        if setup.standardOutput {
            let sink = StandardOutputSink(loop: loop)
            standardOutput = sink
            bus.add(sink)
        }
        for message in setup.notices {
            bus.publish(
                .notice(message),
                EventContext(
                    function: "lambda-sim", sandboxID: "-", requestID: nil,
                    epochMilliseconds: SystemClock().epochMilliseconds, logFormat: .text))
        }
        let limiter = setup.accountLimit.map {
            AccountLimiter(limits: ConcurrencyLimits(accountLimit: $0, reservations: setup.reservations))
        }
        let xraySink = try UDPSink(loop: loop)
        self.xraySink = xraySink
        pools = setup.functions.map { function in
            var function = function
            function.xrayDaemonPort = xraySink.port
            return FunctionPool(
                loop: loop, function: function, limiter: limiter, scalingRate: setup.scalingRate,
                timeScale: setup.timeScale, bus: bus)
        }
        for pool in pools { try pool.start() }
        let front = try InvokeAPIServer(loop: loop, host: setup.host, port: setup.port, pools: pools)
        if let bytes = setup.maxQueuedEventBytes { front.queuedEventLimitBytes = bytes }
        self.front = front
        return front.port
    }

    /// Hands every event from now on to `stream`, and ends it when the simulator stops.
    func addStream(_ stream: SimulatorEventStream) {
        eventStreams.append(stream)
        bus.add(EventStreamSink(stream))
    }

    /// Runs `body` with the loop and the pools and keeps the closer it returns for `shutdown`; returns its port.
    func attachFront(
        _ body: @Sendable (EventLoop, [FunctionPool]) throws -> (port: Int, close: () -> Void)
    ) throws -> Int {
        let (port, close) = try body(loop, pools)
        closers.append(close)
        return port
    }

    /// True once every provisioned sandbox has initialised.
    var isReady: Bool { pools.allSatisfy(\.isReady) }

    /// The status of every sandbox.
    func sandboxes() -> [SandboxStatus] {
        pools.flatMap { pool in pool.sandboxes.map { SandboxStatus($0, pool: pool) } }
    }

    /// The pool of `function`, if it has one.
    func pool(_ function: String) -> FunctionPool? { pools.first { $0.function.name == function } }

    /// The environment of `function`'s attached runtime, as `KEY=value` strings.
    func runtimeEnvironment(function: String) -> [String]? { pool(function)?.sandboxes.first?.runtimeEnvironment }

    /// Runs `body` on the loop thread.
    func run<T: Sendable>(_ body: @Sendable () -> T) -> T { body() }

    /// Starts `arguments` in `function`'s sandbox as `role`; returns a handle on it.
    func spawnAttached(
        _ arguments: [String], function: String, role: Sandbox.AttachedRole, environment: [String]
    ) throws -> SpawnedProcess {
        guard let pool = pool(function) else {
            throw Simulator.OptionError(message: "spawn: no function '\(function)'")
        }
        switch role {
        case .runtime:
            guard pool.function.isAttached else {
                throw Simulator.OptionError(
                    message: "spawn: function '\(function)' has a command; only an attached one takes a runtime")
            }
        case .extension(let name):
            guard pool.function.attachedExtensions.contains(name) else {
                throw Simulator.OptionError(
                    message: "spawn: '\(name)' is not one of function '\(function)''s attachedExtensions")
            }
        }
        guard let sandbox = pool.sandboxes.first else {
            throw Simulator.OptionError(message: "spawn: function '\(function)' has no sandbox yet")
        }
        let pid = try sandbox.spawnAttached(arguments, as: role, extraEnvironment: environment)
        return SpawnedProcess(pid: pid, simulator: self)
    }

    /// Freeze and thaw figures per freeze mode over every pool.
    func freezeSummary() -> [FreezeSummary] { FreezeSummary.byMode(pools) }

    /// The freeze and thaw figures of `function`'s sandboxes (nil for an unknown function).
    func freezeSummary(function: String) -> FreezeSummary? {
        pool(function).map { FreezeSummary(mode: $0.function.freezeMode, $0.freezeStatistics) }
    }

    /// Closes the front servers and shuts every pool down for `reason`; returns how each process ended.
    func shutdown(reason: SandboxStateMachine.ShutdownReason) async -> Simulator.ShutdownOutcome {
        front?.close()
        front = nil
        xraySink?.close()
        xraySink = nil
        for close in closers { close() }
        closers = []
        let pools = self.pools
        if !pools.isEmpty {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                var remaining = pools.count
                for pool in pools {
                    pool.shutdown(reason: reason) {
                        remaining -= 1
                        if remaining == 0 { continuation.resume() }
                    }
                }
            }
        }
        let sandboxes = pools.flatMap { pool in
            pool.shutdownRecords.map { record in
                Simulator.ShutdownOutcome.Sandbox(
                    id: record.sandboxID, function: pool.function.name,
                    processes: record.exits.map {
                        Simulator.ShutdownOutcome.Process(
                            name: $0.name, status: Simulator.ExitStatus($0.status),
                            exitedInTime: !$0.killed)
                    })
            }
        }
        return Simulator.ShutdownOutcome(sandboxes: sandboxes, freeze: FreezeSummary.byMode(pools))
    }

    /// Flushes standard output and ends the event streams (after `shutdown`).
    func finish() {
        standardOutput?.close()
        for stream in eventStreams { stream.finish() }
    }
}

extension SandboxStatus {
    /// The status of `sandbox`, one of `pool`'s.
    init(_ sandbox: Sandbox, pool: FunctionPool) {
        let mode = pool.function.freezeMode
        self.init(
            id: sandbox.id, function: pool.function.name, runtimeAPI: sandbox.runtimeAPI, pids: sandbox.pids,
            invocations: sandbox.invocationCount, state: sandbox.lifecycleState,
            inFlight: sandbox.invokesInFlight,
            slots: pool.function.slotsPerEnvironment, isManagedInstance: pool.function.isManagedInstance,
            freezeMode: mode, frozen: sandbox.freezer.isFrozen, freezeEpoch: sandbox.freezeEpoch,
            freezes: LatencySummary(sandbox.freezer.statistics.freezes),
            thaws: LatencySummary(sandbox.freezer.statistics.thaws),
            freezeCounts: FreezeSummary(mode: mode, sandbox.freezer.statistics))
    }
}

extension FreezeSummary {
    /// The figures of `pools`, merged per freeze mode, in the modes' order.
    static func byMode(_ pools: [FunctionPool]) -> [FreezeSummary] {
        var byMode: [FreezeMode: FreezeStatistics] = [:]
        for pool in pools {
            byMode[pool.function.freezeMode, default: FreezeStatistics()].merge(pool.freezeStatistics)
        }
        return byMode.sorted { $0.key.rawValue < $1.key.rawValue }.map { FreezeSummary(mode: $0.key, $0.value) }
    }
}
