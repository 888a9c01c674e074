import SimCore
import Testing

@testable import SimServer

@Suite struct FunctionReferenceTests {
    /// Names, partial ARNs and full ARNs decode with their qualifier.
    @Test func forms() {
        #expect(FunctionReference("fn") == FunctionReference(name: "fn"))
        #expect(FunctionReference("fn:$LATEST")?.qualifier == "$LATEST")
        let partial = FunctionReference("123456789012:function:fn:prod")
        #expect(partial?.accountID == "123456789012" && partial?.name == "fn" && partial?.qualifier == "prod")
        let full = FunctionReference("arn:aws:lambda:eu-west-1:123456789012:function:fn")
        #expect(full?.region == "eu-west-1" && full?.name == "fn" && full?.qualifier == nil)
    }

    /// Malformed references are rejected.
    @Test(arguments: ["", "fn:", "a b", "arn:aws:s3:::bucket", "fn:bad/qualifier", String(repeating: "x", count: 65)])
    func invalid(text: String) {
        #expect(FunctionReference(text) == nil)
    }

    /// The function segment comes from the invoke paths only (Invoke and InvokeWithResponseStream).
    @Test func pathSegment() {
        #expect(InvokeAPIServer.functionSegment("/2015-03-31/functions/fn/invocations").map(\.name) == "fn")
        #expect(InvokeAPIServer.functionSegment("/2015-03-31/functions/fn/invocations")?.streaming == false)
        let stream = InvokeAPIServer.functionSegment("/2021-11-15/functions/fn/response-streaming-invocations")
        #expect(stream?.name == "fn" && stream?.streaming == true)
        #expect(InvokeAPIServer.functionSegment("/2015-03-31/functions/fn/response-streaming-invocations") == nil)
        #expect(InvokeAPIServer.functionSegment("/2015-03-31/functions//invocations") == nil)
        #expect(InvokeAPIServer.functionSegment("/2015-03-31/functions/a/b/invocations") == nil)
        #expect(PercentDecoding.decode("arn%3Aaws") == "arn:aws")
        #expect(PercentDecoding.decode("%zz") == nil)
    }
}

@Suite struct InvokeAPIErrorTests {
    /// Service errors carry x-amzn-ErrorType, x-amzn-RequestId and a Type/Message body boto3 parses.
    @Test func rendering() {
        let response = InvokeAPIError.notFound(arn: "arn:aws:lambda:us-east-1:1:function:x").response(requestID: "id")
        #expect(response.status == 404)
        #expect(response.headers["x-amzn-ErrorType"] == "ResourceNotFoundException")
        #expect(response.headers["x-amzn-RequestId"] == "id")
        #expect(
            String(decoding: response.body, as: UTF8.self)
                == "{\"Type\":\"User\",\"Message\":\"Function not found: arn:aws:lambda:us-east-1:1:function:x\"}")
        #expect(!response.headers.contains("Date"))
        let dated = InvokeAPIError.notFound(arn: "a").response(requestID: "id", date: "Sat, 02 Mar 2024 18:59:37 GMT")
        #expect(dated.headers.map(\.name).first == "Date")
        let throttle = InvokeAPIError(
            status: 429, code: "TooManyRequestsException", message: "Rate Exceeded.",
            reason: "ConcurrentInvocationLimitExceeded", retryAfterSeconds: 1
        ).response(requestID: "id")
        #expect(throttle.headers["Retry-After"] == "1")
        #expect(
            String(decoding: throttle.body, as: UTF8.self).contains("\"Reason\":\"ConcurrentInvocationLimitExceeded\""))
    }

    /// A function error answers 200 with X-Amz-Function-Error: Unhandled and the error payload.
    @Test func functionErrorRendering() {
        let result = InvokeResult(
            requestID: "id", outcome: .platformError(errorType: "Runtime.ExitError", message: "m"),
            logTail: Array("log".utf8))
        let response = InvokeAPIServer.render(
            result, executedVersion: "$LATEST", date: "Sat, 02 Mar 2024 18:59:37 GMT", traceID: "Root=1-x")
        #expect(response.status == 200)
        #expect(response.headers["Date"] == "Sat, 02 Mar 2024 18:59:37 GMT")
        #expect(response.headers["X-Amzn-Trace-Id"] == "Root=1-x")
        #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
        #expect(response.headers["X-Amz-Log-Result"] == "bG9n")
        #expect(
            String(decoding: response.body, as: UTF8.self)
                == "{\"errorType\":\"Runtime.ExitError\",\"errorMessage\":\"m\"}")
    }
}
