import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 socket address built from a literal host (or `localhost`) and a port.
struct SocketAddress {
    private var storage = sockaddr_storage()

    init(host: String, port: Int) throws(UVError) {
        let literal = host == "localhost" ? "127.0.0.1" : host
        let rc: Int32 = withUnsafeMutableBytes(of: &storage) { raw in
            if literal.contains(":") {
                return uv_ip6_addr(literal, Int32(port), raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self))
            }
            return uv_ip4_addr(literal, Int32(port), raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self))
        }
        try UVError.check(rc, "uv_ip_addr(\(host))")
    }

    @discardableResult
    mutating func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>) throws(UVError) -> T) throws(UVError) -> T {
        try withUnsafeMutableBytes(of: &storage) { raw throws(UVError) in
            try body(UnsafePointer(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self)))
        }
    }

    /// The local IPv4 address (host byte order) of a connected TCP handle, or nil for IPv6 or on error.
    static func localIPv4(of tcp: UnsafeMutablePointer<uv_tcp_t>) -> UInt32? { ipv4(of: tcp, peer: false)?.address }

    /// The IPv4 address and port (host byte order) of a connected TCP handle — its own, or its peer's — or nil for
    /// IPv6 or on error.
    static func ipv4(of tcp: UnsafeMutablePointer<uv_tcp_t>, peer: Bool) -> (address: UInt32, port: UInt16)? {
        var name = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutableBytes(of: &name) { raw in
            let pointer = raw.baseAddress!.assumingMemoryBound(to: sockaddr.self)
            return peer ? uv_tcp_getpeername(tcp, pointer, &length) : uv_tcp_getsockname(tcp, pointer, &length)
        }
        guard rc == 0 else { return nil }
        return withUnsafeBytes(of: &name) { raw in
            guard raw.load(as: sockaddr.self).sa_family == sa_family_t(AF_INET) else { return nil }
            let address = raw.load(as: sockaddr_in.self)
            return (UInt32(bigEndian: address.sin_addr.s_addr), UInt16(bigEndian: address.sin_port))
        }
    }

    /// The local port a bound TCP handle got.
    static func localPort(of tcp: UnsafeMutablePointer<uv_tcp_t>) throws(UVError) -> Int {
        var name = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutableBytes(of: &name) { raw in
            uv_tcp_getsockname(tcp, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        try UVError.check(rc, "uv_tcp_getsockname")
        return withUnsafeBytes(of: &name) { raw in
            let family = raw.load(as: sockaddr.self).sa_family
            if family == sa_family_t(AF_INET6) {
                return Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
            }
            return Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
        }
    }
}
