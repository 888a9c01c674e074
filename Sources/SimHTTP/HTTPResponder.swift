import SimUV

/// Answers one request: either `send` a whole response, or `startStreaming`, `writeChunk`… and `finish`.
///
/// A responder may be kept for as long as needed (a long-poll holds it for minutes); later requests on
/// the same connection wait until it completes. Once the connection is gone every call is a no-op and
/// `onConnectionClose` has fired. Loop thread only.
package final class HTTPResponder {
    /// Where the response stands.
    private enum State {
        /// Nothing sent yet.
        // waiting ---- send / finish ----> completed
        // waiting ---- startStreaming ----> streaming
        case waiting
        /// The chunked head went out; chunks may follow.
        // streaming ---- finish ----> completed
        case streaming(keepAlive: Bool)
        /// The response is complete (or the connection went away first).
        case completed
    }

    /// Identifier of the connection within its server, for logs.
    package let connectionID: Int
    /// The event loop this responder belongs to.
    package let loop: EventLoop
    /// Fires once if the connection closes before this request was answered (the client gave up).
    package var onConnectionClose: (() -> Void)?
    /// Told, like `onConnectionClose`, when the connection closes before this request was answered; held weakly.
    /// For a holder of many requests (a long-poll on every invoke), where a closure per request would cost
    /// allocations.
    package weak var closeObserver: (any HTTPResponderCloseObserver)?
    /// Whether the holder watches the connection (`onConnectionClose` or `closeObserver`).
    var watchesConnection: Bool { onConnectionClose != nil || closeObserver != nil }
    private weak var connection: HTTPServerConnection?
    private let requestKeepAlive: Bool
    private let isHEAD: Bool
    private let isHTTP10: Bool
    private var state = State.waiting
    /// The body stream of a request whose body streams.
    let bodyStream: HTTPBodyStream?
    /// Called when the connection's queued output has drained below its low-water mark after being above it
    /// (see `hasBackedUpOutput`).
    package var onWritable: (() -> Void)?

    init(connection: HTTPServerConnection, request: HTTPRequest) {
        self.connection = connection
        connectionID = connection.id
        loop = connection.loop
        requestKeepAlive = request.keepAlive
        isHEAD = request.method == "HEAD"
        isHTTP10 = request.versionMajor == 1 && request.versionMinor == 0
        bodyStream = request.bodyStream
    }

    /// True while more than a mebibyte of this connection's output waits to be sent: a streaming writer should
    /// wait for `onWritable` before writing more.
    package var hasBackedUpOutput: Bool { connection?.isBackedUp ?? false }

    /// A short label for logs, e.g. `http#12`.
    package var remoteDescription: String { "http#\(connectionID)" }

    /// True once the response is complete, or the connection closed before it was.
    package var isCompleted: Bool {
        if case .completed = state { return true }
        return false
    }

    /// True while the connection can still carry the response.
    package var isConnectionOpen: Bool { connection?.isOpen ?? false }

    /// The socket of the connection the request came on, while it is open.
    package var socket: TCPConnection? { connection?.tcp }

    /// Closes the connection without an answer (the request's sender is cut off: a body it is still sending is
    /// not read). Outstanding output is dropped.
    package func abort() {
        guard !isCompleted else { return }
        state = .completed
        connection?.closeNow()
    }

    /// Sends `response` whole (in one write) and completes the request. `Connection: close` in
    /// `response.headers` closes the connection afterwards.
    package func send(_ response: HTTPResponse) {
        loop.assertInLoop()
        guard case .waiting = state else { return }
        state = .completed
        onConnectionClose = nil
        closeObserver = nil
        let keepAlive = requestKeepAlive && !response.headers.containsToken("close", in: "Connection")
        let bytes = response.serialized(keepAlive: keepAlive, omitBody: isHEAD, announceKeepAlive: isHTTP10)
        connection?.completeResponse(bytes, keepAlive: keepAlive, for: self)
    }

    /// Sends a response whose header fields `fields` writes straight into its bytes (no `HTTPHeaders` is built):
    /// for the warm path's answers. `Content-Length` and the connection fields are added as `send` does.
    package func send(status: Int, body: [UInt8], fields: (inout FieldWriter) -> Void) {
        loop.assertInLoop()
        guard case .waiting = state else { return }
        state = .completed
        onConnectionClose = nil
        closeObserver = nil
        let keepAlive = requestKeepAlive
        var writer = FieldWriter(writer: MessageWriter(capacity: 256 + body.count))
        writer.writer.statusLine(status, reason: HTTPResponse.standardReason(status))
        fields(&writer)
        if !keepAlive {
            writer.writer.header("Connection", "close")
        } else if isHTTP10 {
            writer.writer.header("Connection", "keep-alive")
        }
        let hasBody = !HTTPResponse.statusHasNoBody(status)
        if hasBody { writer.writer.contentLength(body.count) }
        writer.writer.endHead()
        if hasBody && !isHEAD { writer.writer.body(body) }
        connection?.completeResponse(writer.writer.bytes, keepAlive: keepAlive, for: self)
    }

    /// Sends a response serialized ahead of time (its keep-alive form, for a plain HTTP/1.1 request); other
    /// requests get it serialized anew, like `send`.
    package func send(_ prebuilt: PrebuiltResponse) {
        loop.assertInLoop()
        guard requestKeepAlive && !isHEAD && !isHTTP10 else { return send(prebuilt.response) }
        guard case .waiting = state else { return }
        state = .completed
        onConnectionClose = nil
        closeObserver = nil
        connection?.completeResponse(prebuilt.keepAliveBytes, keepAlive: true, for: self)
    }

    /// Sends a head with `Transfer-Encoding: chunked`; the body follows with `writeChunk` and `finish`.
    package func startStreaming(status: Int, headers: HTTPHeaders) {
        loop.assertInLoop()
        guard case .waiting = state else { return }
        let keepAlive = requestKeepAlive && !headers.containsToken("close", in: "Connection")
        state = .streaming(keepAlive: keepAlive)
        connection?.writeResponsePart(
            HTTPResponse.streamingHead(status: status, headers: headers, keepAlive: keepAlive), for: self)
    }

    /// Sends one chunk of a streaming response (an empty buffer sends nothing).
    package func writeChunk(_ bytes: [UInt8]) {
        loop.assertInLoop()
        guard case .streaming = state, !bytes.isEmpty, !isHEAD else { return }
        var writer = MessageWriter(capacity: bytes.count + 16)
        writer.chunk(bytes)
        connection?.writeResponsePart(writer.bytes, for: self)
    }

    /// Ends a streaming response with the last chunk and `trailers`, completing the request.
    package func finish(trailers: HTTPHeaders = [:]) {
        loop.assertInLoop()
        guard case .streaming(let keepAlive) = state else { return }
        state = .completed
        onConnectionClose = nil
        closeObserver = nil
        var writer = MessageWriter(capacity: 8 + trailers.estimatedSize)
        if !isHEAD { writer.lastChunk(trailers: trailers) }
        connection?.completeResponse(writer.bytes, keepAlive: keepAlive, for: self)
    }

    /// Called by the connection when it closes with this request outstanding.
    func connectionClosed() {
        guard !isCompleted else { return }
        state = .completed
        let callback = onConnectionClose
        let observer = closeObserver
        onConnectionClose = nil
        closeObserver = nil
        callback?()
        observer?.responderConnectionClosed(self)
    }
}

/// A response that is always the same, serialized once (`HTTPResponder.send(_:)`).
package struct PrebuiltResponse: Sendable {
    /// The response itself, for requests that need another form (HTTP/1.0, `HEAD`, `Connection: close`).
    package let response: HTTPResponse
    /// Its bytes on a kept-alive HTTP/1.1 connection.
    package let keepAliveBytes: [UInt8]

    package init(_ response: HTTPResponse) {
        self.response = response
        keepAliveBytes = response.serialized(keepAlive: true)
    }
}

/// Writes the header fields of a response straight into its bytes (`HTTPResponder.send(status:body:fields:)`).
package struct FieldWriter {
    fileprivate var writer: MessageWriter

    /// Adds `name: value`; CR and LF in the value become spaces.
    package mutating func add(_ name: String, _ value: String) { writer.header(name, value) }

    /// Adds `name: <decimal>`.
    package mutating func add(_ name: String, decimal value: Int64) { writer.header(name, decimal: value) }
}

/// Receives the closes of connections whose requests it holds unanswered (see `HTTPResponder.closeObserver`).
package protocol HTTPResponderCloseObserver: AnyObject {
    /// `responder`'s connection closed before it was answered.
    func responderConnectionClosed(_ responder: HTTPResponder)
}
