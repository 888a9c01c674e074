import CHTTPParser

/// One HTTP response: built by a server handler, or parsed by a client.
package struct HTTPResponse: Equatable, Sendable {
    /// Status code, e.g. 200.
    package var status: Int
    /// Reason phrase; `nil` sends the standard phrase for `status`.
    package var reason: String?
    /// Header fields in order. `Content-Length` is computed when serialising; set `Transfer-Encoding:
    /// chunked` to send the body chunked, followed by `trailers`.
    package var headers: HTTPHeaders
    /// The body.
    package var body: [UInt8]
    /// Trailer fields, sent (or received) only with a chunked body.
    package var trailers: HTTPHeaders
    /// Whether the connection stays open after this response (set on parsed responses).
    package var keepAlive: Bool

    /// A response with the given status, headers and body.
    package init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        reason = nil
        self.headers = headers
        self.body = body
        trailers = [:]
        keepAlive = true
    }

    /// A response from a parsed message.
    init(parsed message: ParsedMessage) {
        status = message.status
        reason = message.reason
        headers = message.headers
        body = message.body
        trailers = message.trailers
        keepAlive = message.keepAlive
    }

    /// A JSON response: `body` as UTF-8 with `Content-Type: application/json`.
    package static func json(_ status: Int, _ body: String, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        if !headers.contains("Content-Type") { headers.add("Content-Type", "application/json") }
        return HTTPResponse(status: status, headers: headers, body: Array(body.utf8))
    }

    /// A plain-text response, used for the server's own errors.
    static func text(_ status: Int, _ body: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(body.utf8))
    }

    /// The body as UTF-8 text (invalid sequences replaced).
    package var bodyString: String { String(decoding: body, as: UTF8.self) }

    /// Whether a response with this status never carries a body (1xx, 204, 304).
    static func statusHasNoBody(_ status: Int) -> Bool {
        (100..<200).contains(status) || status == 204 || status == 304
    }

    /// The standard reason phrase for `status`, from http_parser's table (`Unknown` when it has none).
    package static func standardReason(_ status: Int) -> String {
        guard let code = UInt32(exactly: status) else { return "Unknown" }
        switch status {
        case 200: return "OK"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 404: return "Not Found"
        default: break
        }
        let phrase = String(cString: http_status_str(http_status(rawValue: code)))
        return phrase == "<unknown>" ? "Unknown" : phrase
    }
}
