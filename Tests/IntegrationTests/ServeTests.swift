// The orchestrator in serve mode: concurrency limits and throttling, reuse, provisioned sandboxes, idle
// reaping and the status endpoints (lambda-behaviour.md §6, design.md §2.2).

import Foundation
import LambdaSim
import SimHTTP
import Testing

/// Starts a serve-mode simulator (throttling, limits) with `functions` and stops it afterwards.
private func withServe(
    _ functions: [FunctionOptions], account: Simulator.AccountOptions, _ body: (SimHarness) async throws -> Void
) async throws {
    try await withSimulator(functions, account: account, body)
}

@Suite("Serve mode", .serialized)
struct ServeTests {
    /// Reserved concurrency 2: of four concurrent invokes exactly two run and two get 429
    /// TooManyRequestsException with Reason ReservedFunctionConcurrentInvocationLimitExceeded and Retry-After.
    @Test(.timeLimit(.minutes(1)))
    func reservedConcurrencyThrottlesTheExcess() async throws {
        var function = TestFunctions.fixture(name: "capped")
        function.reservedConcurrency = 2
        try await withServe([function], account: .init(concurrency: 10)) { sim in
            let responses = try await sim.invokeAtOnce("capped", count: 4, payload: #"{"sleepMs":800}"#)
            let ok = responses.filter { $0.status == 200 }
            let throttled = responses.filter { $0.status == 429 }
            #expect(ok.count == 2)
            #expect(throttled.count == 2)
            for response in throttled {
                #expect(response.headers["x-amzn-ErrorType"] == "TooManyRequestsException")
                #expect(response.headers["Retry-After"] == "1")
                let body = try jsonObject(response)
                #expect(body["Reason"] as? String == "ReservedFunctionConcurrentInvocationLimitExceeded")
                #expect(body["message"] as? String == "Rate Exceeded.")
                #expect(body["Type"] as? String == "User")
            }
        }
    }

    /// The account limit spans functions: with concurrency 2, a busy invoke of each of two functions leaves
    /// none for a third (ConcurrentInvocationLimitExceeded); a second wave reuses the sandboxes warm.
    @Test(.timeLimit(.minutes(1)))
    func accountLimitAcrossFunctionsAndReuse() async throws {
        let functions = ["a", "b"].map { TestFunctions.fixture(name: $0) }
        try await withServe(functions, account: .init(concurrency: 2)) { sim in
            async let first = sim.invoke("a", payload: #"{"sleepMs":800}"#)
            async let second = sim.invoke("b", payload: #"{"sleepMs":800}"#)
            try await Task.sleep(for: .milliseconds(300))
            let third = try await sim.invoke("a", payload: "{}")
            #expect(third.status == 429)
            #expect(try jsonObject(third)["Reason"] as? String == "ConcurrentInvocationLimitExceeded")
            #expect(try await first.status == 200)
            #expect(try await second.status == 200)
            // A sandbox is free again once its runtime asks for the next invoke; until then it still counts
            // against the limit, so one sent before that would be throttled, as in Lambda.
            for _ in 0..<200 where try await sim.simulator.sandboxes().contains(where: { !$0.isFree }) {
                try await Task.sleep(for: .milliseconds(5))
            }
            let warm = try await sim.invoke("a", payload: "{}")
            #expect(warm.status == 200)
            _ = await sim.logs.report(for: try #require(warm.headers["x-amzn-RequestId"]))
            let sandboxes = try await sim.simulator.sandboxes()
            #expect(sandboxes.count == 2)
            let a = try #require(sandboxes.first { $0.function == "a" })
            #expect(a.invocations == 2)
        }
    }

    /// Provisioned sandboxes are initialised before any invoke (health 200 once ready), use
    /// AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency, and take the first invokes without a cold start.
    @Test(.timeLimit(.minutes(1)))
    func provisionedConcurrency() async throws {
        var function = TestFunctions.fixture(name: "warm")
        function.provisionedConcurrency = 2
        try await withServe([function], account: .init(concurrency: 10)) { sim in
            var ready = false
            for _ in 0..<100 where !ready {
                ready = try await sim.simulator.isReady()
                if !ready { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(ready)
            let health = try await sim.front(HTTPRequest(method: "GET", target: "/_sim/health"))
            #expect(health.status == 200)
            #expect(try await sim.simulator.sandboxes().count == 2)
            let response = try await sim.invoke("warm", payload: #"{"env":"AWS_LAMBDA_INITIALIZATION_TYPE"}"#)
            #expect(text(response) == #"{"AWS_LAMBDA_INITIALIZATION_TYPE":"provisioned-concurrency"}"#)
            let id = try #require(response.headers["x-amzn-RequestId"])
            let report = try #require(await sim.logs.report(for: id))
            #expect(!report.contains("Init Duration"), "\(report)")
            #expect(try await sim.simulator.sandboxes().count == 2)
        }
    }

    /// Provisioned concurrency comes up as a bounded stream: while the first inits run, only
    /// `provisioningWidth` sandboxes exist; the rest start as those finish, and all of them end up ready.
    @Test(.timeLimit(.minutes(1)))
    func provisioningIsBounded() async throws {
        let width = Simulator.provisioningWidth
        var function = TestFunctions.fixture(name: "many", environment: [("FIXTURE_INIT_SLEEP_MS", "400")])
        function.provisionedConcurrency = width + 8
        try await withServe([function], account: .init(concurrency: width + 20)) { sim in
            try await Task.sleep(for: .milliseconds(150))
            let early = try await sim.simulator.sandboxes().count
            #expect(early == width, "\(early) sandboxes started at once")
            var ready = false
            for _ in 0..<100 where !ready {
                ready = try await sim.simulator.isReady()
                if !ready { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(ready)
            #expect(try await sim.simulator.sandboxes().count == width + 8)
        }
    }

    /// An idle sandbox is shut down after the idle timeout (its runtime gets SIGTERM, the sandbox leaves
    /// /_sim/sandboxes), and the next invoke cold-starts a new one.
    @Test(.timeLimit(.minutes(1)))
    func idleSandboxesAreReaped() async throws {
        var function = TestFunctions.fixture(name: "idle")
        function.idleTimeoutSeconds = 0.5
        try await withServe([function], account: .init(concurrency: 10)) { sim in
            #expect(try await sim.invoke("idle", payload: "{}").status == 200)
            #expect(try await sim.simulator.sandboxes().count == 1)
            var count = 1
            for _ in 0..<60 where count > 0 {
                try await Task.sleep(for: .milliseconds(100))
                count = try await sim.simulator.sandboxes().count
            }
            #expect(count == 0)
            let again = try await sim.invoke("idle", payload: "{}")
            #expect(again.status == 200)
            let id = try #require(again.headers["x-amzn-RequestId"])
            #expect(try #require(await sim.logs.report(for: id)).contains("Init Duration"))
        }
    }

    /// /_sim/sandboxes lists each sandbox with its fields, /_sim/functions the counters, /metrics Prometheus text.
    @Test(.timeLimit(.minutes(1)))
    func statusEndpoints() async throws {
        try await withServe([TestFunctions.fixture(name: "st")], account: .init(concurrency: 10)) { sim in
            let invoked = try await sim.invoke("st", payload: "{}")
            let id = try #require(invoked.headers["x-amzn-RequestId"])
            _ = await sim.logs.report(for: id)
            let sandboxes = try jsonObject(try await sim.front(HTTPRequest(method: "GET", target: "/_sim/sandboxes")))
            let list = try #require(sandboxes["sandboxes"] as? [[String: Any]])
            #expect(list.count == 1)
            let entry = try #require(list.first)
            for key in [
                "id", "function", "state", "runtimeApi", "pids", "frozen", "initType", "invocations", "coldStartMs",
                "lastUsed",
            ] {
                #expect(entry[key] != nil, "missing \(key)")
            }
            #expect(entry["function"] as? String == "st")
            #expect(entry["invocations"] as? Int == 1)
            #expect(entry["initType"] as? String == "on-demand")
            let functions = try jsonObject(try await sim.front(HTTPRequest(method: "GET", target: "/_sim/functions")))
            let first = try #require((functions["functions"] as? [[String: Any]])?.first)
            #expect(first["invocations"] as? Int == 1)
            #expect(first["coldStarts"] as? Int == 1)
            let metrics = text(try await sim.front(HTTPRequest(method: "GET", target: "/metrics")))
            #expect(metrics.contains("lambda_sim_invocations_total{function=\"st\"} 1\n"))
            #expect(metrics.contains("# TYPE lambda_sim_throttles_total counter"))
            #expect(metrics.contains("lambda_sim_freeze_seconds_count{function=\"st\",op=\"freeze\"}"))
            #expect(metrics.contains("lambda_sim_invoke_duration_seconds_count{function=\"st\"} 1\n"))
            #expect(metrics.contains("lambda_sim_init_duration_seconds_count{function=\"st\"} 1\n"))
        }
    }

    /// An idle sandbox that is reaped gives its extension SHUTDOWN with reason `spindown`.
    @Test(.timeLimit(.minutes(1)))
    func reapingSendsSpindownToExtensions() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        try folder.addPython("ext-a")
        var function = TestFunctions.fixture(extensions: folder, name: "reaped")
        function.idleTimeoutSeconds = 0.5
        try await withSimulator([function], account: .init(concurrency: 10)) { sim in
            #expect(try await sim.invoke("reaped", payload: "{}").status == 200)
            var shutdown: ExtensionRecord?
            for _ in 0..<100 where shutdown == nil {
                try await Task.sleep(for: .milliseconds(50))
                shutdown = try folder.records(of: "ext-a", kind: "event").first { $0.eventType == "SHUTDOWN" }
            }
            let event = try #require(shutdown).event
            #expect(event["shutdownReason"] as? String == "spindown")
            var remaining = 1
            for _ in 0..<60 where remaining > 0 {
                remaining = try await sim.simulator.sandboxes().count
                if remaining > 0 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(remaining == 0)
        }
    }

    /// boto3 sees the throttle as TooManyRequestsException with Reason and Retry-After (retries disabled).
    @Test(.timeLimit(.minutes(1)))
    func boto3SeesTheThrottle() async throws {
        var function = TestFunctions.fixture(name: "one")
        function.reservedConcurrency = 1
        try await withSimulator([function], account: .init(concurrency: 10)) { sim in
            async let busy = sim.invoke("one", payload: #"{"sleepMs":1500}"#)
            try await Task.sleep(for: .milliseconds(400))
            let script = TestPaths.pythonFixtures + "/invoke_boto3.py"
            let result = try await runProcess([TestPaths.python, script, sim.simulator.endpoint, "one", "{}"])
            let output = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
            #expect(output["error"] as? String == "TooManyRequestsException")
            #expect(output["status"] as? Int == 429)
            let headers = output["headers"] as? [String: String] ?? [:]
            #expect(headers["retry-after"] == "1")
            #expect(try await busy.status == 200)
        }
    }

    /// The scaling rate: with 2 new sandboxes per 10 s, a third concurrent cold start is throttled with
    /// Reason FunctionInvocationRateLimitExceeded.
    @Test(.timeLimit(.minutes(1)))
    func scalingRateThrottlesColdStarts() async throws {
        let function = TestFunctions.fixture(name: "burst")
        try await withSimulator([function], account: .init(concurrency: 10, scalingRate: (2, 10))) { sim in
            let responses = try await sim.invokeAtOnce("burst", count: 3, payload: #"{"sleepMs":600}"#)
            #expect(responses.filter { $0.status == 200 }.count == 2)
            let throttled = try #require(responses.first { $0.status == 429 })
            #expect(try jsonObject(throttled)["Reason"] as? String == "FunctionInvocationRateLimitExceeded")
        }
    }

    /// An idle sandbox older than maxLifetime is recycled even though it is used often enough never to idle out.
    @Test(.timeLimit(.minutes(1)))
    func maximumLifetimeRecyclesSandboxes() async throws {
        var function = TestFunctions.fixture(name: "aged")
        function.maxLifetimeSeconds = 0.6
        try await withSimulator([function], account: .init(concurrency: 10)) { sim in
            let first = try await sim.simulator.sandboxes()
            #expect(first.isEmpty)
            #expect(try await sim.invoke("aged", payload: "{}").status == 200)
            let original = try #require(try await sim.simulator.sandboxes().first?.id)
            var replaced = false
            for _ in 0..<40 where !replaced {
                try await Task.sleep(for: .milliseconds(100))
                #expect(try await sim.invoke("aged", payload: "{}").status == 200)
                replaced = try await sim.simulator.sandboxes().contains { $0.id != original }
            }
            #expect(replaced)
        }
    }
}
