import Testing

@testable import SimHTTP

/// Responses and requests rendered to bytes.
struct SerializationTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// A response gets its status line, headers in order, a computed Content-Length and the body.
    @Test func contentLength() {
        let response = HTTPResponse.json(200, #"{"a":1}"#, headers: ["Lambda-Runtime-Aws-Request-Id": "r1"])
        #expect(
            text(response.serialized(keepAlive: true))
                == "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nContent-Type: application/json\r\n"
                + "Content-Length: 7\r\n\r\n{\"a\":1}")
    }

    /// A caller's Content-Length is replaced, custom reasons are kept, and keepAlive false adds Connection: close.
    @Test func closeAndReason() {
        var response = HTTPResponse(status: 413, headers: ["Content-Length": "99", "Connection": "keep-alive"])
        response.reason = "Too Big"
        response.body = Array("no".utf8)
        #expect(
            text(response.serialized(keepAlive: false))
                == "HTTP/1.1 413 Too Big\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno")
    }

    /// 204 and 304 carry neither a body nor Content-Length.
    @Test(arguments: [204, 304, 101])
    func bodilessStatus(status: Int) {
        let response = HTTPResponse(status: status, body: Array("ignored".utf8))
        let rendered = text(response.serialized(keepAlive: true))
        #expect(rendered.hasSuffix("\r\n\r\n"))
        #expect(!rendered.contains("Content-Length") && !rendered.contains("ignored"))
    }

    /// Transfer-Encoding: chunked sends the body as one chunk, then the last chunk and the trailers.
    @Test func chunkedWithTrailers() throws {
        var response = HTTPResponse(status: 200, headers: ["Transfer-Encoding": "chunked"], body: Array("hello".utf8))
        response.trailers = ["X-Sum": "5"]
        let bytes = response.serialized(keepAlive: true)
        #expect(
            text(bytes) == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 5\r\n\r\n")
        let parsed = try #require(try ResponseParser().feed(bytes).first)
        #expect(parsed.bodyString == "hello" && parsed.trailers == ["X-Sum": "5"])
    }

    /// Requests get Host and Content-Length, and round-trip through the request parser.
    @Test func requestRoundTrip() throws {
        let request = HTTPRequest(method: "POST", target: "/r?x=1", headers: ["X-A": "b"], body: Array("{}".utf8))
        let bytes = request.serialized(host: "127.0.0.1:9001")
        #expect(
            text(bytes) == "POST /r?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nX-A: b\r\nContent-Length: 2\r\n\r\n{}")
        let parsed = try #require(
            try RequestParser().feed(bytes).compactMap { event -> HTTPRequest? in
                if case .request(let request) = event { return request }
                return nil
            }.first)
        #expect(parsed.query == ["x": "1"] && parsed.body == request.body && parsed.headers["host"] == "127.0.0.1:9001")
    }

    /// A bodiless GET gets no Content-Length.
    @Test func getHasNoContentLength() {
        let bytes = HTTPRequest(method: "GET", target: "/").serialized(host: "h")
        #expect(text(bytes) == "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    }
}

@Suite struct HeaderInjectionTests {
    /// CR and LF in a header value are written as spaces, so no extra header line can be injected.
    @Test func newlinesInValuesAreNeutralised() {
        let response = HTTPResponse(status: 200, headers: ["X-Context": "{\"a\":1}\r\nInjected: yes"])
        let text = String(decoding: response.serialized(keepAlive: true), as: UTF8.self)
        #expect(text.contains("X-Context: {\"a\":1}  Injected: yes\r\n"))
        #expect(!text.contains("\r\nInjected"))
    }
}
