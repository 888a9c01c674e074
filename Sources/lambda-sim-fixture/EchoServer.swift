#if canImport(Glibc)
    import Glibc
#endif

/// `lambda-sim-fixture --echo-server PORT`: the floor the benchmarks compare a warm invoke with. A blocking
/// HTTP/1.1 server on 127.0.0.1 that answers every request on a keep-alive connection at once with
/// `200 {"a":1}` (one connection at a time), so that `wrk` against it measures one loopback round trip with no
/// work behind it.
enum EchoServer {
    static func run(port: Int) -> Never {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 64) == 0 else { die("echo server: cannot listen on port \(port)") }
        let response = Array(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}".utf8)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var held = 0
            serving: while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + held, $0.count - held, 0) }
                if n <= 0 { break }
                held += n
                // Answer each complete request (head and Content-Length body) in the buffer.
                while let length = requestLength(buffer[0..<held]) {
                    guard writeAll(fd, response) else { break serving }
                    buffer.replaceSubrange(0..<length, with: [])
                    buffer.append(contentsOf: [UInt8](repeating: 0, count: length))
                    held -= length
                }
                if held == buffer.count { break }
            }
            close(fd)
        }
    }

    /// The length of the first complete request in `bytes`, or nil.
    private static func requestLength(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).lowercased()
        let body =
            head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingPrefix(" ")) } ?? 0
        let total = end.upperBound - bytes.startIndex + body
        return bytes.count >= total ? total : nil
    }
}
