// Max Memory Used and the memory limit from a runtime's first instruction, in every freeze mode (issue 9):
// memory touched before the first Runtime API call is reported and, in `cgroup` mode, limited; the simulator's
// own threads never stay in a sandbox's cgroup.

import Foundation
import LambdaSim
import Testing

@Suite("Memory accounting", .serialized)
struct MemoryAccountingTests {
    /// The fixture with `FIXTURE_TOUCH_MB_AT_INIT=megabytes`, frozen with `mode`.
    private func touching(_ megabytes: Int, mode: FreezeMode, memorySizeMB: Int) -> FunctionOptions {
        var function = TestFunctions.freezeFixture(freeze: mode, memorySizeMB: memorySizeMB)
        function.environment = [("FIXTURE_TOUCH_MB_AT_INIT", String(megabytes))]
        return function
    }

    /// The REPORT line of an invoke answered 200 without a function error.
    private func report(_ sim: SimHarness) async throws -> String {
        let response = try await sim.invoke("fn", payload: #"{"ok":1}"#)
        #expect(response.status == 200 && !response.headers.contains("X-Amz-Function-Error"), "\(text(response))")
        let id = try #require(response.headers["x-amzn-RequestId"])
        return try #require(await sim.logs.report(for: id))
    }

    private func maxMemoryUsed(_ report: String) throws -> Int {
        let match = try #require(report.firstMatch(of: #/\tMax Memory Used: (\d+) MB\t/#), "\(report)")
        return try #require(Int(match.1))
    }

    /// 64 MiB written before the runtime's first `/next` appear in REPORT's Max Memory Used, in every mode.
    @Test(.timeLimit(.minutes(1)), arguments: [FreezeMode.none, .signal, .cgroup])
    func memoryTouchedAtStart(mode: FreezeMode) async throws {
        try await withFreezeSimulator([touching(64, mode: mode, memorySizeMB: 512)]) { sim in
            let used = try maxMemoryUsed(try await report(sim))
            #expect(used >= 64, "Max Memory Used \(used) MB after 64 MiB touched at start (\(mode))")
        }
    }

    /// A warm invoke that touches 64 MiB and frees them again right after short invokes shows the peak in its own
    /// REPORT: the runtime's CPU time since the last reading, not the recency of that reading, decides, in every
    /// mode.
    @Test(.timeLimit(.minutes(1)), arguments: [FreezeMode.none, .signal, .cgroup])
    func peakOfAWarmInvokeInItsOwnReport(mode: FreezeMode) async throws {
        try await withFreezeSimulator([TestFunctions.freezeFixture(freeze: mode, memorySizeMB: 512)]) { sim in
            var before = 0
            for _ in 0..<5 { before = try maxMemoryUsed(try await report(sim)) }
            let response = try await sim.invoke("fn", payload: #"{"touchMB":64}"#)
            #expect(response.status == 200, "\(text(response))")
            let id = try #require(response.headers["x-amzn-RequestId"])
            let used = try maxMemoryUsed(try #require(await sim.logs.report(for: id)))
            #expect(
                used >= before + 60, "Max Memory Used \(used) MB after 64 MiB touched; \(before) MB before (\(mode))")
        }
    }

    /// In `cgroup` mode REPORT also counts the runtime's file-backed pages (its binary and libraries), which the
    /// page cache charges to whichever cgroup read them first: Max Memory Used is at least the runtime's own
    /// peak RSS (VmHWM).
    @Test(.timeLimit(.minutes(1)))
    func cgroupCountsResidentFilePages() async throws {
        try await withFreezeSimulator([TestFunctions.freezeFixture(freeze: .cgroup, memorySizeMB: 256)]) { sim in
            let used = try maxMemoryUsed(try await report(sim))
            let sandbox = try #require(try await sim.simulator.sandboxes().first)
            let runtime = try #require(sandbox.pids.first)
            let status = try #require(ProcProbe.read("/proc/\(runtime)/status"))
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
            let kiB = try #require(Int(line.split(separator: " ").dropFirst().first ?? ""))
            #expect(used >= (kiB + 1023) / 1024, "Max Memory Used \(used) MB, runtime VmHWM \(kiB) kB")
        }
    }

    /// Writing 200 MiB at start under a 128 MB limit is an out-of-memory kill in `cgroup` mode: the init fails,
    /// its retry inside the invoke fails the same way, and the caller gets Runtime.OutOfMemory.
    @Test(.timeLimit(.minutes(1)))
    func outOfMemoryAtStart() async throws {
        try await withFreezeSimulator([touching(200, mode: .cgroup, memorySizeMB: 128)]) { sim in
            let response = try await sim.invoke("fn", payload: "{}")
            #expect(response.status == 200)
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(try jsonObject(response.body)["errorType"] as? String == "Runtime.OutOfMemory", "\(text(response))")
            let id = try #require(response.headers["x-amzn-RequestId"])
            let report = try #require(await sim.logs.report(for: id))
            #expect(report.contains("\tStatus: error\tError Type: Runtime.OutOfMemory"), "\(report)")
            #expect(
                await sim.logs.first {
                    $0.text.hasPrefix("INIT_REPORT ") && $0.text.contains("Error Type: Runtime.OutOfMemory")
                } != nil)
        }
    }

    /// After sandboxes start in `cgroup` mode, no thread of the simulator's process is in a lambda-sim cgroup
    /// (on cgroup v1 the loop thread joins a sandbox's cgroups only for the fork).
    @Test(.timeLimit(.minutes(1)))
    func simulatorThreadsStayOutside() async throws {
        try await withFreezeSimulator([TestFunctions.freezeFixture(freeze: .cgroup)]) { sim in
            _ = try await report(sim)
            let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
            for task in tasks {
                let cgroups = ProcProbe.read("/proc/self/task/\(task)/cgroup") ?? ""
                #expect(!cgroups.contains("/lambda-sim/"), "thread \(task) is in a sandbox cgroup:\n\(cgroups)")
            }
        }
    }
}
