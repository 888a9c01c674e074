// Successful invokes of the native fixture runtime: the invoker's answer, the /next headers the
// runtime sees, runtime-reported function errors, and sandbox reuse (lambda-behaviour.md §1.2, §4.2, §6.8).

import Foundation
import Testing

@Suite("Fixture runtime invokes")
struct FixtureInvokeTests {
    /// An invoke answers 200 with the payload bytes, a UUID x-amzn-RequestId, X-Amz-Executed-Version $LATEST and JSON
    /// content type, without X-Amz-Function-Error; a second invoke reuses the one sandbox and only the first REPORT
    /// has an Init Duration.
    @Test(.timeLimit(.minutes(1)))
    func echoReusesOneSandbox() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let payload = #"{"a":1,"nested":{"list":[1,2.5,"x"]},"text":"h\u00e9llo"}"#
            let first = try await sim.invoke("fn", payload: payload)
            #expect(first.status == 200)
            #expect(first.body == Array(payload.utf8))
            let firstID = try #require(first.headers["x-amzn-RequestId"])
            #expect(isUUID(firstID))
            #expect(first.headers["X-Amz-Executed-Version"] == "$LATEST")
            #expect(first.headers["Content-Type"] == "application/json")
            #expect(!first.headers.contains("X-Amz-Function-Error"))
            #expect(!first.headers.contains("X-Amz-Log-Result"))

            let second = try await sim.invoke("fn", payload: #"{"second":true}"#)
            #expect(second.status == 200)
            #expect(text(second) == #"{"second":true}"#)
            let secondID = try #require(second.headers["x-amzn-RequestId"])
            #expect(isUUID(secondID) && secondID != firstID)

            let firstReport = try #require(await sim.logs.report(for: firstID))
            let secondReport = try #require(await sim.logs.report(for: secondID))
            // §6.8: tab-separated fields, a trailing tab, and Init Duration only on the cold start.
            let fields =
                #"\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\t"#
            let coldReport = try Regex("REPORT RequestId: \(firstID)" + fields + #"Init Duration: \d+\.\d\d ms\t"#)
            let warmReport = try Regex("REPORT RequestId: \(secondID)" + fields)
            #expect(firstReport.wholeMatch(of: coldReport) != nil, "\(firstReport)")
            #expect(secondReport.wholeMatch(of: warmReport) != nil, "\(secondReport)")

            let texts = sim.logs.texts
            #expect(texts.contains("START RequestId: \(firstID) Version: $LATEST"))
            #expect(texts.contains("END RequestId: \(firstID)"))
            #expect(texts.filter { $0.hasPrefix("INIT_START ") }.count == 1)
            let sandboxes = try await sim.simulator.sandboxes()
            #expect(sandboxes.count == 1)
            #expect(sandboxes.first?.invocations == 2)
        }
    }

    /// /next gives the runtime the invoker's request id, a deadline of now + timeout in epoch ms, the invoked
    /// function ARN (with `:$LATEST` when the qualifier is given), an X-Ray trace header and the decoded client
    /// context.
    @Test(.timeLimit(.minutes(1)))
    func nextHeaders() async throws {
        try await withSimulator([TestFunctions.fixture(name: "headers-fn", timeoutSeconds: 5)]) { sim in
            let context = #"{"custom":{"k":"v"},"env":{"platform":"test"}}"#
            let before = epochMilliseconds()
            let response = try await sim.invoke(
                "headers-fn", payload: #"{"headers":true}"#, headers: ["X-Amz-Client-Context": base64(context)])
            let after = epochMilliseconds()
            #expect(response.status == 200)
            let headers = try stringObject(response.body)
            #expect(headers["lambda-runtime-aws-request-id"] == response.headers["x-amzn-RequestId"])
            #expect(headers["content-type"] == "application/json")
            let deadline = try #require(headers["lambda-runtime-deadline-ms"].flatMap { Int64($0) })
            #expect(deadline >= before + 5_000 - 10 && deadline <= after + 5_000 + 10, "deadline \(deadline)")
            #expect(
                headers["lambda-runtime-invoked-function-arn"]
                    == "arn:aws:lambda:us-east-1:123456789012:function:headers-fn")
            let trace = try #require(headers["lambda-runtime-trace-id"])
            let match = try #require(
                trace.wholeMatch(of: #/Root=1-([0-9a-f]{8})-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0/#), "\(trace)")
            let traceSeconds = try #require(Int64(match.1, radix: 16))
            #expect(traceSeconds >= before / 1000 - 1 && traceSeconds <= after / 1000 + 1)
            #expect(headers["lambda-runtime-client-context"] == context)

            let qualified = try await sim.invoke(
                "headers-fn", payload: #"{"headers":true}"#, qualifier: "$LATEST")
            #expect(qualified.status == 200)
            let qualifiedHeaders = try stringObject(qualified.body)
            #expect(
                qualifiedHeaders["lambda-runtime-invoked-function-arn"]
                    == "arn:aws:lambda:us-east-1:123456789012:function:headers-fn:$LATEST")
            #expect(qualifiedHeaders["lambda-runtime-client-context"] == nil)
            #expect(qualifiedHeaders["lambda-runtime-trace-id"] != trace)
        }
    }

    /// An error the runtime posts to /error reaches the invoker as 200 with X-Amz-Function-Error: Unhandled and the
    /// posted body unchanged, and the sandbox stays warm for the next invoke.
    @Test(.timeLimit(.minutes(1)))
    func functionError() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let response = try await sim.invoke("fn", payload: #"{"error":"Custom.Type"}"#)
            #expect(response.status == 200)
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(response.headers["X-Amz-Executed-Version"] == "$LATEST")
            #expect(text(response) == #"{"errorMessage":"fixture error","errorType":"Custom.Type"}"#)

            let next = try await sim.invoke("fn", payload: #"{"after":"error"}"#)
            #expect(next.status == 200)
            #expect(!next.headers.contains("X-Amz-Function-Error"))
            #expect(text(next) == #"{"after":"error"}"#)
            #expect(sim.logs.texts.filter { $0.hasPrefix("INIT_START ") }.count == 1)
        }
    }
}
