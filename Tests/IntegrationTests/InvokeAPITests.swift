// The Invoke API as clients see it: service errors, invocation and log types, and the forms of the
// function name (lambda-behaviour.md §4.1–§4.3).

import Foundation
import Testing

@Suite("Invoke API")
struct InvokeAPITests {
    /// An unknown function → 404 ResourceNotFoundException with `Function not found: <ARN>`.
    @Test(.timeLimit(.minutes(1)))
    func unknownFunction() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let response = try await sim.invoke("nope", payload: "{}")
            #expect(response.status == 404)
            #expect(response.headers["x-amzn-ErrorType"] == "ResourceNotFoundException")
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(isUUID(response.headers["x-amzn-RequestId"] ?? ""))
            #expect(
                try stringObject(response.body) == [
                    "Type": "User",
                    "Message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope:$LATEST",
                ])
        }
    }

    /// A body that is not JSON → 400 InvalidRequestContentException, and the function is not run.
    @Test(.timeLimit(.minutes(1)))
    func invalidJSON() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let response = try await sim.invoke("fn", payload: #"{"a":"#)
            #expect(response.status == 400)
            #expect(response.headers["x-amzn-ErrorType"] == "InvalidRequestContentException")
            let body = try stringObject(response.body)
            #expect(body["Type"] == "User")
            #expect(body["Message"]?.isEmpty == false)
            #expect(try await sim.simulator.sandboxes().isEmpty)
        }
    }

    /// A 6,291,457-byte JSON body → 413 RequestEntityTooLargeException; 6,291,456 bytes are accepted and echoed.
    @Test(.timeLimit(.minutes(1)))
    func requestSizeLimit() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let tooLarge = jsonString(totalBytes: 6_291_457)
            let rejected = try await sim.invoke("fn", body: tooLarge)
            #expect(rejected.status == 413)
            #expect(rejected.headers["x-amzn-ErrorType"] == "RequestEntityTooLargeException")
            #expect(
                try stringObject(rejected.body) == [
                    "Type": "User",
                    "Message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
                ])

            let largest = jsonString(totalBytes: 6_291_456)
            let accepted = try await sim.invoke("fn", body: largest)
            #expect(accepted.status == 200)
            #expect(!accepted.headers.contains("X-Amz-Function-Error"))
            #expect(accepted.body == largest)
        }
    }

    /// `"xxx…"`: a valid JSON string of exactly `totalBytes` bytes.
    private func jsonString(totalBytes: Int) -> [UInt8] {
        [UInt8(ascii: "\"")] + [UInt8](repeating: UInt8(ascii: "x"), count: totalBytes - 2) + [UInt8(ascii: "\"")]
    }

    /// `Event` → 202 with an empty body and a request id, and the invoke then runs (its REPORT appears).
    @Test(.timeLimit(.minutes(1)))
    func eventInvocation() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let response = try await sim.invoke(
                "fn", payload: #"{"print":"async ran"}"#, headers: ["X-Amz-Invocation-Type": "Event"])
            #expect(response.status == 202)
            #expect(response.body.isEmpty)
            let id = try #require(response.headers["x-amzn-RequestId"])
            #expect(isUUID(id))
            #expect(await sim.logs.report(for: id) != nil)
            #expect(await sim.logs.first { $0.text == "async ran" } != nil)
        }
    }

    /// `DryRun` → 204 with an empty body, and no sandbox is started.
    @Test(.timeLimit(.minutes(1)))
    func dryRun() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let response = try await sim.invoke("fn", payload: "{}", headers: ["X-Amz-Invocation-Type": "DryRun"])
            #expect(response.status == 204)
            #expect(response.body.isEmpty)
            #expect(isUUID(response.headers["x-amzn-RequestId"] ?? ""))
            #expect(try await sim.simulator.sandboxes().isEmpty)
        }
    }

    /// An unknown invocation type → 400 InvalidParameterValueException.
    @Test(.timeLimit(.minutes(1)))
    func badInvocationType() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let response = try await sim.invoke("fn", payload: "{}", headers: ["X-Amz-Invocation-Type": "Sync"])
            #expect(response.status == 400)
            #expect(response.headers["x-amzn-ErrorType"] == "InvalidParameterValueException")
            #expect(try stringObject(response.body)["Type"] == "User")
            #expect(try await sim.simulator.sandboxes().isEmpty)
        }
    }

    /// Invokes with `X-Amz-Log-Type: Tail` and returns the request id and the decoded X-Amz-Log-Result.
    private func invokeWithTail(_ sim: SimHarness) async throws -> (id: String, log: String) {
        let response = try await sim.invoke(
            "fn", payload: #"{"print":"hello from the runtime"}"#, headers: ["X-Amz-Log-Type": "Tail"])
        #expect(response.status == 200)
        #expect(text(response) == #"{"print":"hello from the runtime"}"#)
        let id = try #require(response.headers["x-amzn-RequestId"])
        let encoded = try #require(response.headers["X-Amz-Log-Result"])
        return (id, try #require(base64Text(encoded), "not base64: \(encoded)"))
    }

    /// `X-Amz-Log-Type: Tail` → X-Amz-Log-Result, base64 of the invoke's log: its START line, the runtime's output
    /// and its REPORT line.
    @Test(.timeLimit(.minutes(1)))
    func logTail() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let (id, log) = try await invokeWithTail(sim)
            #expect(log.contains("START RequestId: \(id) Version: $LATEST\n"), "\(log)")
            #expect(log.contains("\nhello from the runtime\n"), "\(log)")
            #expect(log.contains("\nREPORT RequestId: \(id)\t"), "\(log)")
        }
    }

    /// What a runtime prints just before posting its response belongs to that invoke, every time: the simulator
    /// reads the runtime's output before it acts on the response, so the line is never late (in the next invoke's
    /// log, or after END). Stdout and stderr alike.
    @Test(.timeLimit(.minutes(1)))
    func outputBeforeResponseIsAttributed() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            for round in 0..<100 {
                let stream = round % 2 == 0 ? "print" : "stderr"
                let response = try await sim.invoke(
                    "fn", payload: #"{"\#(stream)":"line \#(round)"}"#, headers: ["X-Amz-Log-Type": "Tail"])
                let id = try #require(response.headers["x-amzn-RequestId"])
                let log = try #require(response.headers["X-Amz-Log-Result"].flatMap(base64Text))
                #expect(log.contains("\nline \(round)\nEND RequestId: \(id)\n"), "round \(round): \(log)")
                #expect(!log.contains("line \(round - 1)\n"), "round \(round): \(log)")
            }
        }
    }

    /// The X-Amz-Log-Result tail also holds the invoke's `END RequestId: <id>` line, between output and REPORT.
    @Test(.timeLimit(.minutes(1)))
    func logTailIncludesEnd() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let (id, log) = try await invokeWithTail(sim)
            #expect(log.contains("\nhello from the runtime\nEND RequestId: \(id)\nREPORT RequestId: \(id)\t"), "\(log)")
        }
    }

    /// The function answers to its full ARN, its partial ARN, a URL-encoded ARN and its alias `function`.
    @Test(.timeLimit(.minutes(1)))
    func functionNameForms() async throws {
        try await withSimulator([TestFunctions.fixture(name: "named-fn", aliases: ["function"])]) { sim in
            let names = [
                "named-fn",
                "function",
                "arn:aws:lambda:us-east-1:123456789012:function:named-fn",
                "123456789012:function:named-fn",
                "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Anamed-fn",
            ]
            for name in names {
                let payload = #"{"name":"\#(name)"}"#
                let response = try await sim.invoke(name, payload: payload)
                #expect(response.status == 200, "\(name)")
                #expect(!response.headers.contains("X-Amz-Function-Error"), "\(name)")
                #expect(text(response) == payload, "\(name)")
            }
            let wrongAccount = try await sim.invoke("999999999999:function:named-fn", payload: "{}")
            #expect(wrongAccount.status == 404)
            #expect(wrongAccount.headers["x-amzn-ErrorType"] == "ResourceNotFoundException")
        }
    }
}
