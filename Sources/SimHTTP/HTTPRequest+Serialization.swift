extension HTTPRequest {
    /// The complete request in one buffer. Adds `Host` when absent and `Content-Length` (except for a
    /// bodiless `GET` or `HEAD`); with `Transfer-Encoding: chunked` the body goes out as one chunk followed
    /// by `trailers`.
    package func serialized(host: String) -> [UInt8] {
        let chunked = headers.containsToken("chunked", in: "Transfer-Encoding")
        var size = 64 + method.utf8.count + target.utf8.count + host.utf8.count + headers.estimatedSize + body.count
        if chunked { size += 32 + trailers.estimatedSize }
        var writer = MessageWriter(capacity: size)
        writer.requestLine(method: method, target: target)
        if !headers.contains("Host") { writer.header("Host", host) }
        writer.headers(headers) { HTTPHeaders.namesEqual($0, "Content-Length") }
        if chunked {
            writer.endHead()
            writer.chunk(body)
            writer.lastChunk(trailers: trailers)
        } else {
            if !body.isEmpty || (method != "GET" && method != "HEAD") { writer.contentLength(body.count) }
            writer.endHead()
            writer.body(body)
        }
        return writer.bytes
    }
}
