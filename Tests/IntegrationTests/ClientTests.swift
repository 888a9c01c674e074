// Real runtimes and clients beyond the fixture: the bash + curl custom runtime, boto3, the AWS CLI
// and curl (lambda-behaviour.md §4.4).

import Foundation
import LambdaSim
import SimUV
import Testing

@Suite("Real clients and the bash runtime")
struct ClientTests {
    /// The bash + curl custom runtime (Fixtures/bash, handler function.handler) answers two invokes in a row.
    @Test(.timeLimit(.minutes(1)))
    func bashRuntime() async throws {
        let directory = TestPaths.fixtures + "/bash"
        let function = FunctionOptions(
            name: "bash-fn", command: [directory + "/bootstrap"], codeDirectory: directory,
            handler: "function.handler", runtime: "provided.al2023",
            inheritedEnvironment: TestPaths.inheritedEnvironment)
        try await withSimulator([function]) { sim in
            for payload in [#"{"a":1}"#, #"{"b":[2,3]}"#] {
                let response = try await sim.invoke("bash-fn", payload: payload)
                #expect(response.status == 200)
                #expect(!response.headers.contains("X-Amz-Function-Error"))
                #expect(text(response) == #"{"echo":\#(payload),"runtime":"bash"}"#)
            }
            #expect(await sim.logs.first { !$0.isPlatform && $0.text == #"{"b":[2,3]}"# } != nil)
        }
    }

    /// Runs Fixtures/python/invoke_boto3.py and returns its one JSON line.
    private func boto3(_ sim: SimHarness, _ arguments: [String]) async throws -> [String: Any] {
        let script = TestPaths.pythonFixtures + "/invoke_boto3.py"
        let result = try await runProcess([TestPaths.python, script, sim.simulator.endpoint] + arguments)
        #expect(result.status == .exited(0), "\(result.stderr)")
        return try jsonObject(result.stdout)
    }

    /// boto3 invoke with LogType Tail: StatusCode 200, ExecutedVersion $LATEST, the payload back, and a log tail
    /// holding the invoke's START and REPORT lines.
    @Test(.timeLimit(.minutes(1)))
    func boto3Success() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let output = try await boto3(sim, ["fn", #"{"a":1}"#, "--tail"])
            #expect(output["StatusCode"] as? Int == 200)
            #expect(output["FunctionError"] is NSNull)
            #expect(output["ExecutedVersion"] as? String == "$LATEST")
            #expect(output["Payload"] as? String == #"{"a":1}"#)
            let id = try #require(output["RequestId"] as? String)
            #expect(isUUID(id))
            let log = try #require(output["LogResult"] as? String)
            #expect(log.contains("START RequestId: \(id) Version: $LATEST"), "\(log)")
            #expect(log.contains("REPORT RequestId: \(id)\t"), "\(log)")
        }
    }

    /// boto3 reports a function error as FunctionError Unhandled with the error payload (it does not raise).
    @Test(.timeLimit(.minutes(1)))
    func boto3FunctionError() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let output = try await boto3(sim, ["fn", #"{"error":"Custom.Type"}"#])
            #expect(output["StatusCode"] as? Int == 200)
            #expect(output["FunctionError"] as? String == "Unhandled")
            #expect(output["Payload"] as? String == #"{"errorMessage":"fixture error","errorType":"Custom.Type"}"#)
        }
    }

    /// boto3 raises ResourceNotFoundException (HTTP 404) for an unknown function.
    @Test(.timeLimit(.minutes(1)))
    func boto3UnknownFunction() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let output = try await boto3(sim, ["nope", "{}"])
            #expect(output["error"] as? String == "ResourceNotFoundException")
            #expect(output["status"] as? Int == 404)
            #expect(
                output["message"] as? String
                    == "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope:$LATEST")
        }
    }

    /// `aws lambda invoke` against the endpoint exits 0, reports StatusCode 200 and writes the payload to the
    /// output file. (The venv's CLI is v1 from PyPI: it sends `--payload` raw and has no `--cli-binary-format`.)
    @Test(.timeLimit(.minutes(1)))
    func awsCLI() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outFile = directory + "/out.json"
        let environment = TestPaths.environment(adding: [
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": directory + "/config", "AWS_SHARED_CREDENTIALS_FILE": directory + "/credentials",
            "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1",
        ])
        try await withSimulator([TestFunctions.fixture(name: "cli-fn", aliases: ["function"])]) { sim in
            let result = try await runProcess(
                [
                    TestPaths.python, TestPaths.awsCLI, "lambda", "invoke", "--endpoint-url", sim.simulator.endpoint,
                    "--region", "us-east-1", "--function-name", "function", "--payload", #"{"a":1}"#, outFile,
                ], environment: environment)
            #expect(result.status == .exited(0), "\(result.stderr)")
            let summary = try jsonObject(result.stdout)
            #expect(summary["StatusCode"] as? Int == 200)
            #expect(summary["ExecutedVersion"] as? String == "$LATEST")
            #expect(summary["FunctionError"] == nil)
            #expect(try String(contentsOfFile: outFile, encoding: .utf8) == #"{"a":1}"#)
        }
    }

    /// curl POSTing to the RIE-style path gets 200 and the payload back.
    @Test(.timeLimit(.minutes(1)))
    func curl() async throws {
        let curl = try #require(TestPaths.which("curl"), "curl is not on PATH")
        try await withSimulator([TestFunctions.fixture(aliases: ["function"])]) { sim in
            let url = sim.simulator.endpoint + "/2015-03-31/functions/function/invocations"
            let result = try await runProcess(
                [
                    curl, "-sS", "-X", "POST", "-H", "Content-Type: application/json", "-d", #"{"via":"curl"}"#, "-w",
                    "\n%{http_code}", url,
                ])
            #expect(result.status == .exited(0), "\(result.stderr)")
            #expect(result.stdout == "{\"via\":\"curl\"}\n200")
        }
    }
}
