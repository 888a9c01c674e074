import CLibUV

/// A libuv timer: fires `callback` once after a delay, or repeatedly. Loop thread only.
package final class Timer: HandleOwner {
    let handleBox = HandleBox(type: UV_TIMER)
    private var callback: (() -> Void)?

    package init(loop: EventLoop) {
        loop.assertInLoop()
        let rc = uv_timer_init(loop.uvLoop, handleBox.typed(uv_timer_t.self))
        precondition(rc == 0, "uv_timer_init failed: \(rc)")
        handleBox.open(owner: self)
    }

    /// Arms the timer; a running timer is re-armed. `repeatMilliseconds` 0 fires once.
    package func start(afterMilliseconds: UInt64, repeatMilliseconds: UInt64 = 0, _ callback: @escaping () -> Void) {
        guard !handleBox.isClosing else { return }
        self.callback = callback
        uv_timer_start(
            handleBox.typed(uv_timer_t.self),
            { handle in
                guard let owner = HandleBox.owner(of: handle, as: Timer.self) else { return }
                owner.callback?()
            }, afterMilliseconds, repeatMilliseconds)
    }

    /// Disarms the timer without closing it.
    package func stop() {
        guard !handleBox.isClosing else { return }
        uv_timer_stop(handleBox.typed(uv_timer_t.self))
        callback = nil
    }

    /// Stops and releases the timer.
    package func close() {
        callback = nil
        handleBox.close()
    }
}

extension EventLoop {
    /// Runs `body` once after `milliseconds`; the returned timer may be closed to cancel it.
    @discardableResult
    package func schedule(afterMilliseconds milliseconds: UInt64, _ body: @escaping () -> Void) -> Timer {
        let timer = Timer(loop: self)
        timer.start(afterMilliseconds: milliseconds) { [unowned timer] in
            timer.close()
            body()
        }
        return timer
    }

    /// The loop's cached monotonic clock in milliseconds.
    package var nowMilliseconds: UInt64 { uv_now(uvLoop) }
}
