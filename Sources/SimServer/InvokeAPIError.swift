import SimCore
import SimHTTP

/// A Lambda service error as the Invoke API returns it: status, `x-amzn-ErrorType` and a JSON body
/// boto3 parses (`Type`, `Message`, and `Reason` for throttles).
package struct InvokeAPIError: Error, Equatable, Sendable {
    package var status: Int
    package var code: String
    package var message: String
    package var reason: String?
    package var retryAfterSeconds: Int?

    /// 404: no such function or qualifier.
    package static func notFound(arn: String) -> InvokeAPIError {
        InvokeAPIError(status: 404, code: "ResourceNotFoundException", message: "Function not found: \(arn)")
    }

    /// 400: a parameter has a value Lambda rejects.
    package static func invalidParameter(_ message: String) -> InvokeAPIError {
        InvokeAPIError(status: 400, code: "InvalidParameterValueException", message: message)
    }

    /// 400: the body is not JSON.
    package static func invalidContent(_ detail: String) -> InvokeAPIError {
        InvokeAPIError(
            status: 400, code: "InvalidRequestContentException",
            message: "Could not parse request body into json: Could not parse payload into json: \(detail)")
    }

    /// 413: the body is over the synchronous or asynchronous limit.
    package static func tooLarge(_ message: String) -> InvokeAPIError {
        InvokeAPIError(status: 413, code: "RequestEntityTooLargeException", message: message)
    }

    /// 429 for an invoke beyond the function's or the account's concurrency.
    package static func throttled(reason: String) -> InvokeAPIError {
        InvokeAPIError(
            status: 429, code: "TooManyRequestsException", message: "Rate Exceeded.", reason: reason,
            retryAfterSeconds: 1)
    }

    /// 404 for paths the front port does not serve.
    package static let unknownOperation = InvokeAPIError(
        status: 404, code: "UnknownOperationException", message: "Unknown operation")

    package init(status: Int, code: String, message: String, reason: String? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The HTTP response, tagged with `requestID` and, when given, the `Date` header.
    package func response(requestID: String, date: String? = nil) -> HTTPResponse {
        // Throttles are observed with a lower-case `message`; boto3 reads either.
        let messageKey = status == 429 ? "message" : "Message"
        var members: [(String, JSONValue)] = [("Type", .string("User")), (messageKey, .string(message))]
        if let reason { members.append(("Reason", .string(reason))) }
        var headers: HTTPHeaders = [
            "Content-Type": "application/json",
            "x-amzn-RequestId": requestID,
            "x-amzn-ErrorType": code,
        ]
        if let date { headers = HTTPHeaders([("Date", date)] + headers.map { ($0.name, $0.value) }) }
        if let retryAfterSeconds { headers.add("Retry-After", String(retryAfterSeconds)) }
        return HTTPResponse(status: status, headers: headers, body: Array(JSONValue.object(members).serialized.utf8))
    }
}
