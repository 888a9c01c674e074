import SimUV
import Testing

@testable import SimHTTP

/// The server over real sockets: keep-alive, pipelining, limits, errors and chunked bodies.
@Suite(.timeLimit(.minutes(1)))
struct HTTPServerTests {
    /// Two requests on one `HTTPClientConnection` reach the handler over the same server connection.
    @Test func keepAliveServesTwoRequests() async throws {
        let connectionIDs = LoopState<[Int]>([])
        let server = try await TestServer.start { request, responder in
            connectionIDs.value.append(responder.connectionID)
            responder.send(.json(200, #"{"path":"\#(request.path)"}"#))
        }
        let results = LoopState<[String]>([])
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            server.loop.submit {
                HTTPClientConnection.connect(loop: server.loop, host: "127.0.0.1", port: server.port) { result in
                    guard case .success(let client) = result else {
                        return continuation.resume(throwing: HTTPError.notConnected)
                    }
                    client.send(HTTPRequest(method: "GET", target: "/one")) { first in
                        results.value.append((try? first.get().bodyString) ?? "error")
                        client.send(HTTPRequest(method: "GET", target: "/two")) { second in
                            results.value.append((try? second.get().bodyString) ?? "error")
                            client.close()
                            continuation.resume()
                        }
                    }
                }
            }
        }
        #expect(results.value == [#"{"path":"/one"}"#, #"{"path":"/two"}"#])
        let ids = try await server.loop.run { connectionIDs.value }
        #expect(ids.count == 2 && ids[0] == ids[1])
        try await server.stop()
    }

    /// Three pipelined requests are answered in order, the next dispatched only after a 50 ms hold ends.
    @Test func pipelinedRequestsAnsweredInOrder() async throws {
        let log = LoopState<[String]>([])
        let server = try await TestServer.start { request, responder in
            log.value.append("start \(request.path)")
            if request.path == "/slow" {
                responder.loop.schedule(afterMilliseconds: 50) {
                    log.value.append("end /slow")
                    responder.send(HTTPResponse(status: 200, body: Array("slow".utf8)))
                }
            } else {
                log.value.append("end \(request.path)")
                responder.send(HTTPResponse(status: 200, body: Array(request.path.utf8)))
            }
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send(
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n")
        let responses = try await client.responses(count: 3)
        #expect(responses.map(\.bodyString) == ["/a", "slow", "/c"])
        let order = try await server.loop.run { log.value }
        #expect(order == ["start /a", "end /a", "start /slow", "end /slow", "start /c", "end /c"])
        try await client.close()
        try await server.stop()
    }

    /// A body over `maxBodyBytes` reaches the handler flagged, with its real length, and the connection
    /// stays usable.
    @Test func oversizedBodyIsFlagged() async throws {
        let seen = LoopState<[(Bool, Int, Int)]>([])
        let server = try await TestServer.start(configuration: .init(maxBodyBytes: 1000)) { request, responder in
            seen.value.append((request.bodyTooLarge, request.bodyLength, request.body.count))
            responder.send(.json(request.bodyTooLarge ? 413 : 200, "{}"))
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        let body = String(repeating: "x", count: 50_000)
        try await client.send(
            "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\n\r\n\(body)GET /small HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        let responses = try await client.responses(count: 2)
        #expect(responses.map(\.status) == [413, 200])
        let flags = try await server.loop.run { seen.value }
        #expect(flags.count == 2)
        #expect(flags.first.map { $0.0 && $0.1 == 50_000 && $0.2 == 0 } == true)
        try await server.stop()
    }

    /// A malformed request gets 400 and a closed connection; the server still serves another connection.
    @Test func malformedRequestGets400() async throws {
        let server = try await TestServer.start { _, responder in responder.send(HTTPResponse(status: 204)) }
        let bad = try await RawClient.connect(loop: server.loop, port: server.port)
        try await bad.send("NOT-HTTP\r\n\r\n")
        let responses = try await bad.responses(count: 1)
        #expect(responses.first?.status == 400)
        #expect(responses.first?.headers["Connection"] == "close")
        await bad.waitUntilClosed()
        let response = try await server.request(HTTPRequest(method: "GET", target: "/"))
        #expect(response.status == 204)
        try await server.stop()
    }

    /// A header section over `maxHeaderBytes` gets 431 and a closed connection.
    @Test func headerTooLargeGets431() async throws {
        let server = try await TestServer.start(configuration: .init(maxHeaderBytes: 512)) { _, responder in
            responder.send(HTTPResponse(status: 200))
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "h", count: 4096))\r\n\r\n")
        let responses = try await client.responses(count: 1)
        #expect(responses.first?.status == 431)
        await client.waitUntilClosed()
        try await server.stop()
    }

    /// A chunked request with trailers arrives whole; a streamed chunked response with trailers comes back.
    @Test func chunkedRequestAndStreamedResponse() async throws {
        let server = try await TestServer.start { request, responder in
            #expect(request.isChunked)
            #expect(request.trailers["X-Request-Sum"] == "42")
            responder.startStreaming(status: 200, headers: ["Content-Type": "text/plain"])
            responder.writeChunk(request.body)
            responder.writeChunk(Array("!".utf8))
            responder.finish(trailers: ["X-Response-Sum": "7"])
        }
        var request = HTTPRequest(
            method: "POST", target: "/echo", headers: ["Transfer-Encoding": "chunked"], body: Array("payload".utf8))
        request.trailers = ["X-Request-Sum": "42"]
        let response = try await server.request(request)
        #expect(response.status == 200)
        #expect(response.bodyString == "payload!")
        #expect(response.trailers["X-Response-Sum"] == "7")
        try await server.stop()
    }

    /// `Expect: 100-continue` gets an interim 100 before the body is sent.
    @Test func expectContinueGets100() async throws {
        let server = try await TestServer.start { request, responder in
            responder.send(HTTPResponse(status: 200, body: request.body))
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send("PUT /p HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        await client.waitForText("HTTP/1.1 100 Continue\r\n\r\n")
        try await client.send("data")
        let responses = try await client.responses(count: 1)
        #expect(responses.first?.bodyString == "data")
        try await server.stop()
    }

    /// `Connection: close` and HTTP/1.0 requests get `Connection: close` and the socket is closed.
    @Test(arguments: ["GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"])
    func connectionEndingRequestClosesAfterResponse(text: String) async throws {
        let server = try await TestServer.start { _, responder in responder.send(.json(200, "{}")) }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send(text)
        let responses = try await client.responses(count: 1)
        #expect(responses.first?.headers["Connection"] == "close")
        #expect(responses.first?.bodyString == "{}")
        await client.waitUntilClosed()
        try await server.stop()
    }

    /// With a bounded pipeline queue, many pipelined requests behind a held one are all answered in order.
    @Test func boundedPipelineQueueResumesReading() async throws {
        let server = try await TestServer.start(configuration: .init(maxPipelinedRequests: 2)) { request, responder in
            if request.path == "/0" {
                responder.loop.schedule(afterMilliseconds: 30) { responder.send(HTTPResponse(status: 200, body: [0])) }
            } else {
                responder.send(HTTPResponse(status: 200, body: Array(request.path.utf8)))
            }
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        for batch in 0..<5 {
            try await client.send((0..<4).map { "GET /\(batch * 4 + $0) HTTP/1.1\r\nHost: t\r\n\r\n" }.joined())
            try await sleep(milliseconds: 5)
        }
        let responses = try await client.responses(count: 20)
        #expect(responses.dropFirst().map(\.bodyString) == (1..<20).map { "/\($0)" })
        try await server.stop()
    }

    /// A multi-megabyte response (past the write high-water mark) arrives intact, and HEAD gets only its head.
    @Test func largeResponseAndHead() async throws {
        let body = (0..<(5 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let server = try await TestServer.start { _, responder in
            responder.send(HTTPResponse(status: 200, body: body))
        }
        let response = try await server.request(HTTPRequest(method: "GET", target: "/big"))
        #expect(response.body == body)
        let head = try await server.request(HTTPRequest(method: "HEAD", target: "/big"))
        #expect(head.body.isEmpty && head.headers["Content-Length"] == String(body.count))
        try await server.stop()
    }
}
