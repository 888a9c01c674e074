import SimUV

/// One accepted connection of an `HTTPServer`: parses requests and answers them one at a time, in order.
///
/// Invariants:
/// - At most one request is with the handler (`current`); parsed requests wait in `queue` and the next
///   one is dispatched only once `current` completed, so responses go out in request order however long
///   a handler holds one (a long-poll simply delays later pipelined requests).
/// - Reading stops while `maxPipelinedRequests` or `maxQueuedBodyBytes` of bodies wait, while more than
///   `highWaterBytes` of writes are queued, and once the connection is closing; it resumes when the cause
///   clears.
/// - One timer watches the connection. It closes it after `idleTimeoutMilliseconds` with nothing outstanding
///   (no request with the handler, none waiting, none half-received), and answers `408` and closes when a
///   half-received request stalls: headers not complete `headerTimeoutMilliseconds` after the request's first
///   byte, a body read gap over `bodyStallTimeoutMilliseconds`, or the whole request taking longer than
///   `requestTimeoutMilliseconds`. Stall deadlines run only while the connection is reading. The timer is
///   armed lazily and re-arms itself for what is left, so a request that arrives in one read costs no timer
///   call at all.
/// - A response that ends the connection is written, then the socket is closed in its write completion
///   (closing earlier would cancel the write).
/// - Ownership: the server's table and the TCP callbacks hold this object; `closeNow` clears both.
final class HTTPServerConnection {
    /// Queued write bytes above which reading pauses.
    static let highWaterBytes = 1024 * 1024
    /// Queued write bytes below which paused reading resumes.
    static let lowWaterBytes = 256 * 1024
    /// Body bytes of pipelined requests waiting behind the current one above which reading pauses, so that a
    /// connection holds at most this plus one request being received (`maxBodyBytes`) and one read.
    static let maxQueuedBodyBytes = 8 * 1024 * 1024
    private static let continueBytes = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Identifier unique within the server, for logs.
    let id: Int
    let loop: EventLoop
    /// The connection's socket.
    let tcp: TCPConnection
    private let configuration: HTTPServer.Configuration
    private let handler: (HTTPRequest, HTTPResponder) -> Void
    private let onClosed: (HTTPServerConnection) -> Void
    private let parser: RequestParser
    private let timer: Timer
    private var events: [RequestParser.Event] = []
    private var queue = RequestQueue()
    private var current: HTTPResponder?
    private var parseError: HTTPError?
    private var dispatching = false
    private var reading = false
    private var pausedForWrites = false
    private var idleSince: UInt64?
    /// When the timer is due, if it is armed.
    private var timerDeadline: UInt64?
    /// When the half-received request began arriving (the read that brought its first byte).
    private var partialSince: UInt64?
    /// When the last read arrived (or reading resumed).
    private var lastReadAt: UInt64 = 0
    /// A response that ends the connection is being written.
    private(set) var isClosing = false
    /// The peer finished sending (a half-close after its requests): what it sent is still answered, then the
    /// connection closes.
    private var peerFinished = false
    /// The socket was closed.
    private(set) var isClosed = false
    /// The body stream of the request being received, while its body arrives.
    private var receiving: HTTPBodyStream?
    /// A streamed body ended malformed and its handler was told: its answer closes the connection, and it is the
    /// only answer (no second 400 for the same request).
    private var streamFailed = false

    init(
        id: Int, tcp: TCPConnection, configuration: HTTPServer.Configuration,
        handler: @escaping (HTTPRequest, HTTPResponder) -> Void,
        onClosed: @escaping (HTTPServerConnection) -> Void
    ) {
        self.id = id
        self.tcp = tcp
        self.loop = tcp.loop
        self.configuration = configuration
        self.handler = handler
        self.onClosed = onClosed
        parser = RequestParser(
            maxHeaderBytes: configuration.maxHeaderBytes, maxBodyBytes: configuration.maxBodyBytes,
            streamsBody: configuration.streamsRequestBody)
        timer = Timer(loop: tcp.loop)
    }

    /// Starts reading and arms the idle timer.
    func start() {
        tcp.onData = { [self] bytes in received(bytes) }
        tcp.onReadEnd = { [self] _ in peerClosed() }
        updateReading()
        updateIdleTimer()
    }

    /// True while responses can still be written.
    var isOpen: Bool { !isClosed && !isClosing }

    /// True while more than `highWaterBytes` of output wait to be sent (reading is paused meanwhile).
    var isBackedUp: Bool { pausedForWrites }

    /// True when closing it loses nothing: no request with the handler or waiting, and none being received
    /// beyond its header section.
    var isEvictable: Bool {
        isOpen && current == nil && queue.isEmpty && (!parser.hasPartialMessage || parser.isReadingHeaders)
    }

    // MARK: Input

    private func received(_ bytes: UnsafeRawBufferPointer) {
        let wasPartial = parser.hasPartialMessage
        do {
            try parser.feed(bytes, into: &events)
        } catch {
            parseError = error
        }
        var completed = false
        // Each event is moved out of the batch (reversed, then popped) and its request into the queue: no field is
        // retained for a copy and released with the batch. The emptied batch keeps its storage for the next read.
        var batch: [RequestParser.Event] = []
        swap(&batch, &events)
        batch.reverse()
        while let event = batch.popLast() {
            guard !isClosed else { continue }
            switch consume event {
            case .continueExpected:
                if current == nil && queue.isEmpty && isOpen && parseError == nil { write(Self.continueBytes) }
            case .request(let request):
                completed = true
                queue.append(request)
                dispatchNext()
            case .streamHead(var request):
                // The handler gets the request now; its body follows through the stream.
                let stream = HTTPBodyStream()
                stream.onFlowChange = { [weak self] in self?.updateReading() }
                request.bodyStream = stream
                receiving = stream
                completed = true
                queue.append(request)
                dispatchNext()
            case .bodyPart(let bytes):
                receiving?.append(bytes)
            case .bodyEnd(let trailers):
                receiving?.finish(.complete(trailers: trailers))
                receiving = nil
            }
        }
        if events.isEmpty { swap(&batch, &events) }
        // A body being streamed to its handler ends here: the handler answers (and the connection closes then).
        if parseError != nil, let stream = receiving {
            receiving = nil
            streamFailed = current?.bodyStream === stream
            stream.finish(.malformed)
        }
        if parser.hasPartialMessage && parseError == nil {
            lastReadAt = loop.nowMilliseconds
            if completed || !wasPartial || partialSince == nil { partialSince = lastReadAt }
            armTimer(notAfter: stallDeadline())
        } else {
            partialSince = nil
        }
        dispatchNext()
    }

    private func peerClosed() {
        // A body that was still arriving ends short.
        if let receiving {
            self.receiving = nil
            receiving.finish(.aborted)
        }
        // A connection-ending response still being written finishes first; its completion closes.
        guard !isClosing else { return }
        // A client may shut down its sending side once its request is out (a half-close): it still gets its
        // answers. A held long-poll whose holder watches the connection (`onConnectionClose`) is let go instead,
        // since its client is gone.
        let waitingForAnswers = !queue.isEmpty || (current.map { !$0.watchesConnection } ?? false)
        guard waitingForAnswers, parseError == nil else {
            closeNow()
            return
        }
        peerFinished = true
        updateReading()
        updateIdleTimer()
    }

    // MARK: Dispatch

    /// Hands waiting requests to the handler one at a time; re-entrant calls (a handler answering
    /// synchronously) fall through to the running loop.
    private func dispatchNext() {
        guard !dispatching else { return }
        dispatching = true
        while current == nil && isOpen, let request = queue.popFirst() {
            let responder = HTTPResponder(connection: self, request: request)
            current = responder
            handler(request, responder)
        }
        dispatching = false
        if current == nil && queue.isEmpty && isOpen, let parseError, !streamFailed { sendParseError(parseError) }
        updateReading()
        updateIdleTimer()
    }

    private func sendParseError(_ error: HTTPError) {
        let response: HTTPResponse
        switch error {
        case .headerTooLarge: response = .text(431, "Request Header Fields Too Large\n")
        case .versionNotSupported: response = .text(505, "HTTP Version Not Supported\n")
        default: response = .text(400, "Bad Request: \(error)\n")
        }
        write(response.serialized(keepAlive: false), thenClose: true)
    }

    // MARK: Output (called by the current responder)

    /// Writes part of `responder`'s response; ignored unless it is the current one.
    func writeResponsePart(_ bytes: [UInt8], for responder: HTTPResponder) {
        guard current === responder, isOpen else { return }
        write(bytes)
    }

    /// Writes the last bytes of `responder`'s response and moves on to the next request, or closes once
    /// written when `keepAlive` is false.
    func completeResponse(_ bytes: [UInt8], keepAlive: Bool, for responder: HTTPResponder) {
        guard current === responder, isOpen else { return }
        current = nil
        // Answered before its body ended: the rest of the body is read and dropped.
        if let stream = responder.bodyStream, !stream.isEnded { stream.discard() }
        if keepAlive && !(peerFinished && queue.isEmpty) && !streamFailed {
            if !bytes.isEmpty { write(bytes) }
            dispatchNext()
        } else {
            queue.removeAll()
            write(bytes, thenClose: true)
        }
    }

    private func write(_ bytes: [UInt8], thenClose: Bool = false) {
        if thenClose {
            isClosing = true
            updateReading()
            updateIdleTimer()
        } else {
            // Most writes go out whole at once: then there is nothing to wait for (and no callback to allocate).
            let written = bytes.withUnsafeBytes { tcp.writeNow($0) }
            if written == bytes.count { return }
            if written < 0 {
                closeNow()
                return
            }
            if written > 0 {
                write(Array(bytes[written...]))
                return
            }
        }
        tcp.write(bytes) { [self] error in
            if thenClose || error != nil {
                closeNow()
            } else if pausedForWrites && tcp.pendingWriteBytes < Self.lowWaterBytes {
                pausedForWrites = false
                updateReading()
                current?.onWritable?()
            }
        }
        if !pausedForWrites && tcp.pendingWriteBytes > Self.highWaterBytes {
            pausedForWrites = true
            updateReading()
        }
    }

    // MARK: Reading, idle timer, close

    private func updateReading() {
        // Reading goes on after the last request or a parse error (the parser discards the bytes) so that
        // the peer closing is still noticed while a response is held.
        let wanted =
            !isClosed && !isClosing && !peerFinished && !pausedForWrites
            && queue.count < configuration.maxPipelinedRequests && queue.bodyBytes < Self.maxQueuedBodyBytes
            && receiving?.wantsMore != false
        guard wanted != reading else { return }
        reading = wanted
        if wanted {
            // A stall is counted from when the connection reads again, not from when it stopped reading.
            lastReadAt = loop.nowMilliseconds
            tcp.startReading()
        } else {
            tcp.stopReading()
        }
    }

    /// Records when the connection became idle and makes sure the timer is armed while it is; the timer
    /// re-arms itself for the remaining time instead of being restarted on every request.
    private func updateIdleTimer() {
        let idle = isOpen && current == nil && queue.isEmpty && !parser.hasPartialMessage
        guard idle else {
            idleSince = nil
            return
        }
        let now = loop.nowMilliseconds
        if idleSince == nil { idleSince = now }
        if timerDeadline == nil { armTimer(notAfter: now + configuration.idleTimeoutMilliseconds) }
    }

    /// When the half-received request stalls, by the header, body-gap and whole-request timeouts.
    private func stallDeadline() -> UInt64 {
        let started = partialSince ?? loop.nowMilliseconds
        let whole = started + configuration.requestTimeoutMilliseconds
        if parser.isReadingHeaders { return min(whole, started + configuration.headerTimeoutMilliseconds) }
        return min(whole, lastReadAt + configuration.bodyStallTimeoutMilliseconds)
    }

    /// Makes sure the timer fires no later than `deadline` (re-arming only when it would fire later).
    private func armTimer(notAfter deadline: UInt64) {
        if let timerDeadline, timerDeadline <= deadline { return }
        timerDeadline = deadline
        let now = loop.nowMilliseconds
        timer.start(afterMilliseconds: deadline > now ? deadline - now : 0) { [weak self] in self?.timerFired() }
    }

    private func timerFired() {
        timerDeadline = nil
        guard isOpen else { return }
        let now = loop.nowMilliseconds
        if parser.hasPartialMessage && parseError == nil {
            guard reading else {
                // Not reading (requests queued or writes backed up): the client is not the one stalling.
                armTimer(notAfter: now + configuration.bodyStallTimeoutMilliseconds)
                return
            }
            let deadline = stallDeadline()
            if now >= deadline { requestTimedOut() } else { armTimer(notAfter: deadline) }
        } else if let idleSince {
            let elapsed = now &- idleSince
            if elapsed >= configuration.idleTimeoutMilliseconds {
                closeNow()
            } else {
                armTimer(notAfter: now + configuration.idleTimeoutMilliseconds - elapsed)
            }
        }
    }

    /// A request stopped arriving: `408` when nothing is ahead of it, then close.
    private func requestTimedOut() {
        guard current == nil && queue.isEmpty else {
            closeNow()
            return
        }
        write(HTTPResponse.text(408, "Request Timeout\n").serialized(keepAlive: false), thenClose: true)
    }

    /// Closes the socket now, tells the outstanding responder (if any) and leaves the server's table.
    func closeNow() {
        guard !isClosed else { return }
        isClosed = true
        timer.close()
        if let receiving {
            self.receiving = nil
            receiving.finish(.aborted)
        }
        tcp.onData = nil
        tcp.onReadEnd = nil
        tcp.close()
        queue.removeAll()
        let responder = current
        current = nil
        onClosed(self)
        responder?.connectionClosed()
    }
}
