import CLibUV

/// Watches one directory for changes to its entries (inotify through `uv_fs_event`); `callback` runs on the loop
/// thread with the changed entry's name. Not recursive: watch each subdirectory with its own watcher.
package final class DirectoryWatcher: HandleOwner {
    let handleBox = HandleBox(type: UV_FS_EVENT)
    private let callback: (String) -> Void

    /// Starts watching `path`; throws when it cannot be watched (no such directory, inotify limits).
    package init(loop: EventLoop, path: String, _ callback: @escaping (String) -> Void) throws(UVError) {
        loop.assertInLoop()
        self.callback = callback
        let handle = handleBox.typed(uv_fs_event_t.self)
        let initialised = uv_fs_event_init(loop.uvLoop, handle)
        guard initialised == 0 else {
            handleBox.discardUnopened()
            throw UVError(code: initialised, operation: "uv_fs_event_init")
        }
        handleBox.open(owner: self)
        let started = uv_fs_event_start(
            handle,
            { handle, filename, _, _ in
                guard let owner = HandleBox.owner(of: handle, as: DirectoryWatcher.self) else { return }
                owner.callback(filename.map { String(cString: $0) } ?? "")
            }, path, 0)
        guard started == 0 else {
            handleBox.close()
            throw UVError(code: started, operation: "uv_fs_event_start")
        }
    }

    /// Stops watching.
    package func close() { handleBox.close() }
}
