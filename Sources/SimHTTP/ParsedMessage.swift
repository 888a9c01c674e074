/// The fields of one message as `MessageParser` assembles them; mapped to `HTTPRequest` or `HTTPResponse`.
struct ParsedMessage {
    /// Request method (requests only).
    var method = ""
    /// Raw request target (requests only).
    var target = ""
    /// Status code (responses only).
    var status = 0
    /// Reason phrase (responses only).
    var reason = ""
    /// Major HTTP version.
    var versionMajor = 1
    /// Minor HTTP version.
    var versionMinor = 1
    /// Header fields before the body.
    var headers = HTTPHeaders()
    /// Trailer fields after a chunked body.
    var trailers = HTTPHeaders()
    /// The body, or empty once it exceeded the limit.
    var body: [UInt8] = []
    /// Body bytes seen, including discarded ones.
    var bodyLength = 0
    /// The body exceeded the parser's limit and was discarded.
    var bodyTooLarge = false
    /// The body was chunked.
    var isChunked = false
    /// Another message may follow on the connection.
    var keepAlive = true
}

/// What `MessageParser` reports, in wire order.
enum MessageEvent {
    /// A request's header section carried `Expect: 100-continue` (request mode only).
    case continueExpected
    /// A complete message.
    case message(ParsedMessage)
    /// The head of a request whose body is delivered as it arrives (`streamsBody`); `keepAlive` is known.
    case streamHead(ParsedMessage)
    /// Body bytes of the streamed request.
    case bodyPart([UInt8])
    /// The streamed request's body ended, with these trailers.
    case bodyEnd(trailers: HTTPHeaders)
}
