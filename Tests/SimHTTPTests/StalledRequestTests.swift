import SimUV
import Testing

@testable import SimHTTP

/// Requests that stop arriving are answered `408` and their connections closed (slowloris, a short body, a stalled
/// chunk), and the number of open connections is capped without losing work in progress.
@Suite(.timeLimit(.minutes(1)))
struct StalledRequestTests {
    /// Short timeouts, so that the tests take a fraction of a second.
    private static let quick = HTTPServer.Configuration(
        headerTimeoutMilliseconds: 200, bodyStallTimeoutMilliseconds: 200, requestTimeoutMilliseconds: 600)

    /// Starts a server with `configuration` whose handler answers 204 at once, sends `parts` with `gap` ms
    /// between them on one connection and returns the first answer's status and how long it took to arrive.
    private func answer(
        to parts: [String], gap: Int = 0, configuration: HTTPServer.Configuration = quick
    ) async throws -> (status: Int?, milliseconds: Double, closed: Bool) {
        let server = try await TestServer.start(configuration: configuration) { _, responder in
            responder.send(HTTPResponse(status: 204))
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        let start = ContinuousClock.now
        let sender = Task {
            for part in parts {
                try? await client.send(part)
                if gap > 0 { try? await sleep(milliseconds: gap) }
            }
        }
        let responses = try await client.responses(count: 1)
        let elapsed = ContinuousClock.now - start
        await client.waitUntilClosed()
        sender.cancel()
        let closed = try await client.isClosed()
        try await server.stop()
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return (responses.first?.status, milliseconds, closed)
    }

    /// A header section that never ends gets 408 at the header timeout and the connection closes.
    @Test func incompleteHeadersAre408() async throws {
        let result = try await answer(to: ["GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "])
        #expect(result.status == 408 && result.closed)
        #expect(result.milliseconds >= 150)
    }

    /// Slowloris: header bytes dripping in keep the reads coming, but the header timeout counts from the first
    /// byte, so the drip does not extend it.
    @Test func drippedHeadersAre408AtTheHeaderTimeout() async throws {
        let drip = ["GET / HTTP/1.1\r\n", "Host: t\r\n"] + (0..<40).map { "X-\($0): v\r\n" }
        let result = try await answer(to: drip, gap: 25)
        #expect(result.status == 408 && result.closed)
        #expect(result.milliseconds < 900, "the drip should not have extended the deadline")
    }

    /// A `Content-Length` larger than what is sent: 408 once the body has stalled.
    @Test func shortBodyIs408() async throws {
        let result = try await answer(to: ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"])
        #expect(result.status == 408 && result.closed)
    }

    /// A chunked body that stops inside a chunk, and one whose chunk-size line never ends.
    @Test func stalledChunksAre408() async throws {
        let inside = try await answer(to: [
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"
        ])
        #expect(inside.status == 408 && inside.closed)
        let endless =
            ["POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext="]
            + Array(repeating: "aaaaaaaa", count: 60)
        let result = try await answer(to: endless, gap: 20)
        #expect(result.status == 408, "\(String(describing: result.status))")
        #expect(result.closed)
    }

    /// A body trickled just fast enough to dodge the stall timeout still ends at the whole-request timeout.
    @Test func trickledBodyEndsAtTheRequestTimeout() async throws {
        let parts = ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"] + Array(repeating: "x", count: 60)
        let result = try await answer(to: parts, gap: 50)
        #expect(result.status == 408 && result.closed)
        #expect(result.milliseconds >= 550 && result.milliseconds < 2500)
    }

    /// A request arriving in pieces that do not stall is answered normally, and a kept-alive idle connection is
    /// not a stalled one.
    @Test func slowButSteadyRequestsAreServed() async throws {
        let parts = ["POST / HTTP/1.1\r\nHost: t\r\n", "Content-Length: 4\r\n\r\n", "ab", "cd"]
        let server = try await TestServer.start(configuration: Self.quick) { _, responder in
            responder.send(HTTPResponse(status: 204))
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        for part in parts {
            try await client.send(part)
            try await sleep(milliseconds: 60)
        }
        #expect(try await client.responses(count: 1).map(\.status) == [204])
        try await sleep(milliseconds: 400)
        #expect(try await client.isClosed() == false)
        try await client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try await client.responses(count: 2).map(\.status) == [204, 204])
        try await server.stop()
    }

    /// At the cap, a new connection replaces the oldest one with nothing outstanding; connections whose
    /// requests are with the handler are never closed for it, and with only those, the newcomer is refused.
    @Test func connectionCapEvictsIdleConnectionsOnly() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.maxConnections = 2
        let held = LoopState<[HTTPResponder]>([])
        let server = try await TestServer.start(configuration: configuration) { request, responder in
            if request.path == "/hold" {
                held.value.append(responder)
            } else {
                responder.send(HTTPResponse(status: 204))
            }
        }
        let idle = try await RawClient.connect(loop: server.loop, port: server.port)
        try await idle.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        _ = try await idle.responses(count: 1)
        let busy = try await RawClient.connect(loop: server.loop, port: server.port)
        try await busy.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n")
        try await waitUntil { try await server.loop.run { held.value.count == 1 } }

        // Third connection: the idle one goes, the newcomer is served.
        let third = try await RawClient.connect(loop: server.loop, port: server.port)
        try await third.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n")
        await idle.waitUntilClosed()
        try await waitUntil { try await server.loop.run { held.value.count == 2 } }
        #expect(try await busy.isClosed() == false)

        // Fourth: both are busy, so it is closed at once and the busy ones stay.
        let fourth = try await RawClient.connect(loop: server.loop, port: server.port)
        await fourth.waitUntilClosed()
        #expect(try await busy.isClosed() == false)
        #expect(try await third.isClosed() == false)
        try await server.loop.run { for responder in held.value { responder.send(HTTPResponse(status: 204)) } }
        #expect(try await busy.responses(count: 1).map(\.status) == [204])
        #expect(try await third.responses(count: 1).map(\.status) == [204])
        try await server.stop()
    }
}
