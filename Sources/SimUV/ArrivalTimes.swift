import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// When the bytes waiting on a set of TCP sockets arrived, by the kernel's receive timestamps: for a loop that
/// reads a socket some time after its input came (a paced loop, see `LoopPacer`) and must still time the input
/// when it came.
///
/// The sockets are also registered in an epoll set of this object's own (level-triggered, for input), so
/// `collect` asks the kernel only about the sockets with input waiting: one `epoll_wait` plus one peeking
/// `recvmsg` per such socket, whatever the number of sockets. A socket leaves the set when it is closed. Loop
/// thread only.
package final class ArrivalTimes {
    private let pollFD: Int32
    private var events: UnsafeMutableBufferPointer<epoll_event>
    /// Where peeked bytes land (they are left in the socket); one segment's worth is enough for its timestamp,
    /// and a response of several segments fits whole.
    private let peekBuffer: UnsafeMutableRawBufferPointer

    /// Sockets reported by one `collect` at most; the rest are reported by the next one.
    private static let batch = 256

    /// A set of no sockets, or nil when the kernel refuses an epoll set.
    package init?() {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { return nil }
        pollFD = fd
        events = .allocate(capacity: Self.batch)
        peekBuffer = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit {
        close(pollFD)
        events.deallocate()
        peekBuffer.deallocate()
    }

    /// Starts timing the input of the socket `fd` (turns on its receive timestamps); false when the kernel
    /// refuses, and the socket's input is then timed when it is read.
    @discardableResult
    package func watch(_ fd: Int32) -> Bool {
        var on: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            return false
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = fd
        return epoll_ctl(pollFD, EPOLL_CTL_ADD, fd, &event) == 0
    }

    /// Calls `body` with each watched socket that has input waiting and the monotonic time
    /// (`EventLoop.nanoseconds()`) at which the latest of that input arrived. Does not wait and consumes nothing.
    package func collect(_ body: (_ fd: Int32, _ arrived: UInt64) -> Void) {
        let ready = epoll_wait(pollFD, events.baseAddress, Int32(Self.batch), 0)
        guard ready > 0 else { return }
        // The kernel stamps with the real-time clock; the loop measures with the monotonic one.
        var realtime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        let monotonic = EventLoop.nanoseconds()
        let offset = Int64(realtime.tv_sec) * 1_000_000_000 + Int64(realtime.tv_nsec) - Int64(monotonic)
        for index in 0..<Int(ready) {
            let fd = events[index].data.fd
            let stamp = clibuv_peek_receive_time(fd, peekBuffer.baseAddress, peekBuffer.count)
            guard stamp > 0 else { continue }
            let arrived = Int64(stamp) - offset
            body(fd, UInt64(max(0, min(arrived, Int64(monotonic)))))
        }
    }
}
