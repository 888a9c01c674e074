extension HTTPResponse {
    /// The complete response in one buffer: status line, headers, `Content-Length` (omitted for 1xx, 204
    /// and 304), then the body. If `headers` has `Transfer-Encoding: chunked` the body goes out as one
    /// chunk followed by `trailers`. When `keepAlive` is false, `Connection: close` replaces any
    /// `Connection` field.
    package func serialized(keepAlive: Bool) -> [UInt8] {
        serialized(keepAlive: keepAlive, omitBody: false, announceKeepAlive: false)
    }

    /// The response bytes; `omitBody` keeps the framing headers but drops the body (answers to `HEAD`),
    /// `announceKeepAlive` adds `Connection: keep-alive` (answers to HTTP/1.0 keep-alive requests).
    func serialized(keepAlive: Bool, omitBody: Bool, announceKeepAlive: Bool) -> [UInt8] {
        let chunked = headers.containsToken("chunked", in: "Transfer-Encoding")
        let hasBody = !Self.statusHasNoBody(status)
        var writer = MessageWriter(capacity: estimatedSize(chunked: chunked))
        writer.statusLine(status, reason: reason ?? Self.standardReason(status))
        writer.headers(headers) { name in
            HTTPHeaders.namesEqual(name, "Content-Length") || (!keepAlive && HTTPHeaders.namesEqual(name, "Connection"))
        }
        if !keepAlive {
            writer.header("Connection", "close")
        } else if announceKeepAlive && !headers.contains("Connection") {
            writer.header("Connection", "keep-alive")
        }
        if hasBody && !chunked { writer.contentLength(body.count) }
        writer.endHead()
        if hasBody && !omitBody {
            if chunked {
                writer.chunk(body)
                writer.lastChunk(trailers: trailers)
            } else {
                writer.body(body)
            }
        }
        return writer.bytes
    }

    /// A head for a response whose body follows as chunks (`HTTPResponder.startStreaming`).
    static func streamingHead(status: Int, headers: HTTPHeaders, keepAlive: Bool) -> [UInt8] {
        var headers = headers
        if !headers.containsToken("chunked", in: "Transfer-Encoding") { headers["Transfer-Encoding"] = "chunked" }
        var writer = MessageWriter(capacity: 64 + headers.estimatedSize)
        writer.statusLine(status, reason: standardReason(status))
        writer.headers(headers) { name in
            HTTPHeaders.namesEqual(name, "Content-Length") || (!keepAlive && HTTPHeaders.namesEqual(name, "Connection"))
        }
        if !keepAlive { writer.header("Connection", "close") }
        writer.endHead()
        return writer.bytes
    }

    private func estimatedSize(chunked: Bool) -> Int {
        var size = 64 + (reason?.utf8.count ?? 0) + headers.estimatedSize + body.count
        if chunked { size += 32 + trailers.estimatedSize }
        return size
    }
}

extension HTTPHeaders {
    /// Bytes the fields take on the wire (`name: value\r\n` each).
    var estimatedSize: Int {
        var size = 0
        for (name, value) in self { size += name.utf8.count + value.utf8.count + 4 }
        return size
    }
}
