import Benchmark
import BenchmarkSupport
import CHeapUsage
import LambdaSim
import SimHTTP
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// The fixture as a serve-mode function with `provisioned` sandboxes initialised at start.
func fixtureFunction(provisioned: Int, freeze: FreezeMode) -> FunctionOptions {
    var options = FunctionOptions(
        name: "function", command: [fixturePath()], codeDirectory: "/tmp", timeoutSeconds: 30,
        maxConcurrency: provisioned, freezeMode: freeze)
    options.provisionedConcurrency = provisioned
    return options
}

/// `count` keep-alive clients on one event loop of their own (one thread, epoll, as `wrk` drives a server), each
/// sending its next invoke as soon as the previous one is answered. Threads per client would spend the two CPUs
/// on context switches and measure themselves rather than the simulator.
final class LoopClients: @unchecked Sendable {
    private let loop: EventLoop
    private var connections: [HTTPClientConnection] = []
    private(set) var failures = 0
    private let request = HTTPRequest(
        method: "POST", target: "/2015-03-31/functions/function/invocations", body: Array(#"{"a":1}"#.utf8))

    init(count: Int, port: Int) async throws {
        loop = try EventLoop(name: "benchmark-clients")
        for _ in 0..<count {
            let connection = try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<HTTPClientConnection, any Error>) in
                loop.submit { [loop] in
                    HTTPClientConnection.connect(loop: loop, host: "127.0.0.1", port: port) { result in
                        continuation.resume(with: result.map { UncheckedBox($0) }.map(\.value))
                    }
                }
            }
            connections.append(connection)
        }
    }

    /// Runs `total` invokes spread over the connections; returns once all are answered.
    func round(total: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.submit { [self] in
                var started = 0
                var answered = 0
                func next(_ connection: HTTPClientConnection) {
                    guard started < total else { return }
                    started += 1
                    connection.send(request) { [self] result in
                        if case .success(let response) = result, response.status == 200 {} else { failures += 1 }
                        answered += 1
                        if answered == total { continuation.resume() } else { next(connection) }
                    }
                }
                for connection in connections { next(connection) }
            }
        }
    }

    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.submit { [self] in
                for connection in connections { connection.close() }
                connections = []
                continuation.resume()
            }
        }
        await loop.shutdown()
    }
}

/// Carries a loop-confined value through a continuation.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

final class ThroughputFixture: @unchecked Sendable {
    var simulator: Simulator?
    var relay: RelayFloorProcess?
    var clients: LoopClients?
    var sandboxesBefore = 0
}

let clientCount = 100
/// Invokes per iteration, as many as `scalingFactor: .kilo` counts.
let invokesPerIteration = 1_000
/// Invokes per second of each iteration, exactly (`.throughput` reads in whole K).
let invokesPerSecond = BenchmarkMetric.custom("Invokes/s", polarity: .prefersLarger, useScalingFactor: false)

/// Runs the iteration's invokes on `clients` and records in `benchmark` how many went through per second.
func recordThroughput(_ benchmark: Benchmark, clients: LoopClients) async {
    let start = monotonicNanoseconds()
    await clients.round(total: benchmark.scaledIterations.count)
    let elapsed = monotonicNanoseconds() - start
    benchmark.measurement(invokesPerSecond, Int(UInt64(benchmark.scaledIterations.count) * 1_000_000_000 / elapsed))
}

/// Scale-out time per sandbox.
let perSandbox = BenchmarkMetric.custom("Per sandbox (ns)", polarity: .prefersSmaller, useScalingFactor: false)
/// The simulator's resident memory per idle sandbox.
let memoryPerSandbox = BenchmarkMetric.custom(
    "Memory per sandbox (B)", polarity: .prefersSmaller, useScalingFactor: false)

/// Heap bytes in use in the process (`mallinfo2`: allocated chunks plus mmapped ones). Unlike the resident set,
/// it falls again when memory is freed, so iterations that start a simulator after another one measure their own.
func heapBytesInUse() -> Int { Int(heap_bytes_in_use()) }

func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 1, scalingFactor: .one,
        maxDuration: .seconds(5), maxIterations: 50)

    // Scale-out: from `Simulator.start` until every provisioned sandbox has initialised; `stop` is not timed but
    // must leave no process behind. Also the time per sandbox (linear scale-out keeps it flat) and the
    // simulator's memory per idle sandbox (heap in use when ready minus before the start, per sandbox).
    for (size, iterations, seconds) in [(10, 50, 5), (100, 20, 15), (1_000, 5, 60), (4_000, 2, 120), (10_000, 1, 300)] {
        Benchmark(
            "Orchestrator:ScaleOut/\(size)",
            configuration: .init(
                metrics: [.wallClock, perSandbox, memoryPerSandbox], maxDuration: .seconds(seconds),
                maxIterations: iterations)
        ) { benchmark in
            let heapBefore = heapBytesInUse()
            let start = monotonicNanoseconds()
            benchmark.startMeasurement()
            let simulator = try await Simulator.start(
                functions: [fixtureFunction(provisioned: size, freeze: .signal)], port: 0,
                account: .init(concurrency: max(size, 1_000), scalingRate: nil))
            while try await !simulator.isReady() { try await Task.sleep(nanoseconds: 1_000_000) }
            benchmark.stopMeasurement()
            let elapsed = monotonicNanoseconds() - start
            benchmark.measurement(perSandbox, Int(elapsed / UInt64(size)))
            benchmark.measurement(memoryPerSandbox, max(0, heapBytesInUse() - heapBefore) / size)
            let pids = try await simulator.sandboxes().flatMap(\.pids)
            await simulator.stop()
            let left = pids.filter { kill($0, 0) == 0 }
            precondition(left.isEmpty, "\(left.count) processes left after stop")
        }
    }

    // Throughput: `clientCount` keep-alive clients on one client loop, invoking warm sandboxes. One
    // iteration is 1,000 invokes (10 per client): `.throughput` reads in K invokes/s, the scaled wall clock is
    // the time per invoke and `Invokes/s` is the exact rate.
    for (suffix, mode) in [("", FreezeMode.none), ("/signal", .signal)] {
        let name = "Invoke:Throughput/\(clientCount)clients\(suffix)"
        let fixture = ThroughputFixture()
        Benchmark(
            name,
            configuration: .init(
                metrics: [.throughput, .wallClock, invokesPerSecond], timeUnits: .microseconds,
                warmupIterations: 1, scalingFactor: .kilo, maxDuration: .seconds(8), maxIterations: 1_000,
                setup: {
                    let simulator = try await Simulator.start(
                        functions: [fixtureFunction(provisioned: 2 * clientCount, freeze: mode)], port: 0,
                        account: .init(concurrency: 1_000, scalingRate: nil))
                    fixture.simulator = simulator
                    while try await !simulator.isReady() { try await Task.sleep(nanoseconds: 1_000_000) }
                    let clients = try await LoopClients(count: clientCount, port: simulator.port)
                    fixture.clients = clients
                    // A sandbox is free again only at the runtime's next `/next`, after its client has the
                    // answer, so with as many provisioned sandboxes as clients new invokes still land in cold
                    // sandboxes now and then (100 grew to ~150 in 30,000 invokes): twice as many stay warm.
                    // Invoke until the pool stops growing anyway; teardown prints whether it grew after.
                    var count = try await simulator.sandboxes().count
                    var stableRounds = 0
                    for _ in 0..<50 where stableRounds < 3 {
                        await clients.round(total: invokesPerIteration)
                        let now = try await simulator.sandboxes().count
                        stableRounds = now == count ? stableRounds + 1 : 0
                        count = now
                    }
                    fixture.sandboxesBefore = count
                },
                teardown: {
                    let failures = fixture.clients?.failures ?? 0
                    await fixture.clients?.stop()
                    fixture.clients = nil
                    let sandboxes = try await fixture.simulator?.sandboxes().count ?? 0
                    let freezes = await fixture.simulator?.stop() ?? []
                    fixture.simulator = nil
                    print(
                        "\(name): \(fixture.sandboxesBefore) sandboxes after warm-up, \(sandboxes) at the end,"
                            + " \(failures) non-200 answers; "
                            + freezes.map { "\($0.mode): freeze \($0.freezes), thaw \($0.thaws)" }.joined(
                                separator: "; "))
                })
        ) { benchmark in
            await recordThroughput(benchmark, clients: fixture.clients!)
        }
    }

    // The floor of the throughput benchmarks: the C relay with as many copies of the fixture, driven by the same
    // clients.
    let relayFloor = ThroughputFixture()
    Benchmark(
        "Invoke:ThroughputRelayFloor/\(clientCount)clients",
        configuration: .init(
            metrics: [.throughput, .wallClock, invokesPerSecond], timeUnits: .microseconds,
            warmupIterations: 1, scalingFactor: .kilo, maxDuration: .seconds(8), maxIterations: 1_000,
            setup: {
                let relay = RelayFloorProcess(runtimes: 2 * clientCount, command: [fixturePath()])
                relayFloor.relay = relay
                let clients = try await LoopClients(count: clientCount, port: relay.port)
                relayFloor.clients = clients
                await clients.round(total: 3 * invokesPerIteration)
            },
            teardown: {
                let failures = relayFloor.clients?.failures ?? 0
                await relayFloor.clients?.stop()
                relayFloor.clients = nil
                relayFloor.relay?.stop()
                relayFloor.relay = nil
                print("Invoke:ThroughputRelayFloor/\(clientCount)clients: \(failures) non-200 answers")
            })
    ) { benchmark in
        await recordThroughput(benchmark, clients: relayFloor.clients!)
    }
}
