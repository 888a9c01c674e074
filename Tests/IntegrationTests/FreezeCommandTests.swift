// The built `lambda-sim run` command with a freeze mode: a signal stops it cleanly, it prints the freeze and
// thaw figures, and none of its processes (frozen runtime, forked child) outlives it.
// Cases run one at a time (`.serialized`): each starts runtimes or simulators, and together they would crowd
// the CPUs the other suites' timing-sensitive tests share.

import Foundation
import LambdaSim
import SimHTTP
import Testing

@Suite("Freeze: lambda-sim run", .serialized)
struct FreezeCommandTests {
    /// After SIGTERM or SIGINT, `lambda-sim run --freeze signal|cgroup` exits 0, prints the counts (one freeze,
    /// none skipped, and the thaw of the stop), `lambda-sim: freeze latency (<mode>): count 1  p50 …` and the thaw
    /// latency line, and leaves no process behind.
    @Test(
        .timeLimit(.minutes(1)), arguments: [FreezeMode.signal, .cgroup], [SIGTERM, SIGINT])
    func signalStopsCleanly(mode: FreezeMode, signal: Int32) async throws {
        let (process, port) = try await BackgroundProcess.lambdaSim(freeze: mode, command: [TestPaths.fixtureRuntime])
        var pids: [Int32] = []
        do {
            let response = try await Self.invoke(port: port, payload: #"{"forkSleep":60000}"#)
            #expect(response.status == 200 && !response.headers.contains("X-Amz-Function-Error"), "\(text(response))")
            // Wait for the freeze so that exactly one is counted.
            let frozen = try await eventually {
                pids = ProcProbe.descendants(of: process.pid)
                guard pids.count >= 2 else { return false }
                if mode == .signal { return pids.allSatisfy { ProcProbe.state($0) == "T" } }
                let freezer = FreezeCgroupTests.cgroups(of: process.pid, controller: "freezer").first
                return freezer.map(FreezePaths.isFrozen) == true
            }
            #expect(frozen, "not frozen: \(pids.map(ProcProbe.describe))")
            // Leave the simulator's confirmation poll (every 1 ms) ample time to see the freeze as well.
            try await Task.sleep(for: .milliseconds(200))
            process.signal(signal)
            let status = try await process.waitForExit()
            #expect(status == .exited(0), "\(String(describing: status)): \(process.stderr)")
        } catch {
            process.signal(SIGKILL)
            throw error
        }
        let lines = process.stdout.split(separator: "\n")
        let counts =
            "lambda-sim: freezes (\(mode.rawValue)): 1 freeze, 0 skipped (the next invoke was already waiting), 1 thaw"
        #expect(lines.contains { $0 == counts }, "\(lines)")
        #expect(
            lines.contains { $0.hasPrefix("lambda-sim: freeze latency (\(mode.rawValue)): count 1  p50 ") }, "\(lines)")
        #expect(
            lines.contains { $0.hasPrefix("lambda-sim: thaw latency (\(mode.rawValue)): count 1  p50 ") }, "\(lines)")
        let left = try await ProcProbe.waitUntilGone(pids)
        #expect(left.isEmpty, "still present after exit: \(left.map(ProcProbe.describe))")
        if mode == .cgroup {
            let cgroups = ["freezer", "memory", "pids"].flatMap {
                FreezeCgroupTests.cgroups(of: process.pid, controller: $0)
            }
            #expect(cgroups.isEmpty, "\(cgroups)")
        }
    }

    /// POSTs `payload` to the default function of the `lambda-sim run` on `port`.
    static func invoke(port: Int, payload: String) async throws -> HTTPResponse {
        let request = HTTPRequest(
            method: "POST", target: "/2015-03-31/functions/function/invocations", body: Array(payload.utf8))
        return try await HTTPClient.request(loop: ClientLoop.shared, host: "127.0.0.1", port: port, request)
    }
}
