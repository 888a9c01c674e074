import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// Which process is on the other end of an accepted loopback connection: the kernel's socket diagnostics name the
/// peer socket (its inode) by the connection's exact address pair, and `/proc/<pid>/fd` shows who holds it.
package enum PeerSockets {
    /// What a lookup of a connection's peer found.
    package enum Lookup: Equatable, Sendable {
        /// The inode of the peer's socket and the user that created it.
        case socket(inode: UInt64, uid: UInt32)
        /// No such socket, or no process holds it any more (the peer closed already), or the connection has no
        /// IPv4 addresses.
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
        var uid: UInt32 = .max
        let inode = clibuv_diag_tcp_inode(fd, peer.address, peer.port, local.address, local.port, &uid)
        if inode > 0 { return .socket(inode: UInt64(inode), uid: uid) }
        return inode == 0 ? .notFound : .unavailable(errno)
    }

    /// Which of `pids` holds each of the sockets `inodes` among its open descriptors: one pass over each process's
    /// descriptors (`/proc/<pid>/fd`), stopping once every socket is placed.
    package static func holders(of inodes: Set<UInt64>, among pids: [Int32]) -> [UInt64: Int32] {
        var found: [UInt64: Int32] = [:]
        var target = [UInt8](repeating: 0, count: 64)
        let prefix = Array("socket:[".utf8)
        for pid in pids where found.count < inodes.count {
            guard let dir = opendir("/proc/\(pid)/fd") else { continue }
            defer { closedir(dir) }
            while found.count < inodes.count, let entry = readdir(dir) {
                let inode = withUnsafePointer(to: entry.pointee.d_name) { name -> UInt64? in
                    name.withMemoryRebound(to: CChar.self, capacity: 256) { name -> UInt64? in
                        guard name[0] != 0x2E else { return nil }  // "." and ".."
                        let count = target.withUnsafeMutableBytes { buffer in
                            readlinkat(dirfd(dir), name, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), 64)
                        }
                        guard count > prefix.count + 1, target[0..<prefix.count].elementsEqual(prefix),
                            target[count - 1] == UInt8(ascii: "]")
                        else { return nil }
                        var value: UInt64 = 0
                        for byte in target[prefix.count..<(count - 1)] {
                            guard (0x30...0x39).contains(byte) else { return nil }
                            value = value &* 10 &+ UInt64(byte - 0x30)
                        }
                        return value
                    }
                }
                if let inode, inodes.contains(inode), found[inode] == nil { found[inode] = pid }
            }
        }
        return found
    }
}
