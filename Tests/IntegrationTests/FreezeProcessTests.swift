// Freeze and thaw as the sandbox's processes see it (lambda-behaviour.md §7): background work of the
// runtime (a thread and a forked child) stands still between invokes and resumes with the next one, every
// process of a frozen sandbox is stopped, nothing survives stop(), and the latency figures add up.
// Cases run one at a time (`.serialized`): each starts runtimes or simulators, and together they would crowd
// the CPUs the other suites' timing-sensitive tests share.

import Foundation
import LambdaSim
import Testing

@Suite("Freeze: processes", .serialized)
struct FreezeProcessTests {
    /// Between invokes a runtime thread's and a forked child's ticks stop in signal and cgroup modes (the sandbox
    /// reports frozen) and keep going in none mode; the next invoke thaws them and they tick again.
    @Test(.timeLimit(.minutes(1)), arguments: FreezeMode.allCases)
    func backgroundTicksStopWhileFrozen(mode: FreezeMode) async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ticks = { ["thread", "child"].map { Self.tickCount(directory + "/" + $0) } }
        let function = TestFunctions.freezePython(
            "freeze_ticker.handler", freeze: mode, environment: [("FREEZE_TICK_DIR", directory)])
        try await withFreezeSimulator([function]) { sim in
            // The first invoke lasts 100 ms, so both tickers tick before the freeze even on a loaded machine (they
            // start at import, but a busy scheduler may not run them before a 0 ms invoke ends and freezes them).
            let first = try await sim.invoke("py", payload: #"{"sleepMs":100}"#)
            #expect(first.status == 200 && !first.headers.contains("X-Amz-Function-Error"), "\(text(first))")
            try await Task.sleep(for: .milliseconds(300))
            if mode != .none {
                let held = try await eventually { try await Self.isHeld(sim.simulator, mode: mode) }
                let status = try await sim.simulator.sandboxes()
                #expect(held, "the sandbox was not frozen: \(status)")
            } else {
                #expect(try await sim.simulator.sandboxes().map(\.frozen) == [false])
            }
            let before = ticks()
            try await Task.sleep(for: .milliseconds(500))
            let after = ticks()
            #expect(before.allSatisfy { $0 > 0 }, "no ticks before the freeze: \(before)")
            if mode == .none {
                // About 25 ticks in 500 ms; 5 leaves room for a loaded machine.
                #expect(zip(before, after).allSatisfy { $1 >= $0 + 5 }, "before \(before), after \(after)")
            } else {
                #expect(after == before, "ticks while frozen: before \(before), after \(after)")
                #expect(try await sim.simulator.sandboxes().map(\.frozen) == [true])
            }

            let second = try await sim.invoke("py", payload: #"{"sleepMs":500}"#)
            #expect(second.status == 200 && !second.headers.contains("X-Amz-Function-Error"), "\(text(second))")
            let resumed = ticks()
            #expect(zip(after, resumed).allSatisfy { $1 >= $0 + 5 }, "after \(after), resumed \(resumed)")
        }
    }

    /// In signal mode every pid of a frozen sandbox, the forked child included (also one that left the process
    /// group with `setsid`), is stopped (`T` in /proc/<pid>/stat); once the next invoke has started none of them is.
    @Test(.timeLimit(.minutes(1)), arguments: ["forkSleep", "setsidSleep"])
    func signalStopsEveryProcess(fork: String) async throws {
        try await withFreezeSimulator([TestFunctions.freezeFixture(freeze: .signal)]) { sim in
            let first = try await sim.invoke("fn", payload: #"{"\#(fork)":60000}"#)
            #expect(first.status == 200 && !first.headers.contains("X-Amz-Function-Error"), "\(text(first))")
            let firstID = try #require(first.headers["x-amzn-RequestId"])
            var pids: [Int32] = []
            let stopped = try await eventually {
                let sandbox = try await sim.simulator.sandboxes().first
                pids = sandbox?.pids ?? []
                return sandbox?.frozen == true && pids.count >= 2 && pids.allSatisfy { ProcProbe.state($0) == "T" }
            }
            #expect(stopped, "runtime and child should be stopped: \(pids.map(ProcProbe.describe))")

            async let second = sim.invoke("fn", payload: #"{"sleepMs":3000}"#)
            let started = await sim.logs.first {
                $0.isPlatform && $0.text.hasPrefix("START ") && $0.requestID != firstID
            }
            #expect(started != nil)
            let running = try await eventually(timeout: .seconds(2)) {
                pids.allSatisfy { ProcProbe.state($0) != "T" }
            }
            #expect(running, "still stopped during the next invoke: \(pids.map(ProcProbe.describe))")
            #expect(try await sim.simulator.sandboxes().map(\.frozen) == [false])
            let response = try await second
            #expect(response.status == 200 && !response.headers.contains("X-Amz-Function-Error"))
        }
    }

    /// In every mode, stop() with a (frozen) sandbox holding a forked child (in the runtime's group, or in a session
    /// of its own) leaves none of its pids behind.
    @Test(.timeLimit(.minutes(1)), arguments: FreezeMode.allCases, ["forkSleep", "setsidSleep"])
    func stopLeavesNothingFrozenOrAlive(mode: FreezeMode, fork: String) async throws {
        var pids: [Int32] = []
        try await withFreezeSimulator([TestFunctions.freezeFixture(freeze: mode)]) { sim in
            let response = try await sim.invoke("fn", payload: #"{"\#(fork)":60000}"#)
            #expect(response.status == 200 && !response.headers.contains("X-Amz-Function-Error"))
            if mode != .none {
                let held = try await eventually { try await Self.isHeld(sim.simulator, mode: mode) }
                let status = try await sim.simulator.sandboxes()
                #expect(held, "the sandbox was not frozen: \(status)")
            }
            pids = try await sim.simulator.sandboxes().flatMap(\.pids)
            #expect(pids.count >= 2, "runtime and its forked child: \(pids)")
        }
        let left = try await ProcProbe.waitUntilGone(pids)
        #expect(left.isEmpty, "still present after stop(): \(left.map(ProcProbe.describe))")
    }

    /// After N invokes in signal mode, sandboxes(), freezeSummary() and stop() count at least N−1 freezes and
    /// N−1 thaws, with a positive median latency.
    @Test(
        .timeLimit(.minutes(1)))
    func statisticsCountFreezesAndThaws() async throws {
        let invokes = 6
        let logs = LogWatcher()
        let simulator = try await Simulator.start(
            functions: [TestFunctions.freezeFixture(freeze: .signal)], host: "127.0.0.1", port: 0,
            console: { logs.append($0) })
        let sim = SimHarness(simulator: simulator, logs: logs)
        do {
            for index in 0..<invokes {
                let response = try await sim.invoke("fn", payload: #"{"n":\#(index)}"#)
                #expect(response.status == 200 && text(response) == #"{"n":\#(index)}"#)
                // The next invoke must not reach the sandbox before its runtime's /next, or no freeze is due.
                let frozen = try await eventually { try await simulator.sandboxes().first?.frozen == true }
                #expect(frozen, "not frozen after invoke \(index)")
            }
            var sandbox: SandboxStatus?
            let counted = try await eventually {
                sandbox = try await simulator.sandboxes().first
                return (sandbox?.freezes.count ?? 0) >= invokes - 1 && (sandbox?.thaws.count ?? 0) >= invokes - 1
            }
            #expect(counted, "\(String(describing: sandbox))")
            #expect(sandbox?.freezeMode == .signal)
            #expect((sandbox?.freezes.p50Microseconds ?? 0) > 0 && (sandbox?.thaws.p50Microseconds ?? 0) > 0)
            let summary = try await simulator.freezeSummary()
            let signal = try #require(summary.first { $0.mode == .signal }, "\(summary)")
            #expect(signal.freezes.count >= invokes - 1 && signal.thaws.count >= invokes - 1, "\(signal)")
            #expect(signal.freezes.p50Microseconds > 0 && signal.thaws.p50Microseconds > 0, "\(signal)")
        } catch {
            await simulator.stop()
            throw error
        }
        let final = await simulator.stop()
        let signal = try #require(final.first { $0.mode == .signal }, "\(final)")
        #expect(signal.freezes.count >= invokes - 1 && signal.thaws.count >= invokes - 1, "\(signal)")
        #expect(signal.freezes.p50Microseconds > 0 && signal.thaws.p50Microseconds > 0, "\(signal)")
    }

    /// The number of ticks written to `path` (one byte each).
    static func tickCount(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// True when the only sandbox reports frozen and the kernel confirms it: every pid stopped (signal) or the
    /// freezer cgroup FROZEN (cgroup).
    static func isHeld(_ simulator: Simulator, mode: FreezeMode) async throws -> Bool {
        guard let sandbox = try await simulator.sandboxes().first, sandbox.frozen else { return false }
        switch mode {
        case .none:
            return false
        case .signal:
            return !sandbox.pids.isEmpty && sandbox.pids.allSatisfy { ProcProbe.state($0) == "T" }
        case .cgroup:
            return FreezePaths.isFrozen(FreezePaths.freezer(name: FreezePaths.cgroupName(sandbox: sandbox.id)))
        }
    }
}
