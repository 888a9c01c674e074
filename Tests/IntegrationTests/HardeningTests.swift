// The simulator under abuse, run as a user runs it (the CLI, real sockets, real runtimes): stalled connections
// and descriptor exhaustion (issue 12, finding 4).

import Foundation
import LambdaSim
import SimHTTP
import SimUV
import Synchronization
import Testing

@Suite("hardening", .serialized)
struct HardeningTests {
    /// A TCP connection to 127.0.0.1:`port` made with plain sockets, or -1.
    private func connectRaw(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    /// User plus system CPU time of `pid`, in clock ticks.
    private func cpuTicks(_ pid: Int32) -> Int? {
        guard let stat = ProcProbe.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// Slowloris against a simulator allowed only 200 descriptors: 400 connections that send half a header
    /// section and stall. Real invokes still succeed while they are open (stalled connections make way), the
    /// simulator does not spin on the exhausted descriptors, and the stalled connections get 408 at the header
    /// timeout.
    @Test(.timeLimit(.minutes(1)))
    func stalledConnectionsCannotLockInvokesOut() async throws {
        let process = try await BackgroundProcess.start(
            [
                "/usr/bin/prlimit", "--nofile=200:200", FreezePaths.lambdaSim, "run", "--port", "0", "--freeze",
                "none", "--", TestPaths.fixtureRuntime,
            ])
        defer { process.signal(SIGKILL) }
        let port = try await process.frontPort()

        var stalled: [Int32] = []
        defer { for fd in stalled { close(fd) } }
        let partial = Array("POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: x\r\n".utf8)
        for _ in 0..<400 {
            let fd = connectRaw(port: port)
            guard fd >= 0 else { continue }
            _ = partial.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            stalled.append(fd)
        }
        #expect(stalled.count > 300)

        for attempt in 0..<3 {
            let response = try await HTTPClient.request(
                loop: ClientLoop.shared, host: "127.0.0.1", port: port,
                HTTPRequest(
                    method: "POST", target: "/2015-03-31/functions/function/invocations",
                    body: Array("{\"attempt\":\(attempt)}".utf8)))
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == "{\"attempt\":\(attempt)}")
        }

        let before = try #require(cpuTicks(process.pid))
        try await Task.sleep(for: .seconds(1))
        let after = try #require(cpuTicks(process.pid))
        #expect(after - before < 30, "the simulator used \(after - before) ticks in 1 s with stalled connections")
        #expect(process.status == nil)

        // The most recent stalled connections are still open; each is answered 408 at the 10 s header timeout.
        let last = try #require(stalled.last)
        var poll = pollfd(fd: last, events: Int16(POLLIN), revents: 0)
        #expect(Glibc.poll(&poll, 1, 15_000) == 1)
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = recv(last, &buffer, buffer.count, 0)
        #expect(String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).hasPrefix("HTTP/1.1 408 "))
    }

    /// One sandbox whose function logs 200 KB per invoke: after warm-up the simulator's memory stays flat over
    /// 400 more invokes (80 MB of log lines), since nothing keeps events by count (issue 12, finding 5).
    @Test(.timeLimit(.minutes(2)))
    func largeLogLinesDoNotAccumulate() async throws {
        // The simulator prints every log line; grep passes on only the banner, so the test keeps none of it.
        let process = try await BackgroundProcess.start(
            [
                "/bin/bash", "-c", #"exec "$@" > >(exec grep --line-buffered 'Invoke API listening')"#, "bash",
                FreezePaths.lambdaSim, "run", "--port", "0", "--freeze", "signal", "--", TestPaths.fixtureRuntime,
            ])
        defer { process.signal(SIGKILL) }
        let port = try await process.frontPort()
        let payload = Array("{\"print\":\"\(String(repeating: "x", count: 200 * 1024))\"}".utf8)
        let request = HTTPRequest(
            method: "POST", target: "/2015-03-31/functions/function/invocations", body: payload)
        func invoke(_ count: Int) async throws {
            for _ in 0..<count {
                let response = try await HTTPClient.request(
                    loop: ClientLoop.shared, host: "127.0.0.1", port: port, request)
                #expect(response.status == 200)
            }
        }
        try await invoke(50)
        let warm = try #require(ProcProbe.residentBytes(process.pid))
        try await invoke(400)
        let after = try #require(ProcProbe.residentBytes(process.pid))
        #expect(after - warm < 32 * 1024 * 1024, "RSS grew from \(warm >> 20) MiB to \(after >> 20) MiB")
    }

    /// Starts `lambda-sim run --freeze MODE` with the fixture, has the runtime fork one child in its group and one
    /// in a session of its own, waits for the sandbox to be held still, and returns the simulator, its guardian and
    /// every other process it started.
    private func simulatorWithChildren(_ mode: FreezeMode) async throws
        -> (simulator: BackgroundProcess, guardian: Int32?, started: [Int32], port: Int)
    {
        let (process, port) = try await BackgroundProcess.lambdaSim(freeze: mode, command: [TestPaths.fixtureRuntime])
        let response = try await HTTPClient.request(
            loop: ClientLoop.shared, host: "127.0.0.1", port: port,
            HTTPRequest(
                method: "POST", target: "/2015-03-31/functions/function/invocations",
                body: Array(#"{"forkSleep":60000,"setsidSleep":60000}"#.utf8)))
        #expect(response.status == 200)
        let guardian = ProcProbe.children(of: process.pid).first {
            ProcProbe.read("/proc/\($0)/comm") == "sim-guardian"
        }
        var started: [Int32] = []
        _ = try await eventually {
            started = ProcProbe.descendants(of: process.pid)
            return started.count >= 3
        }
        #expect(started.count >= 3, "runtime and two children: \(started)")
        if mode == .signal {
            let stopped = try await eventually { started.allSatisfy { ProcProbe.state($0) == "T" } }
            #expect(stopped, "\(started.map(ProcProbe.describe))")
        } else if mode == .cgroup {
            try await Task.sleep(for: .milliseconds(200))
        }
        return (process, guardian, started, port)
    }

    /// The cgroup directories named after `pid` (a simulator's), in every hierarchy.
    private func cgroups(of pid: Int32) -> [String] {
        ["freezer", "memory", "pids", "cpu"].map { "/sys/fs/cgroup/\($0)/lambda-sim" }
            .flatMap { parent in
                ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [])
                    .filter { $0.hasPrefix("\(pid)-") }.map { parent + "/" + $0 }
            }
    }

    /// `kill -9` of the simulator, with a frozen sandbox whose runtime forked a child in its group and one that
    /// called `setsid`: within about a second nothing it started is left running or stopped, in every freeze mode,
    /// and its cgroups, guardian and state directory (table, output files) are gone (issue 12, finding 3; issue 20,
    /// finding 10).
    @Test(.timeLimit(.minutes(1)), arguments: FreezeMode.allCases)
    func killedSimulatorLeavesNothing(mode: FreezeMode) async throws {
        let (simulator, guardian, started, _) = try await simulatorWithChildren(mode)
        #expect(guardian != nil, "no guardian process")
        let state = "\(try #require(StateDirectory.root))/\(simulator.pid)"
        let table = state + "/guard"
        #expect(FileManager.default.fileExists(atPath: table))
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state)) ?? []
        #expect(names.contains { $0.hasPrefix("output-") }, "no output directory in \(state): \(names)")
        simulator.signal(SIGKILL)
        let clock = ContinuousClock()
        let start = clock.now
        let left = try await ProcProbe.waitUntilGone(
            started + [guardian ?? 0].filter { $0 > 0 }, timeout: .seconds(5), zombiesAreGone: true)
        let elapsed = clock.now - start
        #expect(left.isEmpty, "left behind: \(left.map(ProcProbe.describe))")
        #expect(elapsed < .milliseconds(1500), "cleaning up took \(elapsed)")
        #expect(try await eventually(timeout: .seconds(3)) { cgroups(of: simulator.pid).isEmpty })
        #expect(try await eventually(timeout: .seconds(3)) { !FileManager.default.fileExists(atPath: state) })
    }

    /// When the guardian dies with the simulator (`kill -9` of both), what was left stopped is killed by the next
    /// simulator that starts, from the dead one's table file.
    @Test(.timeLimit(.minutes(1)))
    func restartCleansUpWhatADeadSimulatorLeft() async throws {
        let (simulator, guardian, started, _) = try await simulatorWithChildren(.signal)
        let guardianPID = try #require(guardian)
        kill(guardianPID, SIGKILL)
        _ = try await ProcProbe.waitUntilGone([guardianPID], timeout: .seconds(5), zombiesAreGone: true)
        simulator.signal(SIGKILL)
        _ = try await simulator.waitForExit()
        try await Task.sleep(for: .milliseconds(300))
        let stranded = started.filter { ProcProbe.state($0) == "T" }
        #expect(!stranded.isEmpty, "without a guardian the stopped processes stay: \(started.map(ProcProbe.describe))")

        let (next, _) = try await BackgroundProcess.lambdaSim(freeze: .signal, command: [TestPaths.fixtureRuntime])
        defer { next.signal(SIGTERM) }
        let left = try await ProcProbe.waitUntilGone(started, timeout: .seconds(5), zombiesAreGone: true)
        #expect(left.isEmpty, "left behind after a restart: \(left.map(ProcProbe.describe))")
        #expect(!FileManager.default.fileExists(atPath: "\(try #require(StateDirectory.root))/\(simulator.pid)"))
    }

    /// When a cgroup-mode simulator and its guardian are both killed, the next simulator removes the dead one's
    /// cgroups and state directory even when it does not use cgroups itself (issue 20, finding 10).
    @Test(.timeLimit(.minutes(1)))
    func restartInAnyModeRemovesDeadCgroups() async throws {
        let (simulator, guardian, started, _) = try await simulatorWithChildren(.cgroup)
        let guardianPID = try #require(guardian)
        kill(guardianPID, SIGKILL)
        _ = try await ProcProbe.waitUntilGone([guardianPID], timeout: .seconds(5), zombiesAreGone: true)
        simulator.signal(SIGKILL)
        _ = try await simulator.waitForExit()
        #expect(!cgroups(of: simulator.pid).isEmpty, "the dead simulator left no cgroup to remove")
        let state = "\(try #require(StateDirectory.root))/\(simulator.pid)"
        #expect(FileManager.default.fileExists(atPath: state))

        let (next, _) = try await BackgroundProcess.lambdaSim(freeze: .none, command: [TestPaths.fixtureRuntime])
        defer { next.signal(SIGTERM) }
        let left = try await ProcProbe.waitUntilGone(started, timeout: .seconds(5), zombiesAreGone: true)
        #expect(left.isEmpty, "left behind after a restart: \(left.map(ProcProbe.describe))")
        #expect(try await eventually(timeout: .seconds(3)) { cgroups(of: simulator.pid).isEmpty })
        #expect(!FileManager.default.fileExists(atPath: state))
    }

    /// A managed instance's worker processes die with a killed simulator too, and its guardian removes the per-worker
    /// log socket with the simulator's state directory.
    @Test(.timeLimit(.minutes(1)))
    func killedManagedInstanceLeavesNothing() async throws {
        let (simulator, port) = try await BackgroundProcess.lambdaSim(
            freeze: .none, extra: ["--per-environment-max-concurrency", "3", "--code-dir", TestPaths.pythonFixtures],
            command: [TestPaths.python, "-m", "awslambdaric", "managed.work"])
        let response = try await HTTPClient.request(
            loop: ClientLoop.shared, host: "127.0.0.1", port: port,
            HTTPRequest(method: "POST", target: "/2015-03-31/functions/function/invocations", body: Array("{}".utf8)))
        #expect(response.status == 200)
        var pids: [Int32] = []
        #expect(
            try await eventually {
                let status = try await HTTPClient.request(
                    loop: ClientLoop.shared, host: "127.0.0.1", port: port,
                    HTTPRequest(method: "GET", target: "/_sim/sandboxes"))
                let sandboxes = try #require(try jsonObject(status.body)["sandboxes"] as? [[String: Any]])
                pids = (sandboxes.first?["pids"] as? [Int])?.map { Int32($0) } ?? []
                return pids.count == 4
            })
        let state = "\(try #require(StateDirectory.root))/\(simulator.pid)"
        let sockets = {
            ((try? FileManager.default.contentsOfDirectory(atPath: state)) ?? []).filter { $0.hasSuffix(".sock") }
        }
        #expect(sockets().count == 1)
        simulator.signal(SIGKILL)
        let left = try await ProcProbe.waitUntilGone(pids, timeout: .seconds(5), zombiesAreGone: true)
        #expect(left.isEmpty, "left behind: \(left.map(ProcProbe.describe))")
        #expect(try await eventually(timeout: .seconds(3)) { !FileManager.default.fileExists(atPath: state) })
    }

    /// Chaos, bounded: 400 invokes from 8 callers against a function with 4 sandboxes (cgroup mode, each runtime
    /// forking a child) while one of their processes is SIGKILLed every 25 ms. Every invoke gets an answer (its own payload, or
    /// the crash reported as a function error), and after a clean stop no process it started and no cgroup is left.
    @Test(.timeLimit(.minutes(2)))
    func killsDuringLoadThenACleanStop() async throws {
        var function = TestFunctions.freezeFixture(freeze: .cgroup)
        function.reservedConcurrency = 4
        let tally = ChaosTally()
        try await withFreezeSimulator([function], account: .init(concurrency: 10)) { sim in
            let killer = Task {
                while !Task.isCancelled {
                    let pids = (try? await sim.simulator.sandboxes().flatMap(\.pids)) ?? []
                    tally.seen.withLock { $0.formUnion(pids) }
                    if let victim = pids.randomElement(), kill(victim, SIGKILL) == 0 {
                        tally.kills.withLock { $0 += 1 }
                    }
                    try? await Task.sleep(for: .milliseconds(25))
                }
            }
            /// Its own payload, a crash reported as a function error, or a throttle while sandboxes restart: an
            /// answer either way.
            @Sendable func answered(_ payload: String) async -> Int? {
                guard let response = try? await sim.invoke("fn", payload: payload) else { return nil }
                let body = String(decoding: response.body, as: UTF8.self)
                let ok =
                    (response.status == 200
                        && (body == payload || response.headers.contains("X-Amz-Function-Error")))
                    || response.status == 429
                return ok ? response.status : nil
            }
            let deadline = ContinuousClock.now + .seconds(30)
            await withTaskGroup(of: Void.self) { group in
                for caller in 0..<8 {
                    group.addTask {
                        for index in stride(from: caller, to: 400, by: 8) {
                            let payload = #"{"n":\#(index),"forkSleep":60000,"sleepMs":5}"#
                            if let status = await answered(payload) { tally.answered.withLock { $0[index] = status } }
                        }
                        // A fast machine answers the 400 before the killer has had its turns: the load goes on
                        // (each answer still checked) until it has killed enough.
                        var extra = 400 + caller
                        while tally.kills.withLock({ $0 }) < 10 && ContinuousClock.now < deadline {
                            let payload = #"{"n":\#(extra),"forkSleep":60000,"sleepMs":5}"#
                            if await answered(payload) == nil { tally.badExtras.withLock { $0 += 1 } }
                            extra += 8
                        }
                    }
                }
            }
            killer.cancel()
            _ = await killer.result
            let last = (try? await sim.simulator.sandboxes().flatMap(\.pids)) ?? []
            tally.seen.withLock { $0.formUnion(last) }
        }
        let answers = tally.answered.withLock { $0.count }
        let kills = tally.kills.withLock { $0 }
        #expect(answers == 400, "\(400 - answers) invokes without a proper answer")
        #expect(tally.badExtras.withLock { $0 } == 0, "invokes after the first 400 without a proper answer")
        #expect(kills >= 10, "only \(kills) kills")
        let pids = Array(tally.seen.withLock { $0 })
        #expect(pids.count > 4, "the killer saw only \(pids.count) processes")
        let left = try await ProcProbe.waitUntilGone(pids, timeout: .seconds(5), zombiesAreGone: true)
        #expect(left.isEmpty, "left after stop: \(left.map(ProcProbe.describe))")
        #expect(cgroups(of: getpid()).isEmpty, "cgroups left: \(cgroups(of: getpid()))")
    }
}

/// What the chaos test's tasks record.
private final class ChaosTally: Sendable {
    /// Every sandbox pid seen.
    let seen = Mutex<Set<Int32>>([])
    /// The status of each invoke that got a proper answer, by index.
    let answered = Mutex<[Int: Int]>([:])
    /// Processes killed.
    let kills = Mutex(0)
    /// Invokes beyond the first 400 that got no proper answer.
    let badExtras = Mutex(0)
}
