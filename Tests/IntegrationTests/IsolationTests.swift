// Only a sandbox's own processes may use its Runtime API (issue 12, finding 1): another function's runtime cannot
// take over a running invoke, and neither can any other local process.

import Foundation
import LambdaSim
import Testing

@Suite("Runtime API isolation", .serialized)
struct IsolationTests {
    /// The hostile runtime of `Fixtures/hostile`.
    private static let hijacker = TestPaths.fixtures + "/hostile/hijack"

    /// Runs a slow invoke of `victim` and, while it runs, has the `hijack` function's runtime (another sandbox)
    /// try to take it over; returns what the hijacker reported and the victim's answer.
    private func attempt(victim: FunctionOptions) async throws -> (report: [String: Any], victim: String) {
        let attacker = FunctionOptions(
            name: "hijack", command: [Self.hijacker], codeDirectory: TestPaths.fixtures + "/hostile",
            runtime: "provided.al2023", timeoutSeconds: 10, inheritedEnvironment: TestPaths.inheritedEnvironment)
        var result: (report: [String: Any], victim: String) = ([:], "")
        try await withSimulator([victim, attacker]) { sim in
            async let slow = sim.invoke("fn", payload: #"{"sleepMs":1500,"mine":true}"#)
            _ = await sim.logs.first { $0.text.hasPrefix("START ") }
            let address = try #require(
                try await sim.simulator.sandboxes().first { $0.function == "fn" }?.runtimeAPI)
            let attack = try await sim.invoke("hijack", payload: #"{"victim":"\#(address)"}"#)
            result.report = try #require(try JSONSerialization.jsonObject(with: Data(attack.body)) as? [String: Any])
            result.victim = text(try await slow)
        }
        return result
    }

    /// Another function's runtime connecting to a running sandbox's Runtime API gets nothing: the connection is
    /// closed before anything is read, and the victim's invoke ends with its own answer.
    @Test(.timeLimit(.minutes(1)))
    func anotherFunctionsRuntimeIsRefused() async throws {
        let (report, victim) = try await attempt(victim: TestFunctions.fixture(timeoutSeconds: 10))
        #expect(report["status"] as? String == "000", "\(report)")
        #expect([52, 56].contains(report["curlExit"] as? Int ?? -1), "\(report)")
        #expect(victim == #"{"sleepMs":1500,"mine":true}"#)
    }

    /// The same attempt against a function whose Runtime API is open to any process succeeds (the invoke is sent
    /// again): the check above is what stops it.
    @Test(.timeLimit(.minutes(1)))
    func anOpenRuntimeAPIIsReachable() async throws {
        let (report, _) = try await attempt(victim: TestFunctions.fixture(timeoutSeconds: 10).withOpenRuntimeAPI())
        #expect(report["status"] as? String == "200", "\(report)")
    }

    /// A process outside every sandbox (curl started by the test) is refused too, and the sandbox says so in its
    /// log; the sandbox's own runtime keeps working.
    @Test(.timeLimit(.minutes(1)))
    func outsideProcessesAreRefused() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            #expect(try await sim.invoke("fn", payload: #"{"a":1}"#).status == 200)
            let address = try #require(try await sim.simulator.sandboxes().first?.runtimeAPI)
            let curl = try #require(TestPaths.which("curl"))
            let result = try await runProcess([
                curl, "-s", "-m", "2", "-o", "/dev/null", "-w", "%{http_code}",
                "http://\(address)/2018-06-01/runtime/invocation/next",
            ])
            #expect(result.stdout == "000")
            #expect(await sim.logs.first { $0.text.hasPrefix("lambda-sim: refused a Runtime API connection") } != nil)
            let again = try await sim.invoke("fn", payload: #"{"b":2}"#)
            #expect(text(again) == #"{"b":2}"#)
        }
    }
}
