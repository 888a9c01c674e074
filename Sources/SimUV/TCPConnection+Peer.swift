import CLibUV

extension TCPConnection {
    /// The other end's IPv4 address as dotted text (`127.0.0.1`), or nil for IPv6, a closed connection or an error.
    package var peerIPv4Text: String? {
        guard !isClosed, let (address, _) = SocketAddress.ipv4(of: handleBox.typed(uv_tcp_t.self), peer: true) else {
            return nil
        }
        return "\(address >> 24).\((address >> 16) & 0xFF).\((address >> 8) & 0xFF).\(address & 0xFF)"
    }
}
