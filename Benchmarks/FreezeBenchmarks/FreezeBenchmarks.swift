import Benchmark
import SimCore
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
                Benchmark(
                    "Freeze:\(name)/\(direction)/\(size)",
                    configuration: .init(
                        setup: {
                            let set = ProcessSet(count: size)
                            fixture.set = set
                            if mode == .cgroup {
                                let cgroup = try SandboxCgroup(
                                    name: "\(getpid())-bench", memoryMB: 1024, cpuScaling: false)
                                for pid in set.pids { try cgroup.add(pid: pid) }
                                fixture.cgroup = cgroup
                            }
                            fixture.freezer = Freezer(mode: mode, loop: loop, cgroup: fixture.cgroup)
                        },
                        teardown: {
                            fixture.set?.stop()
                            fixture.cgroup?.remove()
                        })
                ) { benchmark in
                    let set = fixture.set!
                    let freezer = fixture.freezer!
                    if direction == "thaw" { freezer.freeze(groups: [set.group], members: set.pids) }
                    benchmark.startMeasurement()
                    if direction == "freeze" {
                        freezer.freeze(groups: [set.group], members: set.pids)
                    } else {
                        freezer.thaw()
                    }
                    benchmark.stopMeasurement()
                    if direction == "freeze" { freezer.thaw() }
                }
            }
        }
    }
}
