import SimUV

/// One keep-alive client connection: requests are written as they are sent (pipelined) and their
/// responses complete in the same order. Loop thread only.
///
/// A response that ends the connection (`Connection: close`, or a body delimited by the close) closes
/// it; requests still waiting then fail with `HTTPError.connectionClosed`. Ownership: the TCP callbacks
/// hold this object until it closes.
package final class HTTPClientConnection {
    /// The loop the connection runs on.
    package let loop: EventLoop
    /// Runs once when the connection closes, whichever side closed it.
    package var onClose: (() -> Void)?
    /// True until the connection closes.
    package private(set) var isOpen = true
    /// The socket's descriptor while the connection is open.
    package var fileDescriptor: Int32? { isOpen ? tcp.fileDescriptor : nil }
    private let tcp: TCPConnection
    private let hostHeader: String
    private let parser = ResponseParser()
    private var waiting: [(Result<HTTPResponse, any Error>) -> Void] = []
    private var responses: [HTTPResponse] = []

    private init(loop: EventLoop, tcp: TCPConnection, hostHeader: String) {
        self.loop = loop
        self.tcp = tcp
        self.hostHeader = hostHeader
    }

    /// Connects to `host:port`; `completion` gets the open connection or `HTTPError.connectFailed`.
    package static func connect(
        loop: EventLoop, host: String, port: Int,
        completion: @escaping (Result<HTTPClientConnection, any Error>) -> Void
    ) {
        loop.assertInLoop()
        TCPConnection.connect(loop: loop, host: host, port: port) { result in
            switch result {
            case .failure(let error):
                completion(.failure(HTTPError.connectFailed(error)))
            case .success(let tcp):
                let connection = HTTPClientConnection(
                    loop: loop, tcp: tcp, hostHeader: port == 80 ? host : "\(host):\(port)")
                connection.start()
                completion(.success(connection))
            }
        }
    }

    private func start() {
        tcp.onData = { [self] bytes in received(bytes) }
        tcp.onReadEnd = { [self] error in readEnded(error) }
        tcp.startReading()
    }

    /// Sends `request` (adding `Host` and `Content-Length`, or chunked framing with trailers when it has
    /// `Transfer-Encoding: chunked`); `completion` gets its response or the error that ended the
    /// connection.
    package func send(_ request: HTTPRequest, completion: @escaping (Result<HTTPResponse, any Error>) -> Void) {
        loop.assertInLoop()
        guard isOpen, !parser.isFinished else {
            completion(.failure(HTTPError.notConnected))
            return
        }
        parser.expectResponse(toMethod: request.method)
        waiting.append(completion)
        tcp.write(request.serialized(host: hostHeader)) { [self] error in
            if let error, !error.isCancelled { fail(.io(error)) }
        }
    }

    /// Closes the connection; requests still waiting fail with `HTTPError.connectionClosed`.
    package func close() {
        fail(.connectionClosed)
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        var failure: HTTPError?
        do {
            try parser.feed(bytes, into: &responses)
        } catch {
            failure = error
        }
        deliverResponses()
        if let failure {
            fail(failure)
        } else if parser.isFinished {
            fail(.connectionClosed)
        }
    }

    private func readEnded(_ error: UVError?) {
        guard isOpen else { return }
        if let error {
            fail(.io(error))
            return
        }
        var failure = HTTPError.connectionClosed
        do {
            try parser.finish(into: &responses)
        } catch {
            failure = error
        }
        deliverResponses()
        fail(failure)
    }

    private func deliverResponses() {
        guard !responses.isEmpty else { return }
        let batch = responses
        responses.removeAll(keepingCapacity: true)
        for response in batch where !waiting.isEmpty {
            let completion = waiting.removeFirst()
            completion(.success(response))
        }
    }

    /// Closes the socket once and fails every waiting request with `error`.
    private func fail(_ error: HTTPError) {
        guard isOpen else { return }
        isOpen = false
        tcp.onData = nil
        tcp.onReadEnd = nil
        tcp.close()
        let pending = waiting
        waiting.removeAll()
        for completion in pending { completion(.failure(error)) }
        let callback = onClose
        onClose = nil
        callback?()
    }
}
