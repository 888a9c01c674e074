import Testing

@testable import SimHTTP

/// Responses parsed from byte strings, without sockets.
struct ResponseParserTests {
    /// A Content-Length response yields status, reason, headers and body.
    @Test func contentLengthResponse() throws {
        let parser = ResponseParser()
        let responses = try parser.feed(Array("HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nok".utf8))
        #expect(responses.count == 1)
        #expect(responses.first?.status == 202)
        #expect(responses.first?.reason == "Accepted")
        #expect(responses.first?.headers["x-a"] == "1")
        #expect(responses.first?.bodyString == "ok")
        #expect(responses.first?.keepAlive == true)
    }

    /// A chunked response with trailers is reassembled.
    @Test func chunkedResponseWithTrailers() throws {
        let parser = ResponseParser()
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\nX-T: z\r\n\r\n"
        let response = try #require(try parser.feed(Array(text.utf8)).first)
        #expect(response.bodyString == "abc")
        #expect(response.trailers["X-T"] == "z")
    }

    /// A body delimited by the connection's close completes at `finish`.
    @Test func closeDelimitedBody() throws {
        let parser = ResponseParser()
        #expect(try parser.feed(Array("HTTP/1.1 200 OK\r\n\r\npartial body".utf8)).isEmpty)
        var responses: [HTTPResponse] = []
        try parser.finish(into: &responses)
        #expect(responses.first?.bodyString == "partial body")
        #expect(responses.first?.keepAlive == false)
    }

    /// A stream cut inside a Content-Length body throws `unexpectedEOF` at `finish`.
    @Test func truncatedBody() throws {
        let parser = ResponseParser()
        _ = try parser.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8))
        var responses: [HTTPResponse] = []
        #expect(throws: HTTPError.unexpectedEOF) { try parser.finish(into: &responses) }
    }

    /// The answer to HEAD has no body despite its Content-Length; interim 100 responses are skipped.
    @Test func headAndInterimResponses() throws {
        let parser = ResponseParser()
        parser.expectResponse(toMethod: "HEAD")
        parser.expectResponse(toMethod: "POST")
        let text =
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
            + "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx"
        let responses = try parser.feed(Array(text.utf8))
        #expect(responses.map(\.status) == [200, 201])
        #expect(responses.map(\.bodyString) == ["", "x"])
    }
}
