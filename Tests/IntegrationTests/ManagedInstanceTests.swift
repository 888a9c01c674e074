// Lambda Managed Instances (issue 14): awslambdaric in its multi-concurrent mode (one worker process per slot) as
// the real client, the Runtime API's managed-instance error catalogue from a runtime the test plays itself, and
// classic and managed-instance functions side by side in serve mode.

import Foundation
import LambdaSim
import SimHTTP
import Testing

extension TestFunctions {
    /// awslambdaric running `managed.<handler>` on a managed instance with `slots` invokes per environment.
    static func managed(
        _ handler: String = "work", name: String = "mi", slots: Int, timeoutSeconds: Double = 10
    ) -> FunctionOptions {
        var function = python("managed.\(handler)", name: name, timeoutSeconds: timeoutSeconds)
        function.environmentMaxConcurrency = slots
        return function
    }
}

/// Sends every payload at once and returns the responses in the same order.
private func invokeAll(
    _ sim: SimHarness, _ function: String, _ payloads: [String], headers: [String: String] = [:]
) async throws -> [InvokeClient.Response] {
    try await withThrowingTaskGroup(of: (Int, InvokeClient.Response).self) { group in
        for (index, payload) in payloads.enumerated() {
            group.addTask { (index, try await sim.invoke(function, payload: payload, headers: headers)) }
        }
        var responses = [InvokeClient.Response?](repeating: nil, count: payloads.count)
        for try await (index, response) in group { responses[index] = response }
        return responses.map { $0! }
    }
}

@Suite("Lambda Managed Instances", .serialized)
struct ManagedInstanceTests {
    /// Four one-second invokes run at once in one environment: about one invoke's time in all, four distinct
    /// worker processes, each caller its own payload back, Lambda's managed-instance variables, and one sandbox in
    /// the status that is never frozen.
    @Test(.timeLimit(.minutes(1)))
    func concurrentInvokesShareOneEnvironment() async throws {
        try await withSimulator([TestFunctions.managed(slots: 4)]) { sim in
            _ = try await sim.sandboxes(atLeast: 1)
            // The environment starts before the first invoke, as a managed instance does.
            #expect(try await eventually { try await sim.simulator.sandboxes().first?.pids.count == 5 })
            let started = ContinuousClock.now
            let responses = try await invokeAll(sim, "mi", (1...4).map { #"{"tag":\#($0),"sleep":1}"# })
            let elapsed = ContinuousClock.now - started
            var pids: Set<Int> = []
            for (index, response) in responses.enumerated() {
                #expect(response.status == 200)
                let body = try jsonObject(response.body)
                #expect(body["tag"] as? Int == index + 1)
                #expect(body["requestId"] as? String == response.headers["x-amzn-RequestId"])
                if let pid = body["pid"] as? Int { pids.insert(pid) }
                let environment = try #require(body["env"] as? [String: Any])
                #expect(environment["AWS_LAMBDA_MAX_CONCURRENCY"] as? String == "4")
                #expect(environment["AWS_LAMBDA_INITIALIZATION_TYPE"] as? String == "lambda-managed-instances")
                #expect(environment["AWS_LAMBDA_LOG_FORMAT"] as? String == "JSON")
                #expect(
                    (environment["_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"] as? String)?.hasSuffix(".sock") == true)
            }
            #expect(pids.count == 4)
            // One after another they would take four seconds.
            #expect(elapsed < .seconds(3), "\(elapsed)")
            let sandboxes = try await sim.simulator.sandboxes()
            #expect(sandboxes.count == 1)
            let sandbox = try #require(sandboxes.first)
            #expect(sandbox.isManagedInstance && sandbox.slots == 4 && sandbox.inFlight == 0)
            #expect(sandbox.freezeMode == .none && !sandbox.frozen && sandbox.freezeCounts.frozen == 0)
            #expect(pids.isSubset(of: Set(sandbox.pids.map(Int.init))))
            #expect(sandbox.invocations == 4)
        }
    }

    /// Of three invokes at once, one times out, one raises and one succeeds: each caller gets its own outcome, the
    /// timeout does not reset the environment (same sandbox, same processes), and the late worker comes back: three
    /// more invokes at once all succeed.
    @Test(.timeLimit(.minutes(1)))
    func errorsAndTimeoutsStayWithTheirInvoke() async throws {
        try await withSimulator([TestFunctions.managed(slots: 3, timeoutSeconds: 2)]) { sim in
            _ = try await sim.sandboxes(atLeast: 1)
            #expect(try await eventually { try await sim.simulator.sandboxes().first?.pids.count == 4 })
            let before = try #require(try await sim.simulator.sandboxes().first)
            let responses = try await invokeAll(
                sim, "mi", [#"{"tag":"slow","sleep":3}"#, #"{"tag":"bad","raise":true}"#, #"{"tag":"fine"}"#])
            let slowID = try #require(responses[0].headers["x-amzn-RequestId"])
            #expect(responses[0].headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(
                try stringObject(responses[0].body) == [
                    "errorMessage": "RequestId: \(slowID) Error: Task timed out after 2.00 seconds",
                    "errorType": "Sandbox.Timedout",
                ])
            #expect(responses[1].headers["X-Amz-Function-Error"] == "Unhandled")
            let error = try jsonObject(responses[1].body)
            #expect(error["errorType"] as? String == "ValueError" && error["errorMessage"] as? String == "boom bad")
            #expect(responses[2].headers["X-Amz-Function-Error"] == nil)
            #expect(try jsonObject(responses[2].body)["tag"] as? String == "fine")
            #expect(
                sim.logs.texts.contains {
                    $0.contains(#""type":"platform.report","record":{"requestId":"\#(slowID)""#)
                        && $0.contains(#""status":"timeout""#)
                })

            // The slow worker wakes up after its invoke timed out, is refused, and asks for the next invoke.
            try await Task.sleep(for: .milliseconds(1_500))
            let again = try await invokeAll(sim, "mi", (1...3).map { #"{"tag":"again\#($0)","sleep":0.5}"# })
            #expect(again.allSatisfy { $0.status == 200 && $0.headers["X-Amz-Function-Error"] == nil })
            let after = try #require(try await sim.simulator.sandboxes().first)
            #expect(try await sim.simulator.sandboxes().count == 1)
            #expect(after.id == before.id && Set(after.pids) == Set(before.pids))
        }
    }

    /// Three invokes at once, each asking for its log tail: each tail has its own worker's lines (read from the
    /// per-worker log socket) and none of the others', and its platform lines are JSON records (the only log format
    /// of a managed instance), not START/END/REPORT text.
    @Test(.timeLimit(.minutes(1)))
    func logsStayWithTheirInvoke() async throws {
        try await withSimulator([TestFunctions.managed(slots: 3)]) { sim in
            _ = try await sim.sandboxes(atLeast: 1)
            let tags = ["red", "green", "blue"]
            let responses = try await invokeAll(
                sim, "mi", tags.map { #"{"tag":"\#($0)","sleep":0.5}"# }, headers: ["X-Amz-Log-Type": "Tail"])
            for (tag, response) in zip(tags, responses) {
                let encoded = try #require(response.headers["X-Amz-Log-Result"])
                let log = try #require(base64Text(encoded))
                let id = try #require(response.headers["x-amzn-RequestId"])
                #expect(
                    log.contains(#"{"time":"#)
                        && log.contains(#""type":"platform.start","record":{"requestId":"\#(id)""#), "\(log)")
                #expect(!log.contains("START RequestId:") && !log.contains("REPORT RequestId:"), "\(log)")
                #expect(log.contains(" starts \(tag)\n") && log.contains(" ends \(tag)\n"), "\(tag): \(log)")
                for other in tags where other != tag { #expect(!log.contains(" \(other)\n"), "\(tag): \(log)") }
            }
        }
    }

    /// `run --per-environment-max-concurrency` refuses `--log-format text` before starting anything, naming both
    /// flags (AWS allows Managed Instances only JSON).
    @Test(.timeLimit(.minutes(1)))
    func textLogFormatIsRefused() async throws {
        let process = try await BackgroundProcess.start([
            FreezePaths.lambdaSim, "run", "--port", "0", "--per-environment-max-concurrency", "2", "--log-format",
            "text", "--", TestPaths.fixtureRuntime,
        ])
        #expect(try await process.waitForExit() == .exited(2))
        #expect(
            process.stderr.contains(
                "--log-format text does not apply with --per-environment-max-concurrency: managed instances log only"
                    + " JSON"), "\(process.stderr)")
    }

    /// The Runtime API's managed-instance answers, to a runtime (played by the test) that breaks the rules: N held
    /// `/next` calls and a 500 for one more, 400 for an unknown request id and for a second reply, 410 for a reply
    /// echoing another invoke's Lambda-Runtime-Invocation-Id, 410 once and then 400 for a reply to an invoke that
    /// timed out — and the other invoke in flight unharmed by all of it.
    @Test(.timeLimit(.minutes(1)))
    func runtimeAPIErrorCatalogue() async throws {
        var function = FunctionOptions(name: "mi", command: [], codeDirectory: "/tmp", timeoutSeconds: 1)
        function.environmentMaxConcurrency = 2
        try await withSimulator([function]) { sim in
            let environment = try #require(try await sim.simulator.attachEnvironment(function: "mi"))
            #expect(environment["AWS_LAMBDA_MAX_CONCURRENCY"] == "2")
            let api = try #require(try await sim.simulator.sandboxes().first?.runtimeAPI)
            let next = HTTPRequest(method: "GET", target: "/2018-06-01/runtime/invocation/next")
            async let first = sim.runtimeAPI(api, next)
            async let second = sim.runtimeAPI(api, next)
            try await Task.sleep(for: .milliseconds(300))
            let third = try await sim.runtimeAPI(api, next)
            #expect(third.status == 500)
            #expect(
                try stringObject(third.body) == [
                    "errorMessage": "Internal Server Error", "errorType": "InternalServerError",
                ])

            async let slow = sim.invoke("mi", payload: #"{"n":1}"#)
            async let quick = sim.invoke("mi", payload: #"{"n":2}"#)
            let workers = [try await first, try await second]
            let byPayload = Dictionary(uniqueKeysWithValues: workers.map { (text($0), $0.headers) })
            let slowHeaders = try #require(byPayload[#"{"n":1}"#])
            let quickHeaders = try #require(byPayload[#"{"n":2}"#])
            let slowID = try #require(slowHeaders["Lambda-Runtime-Aws-Request-Id"])
            let quickID = try #require(quickHeaders["Lambda-Runtime-Aws-Request-Id"])
            let slowNonce = try #require(slowHeaders["Lambda-Runtime-Invocation-Id"])

            func reply(_ id: String, _ kind: String = "response", nonce: String? = nil) async throws -> HTTPResponse {
                var headers: HTTPHeaders = [:]
                if let nonce { headers["Lambda-Runtime-Invocation-Id"] = nonce }
                return try await sim.runtimeAPI(
                    api,
                    HTTPRequest(
                        method: "POST", target: "/2018-06-01/runtime/invocation/\(id)/\(kind)", headers: headers,
                        body: Array("{}".utf8)))
            }
            let invalidRequestID = ["errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"]
            let invokeTimeout = ["errorMessage": "Invoke timeout", "errorType": "InvokeTimeout"]
            let unknown = try await reply("00000000-0000-4000-8000-000000000000")
            #expect(unknown.status == 400)
            #expect(try stringObject(unknown.body) == invalidRequestID)
            let crossWired = try await reply(quickID, nonce: slowNonce)
            #expect(crossWired.status == 410)
            #expect(try stringObject(crossWired.body) == invokeTimeout)
            #expect(try await reply(quickID).status == 202)
            let secondReply = try await reply(quickID, "error")
            #expect(secondReply.status == 400)
            #expect(try stringObject(secondReply.body) == invalidRequestID)
            #expect(text(try await quick) == "{}")

            let timedOut = try await slow
            #expect(timedOut.headers["X-Amz-Function-Error"] == "Unhandled")
            let late = try await reply(slowID)
            #expect(late.status == 410)
            #expect(try stringObject(late.body) == invokeTimeout)
            let later = try await reply(slowID)
            #expect(later.status == 400)
            #expect(try stringObject(later.body) == invalidRequestID)
            #expect(try await sim.simulator.sandboxes().count == 1)
        }
    }

    /// In one serve, a classic function and a managed-instance one: concurrency counts invokes (reserved
    /// concurrency 2 lets two of three concurrent invokes into the managed instance, even with four slots), the
    /// classic sandbox is frozen between invokes and the managed instance is not.
    @Test(.timeLimit(.minutes(1)))
    func classicBesideManagedInServe() async throws {
        var managed = TestFunctions.managed(slots: 4)
        managed.reservedConcurrency = 2
        var classic = TestFunctions.fixture(name: "classic")
        classic.freezeMode = .signal
        try await withSimulator([classic, managed], account: .init(concurrency: 10)) { sim in
            _ = try await sim.sandboxes(atLeast: 1)
            #expect(try await eventually { try await sim.simulator.isReady() })
            let responses = try await invokeAll(sim, "mi", (1...3).map { #"{"tag":\#($0),"sleep":1}"# })
            #expect(responses.filter { $0.status == 200 }.count == 2)
            let throttled = try #require(responses.first { $0.status == 429 })
            #expect(
                try jsonObject(throttled.body)["Reason"] as? String
                    == "ReservedFunctionConcurrentInvocationLimitExceeded")
            #expect(text(try await sim.invoke("classic", payload: #"{"x":1}"#)) == #"{"x":1}"#)
            #expect(
                try await eventually {
                    try await sim.simulator.sandboxes().first { $0.function == "classic" }?.frozen == true
                })
            let statuses = try await sim.simulator.sandboxes()
            let instance = try #require(statuses.first { $0.function == "mi" })
            #expect(instance.isManagedInstance && !instance.frozen && instance.freezeCounts.frozen == 0)
            let metrics = text(try await sim.front(HTTPRequest(method: "GET", target: "/metrics")))
            #expect(metrics.contains("lambda_sim_slots{function=\"mi\"} 4\n"), "\(metrics)")
            let status = text(try await sim.front(HTTPRequest(method: "GET", target: "/_sim/sandboxes")))
            #expect(status.contains(#""freeze":"never (managed instance)","inFlight":0,"slots":4"#), "\(status)")
        }
    }
}
