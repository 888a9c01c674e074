import SimUV
import Testing

@testable import SimHTTP

/// RFC 9112 on the wire where http_parser alone is lenient, and a client's half-close.
@Suite(.timeLimit(.minutes(1)))
struct StrictHTTPTests {
    /// Sends `text` on a new connection and returns the first answer's status (nil if the server closed without
    /// one) and whether the handler saw a request.
    private func answer(_ text: String) async throws -> (status: Int?, handled: Bool) {
        let handled = LoopState(false)
        let server = try await TestServer.start { _, responder in
            handled.value = true
            responder.send(HTTPResponse(status: 204))
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send(text)
        let responses = try await client.responses(count: 1)
        let sawRequest = try await server.loop.run { handled.value }
        try await server.stop()
        return (responses.first?.status, sawRequest)
    }

    @Test func versionOtherThanOneIs505() async throws {
        for version in ["9.9", "2.0", "0.9"] {
            let result = try await answer("GET / HTTP/\(version)\r\nHost: x\r\n\r\n")
            #expect(result.status == 505, "HTTP/\(version)")
            #expect(!result.handled)
        }
        #expect(try await answer("GET / HTTP/1.0\r\n\r\n").status == 204)
    }

    @Test func headerNameWithSpaceIs400() async throws {
        let result = try await answer("GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n")
        #expect(result.status == 400 && !result.handled)
    }

    @Test func obsoleteFoldIs400() async throws {
        #expect(try await answer("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n").status == 400)
        #expect(try await answer("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n").status == 400)
    }

    @Test func missingHostOnHTTP11Is400() async throws {
        #expect(try await answer("GET / HTTP/1.1\r\nX-A: one\r\n\r\n").status == 400)
    }

    /// An absolute-form target reaches the handler in origin form.
    @Test func absoluteFormIsAccepted() async throws {
        let seen = LoopState<[String]>([])
        let server = try await TestServer.start { request, responder in
            seen.value.append("\(request.path) \(request.query["q"] ?? "-")")
            responder.send(HTTPResponse(status: 204))
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send(
            "GET http://127.0.0.1:9000/2015-03-31/functions/f/invocations?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET HTTP://h HTTP/1.1\r\nHost: x\r\n\r\n")
        let responses = try await client.responses(count: 2)
        #expect(responses.map(\.status) == [204, 204])
        #expect(try await server.loop.run { seen.value } == ["/2015-03-31/functions/f/invocations 1", "/ -"])
        try await server.stop()
    }

    /// Split reads of the same bytes are not mistaken for a fold: a value cut anywhere still parses.
    @Test func valuesSplitAcrossReadsAreNotFolds() throws {
        let text = Array("GET / HTTP/1.1\r\nHost: example\r\nX-Long: abcdefghij\r\n\r\n".utf8)
        for cut in 1..<text.count {
            let parser = RequestParser()
            var events: [RequestParser.Event] = []
            try parser.feed(Array(text[..<cut]), into: &events)
            try parser.feed(Array(text[cut...]), into: &events)
            #expect(events.count == 1, "cut at \(cut)")
        }
    }

    /// A client that shuts down its sending side after a complete request still gets the answer, even one that
    /// takes a while; then the connection closes.
    @Test func halfCloseStillGetsTheAnswer() async throws {
        let server = try await TestServer.start { _, responder in
            responder.loop.schedule(afterMilliseconds: 100) { responder.send(.json(200, #"{"late":true}"#)) }
        }
        let client = try await RawClient.connect(loop: server.loop, port: server.port)
        try await client.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        try await client.shutdownWriting()
        let responses = try await client.responses(count: 1)
        #expect(responses.first?.status == 200)
        #expect(responses.first?.bodyString == #"{"late":true}"#)
        await client.waitUntilClosed()
        try await server.stop()
    }
}
