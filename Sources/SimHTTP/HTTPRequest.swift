/// One HTTP request: as parsed by the server, or built by a client to send.
package struct HTTPRequest: Equatable, Sendable {
    /// The method as sent, e.g. `GET`.
    package var method: String
    /// The raw request target, e.g. `/a/b?x=1`.
    package var target: String
    /// The target without its query (and fragment), not percent-decoded.
    package var path: String
    /// Percent-decoded query parameters; `+` decodes to a space; the last of repeated names wins.
    package var query: [String: String]
    /// Major HTTP version (1).
    package var versionMajor: Int
    /// Minor HTTP version (0 or 1).
    package var versionMinor: Int
    /// Header fields in the order received.
    package var headers: HTTPHeaders
    /// The body; empty when `bodyTooLarge`.
    package var body: [UInt8]
    /// Bytes of body received, even when they exceeded the limit.
    package var bodyLength: Int
    /// The body exceeded `HTTPServer.Configuration.maxBodyBytes`; it was read and discarded.
    package var bodyTooLarge: Bool
    /// Trailer fields that followed a chunked body.
    package var trailers: HTTPHeaders
    /// The body arrived with `Transfer-Encoding: chunked`.
    package var isChunked: Bool
    /// The connection may carry another request after this one (HTTP/1.1 rules, `Connection` header).
    package var keepAlive: Bool
    /// For a request whose body streams (`HTTPServer.Configuration.streamsRequestBody`): the body as it arrives;
    /// `body` is then empty.
    package var bodyStream: HTTPBodyStream?

    /// A request for a client to send; path and query are derived from `target`.
    package init(method: String, target: String, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.target = target
        (path, query) = Self.splitTarget(target)
        versionMajor = 1
        versionMinor = 1
        self.headers = headers
        self.body = body
        bodyLength = body.count
        bodyTooLarge = false
        trailers = [:]
        isChunked = headers.containsToken("chunked", in: "Transfer-Encoding")
        keepAlive = !headers.containsToken("close", in: "Connection")
        bodyStream = nil
    }

    /// A request from a parsed message.
    init(parsed message: ParsedMessage) {
        method = message.method
        target = message.target
        (path, query) = Self.splitTarget(message.target)
        versionMajor = message.versionMajor
        versionMinor = message.versionMinor
        headers = message.headers
        body = message.body
        bodyLength = message.bodyLength
        bodyTooLarge = message.bodyTooLarge
        trailers = message.trailers
        isChunked = message.isChunked
        keepAlive = message.keepAlive
        bodyStream = nil
    }
}
