// What the platform's lines and the freeze summary count (issue 9, item 4): a runtime exiting after it
// answered still gets its "Runtime exited" lines, an invoke cut short by a stop still gets END and REPORT, and
// freezes and thaws pair up, with the invokes that never froze counted.

import Foundation
import LambdaSim
import SimHTTP
import Testing

@Suite("Accounting of exits, stops and freezes", .serialized)
struct AccountingTests {
    /// A runtime that posts /error and then exits 2 (a Go handler's panic) gets the platform's lines —
    /// `RequestId: <id> Error: Runtime exited with error: exit status 2` and `Runtime.ExitError` — as one that
    /// exits without answering does; the caller keeps the runtime's error and REPORT says Runtime.ExitError.
    @Test(.timeLimit(.minutes(1)))
    func exitAfterError() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let response = try await sim.invoke("fn", payload: #"{"error":"Custom.Panic","exitAfterError":2}"#)
            #expect(response.status == 200)
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(try stringObject(response.body)["errorType"] == "Custom.Panic")
            let id = try #require(response.headers["x-amzn-RequestId"])
            let report = try #require(await sim.logs.report(for: id))
            #expect(report.hasSuffix("\tStatus: error\tError Type: Runtime.ExitError\t"), "\(report)")
            let lines = sim.logs.lines.filter { $0.isPlatform && $0.requestID == id }.map(\.text)
            let message = "RequestId: \(id) Error: Runtime exited with error: exit status 2"
            let index = try #require(lines.firstIndex(of: message), "\(lines)")
            #expect(lines.dropFirst(index + 1).first == "Runtime.ExitError", "\(lines)")
            #expect(lines.last { $0.hasPrefix("END ") } == "END RequestId: \(id)")
        }
    }

    /// Stopping the simulator while a runtime is in its post-response work still prints that invoke's END and
    /// REPORT (the caller already has its answer).
    @Test(.timeLimit(.minutes(1)))
    func stopDuringPostResponseWork() async throws {
        let logs = LogWatcher()
        let simulator = try await Simulator.start(
            functions: [TestFunctions.fixture(timeoutSeconds: 30)], host: "127.0.0.1", port: 0,
            console: { logs.append($0) })
        let sim = SimHarness(simulator: simulator, logs: logs)
        let id: String
        do {
            let response = try await sim.invoke("fn", payload: #"{"sleepAfterResponseMs":20000}"#)
            #expect(response.status == 200 && !response.headers.contains("X-Amz-Function-Error"))
            id = try #require(response.headers["x-amzn-RequestId"])
        } catch {
            await simulator.stop()
            throw error
        }
        await simulator.stop()
        #expect(logs.lines.contains { $0.text == "END RequestId: \(id)" }, "\(logs.texts)")
        let report = logs.lines.first { $0.text.hasPrefix("REPORT RequestId: \(id)\t") }?.text
        #expect(report != nil && report?.contains("Status:") == false, "\(String(describing: report))")
    }

    /// Back-to-back invokes from four callers to one `signal` sandbox: every invoke phase either froze or was
    /// skipped because the next invoke was already waiting; after the stop every freeze was thawed, and each
    /// freeze and thaw is either timed or counted as unconfirmed.
    @Test(.timeLimit(.minutes(1)))
    func freezesPairWithThaws() async throws {
        let invokes = 40
        let simulator = try await Simulator.start(
            functions: [TestFunctions.freezeFixture(freeze: .signal)], host: "127.0.0.1", port: 0)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<4 {
                    group.addTask {
                        for index in 0..<(invokes / 4) {
                            let request = HTTPRequest(
                                method: "POST", target: "/2015-03-31/functions/fn/invocations",
                                body: Array(#"{"c":\#(caller),"i":\#(index)}"#.utf8))
                            let response = try await HTTPClient.request(
                                loop: ClientLoop.shared, host: "127.0.0.1", port: simulator.port, request)
                            #expect(response.status == 200)
                        }
                    }
                }
                try await group.waitForAll()
            }
            // The last invoke phase ends (and freezes) once the runtime asks for the next event.
            let frozen = try await eventually { try await simulator.sandboxes().first?.frozen == true }
            #expect(frozen)
        } catch {
            await simulator.stop()
            throw error
        }
        let summary = await simulator.stop()
        let signal = try #require(summary.first { $0.mode == .signal }, "\(summary)")
        #expect(signal.frozen + signal.skipped == invokes, "\(signal)")
        #expect(signal.skipped > 0, "four callers and one sandbox: some invokes found the next one waiting")
        #expect(signal.thawed == signal.frozen, "\(signal)")
        #expect(signal.freezes.count + signal.freezesUnconfirmed == signal.frozen, "\(signal)")
        #expect(signal.thaws.count + signal.thawsUnconfirmed == signal.thawed, "\(signal)")
    }
}
