import SimUV
import Testing

@testable import SimHTTP

/// Timing behaviour over real sockets: idle timeout, held responses, slow peers, abandoned requests.
@Suite(.timeLimit(.minutes(1)))
struct HTTPServerTimingTests {
    /// A response held longer than the idle timeout survives while idle connections (fresh, or after a
    /// served request) are closed. (The timeout is generous so a loaded machine still delivers the held
    /// request before it fires.)
    @Test func heldResponseOutlivesIdleTimeout() async throws {
        let held = LoopState<HTTPResponder?>(nil)
        let server = try await TestServer.start(configuration: .init(idleTimeoutMilliseconds: 1_000)) {
            request, responder in
            if request.path == "/ping" {
                responder.send(HTTPResponse(status: 204))
            } else {
                held.value = responder
            }
        }
        let polling = try await RawClient.connect(loop: server.loop, port: server.port)
        try await polling.send("GET /next HTTP/1.1\r\nHost: t\r\n\r\n")
        let fresh = try await RawClient.connect(loop: server.loop, port: server.port)
        let used = try await RawClient.connect(loop: server.loop, port: server.port)
        try await used.send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try await used.responses(count: 1).first?.status == 204)
        await fresh.waitUntilClosed()
        await used.waitUntilClosed()
        try await sleep(milliseconds: 1_500)
        #expect(try await polling.isClosed() == false)
        try await server.loop.run { held.value?.send(.json(200, #"{"late":true}"#)) }
        let responses = try await polling.responses(count: 1)
        #expect(responses.first?.bodyString == #"{"late":true}"#)
        await polling.waitUntilClosed()
        try await server.stop()
    }

    /// A client trickling a request one byte at a time does not delay another client.
    @Test func slowClientDoesNotDelayOthers() async throws {
        let served = LoopState<[String]>([])
        let server = try await TestServer.start { request, responder in
            served.value.append(request.path)
            responder.send(HTTPResponse(status: 200, body: Array(request.path.utf8)))
        }
        let slow = try await RawClient.connect(loop: server.loop, port: server.port)
        let text = Array("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        for byte in text.prefix(10) {
            try await slow.send([byte])
            try await sleep(milliseconds: 5)
        }
        let fast = try await server.request(HTTPRequest(method: "GET", target: "/fast"))
        #expect(fast.bodyString == "/fast")
        #expect(try await server.loop.run { served.value } == ["/fast"])
        for byte in text.dropFirst(10) { try await slow.send([byte]) }
        let responses = try await slow.responses(count: 1)
        #expect(responses.first?.bodyString == "/slow")
        try await server.stop()
    }

    /// When the client goes away, the outstanding responder's `onConnectionClose` fires and sends are no-ops,
    /// also when the held request was the connection's last (`Connection: close`).
    @Test(arguments: [
        "GET /next HTTP/1.1\r\nHost: t\r\n\r\n", "GET /next HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    ])
    func peerCloseNotifiesOutstandingResponder(text: String) async throws {
        let held = LoopState<HTTPResponder?>(nil)
        let closed = LoopState<CheckedContinuation<Void, Never>?>(nil)
        let server = try await TestServer.start { _, responder in
            held.value = responder
            responder.onConnectionClose = {
                closed.value?.resume()
                closed.value = nil
            }
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send(text)
        while try await server.loop.run({ held.value == nil }) { try await sleep(milliseconds: 5) }
        await withCheckedContinuation { continuation in
            server.loop.submit {
                closed.value = continuation
                Task { try await client.close() }
            }
        }
        let state = try await server.loop.run {
            held.value?.send(HTTPResponse(status: 200))
            return (held.value?.isConnectionOpen, held.value?.isCompleted)
        }
        #expect(state.0 == false && state.1 == true)
        #expect(try await server.connectionCount() == 0)
        try await server.stop()
    }
}
