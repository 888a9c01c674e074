import CLibUV
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One libuv loop running on its own thread; everything that touches its handles runs there.
///
/// Other threads only submit work: `submit` appends to a locked queue and wakes the loop with
/// `uv_async_send`, the one libuv call that is thread-safe. Each wake-up drains the whole queue, so
/// sends that coalesce lose nothing. The loop is also a `SerialExecutor`, so an actor whose
/// `unownedExecutor` is this loop runs its code on the loop thread without hops.
package final class EventLoop: @unchecked Sendable {
    /// Work waiting to run on the loop thread.
    private enum Work {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    let uvLoop: UnsafeMutablePointer<uv_loop_t>
    private let wakeUp: UnsafeMutablePointer<uv_async_t>
    private let queue = Mutex<[Work]>([])
    private let loopThread = Atomic<UInt>(0)
    private let stopping = Atomic<Bool>(false)
    private let finished = Mutex<(done: Bool, waiters: [@Sendable () -> Void])>((false, []))
    private let threadLock = Mutex<pthread_t?>(nil)
    /// Read buffer shared by every stream on this loop; valid only inside a read callback.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// The loop's `SIGCHLD` watcher (`ChildReaper`), once created. Loop thread only.
    var childReaper: AnyObject?
    /// The loop's output capture (`LogFiles`), once created. Loop thread only.
    var logFiles: AnyObject?
    /// The loop's microsecond timers (`FineTimers`), once created. Loop thread only.
    var fineTimers: AnyObject?
    /// The loop's shared Runtime API listener (SimHTTP's `LoopbackListener`), once created. Loop thread only.
    package var loopbackListener: AnyObject?
    /// The byte budget shared by the Telemetry API subscribers of every sandbox on the loop (SimTelemetry's
    /// `TelemetryBudget`), once created. Loop thread only.
    package var telemetryBudget: AnyObject?
    /// The loop's socket-diagnostics socket (`PeerSockets`), or -1 before first use. Loop thread only.
    var socketDiagnostics: Int32 = -1
    /// Whether the thread runs the loop one turn at a time, asking `pacer` before each turn.
    private let paced: Bool
    /// Decides, before each turn of a paced loop, whether the thread sleeps to a time of its own instead of
    /// waiting for I/O. Loop thread only; ignored unless the loop was created with `paced`.
    package var pacer: (any LoopPacer)?

    /// Size of the shared read buffer, the most one read callback delivers.
    static let readBufferSize = 256 * 1024

    /// The `uv_alloc_cb` of every stream read: hands out the loop's shared read buffer.
    static let allocateFromReadBuffer: uv_alloc_cb = { handle, _, buf in
        guard let handle, let data = handle.pointee.loop.pointee.data else { return }
        let loop = Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue()
        buf?.pointee = uv_buf_init(
            loop.readBuffer.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(EventLoop.readBufferSize))
    }

    /// Creates the loop and starts its thread. A `paced` loop runs one turn at a time and lets its `pacer` put the
    /// thread to sleep between turns (see `LoopPacer`); the simulator's loops are not paced.
    package init(name: String = "lambda-sim-loop", paced: Bool = false) throws(UVError) {
        self.paced = paced
        uvLoop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        uvLoop.initialize(to: uv_loop_t())
        try UVError.check(uv_loop_init(uvLoop), "uv_loop_init")
        wakeUp = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
        wakeUp.initialize(to: uv_async_t())
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readBufferSize, alignment: 16)
        // SAFETY: the loop outlives its handles; `data` is unretained and cleared in `deinit`.
        uvLoop.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        try UVError.check(
            uv_async_init(uvLoop, wakeUp) { handle in
                guard let loop = handle?.pointee.loop, let data = loop.pointee.data else { return }
                Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().drain()
            },
            "uv_async_init"
        )
        start(name: name)
    }

    deinit {
        uv_loop_close(uvLoop)
        uvLoop.deallocate()
        wakeUp.deallocate()
        readBuffer.deallocate()
    }

    private func start(name: String) {
        let box = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(
            &handle, nil,
            { arg in
                let loop = Unmanaged<EventLoop>.fromOpaque(arg!).takeRetainedValue()
                loop.runOnThread()
                return nil
            }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        threadLock.withLock { $0 = handle }
        _ = name
    }

    private func runOnThread() {
        loopThread.store(UInt(pthread_self()), ordering: .releasing)
        if paced {
            runPaced()
        } else {
            uv_run(uvLoop, UV_RUN_DEFAULT)
        }
        // Drain whatever arrived during the last iteration so no continuation is stranded.
        drain()
        // Every handle is closed: let go of the loop's helpers (the output capture removes its directory).
        childReaper = nil
        logFiles = nil
        fineTimers = nil
        loopbackListener = nil
        telemetryBudget = nil
        if socketDiagnostics >= 0 {
            close(socketDiagnostics)
            socketDiagnostics = -1
        }
        let waiters = finished.withLock { state -> [@Sendable () -> Void] in
            state.done = true
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter() }
    }

    /// Turns the loop until no handle is left: before each turn the pacer may name a time to sleep to; the thread
    /// then sleeps without polling, tells the pacer it woke, and takes whatever became ready meanwhile in one
    /// non-blocking turn. Otherwise the turn waits for I/O or a timer as usual.
    private func runPaced() {
        // Sleeps end on time rather than up to 50 µs late (the default timer slack).
        clibuv_set_timer_slack(1)
        while true {
            if let pacer, let until = pacer.sleepUntil() {
                if until > uv_hrtime() { clibuv_sleep_until(until) }
                pacer.woke()
                if uv_run(uvLoop, UV_RUN_NOWAIT) == 0 { return }
            } else if uv_run(uvLoop, UV_RUN_ONCE) == 0 {
                return
            }
        }
    }

    /// True when called on the loop's own thread.
    package var inLoop: Bool {
        loopThread.load(ordering: .acquiring) == UInt(pthread_self())
    }

    /// Traps unless called on the loop thread.
    package func assertInLoop(_ file: StaticString = #fileID, _ line: UInt = #line) {
        precondition(inLoop, "not on the event loop thread", file: file, line: line)
    }

    /// Runs `work` on the loop thread soon. Safe from any thread.
    package func submit(_ work: @escaping @Sendable () -> Void) {
        enqueueWork(.closure(work))
    }

    private func enqueueWork(_ work: Work) {
        queue.withLock { $0.append(work) }
        uv_async_send(wakeUp)
    }

    /// Runs `body` on the loop thread and returns its result.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    private func drain() {
        while true {
            let batch = queue.withLock { pending -> [Work] in
                let taken = pending
                pending.removeAll(keepingCapacity: true)
                return taken
            }
            if batch.isEmpty { return }
            for work in batch {
                switch work {
                case .closure(let body): body()
                case .job(let job): job.runSynchronously(on: asUnownedSerialExecutor())
                }
            }
        }
    }

    /// Monotonic time in nanoseconds.
    package static func nanoseconds() -> UInt64 { uv_hrtime() }

    /// Closes every handle on the loop and waits, without blocking a thread, until the loop has finished.
    package func shutdown() async {
        precondition(!inLoop, "shutdown must not run on the loop thread")
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let alreadyDone = finished.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append { continuation.resume() }
                return false
            }
            if alreadyDone { continuation.resume() }
            requestStop()
        }
        joinThread()
    }

    private func joinThread() {
        let handle = threadLock.withLock { handle -> pthread_t? in
            let current = handle
            handle = nil
            return current
        }
        if let handle { pthread_join(handle, nil) }
    }

    private func requestStop() {
        if stopping.exchange(true, ordering: .acquiringAndReleasing) { return }
        submit { [self] in
            uv_walk(
                uvLoop,
                { handle, _ in
                    guard let handle, uv_is_closing(handle) == 0 else { return }
                    if let data = handle.pointee.data,
                        let owner = Unmanaged<AnyObject>.fromOpaque(data).takeUnretainedValue() as? any HandleOwner
                    {
                        owner.handleBox.close()
                    } else {
                        uv_close(handle, nil)
                    }
                }, nil)
        }
    }
}

extension EventLoop: SerialExecutor {
    package func enqueue(_ job: consuming ExecutorJob) {
        enqueueWork(.job(UnownedJob(job)))
    }

    package func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    package func checkIsolated() {
        precondition(inLoop, "expected to run on the lambda-sim event loop")
    }
}
