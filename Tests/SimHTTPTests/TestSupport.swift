import SimUV
import Testing

@testable import SimHTTP

/// Holds a loop-confined value so it can cross a `Sendable` boundary; only touched on its loop.
struct LoopBound<Value>: @unchecked Sendable {
    let value: Value
}

/// Mutable state shared between a handler (on the loop) and a test (reading it through `loop.run`).
final class LoopState<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// An `HTTPServer` on its own event loop, bound to 127.0.0.1 on an ephemeral port.
final class TestServer: @unchecked Sendable {
    let loop: EventLoop
    private var server: HTTPServer?
    private(set) var port = 0

    private init(loop: EventLoop) {
        self.loop = loop
    }

    /// Starts a loop and a server calling `handler` on it.
    static func start(
        configuration: HTTPServer.Configuration = .init(),
        handler: @escaping (HTTPRequest, HTTPResponder) -> Void
    ) async throws -> TestServer {
        let fixture = TestServer(loop: try EventLoop())
        let boxed = LoopBound(value: handler)
        try await fixture.loop.run {
            let server = try HTTPServer(
                loop: fixture.loop, host: "127.0.0.1", port: 0, configuration: configuration, handler: boxed.value)
            fixture.server = server
            fixture.port = server.port
        }
        return fixture
    }

    /// Connections the server has open.
    func connectionCount() async throws -> Int {
        try await loop.run { self.server?.connectionCount ?? -1 }
    }

    /// Closes the server and shuts its loop down.
    func stop() async throws {
        try await loop.run {
            self.server?.close()
            self.server = nil
        }
        await loop.shutdown()
    }

    /// Sends `request` on a fresh `HTTPClientConnection` and returns the response.
    func request(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await HTTPClient.request(loop: loop, host: "127.0.0.1", port: port, request)
    }
}

/// A raw TCP client that writes arbitrary bytes and parses what comes back. Loop-confined state.
final class RawClient: @unchecked Sendable {
    let loop: EventLoop
    private var tcp: TCPConnection?
    private let parser = ResponseParser()
    private var responses: [HTTPResponse] = []
    private var received: [UInt8] = []
    private var closed = false
    private var waiters: [(ready: @Sendable () -> Bool, continuation: CheckedContinuation<Void, Never>)] = []

    private init(loop: EventLoop) {
        self.loop = loop
    }

    /// Connects to `127.0.0.1:port`.
    static func connect(loop: EventLoop, port: Int) async throws -> RawClient {
        let client = RawClient(loop: loop)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.submit {
                TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port) { result in
                    switch result {
                    case .success(let tcp):
                        client.attach(tcp)
                        continuation.resume()
                    case .failure(let error):
                        continuation.resume(throwing: error)
                    }
                }
            }
        }
        return client
    }

    private func attach(_ tcp: TCPConnection) {
        self.tcp = tcp
        tcp.onData = { [self] bytes in
            received.append(contentsOf: bytes)
            try? parser.feed(bytes, into: &responses)
            wake()
        }
        tcp.onReadEnd = { [self] _ in
            closed = true
            try? parser.finish(into: &responses)
            tcp.close()
            wake()
        }
        tcp.startReading()
    }

    private func wake() {
        let ready = waiters.filter { $0.ready() }
        waiters.removeAll { $0.ready() }
        for waiter in ready { waiter.continuation.resume() }
    }

    private func wait(until ready: @escaping @Sendable () -> Bool) async {
        await withCheckedContinuation { continuation in
            loop.submit {
                if ready() {
                    continuation.resume()
                } else {
                    self.waiters.append((ready, continuation))
                }
            }
        }
    }

    /// Writes `text` as UTF-8 in one write.
    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Writes `bytes` in one write.
    func send(_ bytes: [UInt8]) async throws {
        try await loop.run { self.tcp?.write(bytes) }
    }

    /// Waits until `count` responses arrived (or the server closed) and returns those received.
    func responses(count: Int) async throws -> [HTTPResponse] {
        await wait { self.responses.count >= count || self.closed }
        return try await loop.run { self.responses }
    }

    /// Waits until the raw bytes received contain `text`.
    func waitForText(_ text: String) async {
        await wait { String(decoding: self.received, as: UTF8.self).contains(text) || self.closed }
    }

    /// Waits until the server closes the connection.
    func waitUntilClosed() async {
        await wait { self.closed }
    }

    /// True once the server closed the connection.
    func isClosed() async throws -> Bool {
        try await loop.run { self.closed }
    }

    /// Ends the client's sending side (a half-close); it still reads.
    func shutdownWriting() async throws {
        try await loop.run { self.tcp?.shutdownWriting() }
    }

    /// Closes the client's side.
    func close() async throws {
        try await loop.run { self.tcp?.close() }
    }
}

/// Sleeps for `milliseconds` (only used to model slow peers and held responses, never to wait for events).
func sleep(milliseconds: Int) async throws {
    try await Task.sleep(for: .milliseconds(milliseconds))
}

/// Polls `condition` every 5 ms for up to 10 s, recording an issue if it never holds.
func waitUntil(_ condition: () async throws -> Bool) async throws {
    for _ in 0..<2000 {
        if try await condition() { return }
        try await sleep(milliseconds: 5)
    }
    Issue.record("condition not met within 10 s")
}
