import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// A listening Unix stream socket at a file path; each accepted connection is handed to `onConnection` with the
/// process id of its peer (`SO_PEERCRED`: the process that connected).
package final class UnixSocketServer: HandleOwner {
    let handleBox = HandleBox(type: UV_NAMED_PIPE)
    private let loop: EventLoop
    private let onConnection: (UnixSocketConnection) -> Void
    /// The socket's path; the file is removed by `close`.
    package let path: String

    /// Binds and listens at `path` (an existing file there is replaced), readable and writable by its owner only:
    /// the processes that connect run as the simulator's user. Must run on the loop thread.
    package init(loop: EventLoop, path: String, onConnection: @escaping (UnixSocketConnection) -> Void) throws(UVError)
    {
        loop.assertInLoop()
        self.loop = loop
        self.path = path
        self.onConnection = onConnection
        let pipe = handleBox.typed(uv_pipe_t.self)
        do {
            try UVError.check(uv_pipe_init(loop.uvLoop, pipe, 0), "uv_pipe_init")
        } catch {
            handleBox.discardUnopened()
            throw error
        }
        handleBox.open(owner: self)
        do throws(UVError) {
            unlink(path)
            try UVError.check(uv_pipe_bind(pipe, path), "uv_pipe_bind(\(path))")
            chmod(path, 0o600)
            let stream = UnsafeMutablePointer<uv_stream_t>(OpaquePointer(pipe))
            try UVError.check(
                uv_listen(stream, 128) { server, status in
                    guard status >= 0, let owner = HandleBox.owner(of: server, as: UnixSocketServer.self) else {
                        return
                    }
                    owner.accept()
                },
                "uv_listen")
        } catch {
            handleBox.close()
            unlink(path)
            throw error
        }
    }

    private func accept() {
        let connection = UnixSocketConnection(loop: loop)
        let server = UnsafeMutablePointer<uv_stream_t>(OpaquePointer(handleBox.raw))
        let client = UnsafeMutablePointer<uv_stream_t>(OpaquePointer(connection.handleBox.raw))
        guard uv_accept(server, client) == 0 else {
            connection.close()
            return
        }
        var fd: uv_os_fd_t = -1
        if uv_fileno(connection.handleBox.handle, &fd) == 0 {
            var uid: UInt32 = .max
            connection.peerProcessID = clibuv_unix_peer_credentials(fd, &uid)
            connection.peerUserID = uid
        }
        onConnection(connection)
    }

    /// Stops listening and removes the socket file. Accepted connections are unaffected.
    package func close() {
        handleBox.close()
        unlink(path)
    }
}

/// One accepted Unix stream connection, read as it arrives.
package final class UnixSocketConnection: HandleOwner {
    let handleBox = HandleBox(type: UV_NAMED_PIPE)
    /// The process that connected (0 when the kernel did not say).
    package fileprivate(set) var peerProcessID: Int32 = 0
    /// The user the connecting process ran as (`UInt32.max` when the kernel did not say).
    package fileprivate(set) var peerUserID: UInt32 = .max
    /// Receives each chunk read; the buffer is only valid during the call.
    package var onData: ((UnsafeRawBufferPointer) -> Void)?
    /// Called once when the peer closed its side or a read failed.
    package var onEnd: (() -> Void)?

    fileprivate init(loop: EventLoop) {
        let rc = uv_pipe_init(loop.uvLoop, handleBox.typed(uv_pipe_t.self), 0)
        precondition(rc == 0, "uv_pipe_init failed: \(rc)")
        handleBox.open(owner: self)
    }

    /// Starts delivering reads to `onData`.
    package func startReading() {
        guard !handleBox.isClosing else { return }
        let stream = UnsafeMutablePointer<uv_stream_t>(OpaquePointer(handleBox.raw))
        uv_read_start(
            stream, EventLoop.allocateFromReadBuffer,
            { handle, nread, buf in
                guard let owner = HandleBox.owner(of: handle, as: UnixSocketConnection.self) else { return }
                if nread > 0, let base = buf?.pointee.base {
                    owner.onData?(UnsafeRawBufferPointer(start: base, count: nread))
                } else if nread < 0 {
                    owner.close()
                }
            })
    }

    /// Closes the connection; `onEnd` runs if it has not yet.
    package func close() {
        guard !handleBox.isClosing else { return }
        handleBox.close()
        let end = onEnd
        onEnd = nil
        onData = nil
        end?()
    }
}
