import SimUV

/// An HTTP/1.1 server on the event loop: keep-alive, pipelining (answered in order, one request at a
/// time per connection), chunked bodies both ways, size limits and an idle timeout.
///
/// `handler` runs on the loop thread with each request and the `HTTPResponder` that answers it, now or
/// much later. Malformed requests get `400` and oversized header sections `431` (then the connection
/// closes) without reaching the handler; oversized bodies do reach it, flagged `bodyTooLarge`, so the
/// caller renders its own error. A request that stops arriving gets `408` (see the timeouts in
/// `Configuration`), and the number of open connections is capped. Call `close` to stop: the listener holds the server until then.
package final class HTTPServer {
    /// Limits and timeouts.
    package struct Configuration: Sendable {
        /// Most bytes in a request's header section (request line, fields and trailers). http_parser
        /// itself stops at 80 KiB, so larger values act as 80 KiB.
        package var maxHeaderBytes = 64 * 1024
        /// Most body bytes kept per request; larger bodies are read, discarded and flagged. The default
        /// is Lambda's 6 MiB invocation payload limit plus 1 MiB of headroom, so that the Lambda layer,
        /// not HTTP, decides and renders the payload-size error.
        package var maxBodyBytes = 6 * 1024 * 1024 + 1024 * 1024
        /// A connection with nothing outstanding (no request with the handler, waiting or partly
        /// received) closes after this long. Held responses are never timed out.
        package var idleTimeoutMilliseconds: UInt64 = 60_000
        /// Parsed requests that may wait behind the one being answered before the connection stops
        /// reading. One read can overshoot this by what fits in the loop's read buffer.
        package var maxPipelinedRequests = 64
        /// A request's header section must be complete this long after its first byte arrived, or the
        /// connection gets `408` and closes (slowloris).
        package var headerTimeoutMilliseconds: UInt64 = 10_000
        /// While a request's body is arriving, no gap between reads may be longer than this (a
        /// `Content-Length` larger than what is sent, a stalled chunk); else `408` and close.
        package var bodyStallTimeoutMilliseconds: UInt64 = 30_000
        /// A whole request, first byte to last, must arrive within this (a body trickled just fast enough
        /// to dodge the stall timeout); else `408` and close.
        package var requestTimeoutMilliseconds: UInt64 = 300_000
        /// Most connections open at once. At the cap a new connection takes the place of the oldest one with
        /// nothing outstanding (idle, or still sending its header section); when there is none, the new
        /// connection is closed at once.
        package var maxConnections = 10_000
        /// Picks, by its head, a request whose body the handler reads as it arrives (`HTTPRequest.bodyStream`)
        /// instead of gathered; such a body has no size limit here. Nil gathers every body.
        package var streamsRequestBody:
            (@Sendable (_ method: String, _ target: String, _ headers: HTTPHeaders) -> Bool)?

        /// The defaults above, optionally overridden.
        package init(
            maxHeaderBytes: Int = 64 * 1024, maxBodyBytes: Int = 6 * 1024 * 1024 + 1024 * 1024,
            idleTimeoutMilliseconds: UInt64 = 60_000, maxPipelinedRequests: Int = 64,
            headerTimeoutMilliseconds: UInt64 = 10_000, bodyStallTimeoutMilliseconds: UInt64 = 30_000,
            requestTimeoutMilliseconds: UInt64 = 300_000, maxConnections: Int = 10_000
        ) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
            self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
            self.maxPipelinedRequests = max(1, maxPipelinedRequests)
            self.headerTimeoutMilliseconds = headerTimeoutMilliseconds
            self.bodyStallTimeoutMilliseconds = bodyStallTimeoutMilliseconds
            self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
            self.maxConnections = max(1, maxConnections)
        }
    }

    /// The loop everything runs on.
    package let loop: EventLoop
    /// The limits in force.
    package let configuration: Configuration
    /// The bound port (the ephemeral one when created with port 0).
    package let port: Int
    /// The address it listens on (`127.a.b.c` for a server on a `LoopbackListener`).
    package private(set) var host: String
    /// Its address on a shared `LoopbackListener`, if it is on one.
    private var loopback: (listener: LoopbackListener, address: UInt32)?
    private let handler: (HTTPRequest, HTTPResponder) -> Void
    private var listener: TCPServer?
    private var connections: [Int: HTTPServerConnection] = [:]
    private var nextConnectionID = 0

    /// Binds `host:port` (0 picks an ephemeral port) and starts accepting. Loop thread only.
    /// - Throws: `UVError` when the address is invalid or cannot be bound.
    package init(
        loop: EventLoop, host: String, port: Int, configuration: Configuration = .init(),
        handler: @escaping (HTTPRequest, HTTPResponder) -> Void
    ) throws(UVError) {
        loop.assertInLoop()
        self.loop = loop
        self.configuration = configuration
        self.handler = handler
        // The listener's callback holds the server weakly; `close` releases the listener.
        weak var weakSelf: HTTPServer?
        let listener = try TCPServer(loop: loop, host: host, port: port) { connection in
            guard let server = weakSelf else {
                connection.close()
                return
            }
            server.accepted(connection)
        }
        self.listener = listener
        self.port = listener.port
        self.host = host
        weakSelf = self
    }

    /// A server at an address of its own on `loop`'s shared `LoopbackListener` (no descriptor or port of its own).
    /// Loop thread only.
    /// - Throws: `UVError` when the shared listener cannot be created or its addresses are exhausted.
    package init(
        loopbackOn loop: EventLoop, configuration: Configuration = .init(),
        handler: @escaping (HTTPRequest, HTTPResponder) -> Void
    ) throws(UVError) {
        loop.assertInLoop()
        self.loop = loop
        self.configuration = configuration
        self.handler = handler
        let shared = try LoopbackListener.of(loop)
        port = shared.port
        host = ""
        guard let address = shared.register(self) else {
            throw UVError(code: -99, operation: "LoopbackListener.register: no loopback address left")  // EADDRNOTAVAIL
        }
        loopback = (shared, address)
        host = LoopbackListener.text(address)
    }

    /// Connections currently open.
    package var connectionCount: Int { connections.count }

    /// True until `close` is called.
    package var isListening: Bool { listener != nil || loopback != nil }

    /// Connections closed because the server was at `maxConnections`: evicted ones and refused new ones.
    package private(set) var connectionsShed = 0

    /// What `acceptFilter` decided about an accepted connection.
    package enum AcceptDecision: Sendable {
        /// Serve it now.
        case serve
        /// Close it now, unread.
        case refuse
        /// The filter keeps it, unread, and later passes it to `serve(_:)` or closes it.
        case later
    }

    /// Decides, before anything is read, whether an accepted connection is served; a refused one is closed at
    /// once. Nil serves every connection.
    package var acceptFilter: ((TCPConnection) -> AcceptDecision)?

    /// Connections `acceptFilter` refused.
    package private(set) var connectionsRefused = 0

    /// Takes a connection accepted for this server.
    func accepted(_ tcp: TCPConnection) {
        switch acceptFilter?(tcp) ?? .serve {
        case .serve:
            serve(tcp)
        case .refuse:
            refuse(tcp)
        case .later:
            break
        }
    }

    /// Closes a connection the filter refused, unread.
    package func refuse(_ tcp: TCPConnection) {
        connectionsRefused += 1
        tcp.close()
    }

    /// Serves a connection (one the filter kept with `.later` and has now admitted).
    package func serve(_ tcp: TCPConnection) {
        guard isListening else { return tcp.close() }
        if connections.count >= configuration.maxConnections {
            connectionsShed += 1
            guard let evicted = oldestEvictableConnection() else {
                tcp.close()
                return
            }
            evicted.closeNow()
        }
        nextConnectionID += 1
        let connection = HTTPServerConnection(
            id: nextConnectionID, tcp: tcp, configuration: configuration, handler: handler
        ) { [weak self] connection in
            self?.connections[connection.id] = nil
        }
        connections[connection.id] = connection
        connection.start()
    }

    /// The connection with the lowest id among those with nothing outstanding. A scan, done only at the cap.
    private func oldestEvictableConnection() -> HTTPServerConnection? {
        var oldest: HTTPServerConnection?
        for connection in connections.values where connection.isEvictable {
            if oldest.map({ connection.id < $0.id }) ?? true { oldest = connection }
        }
        return oldest
    }

    /// True when a connection of this server has bytes (or its end) the loop has not read yet, or a connection
    /// waits to be accepted (on a shared listener: for any of its servers). One non-blocking `poll(2)`: for the
    /// rare decision that must not overlook an answer already sent, such as a timeout that fired late.
    package var hasUnreadInput: Bool {
        var sockets: [any PendingInput] = connections.values.map(\.tcp)
        if let listener { sockets.append(listener) }
        if let shared = loopback?.listener.listeningSocket { sockets.append(shared) }
        return Readiness.anyReadable(sockets)
    }

    /// Stops listening and closes every connection; outstanding responders get `onConnectionClose`.
    package func close() {
        loop.assertInLoop()
        listener?.close()
        listener = nil
        if let loopback {
            loopback.listener.release(loopback.address)
            self.loopback = nil
        }
        for connection in Array(connections.values) { connection.closeNow() }
        connections.removeAll()
    }
}
