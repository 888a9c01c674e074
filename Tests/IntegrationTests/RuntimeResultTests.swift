// What a runtime may post as a result beyond plain bytes, posted over HTTP while the fixture runtime
// sleeps inside the invoke (lambda-behaviour.md §1.3, §1.4, §1.6).

import Foundation
import LambdaSim
import SimHTTP
import Testing

@Suite("Runtime results")
struct RuntimeResultTests {
    /// Starts a sleeping invoke; `post` sends the runtime's result in its place; returns the invoker's response.
    private func invoke(
        _ post: @escaping (SimHarness, String, String) async throws -> Void
    ) async throws -> (InvokeClient.Response, String) {
        var outcome: (InvokeClient.Response, String)?
        try await withSimulator([TestFunctions.fixture(timeoutSeconds: 10).withOpenRuntimeAPI()]) { sim in
            async let slow = sim.invoke("fn", payload: #"{"sleepMs":3000}"#)
            let start = try #require(await sim.logs.first { $0.text.hasPrefix("START RequestId: ") })
            let id = String(start.text.dropFirst("START RequestId: ".count).prefix(36))
            let api = try #require(try await sim.sandboxes(atLeast: 1).first?.runtimeAPI)
            try await post(sim, api, id)
            outcome = (try await slow, id)
        }
        return try #require(outcome)
    }

    /// An /error with Content-Type application/vnd.aws.lambda.error.cause+json: 202, and the invoker gets the body
    /// without `errorCause` (Unhandled).
    @Test(.timeLimit(.minutes(1)))
    func errorCauseIsSplitOff() async throws {
        let (response, _) = try await invoke { sim, api, id in
            let body = #"{"errorMessage":"m","errorType":"E.T","stackTrace":["a"],"errorCause":{"paths":["x"]}}"#
            let reply = try await sim.runtimeAPI(
                api,
                HTTPRequest(
                    method: "POST", target: "/2018-06-01/runtime/invocation/\(id)/error",
                    headers: [
                        "Content-Type": "application/vnd.aws.lambda.error.cause+json",
                        "Lambda-Runtime-Function-Error-Type": "E.T",
                    ], body: Array(body.utf8)))
            #expect(reply.status == 202)
            #expect(text(reply) == "{\"status\":\"OK\"}\n")
        }
        #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
        #expect(text(response) == #"{"errorMessage":"m","errorType":"E.T","stackTrace":["a"]}"#)
    }

    /// A response-mode header other than `streaming` is 400 InvalidFunctionResponseMode; the invoker gets
    /// Runtime.InvalidResponseModeHeader.
    @Test(.timeLimit(.minutes(1)))
    func invalidResponseMode() async throws {
        let (response, _) = try await invoke { sim, api, id in
            let reply = try await sim.runtimeAPI(
                api,
                HTTPRequest(
                    method: "POST", target: "/2018-06-01/runtime/invocation/\(id)/response",
                    headers: ["Lambda-Runtime-Function-Response-Mode": "buffered"], body: Array("{}".utf8)))
            #expect(reply.status == 400)
            #expect(
                text(reply)
                    == #"{"errorMessage":"Invalid function response mode","errorType":"InvalidFunctionResponseMode"}"#
                    + "\n")
        }
        #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(body["errorType"] as? String == "Runtime.InvalidResponseModeHeader")
    }

    /// A streamed response that ends with error trailers (Lambda-Runtime-Function-Error-Type and a base64
    /// Lambda-Runtime-Function-Error-Body) is accepted (202) and reaches the invoker as that function error.
    @Test(.timeLimit(.minutes(1)))
    func streamedErrorTrailers() async throws {
        let errorBody = #"{"errorMessage":"late","errorType":"Stream.Failed"}"#
        let (response, _) = try await invoke { sim, api, id in
            var request = HTTPRequest(
                method: "POST", target: "/2018-06-01/runtime/invocation/\(id)/response",
                headers: [
                    "Lambda-Runtime-Function-Response-Mode": "streaming", "Transfer-Encoding": "chunked",
                    "Trailer": "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
                ], body: Array("partial".utf8))
            request.trailers = [
                "Lambda-Runtime-Function-Error-Type": "Stream.Failed",
                "Lambda-Runtime-Function-Error-Body": Data(errorBody.utf8).base64EncodedString(),
            ]
            let reply = try await sim.runtimeAPI(api, request)
            #expect(reply.status == 202)
        }
        #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
        #expect(text(response) == errorBody)
    }
}
