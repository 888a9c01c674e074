import Benchmark
import LambdaSim

#if canImport(Glibc)
    import Glibc
#endif

/// The fixture runtime next to this benchmark (build it first: `swift build -c release --product lambda-sim-fixture`).
func fixturePath() -> String {
    if let path = getenv("LAMBDA_SIM_FIXTURE") { return String(cString: path) }
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let exe = String(decoding: buffer[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)]) + "/lambda-sim-fixture"
}

/// The fixture as a serve-mode function with `provisioned` sandboxes initialised at start.
func fixtureFunction(provisioned: Int, freeze: FreezeMode) -> FunctionOptions {
    var options = FunctionOptions(
        name: "function", command: [fixturePath()], codeDirectory: "/tmp", timeoutSeconds: 30,
        maxConcurrency: provisioned, freeze: freeze)
    options.provisionedConcurrency = provisioned
    return options
}

/// A blocking HTTP/1.1 keep-alive client on a plain socket (as in InvokeBenchmarks).
final class BlockingClient: @unchecked Sendable {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    init(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(rc == 0, "connect failed: \(errno)")
    }

    /// Sends `request`, reads one response with a Content-Length body and returns its status code.
    func roundTrip(_ request: [UInt8]) -> Int {
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var received = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, $0.count - received, 0) }
            precondition(n > 0, "connection closed")
            received += n
            if let length = Self.completeLength(buffer[0..<received]), received >= length {
                // "HTTP/1.1 200 ..."
                return Int(String(decoding: buffer[9..<12], as: UTF8.self)) ?? 0
            }
        }
    }

    /// The full response length once the head is complete.
    private static func completeLength(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingPrefix(" "))
        else { return end.upperBound - bytes.startIndex }
        return end.upperBound - bytes.startIndex + length
    }

    deinit { close(fd) }
}

let invokeRequest = Array(
    "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}".utf8)

/// `count` threads, each with its own keep-alive client, that run `invokes` invokes each per round.
final class ClientThreads: @unchecked Sendable {
    /// One thread's state; reached from that thread and, between rounds, from the benchmark.
    final class Worker {
        let client: BlockingClient
        let go: UnsafeMutablePointer<sem_t>
        let done: UnsafeMutablePointer<sem_t>
        var invokes = 0
        var stopping = false
        var failures = 0

        init(client: BlockingClient, go: UnsafeMutablePointer<sem_t>, done: UnsafeMutablePointer<sem_t>) {
            self.client = client
            self.go = go
            self.done = done
        }

        func run() {
            while true {
                while sem_wait(go) != 0 {}
                if stopping { return }
                for _ in 0..<invokes where client.roundTrip(invokeRequest) != 200 { failures += 1 }
                sem_post(done)
            }
        }
    }

    private var workers: [Worker] = []
    private var threads: [pthread_t] = []
    private let done = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    init(count: Int, port: Int) {
        sem_init(done, 0, 0)
        for _ in 0..<count {
            let go = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
            sem_init(go, 0, 0)
            let worker = Worker(client: BlockingClient(port: port), go: go, done: done)
            var thread = pthread_t()
            let rc = pthread_create(
                &thread, nil,
                { raw in
                    Unmanaged<Worker>.fromOpaque(raw!).takeRetainedValue().run()
                    return nil
                }, Unmanaged.passRetained(worker).toOpaque())
            precondition(rc == 0, "pthread_create failed: \(rc)")
            workers.append(worker)
            threads.append(thread)
        }
    }

    /// Every thread runs `invokes` invokes on its connection; returns once all are answered.
    func round(invokesEach invokes: Int) {
        for worker in workers {
            worker.invokes = invokes
            sem_post(worker.go)
        }
        for _ in workers { while sem_wait(done) != 0 {} }
    }

    /// Non-200 answers so far.
    var failures: Int { workers.reduce(0) { $0 + $1.failures } }

    func stop() {
        for worker in workers {
            worker.stopping = true
            sem_post(worker.go)
        }
        for thread in threads { pthread_join(thread, nil) }
        for worker in workers {
            sem_destroy(worker.go)
            worker.go.deallocate()
        }
        workers = []
        threads = []
        sem_destroy(done)
        done.deallocate()
    }
}

final class ThroughputFixture: @unchecked Sendable {
    var simulator: Simulator?
    var clients: ClientThreads?
    var sandboxesBefore = 0
}

let clientCount = 100
/// Invokes per iteration, as many as `scalingFactor: .kilo` counts.
let invokesPerIteration = 1_000
/// Invokes per second of each iteration, exactly (`.throughput` reads in whole K).
let invokesPerSecond = BenchmarkMetric.custom("Invokes/s", polarity: .prefersLarger, useScalingFactor: false)

func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 1, scalingFactor: .one,
        maxDuration: .seconds(5), maxIterations: 50)

    // Scale-out: from `Simulator.start` until every provisioned sandbox has initialised; `stop` is not timed.
    for (size, iterations, seconds) in [(10, 50, 5), (100, 20, 15), (1_000, 5, 60)] {
        Benchmark(
            "Orchestrator:ScaleOut/\(size)",
            configuration: .init(maxDuration: .seconds(seconds), maxIterations: iterations)
        ) { benchmark in
            benchmark.startMeasurement()
            let simulator = try await Simulator.start(
                functions: [fixtureFunction(provisioned: size, freeze: .signal)], port: 0,
                account: .init(concurrency: max(size, 1_000), scalingRate: nil))
            while try await !simulator.isReady() { try await Task.sleep(nanoseconds: 1_000_000) }
            benchmark.stopMeasurement()
            await simulator.stop()
        }
    }

    // Throughput: `clientCount` keep-alive clients, each on its own thread, invoking warm sandboxes. One
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
                    let clients = ClientThreads(count: clientCount, port: simulator.port)
                    fixture.clients = clients
                    // A sandbox is free again only at the runtime's next `/next`, after its client has the
                    // answer, so with as many provisioned sandboxes as clients new invokes still land in cold
                    // sandboxes now and then (100 grew to ~150 in 30,000 invokes): twice as many stay warm.
                    // Invoke until the pool stops growing anyway; teardown prints whether it grew after.
                    var count = try await simulator.sandboxes().count
                    var stableRounds = 0
                    for _ in 0..<50 where stableRounds < 3 {
                        clients.round(invokesEach: invokesPerIteration / clientCount)
                        let now = try await simulator.sandboxes().count
                        stableRounds = now == count ? stableRounds + 1 : 0
                        count = now
                    }
                    fixture.sandboxesBefore = count
                },
                teardown: {
                    let failures = fixture.clients?.failures ?? 0
                    fixture.clients?.stop()
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
            let start = monotonicNanoseconds()
            fixture.clients!.round(invokesEach: benchmark.scaledIterations.count / clientCount)
            let elapsed = monotonicNanoseconds() - start
            benchmark.measurement(
                invokesPerSecond, Int(UInt64(benchmark.scaledIterations.count) * 1_000_000_000 / elapsed))
        }
    }
}
