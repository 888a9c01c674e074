import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// A listening TCP socket; each accepted connection is handed to `onConnection` with TCP_NODELAY set.
package final class TCPServer: HandleOwner {
    let handleBox = HandleBox(type: UV_TCP)
    private let loop: EventLoop
    private let onConnection: (TCPConnection) -> Void
    /// The bound port (the ephemeral one when asked for port 0).
    package private(set) var port: Int = 0
    /// The bound host.
    package let host: String

    /// Binds and listens on `host:port`. Must run on the loop thread.
    /// - Parameter loopbackDevice: accept only connections that arrive on the loopback interface (`lo`), whatever
    ///   local address they were made to: with host `0.0.0.0` the listener serves every `127.x.y.z` address and
    ///   nothing from another interface.
    package init(
        loop: EventLoop, host: String, port: Int, backlog: Int32 = 1024, loopbackDevice: Bool = false,
        onConnection: @escaping (TCPConnection) -> Void
    ) throws(UVError) {
        loop.assertInLoop()
        self.loop = loop
        self.host = host
        self.onConnection = onConnection
        let tcp = handleBox.typed(uv_tcp_t.self)
        do {
            try UVError.check(
                uv_tcp_init_ex(loop.uvLoop, tcp, UInt32(loopbackDevice ? AF_INET : AF_UNSPEC)), "uv_tcp_init_ex")
        } catch {
            handleBox.discardUnopened()
            throw error
        }
        handleBox.open(owner: self)
        do throws(UVError) {
            if loopbackDevice {
                var fd: uv_os_fd_t = -1
                try UVError.check(uv_fileno(handleBox.handle, &fd), "uv_fileno")
                let rc = "lo".withCString { setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0, 3) }
                if rc != 0 { throw UVError(code: -errno, operation: "setsockopt(SO_BINDTODEVICE, lo)") }
            }
            var address = try SocketAddress(host: host, port: port)
            try address.withSockaddr { addr throws(UVError) in
                try UVError.check(uv_tcp_bind(tcp, addr, 0), "uv_tcp_bind")
            }
            let stream = UnsafeMutablePointer<uv_stream_t>(OpaquePointer(tcp))
            try UVError.check(
                uv_listen(stream, backlog) { server, status in
                    guard let owner = HandleBox.owner(of: server, as: TCPServer.self) else { return }
                    owner.accept(status: status)
                },
                "uv_listen"
            )
            self.port = try SocketAddress.localPort(of: tcp)
        } catch {
            handleBox.close()
            throw error
        }
    }

    private func accept(status: Int32) {
        guard status >= 0 else { return }
        let connection = TCPConnection(loop: loop)
        let server = UnsafeMutablePointer<uv_stream_t>(OpaquePointer(handleBox.raw))
        let client = UnsafeMutablePointer<uv_stream_t>(OpaquePointer(connection.handleBox.raw))
        if uv_accept(server, client) < 0 {
            connection.close()
            return
        }
        connection.configureAccepted()
        connection.localIPv4 = SocketAddress.localIPv4(of: connection.handleBox.typed(uv_tcp_t.self))
        onConnection(connection)
    }

    /// Stops listening. Existing connections are unaffected.
    package func close() { handleBox.close() }
}

/// One TCP stream: reads are delivered to `onData` as they arrive; writes queue in order.
package final class TCPConnection: HandleOwner {
    let handleBox = HandleBox(type: UV_TCP)
    package let loop: EventLoop
    private var opened = false
    private var reading = false
    /// Receives each chunk read; the buffer is only valid during the call.
    package var onData: ((UnsafeRawBufferPointer) -> Void)?
    /// Called once when the peer closes its side (EOF) or a read fails; `nil` means a clean EOF.
    package var onReadEnd: ((UVError?) -> Void)?
    /// Called once after the handle closed.
    package var onClose: (() -> Void)?
    /// True once `close` was called.
    package var isClosed: Bool { handleBox.isClosing }
    /// Writes queued with libuv whose completion has not run yet.
    private var outstandingWrites = 0
    /// For an accepted IPv4 connection, the local address it was made to (host byte order).
    package internal(set) var localIPv4: UInt32?
    /// The process on the other end, once someone looked it up (0: not yet, -1: not found).
    package var peerProcessID: Int32 = 0

    init(loop: EventLoop) {
        self.loop = loop
        let rc = uv_tcp_init(loop.uvLoop, handleBox.typed(uv_tcp_t.self))
        precondition(rc == 0, "uv_tcp_init failed: \(rc)")
        handleBox.open(owner: self)
        opened = true
    }

    fileprivate func configureAccepted() {
        uv_tcp_nodelay(handleBox.typed(uv_tcp_t.self), 1)
    }

    /// Connects to `host:port`; `completion` gets the connected stream or the error. Loop thread only.
    package static func connect(
        loop: EventLoop, host: String, port: Int,
        completion: @escaping (Result<TCPConnection, UVError>) -> Void
    ) {
        loop.assertInLoop()
        let connection = TCPConnection(loop: loop)
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        request.initialize(to: uv_connect_t())
        let pending = PendingConnect(connection: connection, completion: completion)
        // SAFETY: the request holds +1 on `pending` until the connect callback takes it back.
        request.pointee.data = Unmanaged.passRetained(pending).toOpaque()
        do {
            var address = try SocketAddress(host: host, port: port)
            try address.withSockaddr { addr throws(UVError) in
                try UVError.check(
                    uv_tcp_connect(request, connection.handleBox.typed(uv_tcp_t.self), addr) { request, status in
                        guard let request else { return }
                        let pending = Unmanaged<PendingConnect>.fromOpaque(request.pointee.data)
                            .takeRetainedValue()
                        request.deallocate()
                        if status < 0 {
                            pending.connection.close()
                            pending.completion(.failure(UVError(code: status, operation: "uv_tcp_connect")))
                        } else {
                            pending.connection.configureAccepted()
                            pending.completion(.success(pending.connection))
                        }
                    },
                    "uv_tcp_connect"
                )
            }
        } catch {
            Unmanaged<PendingConnect>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            connection.close()
            completion(.failure(error))
        }
    }

    private final class PendingConnect {
        let connection: TCPConnection
        let completion: (Result<TCPConnection, UVError>) -> Void
        init(connection: TCPConnection, completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
            self.connection = connection
            self.completion = completion
        }
    }

    private var stream: UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutablePointer<uv_stream_t>(OpaquePointer(handleBox.raw))
    }

    /// Starts delivering reads to `onData`.
    package func startReading() {
        guard !reading, !isClosed else { return }
        reading = true
        uv_read_start(
            stream,
            EventLoop.allocateFromReadBuffer,
            { handle, nread, buf in
                guard let owner = HandleBox.owner(of: handle, as: TCPConnection.self) else { return }
                if nread > 0, let base = buf?.pointee.base {
                    owner.onData?(UnsafeRawBufferPointer(start: base, count: nread))
                } else if nread < 0 {
                    owner.readEnded(code: Int32(nread))
                }
            })
    }

    /// Stops delivering reads (back-pressure); `startReading` resumes.
    package func stopReading() {
        guard reading, !isClosed else { return }
        reading = false
        uv_read_stop(stream)
    }

    private func readEnded(code: Int32) {
        reading = false
        uv_read_stop(stream)
        let callback = onReadEnd
        onReadEnd = nil
        callback?(code == UV_EOF.rawValue ? nil : UVError(code: code, operation: "uv_read"))
    }

    /// Bytes queued in the kernel-side write queue not yet written.
    package var pendingWriteBytes: Int { isClosed ? 0 : uv_stream_get_write_queue_size(stream) }

    /// Queues `bytes` for writing; `completion` runs after the write finished or failed.
    package func write(_ bytes: [UInt8], completion: ((UVError?) -> Void)? = nil) {
        bytes.withUnsafeBytes { write(UnsafeRawBufferPointer($0), completion: completion) }
    }

    /// Writes as much of `bytes` as the socket takes at once, when nothing else is being written: the number of
    /// bytes written (0 when the socket is full or other writes are queued), or a negative libuv error.
    package func writeNow(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard !isClosed else { return Int(UV_ECANCELED.rawValue) }
        guard outstandingWrites == 0, let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        var buf = uv_buf_init(
            UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self)), UInt32(bytes.count))
        let written = uv_try_write(stream, &buf, 1)
        if written == UV_EAGAIN.rawValue { return 0 }
        return Int(written)
    }

    /// Writes `bytes`; `completion` runs once they are written (or the write failed).
    ///
    /// When nothing else is being written, the bytes go to the socket at once (`uv_try_write`) and `completion`
    /// runs before this returns; what the socket does not take is copied and queued, and `completion` runs
    /// from the loop later. Completions run in the order of the writes.
    package func write(_ bytes: UnsafeRawBufferPointer, completion: ((UVError?) -> Void)? = nil) {
        guard !isClosed else {
            completion?(UVError(code: UV_ECANCELED.rawValue, operation: "uv_write"))
            return
        }
        var remaining = bytes
        if outstandingWrites == 0, let base = bytes.baseAddress, bytes.count > 0 {
            var buf = uv_buf_init(
                UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self)), UInt32(bytes.count))
            let written = uv_try_write(stream, &buf, 1)
            if written == Int32(bytes.count) {
                completion?(nil)
                return
            }
            if written > 0 {
                remaining = UnsafeRawBufferPointer(rebasing: bytes[Int(written)...])
            } else if written != UV_EAGAIN.rawValue {
                completion?(UVError(code: written, operation: "uv_try_write"))
                return
            }
        }
        outstandingWrites += 1
        let request = WriteRequest(connection: self, bytes: remaining) { [weak self] error in
            self?.outstandingWrites -= 1
            completion?(error)
        }
        let rc = request.submit(on: stream)
        if rc < 0 {
            outstandingWrites -= 1
            completion?(UVError(code: rc, operation: "uv_write"))
        }
    }

    /// Ends the sending side once the queued writes are out (a half-close); reading goes on.
    package func shutdownWriting() {
        guard opened, !handleBox.isClosing else { return }
        let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        request.initialize(to: uv_shutdown_t())
        let rc = uv_shutdown(request, UnsafeMutablePointer(OpaquePointer(handleBox.raw))) { request, _ in
            request?.deinitialize(count: 1)
            request?.deallocate()
        }
        if rc < 0 {
            request.deinitialize(count: 1)
            request.deallocate()
        }
    }

    /// Closes the connection; pending writes are cancelled.
    package func close() {
        guard opened else { return }
        let callback = onClose
        onClose = nil
        onData = nil
        onReadEnd = nil
        handleBox.close { callback?() }
    }
}

/// One `uv_write` in flight: owns a copy of the bytes and keeps its connection alive until the callback.
private final class WriteRequest {
    let connection: TCPConnection
    let storage: UnsafeMutableRawBufferPointer
    let completion: ((UVError?) -> Void)?
    let length: Int
    let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)

    init(connection: TCPConnection, bytes: UnsafeRawBufferPointer, completion: ((UVError?) -> Void)?) {
        self.connection = connection
        self.completion = completion
        length = bytes.count
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        if bytes.count > 0 { storage.copyMemory(from: bytes) }
        request.initialize(to: uv_write_t())
    }

    func submit(on stream: UnsafeMutablePointer<uv_stream_t>) -> Int32 {
        var buf = uv_buf_init(storage.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(length))
        // SAFETY: +1 on self until the write callback; released there or right here if uv_write fails.
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let rc = uv_write(request, stream, &buf, 1) { request, status in
            guard let request else { return }
            let owner = Unmanaged<WriteRequest>.fromOpaque(request.pointee.data).takeRetainedValue()
            owner.completion?(status < 0 ? UVError(code: status, operation: "uv_write") : nil)
        }
        if rc < 0 { Unmanaged<WriteRequest>.fromOpaque(request.pointee.data).release() }
        return rc
    }

    deinit {
        storage.deallocate()
        request.deallocate()
    }
}
