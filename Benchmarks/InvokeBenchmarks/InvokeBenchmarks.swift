import Benchmark
import BenchmarkSupport
import LambdaSim

#if canImport(Glibc)
    import Glibc
#endif

/// A reference, not a floor: a blocking echo server on its own thread answering every request at once, so that
/// `Invoke:TwoRoundTrips` is two loopback round trips of the benchmark's client. The floor of an invoke is the C
/// relay (`Invoke:WarmRelayFloor`), which also has a runtime to hand the invoke to.
enum EchoServer {
    static func start() -> Int {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length)
                return getsockname(listener, $0, &length)
            }
        }
        listen(listener, 16)
        let port = Int(UInt16(bigEndian: address.sin_port))
        var thread = pthread_t()
        let box = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        box.pointee = listener
        pthread_create(
            &thread, nil,
            { raw in
                let listener = raw!.assumingMemoryBound(to: Int32.self).pointee
                while true {
                    let fd = accept(listener, nil, nil)
                    guard fd >= 0 else { return nil }
                    var one: Int32 = 1
                    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    let response = Array("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}".utf8)
                    var buffer = [UInt8](repeating: 0, count: 65_536)
                    while true {
                        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                        if n <= 0 { break }
                        _ = response.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                    }
                    close(fd)
                }
            }, box)
        return port
    }
}

final class InvokeFixture: @unchecked Sendable {
    var simulator: Simulator?
    var client: BlockingClient?
    var process: SimulatorProcess?
    var relay: RelayFloorProcess?
}

/// The simulator's own CPU time per invoke: utime + stime of the `lambda-sim` process over the iteration's
/// invokes (clock ticks are 10 ms, so an iteration is 2,000 invokes).
let simulatorCPU = BenchmarkMetric.custom(
    "Simulator CPU (ns/invoke)", polarity: .prefersSmaller, useScalingFactor: false)
let cpuInvokesPerIteration = 2_000

/// Records in `benchmark` the CPU time a process used per invoke (`cpuNanoseconds`, read before and after) over
/// `cpuInvokesPerIteration` warm invokes of `client`.
func recordCPUPerInvoke(_ benchmark: Benchmark, client: BlockingClient, cpuNanoseconds: () -> UInt64) {
    let before = cpuNanoseconds()
    for _ in 0..<cpuInvokesPerIteration { client.roundTrip(invokeRequest) }
    let used = cpuNanoseconds() - before
    benchmark.measurement(simulatorCPU, Int(used / UInt64(cpuInvokesPerIteration)))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock], timeUnits: .microseconds, warmupIterations: 200, scalingFactor: .one,
        maxDuration: .seconds(3), maxIterations: 20_000)

    let roundTrips = InvokeFixture()
    Benchmark(
        "Invoke:TwoRoundTrips",
        configuration: .init(setup: { roundTrips.client = BlockingClient(port: EchoServer.start()) })
    ) { _ in
        roundTrips.client!.roundTrip(invokeRequest)
        roundTrips.client!.roundTrip(invokeRequest)
    }

    // The floor of `Invoke:Warm`: the C relay with the same fixture runtime, driven by the same client.
    let relayFloor = InvokeFixture()
    Benchmark(
        "Invoke:WarmRelayFloor",
        configuration: .init(
            setup: {
                let relay = RelayFloorProcess(runtimes: 1, command: [fixturePath()])
                relayFloor.relay = relay
                relayFloor.client = BlockingClient(port: relay.port)
            },
            teardown: {
                relayFloor.client = nil
                relayFloor.relay?.stop()
            })
    ) { _ in
        relayFloor.client!.roundTrip(invokeRequest)
    }

    for mode in FreezeMode.allCases {
        let fixture = InvokeFixture()
        Benchmark(
            "Invoke:Warm/\(mode.rawValue)",
            configuration: .init(
                setup: {
                    let options = FunctionOptions(
                        name: "function", command: [fixturePath()], codeDirectory: "/tmp", timeoutSeconds: 30,
                        freezeMode: mode)
                    let simulator = try await Simulator.start(functions: [options], port: 0)
                    fixture.simulator = simulator
                    fixture.client = BlockingClient(port: simulator.port)
                },
                teardown: {
                    fixture.client = nil
                    await fixture.simulator?.stop()
                })
        ) { _ in
            fixture.client!.roundTrip(invokeRequest)
        }
    }

    // The simulator's own CPU per warm invoke, the way the issue defines it: `lambda-sim run` as a child process,
    // one keep-alive client, `utime + stime` of that process divided by the invokes.
    for mode in FreezeMode.allCases {
        let fixture = InvokeFixture()
        Benchmark(
            "Invoke:SimulatorCPU/\(mode.rawValue)",
            configuration: .init(
                metrics: [simulatorCPU], warmupIterations: 1, maxDuration: .seconds(10), maxIterations: 10,
                setup: {
                    let process = SimulatorProcess(arguments: [
                        "run", "--freeze", mode.rawValue, "--timeout", "30", "--", fixturePath(),
                    ])
                    fixture.process = process
                    fixture.client = BlockingClient(port: process.port)
                },
                teardown: {
                    fixture.client = nil
                    fixture.process?.stop()
                })
        ) { benchmark in
            let process = fixture.process!
            recordCPUPerInvoke(benchmark, client: fixture.client!) { process.cpuNanoseconds }
        }
    }

    // The floor of `Invoke:SimulatorCPU`: the C relay's own CPU per warm invoke, measured the same way.
    let relayCPU = InvokeFixture()
    Benchmark(
        "Invoke:RelayFloorCPU",
        configuration: .init(
            metrics: [simulatorCPU], warmupIterations: 1, maxDuration: .seconds(10), maxIterations: 10,
            setup: {
                let relay = RelayFloorProcess(runtimes: 1, command: [fixturePath()])
                relayCPU.relay = relay
                relayCPU.client = BlockingClient(port: relay.port)
            },
            teardown: {
                relayCPU.client = nil
                relayCPU.relay?.stop()
            })
    ) { benchmark in
        let relay = relayCPU.relay!
        recordCPUPerInvoke(benchmark, client: relayCPU.client!) { relay.cpuNanoseconds }
    }
}
