import CLibUV

/// Runs a callback once at the end of the loop turn in which it was requested: a libuv check handle, which
/// runs right after the turn's I/O callbacks. For work worth batching, like writing the console once per turn
/// rather than once per line. Loop thread only.
package final class TurnEndHook: HandleOwner {
    let handleBox = HandleBox(type: UV_CHECK)
    private let callback: () -> Void
    private var armed = false

    package init(loop: EventLoop, _ callback: @escaping () -> Void) {
        loop.assertInLoop()
        self.callback = callback
        let rc = uv_check_init(loop.uvLoop, handleBox.typed(uv_check_t.self))
        precondition(rc == 0, "uv_check_init failed: \(rc)")
        handleBox.open(owner: self)
    }

    /// Makes the callback run at the end of this turn (once, however often this is called before then).
    package func request() {
        guard !armed, !handleBox.isClosing else { return }
        armed = true
        uv_check_start(handleBox.typed(uv_check_t.self)) { handle in
            guard let owner = HandleBox.owner(of: handle, as: TurnEndHook.self) else { return }
            owner.fire()
        }
    }

    private func fire() {
        armed = false
        uv_check_stop(handleBox.typed(uv_check_t.self))
        callback()
    }

    /// Releases the handle; a pending request is dropped.
    package func close() { handleBox.close() }
}
