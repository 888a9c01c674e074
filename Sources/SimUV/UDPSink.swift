import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// A UDP socket bound on loopback whose datagrams are read and thrown away: where the simulator points
/// `AWS_XRAY_DAEMON_ADDRESS`, so X-Ray SDKs find a daemon and their segments go nowhere. Loop thread only.
///
/// Datagrams land in the loop's shared read buffer (a larger one is cut to its size), so the sink holds no
/// memory of its own beyond the handle.
package final class UDPSink: HandleOwner {
    let handleBox = HandleBox(type: UV_UDP)
    /// The port the socket is bound to.
    package private(set) var port = 0
    /// Datagrams read and discarded so far.
    package private(set) var discardedDatagrams = 0

    /// Binds a UDP socket on `127.0.0.1`, on `port` (0: any free port), and starts discarding what arrives.
    /// - Throws: `UVError` when the socket cannot be created, bound or read.
    package init(loop: EventLoop, port: Int = 0) throws(UVError) {
        loop.assertInLoop()
        let udp = handleBox.typed(uv_udp_t.self)
        do {
            try UVError.check(uv_udp_init(loop.uvLoop, udp), "uv_udp_init")
        } catch {
            handleBox.discardUnopened()
            throw error
        }
        handleBox.open(owner: self)
        do throws(UVError) {
            var address = try SocketAddress(host: "127.0.0.1", port: port)
            try address.withSockaddr { addr throws(UVError) in
                try UVError.check(uv_udp_bind(udp, addr, 0), "uv_udp_bind")
            }
            self.port = try Self.localPort(of: udp)
            try UVError.check(
                uv_udp_recv_start(udp, EventLoop.allocateFromReadBuffer) { handle, count, _, sender, _ in
                    // A zero count without a sender is libuv saying "nothing more for now", not an empty datagram.
                    guard count > 0 || (count == 0 && sender != nil) else { return }
                    HandleBox.owner(of: handle, as: UDPSink.self)?.discardedDatagrams += 1
                }, "uv_udp_recv_start")
        } catch {
            handleBox.close()
            throw error
        }
    }

    /// Stops reading and closes the socket.
    package func close() { handleBox.close() }

    private static func localPort(of udp: UnsafeMutablePointer<uv_udp_t>) throws(UVError) -> Int {
        var name = sockaddr_in()
        var length = Int32(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutableBytes(of: &name) { raw in
            uv_udp_getsockname(udp, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        try UVError.check(rc, "uv_udp_getsockname")
        return Int(UInt16(bigEndian: name.sin_port))
    }
}
