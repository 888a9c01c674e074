import SimCore
import SimDomain
import SimHTTP

/// Renders Runtime API responses and reads runtime-posted results, byte-exact with Lambda's agent.
package enum RuntimeAPIResponses {
    package static let requestIDHeader = "Lambda-Runtime-Aws-Request-Id"
    package static let deadlineHeader = "Lambda-Runtime-Deadline-Ms"
    package static let functionARNHeader = "Lambda-Runtime-Invoked-Function-Arn"
    package static let traceIDHeader = "Lambda-Runtime-Trace-Id"
    package static let clientContextHeader = "Lambda-Runtime-Client-Context"
    package static let cognitoIdentityHeader = "Lambda-Runtime-Cognito-Identity"
    package static let tenantIDHeader = "Lambda-Runtime-Aws-Tenant-Id"
    package static let errorTypeHeader = "Lambda-Runtime-Function-Error-Type"
    package static let errorBodyTrailer = "Lambda-Runtime-Function-Error-Body"
    package static let responseModeHeader = "Lambda-Runtime-Function-Response-Mode"
    /// The per-invoke nonce sent on `/next` and echoed by runtimes on `/response` and `/error`.
    package static let invocationIDHeader = "Lambda-Runtime-Invocation-Id"
    /// Content type whose body carries an `errorCause` for X-Ray, split off before the invoker sees it.
    package static let errorCauseContentType = "application/vnd.aws.lambda.error.cause+json"

    /// Answers `/next` with the invoke: the raw payload and every header Lambda sets (only non-empty ones),
    /// written straight into the response's bytes.
    package static func sendNext(
        _ invocation: Invocation, deadlineEpochMilliseconds: Int64, invocationID: String, to responder: HTTPResponder
    ) {
        responder.send(status: 200, body: invocation.payload) { fields in
            // Invoke payloads are JSON (the Invoke API rejects anything else), so runtimes always see JSON.
            fields.add("Content-Type", "application/json")
            fields.add(requestIDHeader, invocation.requestID)
            fields.add(deadlineHeader, decimal: deadlineEpochMilliseconds)
            fields.add(functionARNHeader, invocation.invokedFunctionARN)
            fields.add(traceIDHeader, invocation.traceID)
            if let context = invocation.clientContext, !context.isEmpty { fields.add(clientContextHeader, context) }
            if let identity = invocation.cognitoIdentity, !identity.isEmpty {
                fields.add(cognitoIdentityHeader, identity)
            }
            if let tenant = invocation.tenantID, !tenant.isEmpty { fields.add(tenantIDHeader, tenant) }
            fields.add(invocationIDHeader, invocationID)
        }
    }

    /// 202 `{"status":"OK"}`, serialized once: every `/response` gets it.
    package static let accepted = PrebuiltResponse(
        HTTPResponse(
            status: 202, headers: ["Content-Type": "application/json"], body: Array("{\"status\":\"OK\"}\n".utf8)))

    /// 202 `{"status":"OK"}` or the error body of a refusal.
    package static func reply(_ reply: SandboxStateMachine.RuntimeReply) -> HTTPResponse {
        switch reply {
        case .accepted, .hold, .invocation:
            return accepted.response
        case .error(let rejection):
            return error(RuntimeAPIError(rejection))
        }
    }

    /// An error body.
    package static func error(_ error: RuntimeAPIError) -> HTTPResponse {
        HTTPResponse(status: error.status, headers: ["Content-Type": "application/json"], body: Array(error.body.utf8))
    }

    /// Go's default 404 for paths the agent does not serve.
    package static var notFound: HTTPResponse {
        HTTPResponse(
            status: 404, headers: ["Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"],
            body: Array("404 page not found\n".utf8))
    }

    /// A `/response` post: raw bytes and content type, or a streamed response's error trailers.
    package static func responseOutcome(_ request: HTTPRequest) -> InvokeOutcome {
        if let errorType = request.trailers[errorTypeHeader] {
            let body = request.trailers[errorBodyTrailer].flatMap { Base64.decode($0) } ?? []
            return .functionError(body: body, contentType: "application/json", errorType: errorType)
        }
        return .success(body: request.body, contentType: request.headers["Content-Type"])
    }

    /// An `/error` post: the body passed through, with an `errorCause` split off when the content type says so,
    /// and Lambda's placeholder when the body is empty.
    package static func errorOutcome(_ request: HTTPRequest) -> InvokeOutcome {
        let errorType = request.headers[errorTypeHeader]
        let contentType = request.headers["Content-Type"]
        if request.body.isEmpty {
            var members: [(String, JSONValue)] = [("errorMessage", .string("Unknown application error occurred"))]
            if let errorType { members.append(("errorType", .string(errorType))) }
            return .functionError(
                body: Array(JSONValue.object(members).serialized.utf8), contentType: "application/json",
                errorType: errorType)
        }
        if contentType?.lowercased().hasPrefix(errorCauseContentType) == true,
            case .object(let members)? = try? JSON.parse(request.body)
        {
            let kept = members.filter { ["errorMessage", "errorType", "stackTrace"].contains($0.0) }
            return .functionError(
                body: Array(JSONValue.object(kept).serialized.utf8), contentType: "application/json",
                errorType: errorType)
        }
        return .functionError(body: request.body, contentType: contentType, errorType: errorType)
    }
}
