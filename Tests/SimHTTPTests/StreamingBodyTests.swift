import SimUV
import Testing

@testable import SimHTTP

/// Request bodies a handler reads as they arrive (`streamsRequestBody`): parts before the end, trailers at the
/// end, a body dropped after an early answer, and an aborted body when the client goes away.
@Suite(.timeLimit(.minutes(1)))
struct StreamingBodyTests {
    private static var configuration: HTTPServer.Configuration {
        var configuration = HTTPServer.Configuration()
        configuration.streamsRequestBody = { method, target, _ in method == "POST" && target == "/stream" }
        return configuration
    }

    /// Each chunk reaches the handler before the next is sent; the trailers come with the end; the answer goes out
    /// after it.
    @Test func partsArriveBeforeTheEnd() async throws {
        let parts = LoopState<[String]>([])
        let ended = LoopState<HTTPBodyStream.End?>(nil)
        let server = try await TestServer.start(configuration: Self.configuration) { request, responder in
            guard let stream = request.bodyStream else { return responder.send(HTTPResponse(status: 400)) }
            stream.onData = { parts.value.append(String(decoding: $0, as: UTF8.self)) }
            stream.onEnd = { end in
                ended.value = end
                responder.send(HTTPResponse(status: 202))
            }
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send(
            "POST /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTrailer: X-Error\r\n\r\n5\r\nfirst\r\n")
        try await waitUntil { try await server.loop.run { parts.value == ["first"] } }
        try await client.send("6\r\nsecond\r\n")
        try await waitUntil { try await server.loop.run { parts.value == ["first", "second"] } }
        #expect(try await server.loop.run { ended.value } == nil)
        try await client.send("0\r\nX-Error: boom\r\n\r\n")
        #expect(try await client.responses(count: 1).map(\.status) == [202])
        #expect(try await server.loop.run { ended.value } == .complete(trailers: ["X-Error": "boom"]))
        try await server.stop()
    }

    /// A request answered before its body ended has the rest of its body dropped, and the next request on the
    /// connection is served.
    @Test func earlyAnswerDropsTheRest() async throws {
        let server = try await TestServer.start(configuration: Self.configuration) { request, responder in
            responder.send(HTTPResponse(status: request.bodyStream == nil ? 200 : 403))
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send("POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n")
        #expect(try await client.responses(count: 1).map(\.status) == [403])
        try await client.send(Array(repeating: UInt8(ascii: "x"), count: 2_000_000))
        try await client.send("GET /next HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try await client.responses(count: 2).map(\.status) == [403, 200])
        try await server.stop()
    }

    /// The client closing in the middle of the body ends the stream as aborted.
    @Test func closingMidBodyAborts() async throws {
        let ended = LoopState<HTTPBodyStream.End?>(nil)
        let server = try await TestServer.start(configuration: Self.configuration) { request, responder in
            request.bodyStream?.onData = { _ in }
            request.bodyStream?.onEnd = { ended.value = $0 }
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send("POST /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        try await client.close()
        try await waitUntil { try await server.loop.run { ended.value == .aborted } }
        try await server.stop()
    }

    /// While the reader has paused the stream, the connection stops reading; it reads on after `resume`.
    @Test func pauseStopsReading() async throws {
        let received = LoopState(0)
        let stream = LoopState<HTTPBodyStream?>(nil)
        let server = try await TestServer.start(configuration: Self.configuration) { request, _ in
            stream.value = request.bodyStream
            request.bodyStream?.onData = { received.value += $0.count }
            request.bodyStream?.pause()
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send("POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 8000000\r\n\r\n")
        let sender = Task { try await client.send(Array(repeating: UInt8(ascii: "y"), count: 8_000_000)) }
        try await sleep(milliseconds: 300)
        let whilePaused = try await server.loop.run { received.value }
        #expect(whilePaused < 8_000_000, "a paused stream kept reading")
        try await server.loop.run { stream.value?.resume() }
        try await waitUntil { try await server.loop.run { received.value == 8_000_000 } }
        _ = try await sender.value
        try await server.stop()
    }
}
