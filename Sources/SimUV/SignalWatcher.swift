import CLibUV

/// Watches one Unix signal on the loop; `callback` runs on the loop thread each time it arrives.
package final class SignalWatcher: HandleOwner {
    let handleBox = HandleBox(type: UV_SIGNAL)
    private let callback: (Int32) -> Void

    package init(loop: EventLoop, signal: Int32, _ callback: @escaping (Int32) -> Void) throws(UVError) {
        loop.assertInLoop()
        self.callback = callback
        let handle = handleBox.typed(uv_signal_t.self)
        try UVError.check(uv_signal_init(loop.uvLoop, handle), "uv_signal_init")
        handleBox.open(owner: self)
        try UVError.check(
            uv_signal_start(
                handle,
                { handle, signum in
                    guard let owner = HandleBox.owner(of: handle, as: SignalWatcher.self) else { return }
                    owner.callback(signum)
                }, signal),
            "uv_signal_start"
        )
    }

    /// Stops watching.
    package func close() { handleBox.close() }
}
