// A tiny blocking HTTP/1.1 client: one keep-alive TCP connection, Content-Length and chunked
// response bodies, transparent reconnect when a kept-alive connection turns out to be closed.

import Glibc

private let crlf: [UInt8] = [0x0D, 0x0A]
private let headerTerminator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]

/// A fully read HTTP response.
struct HTTPResponse {
    var status: Int
    /// Header fields in arrival order; names are lower-cased, values trimmed.
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    /// Returns the first value of the header `name` (which must be given in lower case).
    func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}

/// One TCP connection to the Runtime API with its own read buffer.
final class HTTPConnection {
    private let fd: Int32
    private var buffer: [UInt8] = []
    /// Index of the first unconsumed byte in `buffer`.
    private var start = 0
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)
    /// Whether any byte of the current response has arrived (decides if a retry is safe).
    private(set) var responseStarted = false
    /// Number of request/response exchanges completed on this connection.
    private(set) var exchanges = 0
    /// False once the server asked to close or the body was delimited by connection close.
    private(set) var keepAlive = true

    /// Resolves `host`/`port` and connects, enabling TCP_NODELAY.
    init(host: String, port: String) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, port, &hints, &list)
        guard status == 0, let first = list else {
            throw FixtureError.resolution("\(host):\(port): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastErrno: Int32 = 0
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let socketFD = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if socketFD < 0 {
                lastErrno = errno
                continue
            }
            if connect(socketFD, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                var one: Int32 = 1
                setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                fd = socketFD
                return
            }
            lastErrno = errno
            close(socketFD)
        }
        throw FixtureError.system("connect to \(host):\(port)", lastErrno)
    }

    deinit {
        close(fd)
    }

    /// Closes the socket in a forked child without touching the parent's copy.
    func closeInChild() {
        close(fd)
    }

    /// Sends a complete request. A reset/closed peer is reported as `.closed`.
    func send(_ bytes: [UInt8]) throws {
        responseStarted = false
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    if code == EPIPE || code == ECONNRESET { throw FixtureError.closed }
                    throw FixtureError.system("send", code)
                }
                offset += sent
            }
        }
    }

    /// Reads one response (skipping interim 1xx responses) including its body. Parsed on bytes: this runs twice
    /// per invoke, and the fixture must cost the machine far less than the simulator it measures.
    func readResponse() throws -> HTTPResponse {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        while true {
            let head = try readUntil(headerTerminator)
            var lineStart = 0
            func nextLine() -> ArraySlice<UInt8>? {
                guard lineStart <= head.count else { return nil }
                var end = lineStart
                while end + 1 < head.count && !(head[end] == 0x0D && head[end + 1] == 0x0A) { end += 1 }
                if end + 1 >= head.count { end = head.count }
                defer { lineStart = end + 2 }
                return head[lineStart..<end]
            }
            guard let statusLine = nextLine(), statusLine.count >= 12,
                statusLine.starts(with: "HTTP/1.".utf8), let status = Self.decimal(statusLine.dropFirst(9).prefix(3))
            else {
                throw FixtureError.protocolViolation("bad status line '\(String(decoding: head, as: UTF8.self))'")
            }
            let isHTTP11 = statusLine[statusLine.startIndex + 7] == UInt8(ascii: "1")
            if status >= 100 && status < 200 { continue }  // 100 Continue and friends carry no body
            var response = HTTPResponse(status: status, headers: [], body: [])
            while let line = nextLine() {
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
                let name = String(decoding: line[..<colon].map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self)
                var value = line[(colon + 1)...]
                while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
                while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
                response.headers.append((name, String(decoding: value, as: UTF8.self)))
            }
            let connection = response.header("connection")?.lowercased() ?? ""
            keepAlive = isHTTP11 ? !connection.contains("close") : connection.contains("keep-alive")
            response.body = try readBody(status: status, response: response)
            exchanges += 1
            return response
        }
    }

    /// The value of ASCII decimal digits, or nil.
    private static func decimal(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    /// Reads the body according to Transfer-Encoding / Content-Length / connection close.
    private func readBody(status: Int, response: HTTPResponse) throws -> [UInt8] {
        if status == 204 || status == 304 { return [] }
        if let encoding = response.header("transfer-encoding"), encoding.lowercased().contains("chunked") {
            return try readChunkedBody()
        }
        if let lengthText = response.header("content-length") {
            guard let length = Int(lengthText), length >= 0 else {
                throw FixtureError.protocolViolation("bad Content-Length '\(lengthText)'")
            }
            return try readExactly(length)
        }
        // No framing information: the body runs until the server closes the connection.
        keepAlive = false
        while true {
            do { try fill() } catch FixtureError.closed { break }
        }
        defer { start = buffer.count }
        return Array(buffer[start...])
    }

    /// Decodes a chunked body; chunk extensions and trailer fields are read and ignored.
    private func readChunkedBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeLine = String(decoding: try readUntil(crlf), as: UTF8.self)
            let sizeText = trim(String(sizeLine.split(separator: ";", omittingEmptySubsequences: false)[0]))
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                throw FixtureError.protocolViolation("bad chunk size '\(sizeLine)'")
            }
            if size == 0 {
                while !(try readUntil(crlf)).isEmpty {}  // trailer section ends with an empty line
                return body
            }
            body.append(contentsOf: try readExactly(size))
            guard try readUntil(crlf).isEmpty else { throw FixtureError.protocolViolation("missing CRLF after chunk") }
        }
    }

    /// Returns the bytes before the next `delimiter` and consumes the delimiter too.
    private func readUntil(_ delimiter: [UInt8]) throws -> [UInt8] {
        var searchFrom = start
        while true {
            if buffer.count - searchFrom >= delimiter.count {
                let found = buffer.withUnsafeBufferPointer { bytes -> Int? in
                    var position = searchFrom
                    let last = bytes.count - delimiter.count
                    while position <= last {
                        if bytes[position] == delimiter[0] {
                            var match = true
                            for offset in 1..<delimiter.count where bytes[position + offset] != delimiter[offset] {
                                match = false
                                break
                            }
                            if match { return position }
                        }
                        position += 1
                    }
                    return nil
                }
                if let position = found {
                    let result = Array(buffer[start..<position])
                    start = position + delimiter.count
                    return result
                }
                searchFrom = buffer.count - delimiter.count + 1
            }
            try fill()
        }
    }

    /// Returns exactly `count` bytes, reading more from the socket as needed.
    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count - start < count { try fill() }
        defer { start += count }
        return Array(buffer[start..<start + count])
    }

    /// Appends whatever the socket has to `buffer`; blocks until at least one byte arrives.
    private func fill() throws {
        while true {
            let received = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received > 0 {
                responseStarted = true
                buffer.append(contentsOf: scratch[0..<received])
                return
            }
            if received == 0 { throw FixtureError.closed }
            let code = errno
            if code == EINTR { continue }
            if code == ECONNRESET { throw FixtureError.closed }
            throw FixtureError.system("recv", code)
        }
    }

}

/// Strips leading and trailing spaces and tabs.
func trim(_ text: String) -> String {
    var scalars = Substring(text).unicodeScalars[...]
    while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
    while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
    return String(scalars)
}

/// Runtime API client: sends requests over a kept-alive connection and reconnects when needed.
final class RuntimeAPIClient {
    private let host: String
    private let port: String
    /// `host:port` exactly as given in AWS_LAMBDA_RUNTIME_API, used for the Host header.
    private let authority: String
    private var connection: HTTPConnection?
    /// Open a new connection for every request, as runtimes built on curl do (`FIXTURE_NEW_CONNECTION=1`).
    var connectionPerRequest = false

    /// Parses `host:port` (IPv6 hosts may be bracketed, e.g. `[::1]:9001`).
    init(authority: String) {
        self.authority = authority
        guard let colon = authority.lastIndex(of: ":") else {
            die("AWS_LAMBDA_RUNTIME_API '\(authority)' lacks a port")
        }
        var hostPart = String(authority[..<colon])
        if hostPart.hasPrefix("[") && hostPart.hasSuffix("]") { hostPart = String(hostPart.dropFirst().dropLast()) }
        host = hostPart.isEmpty ? "127.0.0.1" : hostPart
        port = String(authority[authority.index(after: colon)...])
    }

    /// Performs one request. If a reused keep-alive connection was closed by the server before any
    /// response byte arrived, the request is retried once on a new connection.
    func request(
        _ method: String,
        _ path: String,
        headers: [(String, String)] = [],
        body: [UInt8] = []
    ) throws -> HTTPResponse {
        var message: [UInt8] = []
        message.reserveCapacity(160 + path.utf8.count + body.count)
        func append(_ text: String) { message.append(contentsOf: text.utf8) }
        append(method)
        append(" ")
        append(path)
        append(" HTTP/1.1\r\nHost: ")
        append(authority)
        append("\r\nUser-Agent: lambda-sim-fixture\r\n")
        for (name, value) in headers {
            append(name)
            append(": ")
            // Header values come from payloads/env; drop CR and LF so they cannot split the request.
            message.append(contentsOf: value.utf8.filter { $0 != 0x0D && $0 != 0x0A })
            append("\r\n")
        }
        if method != "GET" {
            append("Content-Length: ")
            append(String(body.count))
            append("\r\n")
        }
        append("\r\n")
        message.append(contentsOf: body)
        var attempt = 0
        while true {
            attempt += 1
            let current = try connection ?? HTTPConnection(host: host, port: port)
            connection = current
            do {
                try current.send(message)
                let response = try current.readResponse()
                if !current.keepAlive || connectionPerRequest { connection = nil }
                return response
            } catch FixtureError.closed where attempt == 1 && current.exchanges > 0 && !current.responseStarted {
                connection = nil  // stale keep-alive connection: retry on a fresh one
            } catch {
                connection = nil
                throw error
            }
        }
    }

    /// Posts a chunked body written by `write` (each call sends one chunk at once), ending with `trailers`, as a
    /// streaming runtime does, on a connection of its own (closed afterwards, as runtimes that stream do).
    func streamingRequest(
        _ path: String, headers: [(String, String)], trailers: () -> [(String, String)],
        write: (_ send: ([UInt8]) throws -> Void) throws -> Void
    ) throws -> HTTPResponse {
        let connection = try HTTPConnection(host: host, port: port)
        var head = "POST \(path) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: lambda-sim-fixture\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Transfer-Encoding: chunked\r\n\r\n"
        try connection.send(Array(head.utf8))
        try write { chunk in
            guard !chunk.isEmpty else { return }
            try connection.send(Array(String(chunk.count, radix: 16).utf8) + [0x0D, 0x0A] + chunk + [0x0D, 0x0A])
        }
        var tail = "0\r\n"
        for (name, value) in trailers() { tail += "\(name): \(value)\r\n" }
        tail += "\r\n"
        try connection.send(Array(tail.utf8))
        return try connection.readResponse()
    }

    /// Closes the inherited socket in a forked child process.
    func closeInChild() {
        connection?.closeInChild()
    }
}
