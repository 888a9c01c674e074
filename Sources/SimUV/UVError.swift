import CLibUV

/// A failed libuv call: the operation that failed and libuv's error code.
package struct UVError: Error, Equatable, CustomStringConvertible, Sendable {
    /// libuv's negative error code (`UV_E*`).
    package let code: Int32
    /// The libuv function that returned the code, e.g. `uv_tcp_bind`.
    package let operation: String

    package init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// libuv's symbolic name for the code, e.g. `EADDRINUSE`.
    package var name: String { String(cString: uv_err_name(code)) }

    package var description: String { "\(operation): \(String(cString: uv_strerror(code))) (\(name))" }

    /// True for end-of-stream.
    package var isEOF: Bool { code == UV_EOF.rawValue }

    /// True when the operation was cancelled because its handle closed.
    package var isCancelled: Bool { code == UV_ECANCELED.rawValue }

    /// Returns `result` unchanged when it is not a libuv error, else throws.
    @discardableResult
    static func check(_ result: Int32, _ operation: String) throws(UVError) -> Int32 {
        if result < 0 { throw UVError(code: result, operation: operation) }
        return result
    }
}
