// The cgroup freeze mode (cgroup v1 here): the sandbox's cgroups and their limits, the out-of-memory kill,
// Max Memory Used in the REPORT line, and the clean-up of cgroups a killed simulator left behind.
// Cases run one at a time (`.serialized`): each starts runtimes or simulators, and together they would crowd
// the CPUs the other suites' timing-sensitive tests share.

import Foundation
import LambdaSim
import Testing

@Suite("Freeze: cgroups", .serialized)
struct FreezeCgroupTests {
    /// A cgroup-mode sandbox has freezer, memory and pids cgroups `<pid>-<sandbox id>` holding its processes: FROZEN
    /// between invokes, memory.limit_in_bytes of MemorySize MiB, pids.max 1024; stop() removes them.
    @Test(.timeLimit(.minutes(1)))
    func cgroupLimitsAndRemoval() async throws {
        var directories: [String] = []
        try await withFreezeSimulator([TestFunctions.freezeFixture(freeze: .cgroup, memorySizeMB: 256)]) { sim in
            let response = try await sim.invoke("fn", payload: #"{"forkSleep":60000}"#)
            #expect(response.status == 200 && !response.headers.contains("X-Amz-Function-Error"))
            let sandbox = try #require(try await sim.simulator.sandboxes().first)
            let name = FreezePaths.cgroupName(sandbox: sandbox.id)
            let freezer = FreezePaths.freezer(name: name)
            let memory = FreezePaths.cgroup("memory", name: name)
            let pids = FreezePaths.cgroup("pids", name: name)
            directories = [freezer, memory, pids]

            let frozen = try await eventually { FreezePaths.isFrozen(freezer) }
            #expect(frozen, "\(freezer) not frozen")
            #expect(try await sim.simulator.sandboxes().map(\.frozen) == [true])
            #expect(ProcProbe.read(memory + "/memory.limit_in_bytes") == String(256 * 1_048_576))
            #expect(ProcProbe.read(pids + "/pids.max") == "1024")
            let members = Set((ProcProbe.read(freezer + "/cgroup.procs") ?? "").split(separator: "\n").map(String.init))
            #expect(sandbox.pids.count >= 2 && sandbox.pids.allSatisfy { members.contains(String($0)) })
        }
        #expect(directories.count == 3)
        let left = directories.filter { access($0, F_OK) == 0 }
        #expect(left.isEmpty, "cgroups left after stop(): \(left)")
    }

    /// A handler allocating 300 MB under a 128 MB limit is OOM-killed: Unhandled, errorType Runtime.OutOfMemory, and
    /// the REPORT line carries `Status: error` and `Error Type: Runtime.OutOfMemory`.
    @Test(.timeLimit(.minutes(1)))
    func outOfMemory() async throws {
        let function = TestFunctions.freezePython("freeze_memory.allocate", freeze: .cgroup, memorySizeMB: 128)
        try await withFreezeSimulator([function]) { sim in
            let response = try await sim.invoke("py", payload: #"{"mb":300}"#)
            #expect(response.status == 200)
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            let body = try jsonObject(response.body)
            #expect(body["errorType"] as? String == "Runtime.OutOfMemory", "\(text(response))")
            let id = try #require(response.headers["x-amzn-RequestId"])
            let report = await sim.logs.report(for: id)
            #expect(
                report?.contains("\tStatus: error\tError Type: Runtime.OutOfMemory") == true,
                "\(report ?? "no REPORT")")
        }
    }

    /// Allocating and touching 200 MiB raises REPORT's Max Memory Used by 200 MB ± 10 % over a no-op invoke's, from
    /// the process tree's peak RSS (signal) and from the cgroup's peak (cgroup).
    @Test(.timeLimit(.minutes(1)), arguments: [FreezeMode.signal, .cgroup])
    func maxMemoryUsed(mode: FreezeMode) async throws {
        let function = TestFunctions.freezePython("freeze_memory.allocate", freeze: mode, memorySizeMB: 1024)
        try await withFreezeSimulator([function]) { sim in
            let baseline = try await Self.maxMemoryUsed(sim, payload: #"{"mb":0}"#)
            let peak = try await Self.maxMemoryUsed(sim, payload: #"{"mb":200}"#)
            #expect((180...220).contains(peak - baseline), "baseline \(baseline) MB, after 200 MiB \(peak) MB")
        }
    }

    /// A `lambda-sim run --freeze cgroup` killed with SIGKILL leaves its frozen runtime in a cgroup; the next
    /// simulator started in cgroup mode removes that cgroup and its processes die.
    @Test(.timeLimit(.minutes(1)))
    func staleCgroupRemovedAfterRestart() async throws {
        let (process, port) = try await BackgroundProcess.lambdaSim(
            freeze: .cgroup, command: [TestPaths.fixtureRuntime])
        var stale: [String] = []
        var pids: [Int32] = []
        do {
            let response = try await FreezeCommandTests.invoke(port: port, payload: #"{"forkSleep":60000}"#)
            #expect(response.status == 200 && !response.headers.contains("X-Amz-Function-Error"))
            var freezer: String?
            let frozen = try await eventually {
                freezer = Self.cgroups(of: process.pid, controller: "freezer").first
                return freezer.map(FreezePaths.isFrozen) == true
            }
            #expect(frozen, "no FROZEN cgroup of \(process.pid): \(String(describing: freezer))")
            pids = (freezer.flatMap { ProcProbe.read($0 + "/cgroup.procs") } ?? "").split(separator: "\n").compactMap {
                Int32($0)
            }
            #expect(pids.count >= 2, "runtime and its forked child: \(pids)")
            stale = ["freezer", "memory", "pids"].flatMap { Self.cgroups(of: process.pid, controller: $0) }
            process.signal(SIGKILL)
            // Checked at once: another test's cgroup simulator may clean up as soon as the pid is reaped.
            #expect(stale.count == 3 && stale.allSatisfy { access($0, F_OK) == 0 }, "\(stale)")
            #expect(freezer.map(FreezePaths.isFrozen) == true)
            #expect(try await process.waitForExit() == .signaled(SIGKILL))
        } catch {
            process.signal(SIGKILL)
            throw error
        }
        try await withFreezeSimulator([TestFunctions.freezeFixture(freeze: .cgroup)]) { _ in
            let left = stale.filter { access($0, F_OK) == 0 }
            #expect(left.isEmpty, "stale cgroups still present: \(left)")
        }
        let alive = try await ProcProbe.waitUntilGone(pids)
        #expect(alive.isEmpty, "processes of the stale cgroup still present: \(alive.map(ProcProbe.describe))")
    }

    /// Several cgroup-mode simulators started at once in one process all start (each probes the hierarchy on its
    /// own) and serve an invoke.
    @Test(
        .timeLimit(.minutes(1)))
    func concurrentStarts() async throws {
        for _ in 0..<5 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await withSimulator([TestFunctions.freezeFixture(freeze: .cgroup)]) { sim in
                            let response = try await sim.invoke("fn", payload: #"{"ok":true}"#)
                            #expect(response.status == 200 && text(response) == #"{"ok":true}"#)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// Invokes with `payload` and returns the REPORT's Max Memory Used in MB.
    static func maxMemoryUsed(_ sim: SimHarness, payload: String) async throws -> Int {
        let response = try await sim.invoke("py", payload: payload)
        #expect(response.status == 200 && !response.headers.contains("X-Amz-Function-Error"), "\(text(response))")
        let id = try #require(response.headers["x-amzn-RequestId"])
        let report = try #require(await sim.logs.report(for: id))
        let match = try #require(report.firstMatch(of: #/\tMax Memory Used: (\d+) MB\t/#), "\(report)")
        return try #require(Int(match.1))
    }

    /// The cgroup directories for `controller` that a simulator with pid `owner` created (for `freezer`, the
    /// unified hierarchy's when lambda-sim froze there).
    static func cgroups(of owner: Int32, controller: String) -> [String] {
        var parent = "/sys/fs/cgroup/\(controller)/lambda-sim"
        if controller == "freezer", access("\(FreezePaths.unified)/lambda-sim", F_OK) == 0 {
            parent = "\(FreezePaths.unified)/lambda-sim"
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        return names.filter { $0.hasPrefix("\(owner)-") }.map { parent + "/" + $0 }
    }
}
