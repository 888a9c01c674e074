// The Runtime API's answers to misuse, spoken to directly over HTTP while the fixture runtime is
// inside an invoke (lambda-behaviour.md §1.1, §1.3, §1.5, §1.9).

import Foundation
import SimHTTP
import Testing

@Suite("Runtime API error catalogue")
struct RuntimeAPITests {
    /// While an invoke runs: /response and /error for an unknown id → 400 InvalidRequestID, an unknown path → 404,
    /// GET /runtime/init/error → 405, POST /runtime/init/error → 403 InvalidStateTransition; the invoke still
    /// succeeds.
    @Test(.timeLimit(.minutes(1)))
    func errorsWhileRunning() async throws {
        try await withSimulator([TestFunctions.fixture(timeoutSeconds: 10).withOpenRuntimeAPI()]) { sim in
            let payload = #"{"sleepMs":5000}"#
            async let slow = sim.invoke("fn", payload: payload)
            _ = try #require(await sim.logs.first { $0.text.hasPrefix("START RequestId: ") })
            let api = try #require(try await sim.sandboxes(atLeast: 1).first?.runtimeAPI)

            let invalidID = #"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"# + "\n"
            for endpoint in ["response", "error"] {
                let target = "/2018-06-01/runtime/invocation/\(UUID().uuidString.lowercased())/\(endpoint)"
                let reply = try await sim.runtimeAPI(
                    api,
                    HTTPRequest(
                        method: "POST", target: target, headers: ["Content-Type": "application/json"],
                        body: Array("{}".utf8)))
                #expect(reply.status == 400, "\(endpoint)")
                #expect(reply.headers["Content-Type"] == "application/json")
                #expect(text(reply) == invalidID, "\(endpoint)")
            }

            let unknown = try await sim.runtimeAPI(api, HTTPRequest(method: "GET", target: "/2018-06-01/runtime/nope"))
            #expect(unknown.status == 404)
            let wrongMethod = try await sim.runtimeAPI(
                api, HTTPRequest(method: "GET", target: "/2018-06-01/runtime/init/error"))
            #expect(wrongMethod.status == 405)

            let lateInitError = try await sim.runtimeAPI(
                api,
                HTTPRequest(
                    method: "POST", target: "/2018-06-01/runtime/init/error",
                    headers: ["Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": "Late.Error"],
                    body: Array(#"{"errorMessage":"late","errorType":"Late.Error"}"#.utf8)))
            #expect(lateInitError.status == 403)
            #expect(lateInitError.headers["Content-Type"] == "application/json")
            #expect(text(lateInitError).hasSuffix("}\n"))
            #expect(
                try stringObject(lateInitError.body) == [
                    "errorMessage": "State transition from Running to InitError failed for runtime. "
                        + "Error: State transition is not allowed",
                    "errorType": "InvalidStateTransition",
                ])

            let result = try await slow
            #expect(result.status == 200)
            #expect(!result.headers.contains("X-Amz-Function-Error"))
            #expect(text(result) == payload)
        }
    }

    /// A second /response for the same invoke is refused with 403, and the invoker keeps the first response.
    @Test(.timeLimit(.minutes(1)))
    func secondResponseIsForbidden() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let response = try await sim.invoke("fn", payload: #"{"twice":true}"#)
            #expect(response.status == 200)
            #expect(text(response) == #"{"twice":true}"#)
            let line = await sim.logs.first { $0.text.hasPrefix("second-response-status: ") }
            #expect(line?.text == "second-response-status: 403")
            #expect(line?.isPlatform == false)
        }
    }

    /// A response of 6,291,557 bytes gets 413 on the Runtime API and the invoker gets Function.ResponseSizeTooLarge;
    /// exactly 6,291,556 bytes is delivered unchanged with the runtime's content type.
    @Test(.timeLimit(.minutes(1)))
    func responseSizeLimit() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let tooLarge = try await sim.invoke("fn", payload: #"{"bytes":6291557}"#)
            #expect(tooLarge.status == 200)
            #expect(tooLarge.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(
                try stringObject(tooLarge.body) == [
                    "errorMessage":
                        "Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                ])
            let warning = await sim.logs.first { $0.text.hasPrefix("lambda-sim-fixture: /response returned") }
            #expect(warning?.text == "lambda-sim-fixture: /response returned HTTP 413")

            let largest = try await sim.invoke("fn", payload: #"{"bytes":6291556}"#)
            #expect(largest.status == 200)
            #expect(!largest.headers.contains("X-Amz-Function-Error"))
            #expect(largest.headers["Content-Type"] == "application/octet-stream")
            #expect(largest.body.count == 6_291_556)
            #expect(largest.body.allSatisfy { $0 == UInt8(ascii: "a") })
        }
    }

    /// `/next` carries a `Lambda-Runtime-Invocation-Id` that is new for every invoke (runtimes echo it back).
    @Test(.timeLimit(.minutes(1)))
    func nextCarriesAnInvocationID() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            var seen: Set<String> = []
            for _ in 0..<3 {
                let response = try await sim.invoke("fn", payload: #"{"headers":true}"#)
                let headers = try #require(
                    try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String])
                let id = try #require(headers.first { $0.key.lowercased() == "lambda-runtime-invocation-id" }?.value)
                seen.insert(id)
            }
            #expect(seen.count == 3)
        }
    }
}
