// An invoke without a payload: Lambda hands the function `{}`, so runtime clients that decode the event
// (awslambdaric, Swift's, Go's, Node's) never see an empty body (issue 9).

import Foundation
import LambdaSim
import Testing

@Suite("Empty invoke payloads")
struct EmptyPayloadTests {
    /// curl POSTing without `-d` reaches the native fixture as `{}` (it echoes the payload).
    @Test(.timeLimit(.minutes(1)))
    func curlWithoutBody() async throws {
        let curl = try #require(TestPaths.which("curl"), "curl is not on PATH")
        try await withSimulator([TestFunctions.fixture(aliases: ["function"])]) { sim in
            let url = sim.simulator.endpoint + "/2015-03-31/functions/function/invocations"
            let result = try await runProcess([curl, "-sS", "-X", "POST", "-w", "\n%{http_code}", url])
            #expect(result.status == .exited(0), "\(result.stderr)")
            #expect(result.stdout == "{}\n200")
        }
    }

    /// boto3's `invoke` without `Payload` runs an awslambdaric handler with the event `{}` (before the fix it
    /// failed with Runtime.UnmarshalError).
    @Test(.timeLimit(.minutes(1)))
    func boto3WithoutPayload() async throws {
        try await withSimulator([TestFunctions.python("handlers.ok")]) { sim in
            let script = TestPaths.pythonFixtures + "/invoke_boto3.py"
            let result = try await runProcess(
                [TestPaths.python, script, sim.simulator.endpoint, "py", "ignored", "--no-payload"])
            #expect(result.status == .exited(0), "\(result.stderr)")
            let output = try jsonObject(result.stdout)
            #expect(output["StatusCode"] as? Int == 200)
            #expect(output["FunctionError"] is NSNull)
            #expect(output["Payload"] as? String == #"{"ok": true, "event": {}}"#)
        }
    }

    /// `aws lambda invoke` without `--payload` gets the handler's answer to `{}` in its output file.
    @Test(.timeLimit(.minutes(1)))
    func awsCLIWithoutPayload() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outFile = directory + "/out.json"
        let environment = TestPaths.environment(adding: [
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": directory + "/config", "AWS_SHARED_CREDENTIALS_FILE": directory + "/credentials",
            "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1",
        ])
        try await withSimulator([TestFunctions.python("handlers.ok")]) { sim in
            let result = try await runProcess(
                [
                    TestPaths.python, TestPaths.awsCLI, "lambda", "invoke", "--endpoint-url", sim.simulator.endpoint,
                    "--region", "us-east-1", "--function-name", "py", outFile,
                ], environment: environment)
            #expect(result.status == .exited(0), "\(result.stderr)")
            let summary = try jsonObject(result.stdout)
            #expect(summary["StatusCode"] as? Int == 200)
            #expect(summary["FunctionError"] == nil)
            #expect(try String(contentsOfFile: outFile, encoding: .utf8) == #"{"ok": true, "event": {}}"#)
        }
    }

    /// An `Event` invoke without a body is accepted (202) and the handler then prints the event `{}`.
    @Test(.timeLimit(.minutes(1)))
    func eventWithoutBody() async throws {
        try await withSimulator([TestFunctions.python("handlers.print_event")]) { sim in
            let response = try await sim.invoke("py", body: [], headers: ["X-Amz-Invocation-Type": "Event"])
            #expect(response.status == 202)
            let id = try #require(response.headers["x-amzn-RequestId"])
            let line = await sim.logs.first { !$0.isPlatform && $0.requestID == id && $0.text.contains("event: ") }
            #expect(line?.text.hasSuffix("event: {}") == true, "\(String(describing: line))")
        }
    }
}
