/// Turns the bytes a client sends into requests, without any socket: feed it reads, collect events.
///
/// Several pipelined requests may complete in one feed; a request split over many feeds completes in
/// the feed holding its last byte. After a request that ends the connection (`Connection: close`,
/// HTTP/1.0 without keep-alive, an upgrade) further bytes are ignored.
package final class RequestParser {
    /// Something the byte stream produced, in wire order.
    package enum Event: Equatable, Sendable {
        /// A request's headers asked for `100 Continue` before it sends its body.
        case continueExpected
        /// A complete request.
        case request(HTTPRequest)
        /// A request whose body streams (see `init(streamsBody:)`): its head, the body to come in `bodyPart`s.
        case streamHead(HTTPRequest)
        /// Body bytes of the streaming request.
        case bodyPart([UInt8])
        /// The streaming request's body ended, with these trailers.
        case bodyEnd(trailers: HTTPHeaders)
    }

    private let core: MessageParser
    private var scratch: [MessageEvent] = []

    /// A parser enforcing `maxHeaderBytes` (header section, throws `headerTooLarge`) and `maxBodyBytes`
    /// (larger bodies are discarded and reported with `bodyTooLarge`).
    /// `streamsBody`, asked with each request's head, picks the requests whose body is reported in parts as it
    /// arrives instead of gathered (and not limited).
    package init(
        maxHeaderBytes: Int = 64 * 1024, maxBodyBytes: Int = .max,
        streamsBody: (@Sendable (_ method: String, _ target: String, _ headers: HTTPHeaders) -> Bool)? = nil
    ) {
        core = MessageParser(kind: .request, maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        if let streamsBody { core.streamsBody = { streamsBody($0, $1, $2) } }
    }

    /// True while a request has started but not ended.
    package var hasPartialMessage: Bool { core.inMessage }

    /// True while a request has started and its header section is not complete.
    package var isReadingHeaders: Bool { core.inHeaderSection }

    /// True once the connection's last request was parsed (or the stream was malformed).
    package var isFinished: Bool { core.isStopped }

    /// Parses `bytes` and appends what they complete to `events`. Throws `HTTPError.headerTooLarge` or
    /// `.malformedMessage` (events completed before the error are still appended), and again on every
    /// later call.
    package func feed(_ bytes: UnsafeRawBufferPointer, into events: inout [Event]) throws(HTTPError) {
        defer { convert(into: &events) }
        try core.feed(bytes, into: &scratch)
    }

    /// Parses `bytes` and appends what they complete to `events` (convenient for tests).
    package func feed(_ bytes: [UInt8], into events: inout [Event]) throws(HTTPError) {
        var failure: HTTPError?
        bytes.withUnsafeBytes { buffer in
            do throws(HTTPError) { try feed(buffer, into: &events) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Parses `bytes` and returns what they complete (convenient for tests).
    package func feed(_ bytes: [UInt8]) throws(HTTPError) -> [Event] {
        var events: [Event] = []
        try feed(bytes, into: &events)
        return events
    }

    private func convert(into events: inout [Event]) {
        // Each event is moved out (reversed, then popped), so a message's fields move into its request without a
        // retain and a release; `scratch` keeps its storage.
        scratch.reverse()
        while let event = scratch.popLast() {
            switch consume event {
            case .continueExpected: events.append(.continueExpected)
            case .message(let message): events.append(.request(HTTPRequest(parsed: message)))
            case .streamHead(let message): events.append(.streamHead(HTTPRequest(parsed: message)))
            case .bodyPart(let bytes): events.append(.bodyPart(bytes))
            case .bodyEnd(let trailers): events.append(.bodyEnd(trailers: trailers))
            }
        }
    }
}
