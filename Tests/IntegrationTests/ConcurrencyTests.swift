// Several invokes at once: queueing on one sandbox, or spreading over several; with an account, concurrency
// counted as Lambda counts it: an environment is busy until it is ready for the next invoke (lambda-behaviour.md
// §1.8, §6.1).

import LambdaSim
import SimHTTP
import Testing

@Suite("Concurrent invokes")
struct ConcurrencyTests {
    /// Sends six invokes at once, each `{"sleepMs":100,"i":N}`, and returns the responses by N.
    private func sixConcurrentInvokes(_ sim: SimHarness) async throws -> [(
        payload: String, response: InvokeClient.Response
    )] {
        try await withThrowingTaskGroup(of: (String, InvokeClient.Response).self) { group in
            for index in 0..<6 {
                let payload = #"{"sleepMs":100,"i":\#(index)}"#
                group.addTask { (payload, try await sim.invoke("fn", payload: payload)) }
            }
            var results: [(payload: String, response: InvokeClient.Response)] = []
            for try await result in group { results.append(result) }
            return results
        }
    }

    /// Waits for every response's REPORT line so invocation counts are final.
    private func waitForReports(_ sim: SimHarness, _ responses: [InvokeClient.Response]) async throws {
        for response in responses {
            let id = try #require(response.headers["x-amzn-RequestId"])
            _ = try #require(await sim.logs.report(for: id))
        }
    }

    /// With maxConcurrency 1, six concurrent invokes queue on one sandbox and all succeed with their own payload.
    @Test(.timeLimit(.minutes(1)))
    func queueOnOneSandbox() async throws {
        try await withSimulator([TestFunctions.fixture(maxConcurrency: 1)]) { sim in
            let results = try await sixConcurrentInvokes(sim)
            for (payload, response) in results {
                #expect(response.status == 200)
                #expect(!response.headers.contains("X-Amz-Function-Error"))
                #expect(text(response) == payload)
            }
            try await waitForReports(sim, results.map(\.response))
            let sandboxes = try await sim.simulator.sandboxes()
            #expect(sandboxes.count == 1)
            #expect(sandboxes.first?.invocations == 6)
        }
    }

    /// With maxConcurrency 6, six concurrent invokes all succeed on six sandboxes with distinct Runtime API ports.
    @Test(.timeLimit(.minutes(1)))
    func spreadOverSixSandboxes() async throws {
        try await withSimulator([TestFunctions.fixture(maxConcurrency: 6)]) { sim in
            let results = try await sixConcurrentInvokes(sim)
            for (payload, response) in results {
                #expect(response.status == 200)
                #expect(!response.headers.contains("X-Amz-Function-Error"))
                #expect(text(response) == payload)
            }
            try await waitForReports(sim, results.map(\.response))
            let sandboxes = try await sim.simulator.sandboxes()
            #expect(sandboxes.count == 6)
            #expect(Set(sandboxes.map(\.runtimeAPI)).count == 6)
            #expect(sandboxes.allSatisfy { $0.invocations == 1 })
        }
    }

    /// Reserved concurrency 1 and 600 ms of work after the response: until the runtime asks for `/next`, the
    /// environment still holds the unit (/_sim/functions and /metrics say 1), so another invoke gets 429 with
    /// Lambda's Reason rather than a second environment; once it is ready, the next invoke reuses it warm.
    @Test(.timeLimit(.minutes(1)))
    func workAfterTheResponseHoldsTheUnit() async throws {
        var function = TestFunctions.fixture(name: "one")
        function.reservedConcurrency = 1
        try await withSimulator([function], account: .init(concurrency: 10)) { sim in
            let first = try await sim.invoke("one", payload: #"{"sleepAfterResponseMs":600}"#)
            #expect(first.status == 200)
            let second = try await sim.invoke("one", payload: "{}")
            #expect(second.status == 429)
            #expect(second.headers["x-amzn-ErrorType"] == "TooManyRequestsException")
            #expect(try jsonObject(second)["Reason"] as? String == "ReservedFunctionConcurrentInvocationLimitExceeded")
            #expect(try await concurrency(sim, "one") == 1)
            let metrics = text(try await sim.front(HTTPRequest(method: "GET", target: "/metrics")))
            #expect(metrics.contains("lambda_sim_concurrency{function=\"one\"} 1\n"), "\(metrics)")
            let firstID = try #require(first.headers["x-amzn-RequestId"])
            _ = try #require(await sim.logs.report(for: firstID))
            #expect(try await concurrency(sim, "one") == 0)
            let third = try await sim.invoke("one", payload: "{}")
            #expect(third.status == 200)
            #expect(try await sim.simulator.sandboxes().count == 1)
        }
    }

    /// Reserved concurrency 1: an environment that crashes mid-invoke, or times out, gives its unit back once
    /// its reset is over, so the next invoke runs (cold) rather than being throttled for ever.
    @Test(.timeLimit(.minutes(1)))
    func resetEnvironmentGivesItsUnitBack() async throws {
        var function = TestFunctions.fixture(name: "fragile", timeoutSeconds: 1)
        function.reservedConcurrency = 1
        try await withSimulator([function], account: .init(concurrency: 10)) { sim in
            for payload in [#"{"exit":3}"#, #"{"sleepMs":1500}"#] {
                let failed = try await sim.invoke("fragile", payload: payload)
                #expect(failed.status == 200)
                #expect(failed.headers["X-Amz-Function-Error"] == "Unhandled")
                var next = try await sim.invoke("fragile", payload: "{}")
                // The reset (SIGTERM, then the processes' exit) may still be under way: 429 until it is over.
                for _ in 0..<100 where next.status == 429 {
                    try await Task.sleep(for: .milliseconds(20))
                    next = try await sim.invoke("fragile", payload: "{}")
                }
                #expect(next.status == 200)
                #expect(!next.headers.contains("X-Amz-Function-Error"))
                let id = try #require(next.headers["x-amzn-RequestId"])
                #expect(try #require(await sim.logs.report(for: id)).contains("Init Duration"))
            }
            #expect(try await concurrency(sim, "fragile") == 0)
        }
    }

    /// With reservedConcurrency 3 and a runtime that works 150 ms after each response, 12 callers for 2 s never
    /// make more than 3 environments; the invokes beyond them get 429 TooManyRequestsException with Reason
    /// ReservedFunctionConcurrentInvocationLimitExceeded.
    @Test(.timeLimit(.minutes(1)))
    func reservationBoundsEnvironmentsUnderLoad() async throws {
        var function = TestFunctions.fixture(name: "busy")
        function.reservedConcurrency = 3
        try await withSimulator([function], account: .init(concurrency: 100)) { sim in
            let end = ContinuousClock.now + .seconds(2)
            let responses = try await withThrowingTaskGroup(of: [InvokeClient.Response].self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        var mine: [InvokeClient.Response] = []
                        while ContinuousClock.now < end {
                            let response = try await sim.invoke(
                                "busy", payload: #"{"sleepMs":20,"sleepAfterResponseMs":150}"#)
                            mine.append(response)
                            // A throttled caller backs off a little, as SDKs do.
                            if response.status == 429 { try await Task.sleep(for: .milliseconds(10)) }
                        }
                        return mine
                    }
                }
                var all: [InvokeClient.Response] = []
                for try await mine in group { all += mine }
                return all
            }
            let succeeded = responses.filter { $0.status == 200 }
            let throttled = responses.filter { $0.status == 429 }
            #expect(succeeded.count + throttled.count == responses.count)
            #expect(succeeded.count >= 10)
            #expect(!throttled.isEmpty)
            for response in throttled {
                #expect(response.headers["x-amzn-ErrorType"] == "TooManyRequestsException")
                #expect(
                    try jsonObject(response)["Reason"] as? String == "ReservedFunctionConcurrentInvocationLimitExceeded"
                )
            }
            let created = Set(sim.logs.lines.filter { $0.text.hasPrefix("INIT_START ") }.map(\.sandboxID))
            #expect(created.count == 3, "\(created.count) environments created for a reservation of 3")
        }
    }

    /// Provisioned environments are part of the reservation, busy or not: with reservedConcurrency 3 and 2
    /// provisioned ones still initialising, only one on-demand environment may start (the rest get 429); once
    /// they are ready, four concurrent invokes run three (two provisioned, one on-demand) and throttle one, and
    /// the function never has more than 3 environments.
    @Test(.timeLimit(.minutes(1)))
    func provisionedEnvironmentsCountAgainstTheReservation() async throws {
        var function = TestFunctions.fixture(name: "pc", environment: [("FIXTURE_INIT_SLEEP_MS", "800")])
        function.reservedConcurrency = 3
        function.provisionedConcurrency = 2
        try await withSimulator([function], account: .init(concurrency: 10)) { sim in
            let early = try await sim.invokeAtOnce("pc", count: 4, payload: "{}")
            #expect(early.filter { $0.status == 200 }.count == 1)
            #expect(early.filter { $0.status == 429 }.count == 3)
            var ready = false
            for _ in 0..<100 where !ready {
                ready = try await sim.simulator.isReady()
                if !ready { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(ready)
            // Every environment idle again (its runtime asked for `/next`).
            for _ in 0..<200 where try await concurrency(sim, "pc") > 0 {
                try await Task.sleep(for: .milliseconds(5))
            }
            let warm = try await sim.invokeAtOnce("pc", count: 4, payload: #"{"sleepMs":400}"#)
            #expect(warm.filter { $0.status == 200 }.count == 3)
            #expect(warm.filter { $0.status == 429 }.count == 1)
            #expect(try await sim.simulator.sandboxes().count == 3)
        }
    }

    /// The function's `concurrency` in /_sim/functions.
    private func concurrency(_ sim: SimHarness, _ function: String) async throws -> Int {
        let body = try jsonObject(try await sim.front(HTTPRequest(method: "GET", target: "/_sim/functions")))
        let entry = try #require((body["functions"] as? [[String: Any]])?.first { $0["name"] as? String == function })
        return try #require(entry["concurrency"] as? Int)
    }
}
