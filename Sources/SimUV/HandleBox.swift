import CLibUV

/// Owns the heap memory of one libuv handle and balances its retain with `uv_close`.
///
/// SAFETY: the handle's `data` field holds `Unmanaged.passRetained(owner)` from `open` until the close
/// callback, which releases it and frees the memory. So the owner lives while libuv can call back, and
/// the memory is freed only once libuv is done with it.
final class HandleBox {
    let raw: UnsafeMutableRawPointer
    private(set) var isClosing = false
    private var onClosed: (() -> Void)?

    init(type: uv_handle_type) {
        let size = uv_handle_size(type)
        raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    }

    var handle: UnsafeMutablePointer<uv_handle_t> { raw.assumingMemoryBound(to: uv_handle_t.self) }

    func typed<T>(_: T.Type) -> UnsafeMutablePointer<T> { raw.assumingMemoryBound(to: T.self) }

    /// Stores the owner in the handle's `data` (retained) once the handle is initialised.
    func open(owner: AnyObject) {
        handle.pointee.data = Unmanaged.passRetained(owner).toOpaque()
    }

    /// Frees memory for a handle whose `uv_*_init` failed (libuv never saw it).
    func discardUnopened() {
        raw.deallocate()
    }

    /// Closes the handle once; `completion` runs after libuv released it.
    func close(_ completion: (() -> Void)? = nil) {
        guard !isClosing else { return }
        isClosing = true
        onClosed = completion
        uv_close(handle) { handle in
            guard let handle, let data = handle.pointee.data else { return }
            let owner = Unmanaged<AnyObject>.fromOpaque(data).takeRetainedValue()
            (owner as? any HandleOwner)?.handleBox.finishClose()
        }
    }

    fileprivate func finishClose() {
        let callback = onClosed
        onClosed = nil
        raw.deallocate()
        callback?()
    }

    /// The owner stored in a handle's `data`, unretained.
    static func owner<T: AnyObject>(of handle: UnsafeRawPointer?, as _: T.Type) -> T? {
        guard let handle else { return nil }
        let h = handle.assumingMemoryBound(to: uv_handle_t.self)
        guard let data = h.pointee.data else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(data).takeUnretainedValue() as? T
    }
}

/// A Swift object that owns one libuv handle.
protocol HandleOwner: AnyObject {
    var handleBox: HandleBox { get }
}
