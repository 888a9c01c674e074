import SimCore
import SimHTTP

/// How a function's answer becomes the HTTP response API Gateway or a Function URL sends, and the errors they
/// answer with themselves.
package enum APIGatewayResponse {
    /// Who is answering: the response format and the error bodies differ.
    package enum Front: Sendable, Equatable {
        /// An HTTP API route with payload format 2.0.
        case httpAPI
        /// An HTTP API route with payload format 1.0.
        case httpAPIVersion1
        /// A REST API route (payload format 1.0).
        case restAPI
        /// A Function URL (payload format 2.0).
        case functionURL

        /// Whether responses are read as payload format 1.0 (a proxy object with `statusCode` is required).
        var isVersion1: Bool { self == .httpAPIVersion1 || self == .restAPI }
    }

    /// The answer to a request no route matches: 404 `{"message":"Not Found"}`.
    package static func notFound(requestID: String) -> HTTPResponse {
        error(404, #"{"message":"Not Found"}"#, requestID: requestID)
    }

    /// The answer to a request whose body is larger than an invoke may carry: 413
    /// `{"message":"Request Entity Too Large"}`.
    package static func tooLarge(requestID: String) -> HTTPResponse {
        error(413, #"{"message":"Request Entity Too Large"}"#, requestID: requestID)
    }

    /// The answer when the function failed, timed out or answered in a shape the front cannot use: REST APIs
    /// 502 `{"message": "Internal server error"}`, HTTP APIs 500 and Function URLs 502
    /// `{"message":"Internal Server Error"}`.
    package static func functionFailed(_ front: Front, requestID: String) -> HTTPResponse {
        switch front {
        case .restAPI: error(502, #"{"message": "Internal server error"}"#, requestID: requestID)
        case .httpAPI, .httpAPIVersion1: error(500, #"{"message":"Internal Server Error"}"#, requestID: requestID)
        case .functionURL: error(502, #"{"message":"Internal Server Error"}"#, requestID: requestID)
        }
    }

    /// The answer when Lambda refused the invoke (throttled): API Gateway treats it as an internal error (500);
    /// a Function URL answers 429 `{"message":"Too Many Requests"}`.
    package static func throttled(_ front: Front, requestID: String) -> HTTPResponse {
        switch front {
        case .restAPI: error(500, #"{"message": "Internal server error"}"#, requestID: requestID)
        case .httpAPI, .httpAPIVersion1: error(500, #"{"message":"Internal Server Error"}"#, requestID: requestID)
        case .functionURL: error(429, #"{"message":"Too Many Requests"}"#, requestID: requestID)
        }
    }

    private static func error(_ status: Int, _ body: String, requestID: String) -> HTTPResponse {
        var headers: HTTPHeaders = ["Content-Type": "application/json", "x-amzn-RequestId": requestID]
        if status >= 500 { headers.add("x-amzn-ErrorType", "InternalServerErrorException") }
        return HTTPResponse(status: status, headers: headers, body: Array(body.utf8))
    }

    /// The HTTP response for an invoke's result.
    ///
    /// Payload format 2.0: a JSON object with `statusCode` gives the status, `headers`, `cookies` (one
    /// `Set-Cookie` each), `body` and `isBase64Encoded`; any other JSON is a 200 `application/json` body as it is.
    /// Payload format 1.0 requires the object with `statusCode`, and merges `multiValueHeaders` into `headers`.
    package static func map(_ result: InvokeResult, front: Front) -> HTTPResponse {
        guard case .success(let payload, _) = result.outcome else {
            return functionFailed(front, requestID: result.requestID)
        }
        return map(payload: payload, front: front, requestID: result.requestID)
            ?? functionFailed(front, requestID: result.requestID)
    }

    /// The response `payload` stands for, or nil when it is not one the front accepts.
    static func map(payload: [UInt8], front: Front, requestID: String) -> HTTPResponse? {
        if !front.isVersion1 && !mayHaveStatusCode(payload) {
            // Payload format 2.0 without a statusCode member: the JSON is the body; validating it is enough.
            guard JSON.isValid(payload) else { return nil }
            return HTTPResponse(
                status: 200, headers: ["Content-Type": "application/json", "x-amzn-RequestId": requestID],
                body: payload)
        }
        guard let value = try? JSON.parse(payload) else { return nil }
        guard case .object = value, let statusValue = value["statusCode"] else {
            if front.isVersion1 { return nil }
            return HTTPResponse(
                status: 200, headers: ["Content-Type": "application/json", "x-amzn-RequestId": requestID],
                body: payload)
        }
        guard let status = integer(statusValue), (100...599).contains(status) else { return nil }
        var headers = HTTPHeaders()
        if case .object(let fields)? = value["headers"] {
            for (name, field) in fields { if let text = text(field) { headers.add(name, text) } }
        }
        if front.isVersion1, case .object(let fields)? = value["multiValueHeaders"] {
            for (name, field) in fields {
                guard case .array(let items) = field else { continue }
                for item in items { if let text = text(item) { headers.add(name, text) } }
            }
        }
        if !front.isVersion1, case .array(let cookies)? = value["cookies"] {
            for cookie in cookies { if let text = text(cookie) { headers.add("Set-Cookie", text) } }
        }
        if !headers.contains("x-amzn-RequestId") { headers.add("x-amzn-RequestId", requestID) }
        var body: [UInt8] = []
        if let bodyValue = value["body"], bodyValue != .null {
            guard let text = text(bodyValue) else { return nil }
            if value["isBase64Encoded"] == .bool(true) {
                guard let decoded = Base64.decode(text) else { return nil }
                body = decoded
            } else {
                body = Array(text.utf8)
            }
        }
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    /// Whether `payload` could have a `statusCode` member: it spells `"statusCode"`, or has a `\u` escape (a key
    /// could spell it that way).
    static func mayHaveStatusCode(_ payload: [UInt8]) -> Bool {
        let needle = Array(#""statusCode""#.utf8)
        var index = 0
        while index < payload.count {
            let byte = payload[index]
            if byte == UInt8(ascii: "\\"), index + 1 < payload.count, payload[index + 1] == UInt8(ascii: "u") {
                return true
            }
            if byte == needle[0], index + needle.count <= payload.count,
                payload[index..<index + needle.count].elementsEqual(needle)
            {
                return true
            }
            index += 1
        }
        return false
    }

    /// A status code given as a number or numeric text.
    static func integer(_ value: JSONValue) -> Int? {
        switch value {
        case .number(let text): Int(text)
        case .string(let text): Int(text)
        default: nil
        }
    }

    /// A header value given as text, a number or a boolean.
    static func text(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        default: nil
        }
    }
}
