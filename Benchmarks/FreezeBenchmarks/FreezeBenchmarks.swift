import Benchmark
import SimCore
import SimDomain
import SimSandbox
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// `count` sleeping processes, children of this benchmark, all in one new process group.
final class ProcessSet: @unchecked Sendable {
    let pids: [pid_t]
    var group: pid_t { pids[0] }

    init(count: Int) {
        var pids: [pid_t] = []
        for _ in 0..<count {
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
            posix_spawnattr_setpgroup(&attributes, pids.first ?? 0)
            var argv: [UnsafeMutablePointer<CChar>?] = [strdup("sleep"), strdup("100000"), nil]
            var envp: [UnsafeMutablePointer<CChar>?] = [nil]
            var pid: pid_t = 0
            let rc = posix_spawn(&pid, "/bin/sleep", nil, &attributes, &argv, &envp)
            precondition(rc == 0, "posix_spawn failed: \(rc)")
            for pointer in argv { free(pointer) }
            posix_spawnattr_destroy(&attributes)
            pids.append(pid)
        }
        self.pids = pids
    }

    func stop() {
        kill(-group, SIGCONT)
        kill(-group, SIGKILL)
        for pid in pids {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

/// The floor: `kill()` of the group and `waitid` on every member, without lambda-sim.
enum RawKill {
    static func freeze(_ set: ProcessSet) {
        kill(-set.group, SIGSTOP)
        for pid in set.pids { wait(pid, WSTOPPED) }
    }

    static func thaw(_ set: ProcessSet) {
        kill(-set.group, SIGCONT)
        for pid in set.pids { wait(pid, WCONTINUED) }
    }

    private static func wait(_ pid: pid_t, _ options: Int32) {
        var info = siginfo_t()
        waitid(P_PID, id_t(pid), &info, options)
    }
}

/// State shared by one benchmark's setup, body and teardown.
final class FreezeFixture: @unchecked Sendable {
    var set: ProcessSet?
    var freezer: Freezer?
    var cgroup: SandboxCgroup?
}

/// Hands a value from the loop thread back to the benchmark.
final class TransitionBox: @unchecked Sendable {
    var continuation: CheckedContinuation<UInt64, Never>?
}

/// Runs a freeze (or thaw) on the loop and returns the latency the freezer confirmed it with, in nanoseconds:
/// from the request to the first check that saw every member stopped (running), as a sandbox measures it.
func transition(_ fixture: FreezeFixture, thaw: Bool) async -> UInt64 {
    let box = TransitionBox()
    return await withCheckedContinuation { continuation in
        box.continuation = continuation
        loop.submit {
            let freezer = fixture.freezer!
            let set = fixture.set!
            freezer.onTransition = { transition in
                let latency: UInt64? =
                    switch transition {
                    case .frozen(let nanoseconds), .thawed(let nanoseconds): nanoseconds
                    case .skipped: nil
                    }
                box.continuation?.resume(returning: latency ?? 0)
                box.continuation = nil
            }
            if thaw {
                freezer.thaw()
            } else {
                freezer.freeze(groups: [set.group], members: set.pids, directChildren: set.pids)
            }
        }
    }
}

/// The latency a freezer confirmed, per transition.
let confirmed = BenchmarkMetric.custom("Confirmed (ns)", polarity: .prefersSmaller, useScalingFactor: false)

let loop = try! EventLoop()
let sizes = [1, 4, 16]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock], timeUnits: .microseconds, warmupIterations: 20, scalingFactor: .one,
        maxDuration: .seconds(2), maxIterations: 5_000)

    for size in sizes {
        for direction in ["freeze", "thaw"] {
            let raw = FreezeFixture()
            Benchmark(
                "Freeze:RawKill/\(direction)/\(size)",
                configuration: .init(
                    setup: { raw.set = ProcessSet(count: size) }, teardown: { raw.set?.stop() })
            ) { benchmark in
                let set = raw.set!
                if direction == "thaw" { RawKill.freeze(set) }
                benchmark.startMeasurement()
                if direction == "freeze" { RawKill.freeze(set) } else { RawKill.thaw(set) }
                benchmark.stopMeasurement()
                if direction == "freeze" { RawKill.thaw(set) }
            }

            for mode in [FreezeMode.signal, .cgroup] {
                let fixture = FreezeFixture()
                let name = mode == .signal ? "Signal" : "Cgroup"
                // The wall clock includes two hops to and from the loop thread; `Confirmed` is the freezer's own
                // figure, the one compared with the floor.
                Benchmark(
                    "Freeze:\(name)/\(direction)/\(size)",
                    configuration: .init(
                        metrics: [.wallClock, confirmed],
                        setup: {
                            let set = ProcessSet(count: size)
                            fixture.set = set
                            if mode == .cgroup {
                                let cgroup = try SandboxCgroup(
                                    name: "\(getpid())-bench", memoryMB: 1024, cpuScaling: false)
                                for pid in set.pids { cgroup.adopt(pid) }
                                fixture.cgroup = cgroup
                            }
                            fixture.freezer = Freezer(mode: mode, loop: loop, cgroup: fixture.cgroup)
                        },
                        teardown: {
                            fixture.set?.stop()
                            fixture.cgroup?.remove()
                        })
                ) { benchmark in
                    if direction == "thaw" { _ = await transition(fixture, thaw: false) }
                    benchmark.startMeasurement()
                    let latency = await transition(fixture, thaw: direction == "thaw")
                    benchmark.stopMeasurement()
                    benchmark.measurement(confirmed, Int(latency))
                    if direction == "freeze" { _ = await transition(fixture, thaw: true) }
                }
            }
        }
    }
}
