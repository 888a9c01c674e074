// Asynchronous invokes in serve mode: Lambda's retries, event age and destination records
// (lambda-behaviour.md §4.6, §6.4), with a time scale so minutes take milliseconds.

import Foundation
import LambdaSim
import Testing

@Suite("Async invokes", .serialized)
struct AsyncInvokeTests {
    /// Reads the JSON lines of `path`, waiting until there are `count` of them.
    private func records(_ path: String, count: Int) async throws -> [[String: Any]] {
        for _ in 0..<200 {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                let lines = text.split(separator: "\n")
                if lines.count >= count {
                    return try lines.map {
                        try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("no \(count) records in \(path)")
        return []
    }

    private func run(
        _ function: FunctionOptions, timeScale: Double = 0.001, _ body: (SimHarness) async throws -> Void
    ) async throws {
        try await withSimulator([function], account: .init(concurrency: 10, timeScale: timeScale), body)
    }

    private func destinations() throws -> (success: String, failure: String, directory: String) {
        let directory = NSTemporaryDirectory() + "lambda-sim-async-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return (directory + "/success.jsonl", directory + "/failure.jsonl", directory)
    }

    /// A failing event is tried three times (two retries after 1 and 2 scaled minutes), then recorded on the
    /// failure destination with condition RetriesExhausted; a succeeding one on the success destination.
    @Test(.timeLimit(.minutes(1)))
    func retriesThenDestinations() async throws {
        let files = try destinations()
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        var function = TestFunctions.fixture(name: "async-fn")
        function.onSuccessDestination = files.success
        function.onFailureDestination = files.failure
        try await run(function) { sim in
            let failing = try await sim.invoke(
                "async-fn", payload: #"{"error":"Custom.Failure"}"#, headers: ["X-Amz-Invocation-Type": "Event"])
            #expect(failing.status == 202)
            let failingID = try #require(failing.headers["x-amzn-RequestId"])
            let failure = try #require(try await records(files.failure, count: 1).first)
            let context = try #require(failure["requestContext"] as? [String: Any])
            #expect(context["requestId"] as? String == failingID)
            #expect(context["condition"] as? String == "RetriesExhausted")
            #expect(context["approximateInvokeCount"] as? Int == 3)
            #expect(
                context["functionArn"] as? String == "arn:aws:lambda:us-east-1:123456789012:function:async-fn:$LATEST")
            #expect(failure["version"] as? String == "1.0")
            #expect((failure["requestPayload"] as? [String: Any])?["error"] as? String == "Custom.Failure")
            #expect((failure["responseContext"] as? [String: Any])?["functionError"] as? String == "Unhandled")
            #expect((failure["responsePayload"] as? [String: Any])?["errorType"] as? String == "Custom.Failure")
            let starts = sim.logs.texts.filter { $0 == "START RequestId: \(failingID) Version: $LATEST" }
            #expect(starts.count == 3)

            let succeeding = try await sim.invoke(
                "async-fn", payload: #"{"ok":1}"#, headers: ["X-Amz-Invocation-Type": "Event"])
            let success = try #require(try await records(files.success, count: 1).first)
            let successContext = try #require(success["requestContext"] as? [String: Any])
            #expect(successContext["requestId"] as? String == succeeding.headers["x-amzn-RequestId"])
            #expect(successContext["condition"] as? String == "Success")
            #expect(successContext["approximateInvokeCount"] as? Int == 1)
            #expect((success["responsePayload"] as? [String: Any])?["ok"] as? Int == 1)
        }
    }

    /// MaximumRetryAttempts 0: one attempt, then RetriesExhausted.
    @Test(.timeLimit(.minutes(1)))
    func noRetries() async throws {
        let files = try destinations()
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        var function = TestFunctions.fixture(name: "once")
        function.maximumRetryAttempts = 0
        function.onFailureDestination = files.failure
        try await run(function) { sim in
            _ = try await sim.invoke("once", payload: #"{"error":"X"}"#, headers: ["X-Amz-Invocation-Type": "Event"])
            let record = try #require(try await records(files.failure, count: 1).first)
            #expect((record["requestContext"] as? [String: Any])?["approximateInvokeCount"] as? Int == 1)
        }
    }

    /// Events that are throttled every time (reserved concurrency 0) are retried with backoff until they are
    /// older than MaximumEventAgeInSeconds, then recorded as EventAgeExceeded; the function never ran, so
    /// approximateInvokeCount is 0.
    @Test(.timeLimit(.minutes(1)))
    func eventAgeExpiry() async throws {
        let files = try destinations()
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        var function = TestFunctions.fixture(name: "blocked")
        function.reservedConcurrency = 0
        function.maximumEventAgeSeconds = 60
        function.onFailureDestination = files.failure
        try await run(function) { sim in
            let accepted = try await sim.invoke("blocked", payload: "{}", headers: ["X-Amz-Invocation-Type": "Event"])
            #expect(accepted.status == 202)
            let record = try #require(try await records(files.failure, count: 1).first)
            let context = try #require(record["requestContext"] as? [String: Any])
            #expect(context["condition"] as? String == "EventAgeExceeded")
            #expect(context["approximateInvokeCount"] as? Int == 0)
            #expect((record["responseContext"] as? [String: Any])?["statusCode"] as? Int == 429)
        }
    }

    /// Throttled attempts are retried but not counted: an event throttled while a synchronous invoke holds the
    /// only reserved slot, then failing three times (two retries), records approximateInvokeCount 3, the number
    /// of times the function ran.
    @Test(.timeLimit(.minutes(1)))
    func throttledAttemptsAreNotCounted() async throws {
        let files = try destinations()
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        var function = TestFunctions.fixture(name: "busy-async")
        function.reservedConcurrency = 1
        function.onFailureDestination = files.failure
        try await run(function) { sim in
            async let holding = sim.invoke("busy-async", payload: #"{"sleepMs":400}"#)
            try await Task.sleep(for: .milliseconds(100))
            let accepted = try await sim.invoke(
                "busy-async", payload: #"{"error":"X"}"#, headers: ["X-Amz-Invocation-Type": "Event"])
            let id = try #require(accepted.headers["x-amzn-RequestId"])
            #expect(try await holding.status == 200)
            let record = try #require(try await records(files.failure, count: 1).first)
            let context = try #require(record["requestContext"] as? [String: Any])
            #expect(context["condition"] as? String == "RetriesExhausted")
            #expect(context["approximateInvokeCount"] as? Int == 3)
            #expect(sim.logs.texts.filter { $0 == "START RequestId: \(id) Version: $LATEST" }.count == 3)
            #expect(sim.logs.texts.contains { $0.hasPrefix("ASYNC RequestId: \(id)") && $0.hasSuffix("Attempts: 3") })
        }
    }

    /// An event still waiting for a retry when the simulator stops is recorded, not lost.
    @Test(.timeLimit(.minutes(1)))
    func stopRecordsWaitingEvents() async throws {
        let files = try destinations()
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        var function = TestFunctions.fixture(name: "slow-retry")
        function.onFailureDestination = files.failure
        // Time scale 1: the retry would come a minute later.
        try await run(function, timeScale: 1) { sim in
            let accepted = try await sim.invoke(
                "slow-retry", payload: #"{"error":"X"}"#, headers: ["X-Amz-Invocation-Type": "Event"])
            let id = try #require(accepted.headers["x-amzn-RequestId"])
            _ = await sim.logs.report(for: id)
        }
        let record = try #require(try await records(files.failure, count: 1).first)
        #expect((record["requestContext"] as? [String: Any])?["condition"] as? String == "SimulatorStopped")
    }

    /// The events waiting are bounded in bytes: with 3 MiB allowed, three 1 MB events wait behind a busy
    /// function and the fourth is refused with 429 `CallerRateLimitExceeded` (never accepted, so never lost);
    /// once they have run, events are accepted again.
    @Test(.timeLimit(.minutes(1)))
    func waitingEventsAreBoundedInBytes() async throws {
        var function = TestFunctions.fixture(name: "queue-bytes")
        function.reservedConcurrency = 1
        let account = Simulator.AccountOptions(concurrency: 10, timeScale: 0.001, maxQueuedEventBytes: 3 << 20)
        try await withSimulator([function], account: account) { sim in
            let padding = String(repeating: "p", count: 1_000_000)
            let event = ["X-Amz-Invocation-Type": "Event"]
            var statuses: [Int] = []
            for _ in 0..<4 {
                let response = try await sim.invoke(
                    "queue-bytes", payload: #"{"sleepMs":300,"pad":"\#(padding)"}"#, headers: event)
                statuses.append(response.status)
                if response.status == 429 {
                    let body = String(decoding: response.body, as: UTF8.self)
                    #expect(body.contains(#""Reason":"CallerRateLimitExceeded""#), "\(body)")
                    #expect(response.headers["x-amzn-ErrorType"] == "TooManyRequestsException")
                }
            }
            #expect(statuses == [202, 202, 202, 429])
            var accepted = false
            for _ in 0..<100 where !accepted {
                try await Task.sleep(for: .milliseconds(50))
                let again = try await sim.invoke("queue-bytes", payload: #"{"pad":"\#(padding)"}"#, headers: event)
                accepted = again.status == 202
            }
            #expect(accepted)
        }
    }
}
