import Foundation
import SimCore

#if canImport(Glibc)
    import Glibc
#endif

/// `lambda-sim invoke --stream`: `InvokeWithResponseStream` over a plain blocking socket, printing each
/// `PayloadChunk` to standard output the moment it arrives and the `InvokeComplete` event's failure and log tail
/// to standard error.
enum StreamingInvoke {
    /// What the stream ended with.
    struct Outcome {
        /// The invoke failed (an `ErrorCode`, or a service error before the stream).
        var failed: Bool
    }

    /// A failure to reach the endpoint or to read its answer.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func run(
        endpoint: String, function: String, payload: [UInt8], invocationType: String, tail: Bool
    ) throws -> Outcome {
        guard let url = URL(string: endpoint), let host = url.host, url.scheme == "http" else {
            throw Failure(description: "--endpoint must be an http:// URL, got \(endpoint)")
        }
        let port = url.port ?? 80
        let connection = try Connection(host: host, port: port)
        let name = function.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? function
        var head = "POST /2021-11-15/functions/\(name)/response-streaming-invocations HTTP/1.1\r\n"
        head += "Host: \(host):\(port)\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\n"
        head += "X-Amz-Invocation-Type: \(invocationType)\r\nX-Amz-Log-Type: \(tail ? "Tail" : "None")\r\n"
        head += "Connection: close\r\n\r\n"
        try connection.send(Array(head.utf8) + payload)

        let (status, headers) = try connection.readHead()
        let chunked = headers["transfer-encoding"]?.lowercased().contains("chunked") == true
        if status != 200 {
            let body = chunked ? try connection.readChunked { _ in } : try connection.readAll(headers)
            Console.error("lambda-sim: \(status): \(String(decoding: body, as: UTF8.self))")
            return Outcome(failed: true)
        }
        guard chunked else {
            // DryRun: 204 is handled above; anything else without a stream is printed as is.
            Console.out(String(decoding: try connection.readAll(headers), as: UTF8.self))
            return Outcome(failed: false)
        }
        var decoder = EventStream.Decoder()
        var failed = false
        var completed = false
        _ = try connection.readChunked { piece in
            let messages = decoder.feed(piece)
            if let error = decoder.error { throw Failure(description: "malformed event stream: \(error)") }
            for message in messages {
                switch message.string(":event-type") {
                case "PayloadChunk":
                    message.payload.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
                case "InvokeComplete":
                    completed = true
                    guard case .object(let members)? = try? JSON.parse(message.payload) else { break }
                    let fields = Dictionary(members, uniquingKeysWith: { first, _ in first })
                    if case .string(let log)? = fields["LogResult"], let text = Base64.decode(log) {
                        Console.error(String(decoding: text, as: UTF8.self))
                    }
                    if case .string(let code)? = fields["ErrorCode"] {
                        failed = true
                        var details = ""
                        if case .string(let text)? = fields["ErrorDetails"] { details = ": \(text)" }
                        Console.error("lambda-sim: \(code)\(details)")
                    }
                default:
                    break
                }
            }
        }
        if !completed { throw Failure(description: "the stream ended without InvokeComplete") }
        return Outcome(failed: failed)
    }

    /// A blocking HTTP/1.1 connection: enough to read one response as it arrives.
    private final class Connection {
        private let fd: Int32
        private var buffer: [UInt8] = []

        init(host: String, port: Int) throws {
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
                throw Failure(description: "cannot resolve \(host)")
            }
            defer { freeaddrinfo(list) }
            let socketFD = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
            guard socketFD >= 0, connect(socketFD, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
                let reason = String(cString: strerror(errno))
                if socketFD >= 0 { close(socketFD) }
                throw Failure(description: "cannot connect to \(host):\(port): \(reason)")
            }
            fd = socketFD
        }

        deinit { close(fd) }

        func send(_ bytes: [UInt8]) throws {
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if sent < 0 && errno == EINTR { continue }
                guard sent > 0 else { throw Failure(description: "send failed: \(String(cString: strerror(errno)))") }
                offset += sent
            }
        }

        /// Reads more bytes into the buffer; false at the end of the stream.
        private func fill() throws -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count < 0 && errno == EINTR { continue }
                guard count >= 0 else { throw Failure(description: "read failed: \(String(cString: strerror(errno)))") }
                buffer += chunk[0..<count]
                return count > 0
            }
        }

        /// The bytes up to the next CRLF (removed from the buffer).
        private func line() throws -> String {
            while true {
                if let index = buffer.indices.dropLast().first(where: { buffer[$0] == 0x0D && buffer[$0 + 1] == 0x0A })
                {
                    let text = String(decoding: buffer[0..<index], as: UTF8.self)
                    buffer.removeFirst(index + 2)
                    return text
                }
                guard try fill() else { throw Failure(description: "the connection closed mid-response") }
            }
        }

        func readHead() throws -> (Int, [String: String]) {
            let statusLine = try line()
            let parts = statusLine.split(separator: " ")
            guard parts.count >= 2, let status = Int(parts[1]) else {
                throw Failure(description: "not an HTTP response: \(statusLine)")
            }
            var headers: [String: String] = [:]
            while true {
                let field = try line()
                if field.isEmpty { break }
                guard let colon = field.firstIndex(of: ":") else { continue }
                headers[field[..<colon].lowercased()] = field[field.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
            return (status, headers)
        }

        /// A `Content-Length` body, or everything up to the close.
        func readAll(_ headers: [String: String]) throws -> [UInt8] {
            if let length = headers["content-length"].flatMap({ Int($0) }) {
                while buffer.count < length { guard try fill() else { break } }
                return Array(buffer.prefix(length))
            }
            while try fill() {}
            return buffer
        }

        /// Reads a chunked body, handing each chunk's data to `body` as soon as it is read; returns it all only when
        /// `body` ignores it (errors are small).
        func readChunked(_ body: ([UInt8]) throws -> Void) throws -> [UInt8] {
            var all: [UInt8] = []
            while true {
                let sizeLine = try line()
                guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                    throw Failure(description: "bad chunk size '\(sizeLine)'")
                }
                if size == 0 {
                    while try !line().isEmpty {}
                    return all
                }
                var remaining = size
                while remaining > 0 {
                    if buffer.isEmpty { guard try fill() else { throw Failure(description: "the body ended early") } }
                    let take = min(remaining, buffer.count)
                    let piece = Array(buffer[0..<take])
                    buffer.removeFirst(take)
                    remaining -= take
                    if all.count < 65_536 { all += piece }
                    try body(piece)
                }
                _ = try line()
            }
        }
    }
}
