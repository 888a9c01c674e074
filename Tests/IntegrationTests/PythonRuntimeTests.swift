// AWS's own Python runtime client (awslambdaric) against the simulator, with the handlers in
// Fixtures/python/handlers.py.

import Foundation
import Testing

@Suite("awslambdaric runtime")
struct PythonRuntimeTests {
    /// A handler's return value reaches the invoker as JSON, with no function error.
    @Test(.timeLimit(.minutes(1)))
    func ok() async throws {
        try await withSimulator([TestFunctions.python("handlers.ok")]) { sim in
            let response = try await sim.invoke("py", payload: #"{"a":1}"#)
            #expect(response.status == 200)
            #expect(!response.headers.contains("X-Amz-Function-Error"))
            let body = try jsonObject(response.body)
            #expect(body["ok"] as? Bool == true)
            #expect((body["event"] as? [String: Any])?["a"] as? Int == 1)
        }
    }

    /// An exception reaches the invoker as 200 + Unhandled with awslambdaric's error body (errorType ValueError,
    /// errorMessage, requestId, stackTrace).
    @Test(.timeLimit(.minutes(1)))
    func raisedError() async throws {
        try await withSimulator([TestFunctions.python("handlers.raise_error")]) { sim in
            let response = try await sim.invoke("py", payload: "{}")
            #expect(response.status == 200)
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            let body = try jsonObject(response.body)
            #expect(body["errorType"] as? String == "ValueError")
            #expect(body["errorMessage"] as? String == "boom")
            #expect(body["requestId"] as? String == response.headers["x-amzn-RequestId"])
            #expect(((body["stackTrace"] as? [Any])?.count ?? 0) > 0)
        }
    }

    /// A handler that exits the process (status 3) or SIGKILLs it fails the invoke with Runtime.ExitError.
    @Test(.timeLimit(.minutes(1)))
    func crash() async throws {
        let functions = [
            TestFunctions.python("handlers.crash", name: "exits"),
            TestFunctions.python("handlers.kill_self", name: "killed"),
        ]
        try await withSimulator(functions) { sim in
            for (name, reason) in [("exits", "exit status 3"), ("killed", "signal: killed")] {
                let response = try await sim.invoke(name, payload: #"{"code":3}"#)
                let id = try #require(response.headers["x-amzn-RequestId"])
                #expect(response.status == 200)
                #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
                #expect(
                    try stringObject(response.body) == [
                        "errorMessage": "RequestId: \(id) Error: Runtime exited with error: \(reason)",
                        "errorType": "Runtime.ExitError",
                    ])
            }
        }
    }

    /// A handler module that fails to import gives the invoker Runtime.ImportModuleError from awslambdaric's
    /// /init/error, after the init was retried inside the invoke.
    @Test(.timeLimit(.minutes(1)))
    func importError() async throws {
        try await withSimulator([TestFunctions.python("import_error.handler")]) { sim in
            let response = try await sim.invoke("py", payload: "{}")
            #expect(response.status == 200)
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            let body = try jsonObject(response.body)
            #expect(body["errorType"] as? String == "Runtime.ImportModuleError")
            let message = try #require(body["errorMessage"] as? String)
            #expect(message.hasPrefix("Unable to import module 'import_error': "), "\(message)")
            #expect(sim.logs.texts.contains { $0.hasPrefix("INIT_REPORT ") && $0.contains("\tPhase: invoke\t") })
        }
    }

    /// The base64 X-Amz-Client-Context reaches the handler as context.client_context.
    @Test(.timeLimit(.minutes(1)))
    func clientContext() async throws {
        try await withSimulator([TestFunctions.python("handlers.client_context")]) { sim in
            let client =
                #"{"installation_id":"inst-1","app_title":"t","app_version_name":"1.0","app_version_code":"2","#
                + #""app_package_name":"p"}"#
            let context = #"{"custom":{"k":"v"},"env":{"platform":"test"},"client":"# + client + "}"
            let response = try await sim.invoke("py", payload: "{}", headers: ["X-Amz-Client-Context": base64(context)])
            #expect(response.status == 200)
            #expect(!response.headers.contains("X-Amz-Function-Error"))
            let body = try jsonObject(response.body)
            #expect((body["custom"] as? [String: Any])?["k"] as? String == "v")
            #expect((body["env"] as? [String: Any])?["platform"] as? String == "test")
            #expect((body["client"] as? [String: Any])?["installation_id"] as? String == "inst-1")
        }
    }

    /// get_remaining_time_in_millis() starts just under the timeout: (timeout - 1 s, timeout].
    @Test(.timeLimit(.minutes(1)), arguments: [3, 10])
    func remainingTime(timeoutSeconds: Int) async throws {
        let function = TestFunctions.python("handlers.remaining", timeoutSeconds: Double(timeoutSeconds))
        try await withSimulator([function]) { sim in
            let response = try await sim.invoke("py", payload: "{}")
            #expect(response.status == 200)
            let remaining = try #require(Int(text(response)), "\(text(response))")
            #expect(remaining > (timeoutSeconds - 1) * 1000 && remaining <= timeoutSeconds * 1000, "\(remaining)")
        }
    }

    /// The context carries the function's name, version, ARN, memory, request id and log group/stream.
    @Test(.timeLimit(.minutes(1)))
    func contextInfo() async throws {
        let function = TestFunctions.python("handlers.context_info", name: "custom-name", memorySizeMB: 256)
        try await withSimulator([function]) { sim in
            let response = try await sim.invoke("custom-name", payload: "{}")
            #expect(response.status == 200)
            let body = try jsonObject(response.body)
            #expect(body["function_name"] as? String == "custom-name")
            #expect(body["function_version"] as? String == "$LATEST")
            #expect(
                body["invoked_function_arn"] as? String == "arn:aws:lambda:us-east-1:123456789012:function:custom-name")
            #expect(body["memory_limit_in_mb"].map { "\($0)" } == "256")
            #expect(body["aws_request_id"] as? String == response.headers["x-amzn-RequestId"])
            #expect(body["log_group_name"] as? String == "/aws/lambda/custom-name")
            let stream = try #require(body["log_stream_name"] as? String)
            #expect(stream.wholeMatch(of: #/\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}/#) != nil, "\(stream)")
        }
    }

    /// Customer environment variables reach the runtime literally, including values containing `=`.
    @Test(.timeLimit(.minutes(1)))
    func environmentWithEquals() async throws {
        let function = TestFunctions.python(
            "handlers.env", environment: [("WITH_EQUALS", "a=b==c"), ("PLAIN", "plain value")])
        try await withSimulator([function]) { sim in
            let response = try await sim.invoke(
                "py", payload: #"{"names":["WITH_EQUALS","PLAIN","AWS_LAMBDA_FUNCTION_NAME","UNSET_VARIABLE_XYZ"]}"#)
            #expect(response.status == 200)
            let body = try jsonObject(response.body)
            #expect(body["WITH_EQUALS"] as? String == "a=b==c")
            #expect(body["PLAIN"] as? String == "plain value")
            #expect(body["AWS_LAMBDA_FUNCTION_NAME"] as? String == "py")
            #expect(body["UNSET_VARIABLE_XYZ"] is NSNull)
        }
    }

    /// A handler sleeping past a 1 s timeout gets the Sandbox.Timedout body and a REPORT with Status: timeout.
    @Test(.timeLimit(.minutes(1)))
    func timeout() async throws {
        try await withSimulator([TestFunctions.python("handlers.sleep", timeoutSeconds: 1)]) { sim in
            let response = try await sim.invoke("py", payload: #"{"seconds":5}"#)
            let id = try #require(response.headers["x-amzn-RequestId"])
            #expect(response.status == 200)
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(
                try stringObject(response.body) == [
                    "errorMessage": "RequestId: \(id) Error: Task timed out after 1.00 seconds",
                    "errorType": "Sandbox.Timedout",
                ])
            let report = try #require(await sim.logs.report(for: id))
            #expect(report.hasSuffix("\tStatus: timeout\t"), "\(report)")
        }
    }
}
