import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// Whether sockets have input the loop has not taken yet, asked of the kernel without waiting: for decisions that
/// must not be made while an answer is already in a socket (a timeout fired late because the process was stopped
/// runs before the loop's poll phase would have read it).
package protocol PendingInput: AnyObject {
    /// The socket's descriptor while it is open.
    var fileDescriptor: Int32? { get }
}

extension TCPServer: PendingInput {
    /// The listening socket's descriptor while it is open.
    package var fileDescriptor: Int32? { handleBox.descriptor }
}

extension TCPConnection: PendingInput {
    /// The connection's descriptor while it is open.
    package var fileDescriptor: Int32? { handleBox.descriptor }
}

extension HandleBox {
    /// The handle's descriptor, or nil once it is closing or has none.
    fileprivate var descriptor: Int32? {
        guard !isClosing else { return nil }
        var fd: uv_os_fd_t = -1
        return uv_fileno(handle, &fd) == 0 && fd >= 0 ? fd : nil
    }
}

/// Polls descriptors for input without blocking.
package enum Readiness {
    /// True when any of `sockets` has bytes to read, a connection to accept or an end of stream waiting. One
    /// `poll(2)` with a zero timeout; at most `limit` descriptors are asked (the rest are taken as quiet).
    package static func anyReadable(_ sockets: [any PendingInput], limit: Int = 4_096) -> Bool {
        var fds = sockets.prefix(limit).compactMap(\.fileDescriptor).map {
            pollfd(fd: $0, events: Int16(POLLIN), revents: 0)
        }
        guard !fds.isEmpty else { return false }
        let ready = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 0) }
        guard ready > 0 else { return false }
        return fds.contains { $0.revents & Int16(POLLIN | POLLHUP) != 0 }
    }
}
