import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// Which process is on the other end of an accepted loopback connection: the kernel's socket diagnostics name the
/// peer socket (its inode) by the connection's exact address pair, and `/proc/<pid>/fd` shows who holds it.
package enum PeerSockets {
    /// What a lookup of a connection's peer found.
    package enum Lookup: Equatable, Sendable {
        /// The inode of the peer's socket.
        case inode(UInt64)
        /// No such socket (the peer closed already) or the connection has no IPv4 addresses.
        case notFound
        /// Socket diagnostics do not work here (`errno`): the kernel lacks them, or they are not permitted.
        case unavailable(Int32)
    }

    /// The socket at the other end of `connection` (an accepted IPv4 connection from this machine). Loop thread
    /// only; one netlink request and answer.
    package static func peer(of connection: TCPConnection) -> Lookup {
        connection.loop.assertInLoop()
        let tcp = connection.handleBox.typed(uv_tcp_t.self)
        guard let local = SocketAddress.ipv4(of: tcp, peer: false), let peer = SocketAddress.ipv4(of: tcp, peer: true)
        else { return .notFound }
        var fd = connection.loop.socketDiagnostics
        if fd < 0 {
            fd = clibuv_diag_open()
            guard fd >= 0 else { return .unavailable(errno) }
            connection.loop.socketDiagnostics = fd
        }
        // The peer's socket has the peer's address as its own and ours as its peer.
        let inode = clibuv_diag_tcp_inode(fd, peer.address, peer.port, local.address, local.port)
        if inode > 0 { return .inode(UInt64(inode)) }
        return inode == 0 ? .notFound : .unavailable(errno)
    }

    /// True when process `pid` has socket `inode` among its open descriptors.
    package static func process(_ pid: Int32, holdsSocket inode: UInt64) -> Bool {
        let directory = "/proc/\(pid)/fd"
        guard let dir = opendir(directory) else { return false }
        defer { closedir(dir) }
        let wanted = Array("socket:[\(inode)]".utf8)
        var target = [UInt8](repeating: 0, count: 64)
        while let entry = readdir(dir) {
            let found = withUnsafePointer(to: entry.pointee.d_name) { name -> Bool in
                name.withMemoryRebound(to: CChar.self, capacity: 256) { name -> Bool in
                    guard name[0] != 0x2E else { return false }  // "." and ".."
                    let count = target.withUnsafeMutableBytes { buffer in
                        readlinkat(dirfd(dir), name, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), 64)
                    }
                    return count == wanted.count && target[0..<count].elementsEqual(wanted)
                }
            }
            if found { return true }
        }
        return false
    }
}
