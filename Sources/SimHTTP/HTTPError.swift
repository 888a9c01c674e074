import SimUV

/// Everything that can go wrong in the HTTP layer.
package enum HTTPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header section (request line, fields or trailers) exceeded `limit` bytes.
    case headerTooLarge(limit: Int)
    /// http_parser rejected the bytes; `name` is its error name (`HPE_INVALID_METHOD`), `reason` its text.
    case malformedMessage(name: String, reason: String)
    /// The request's HTTP version is not 1.x (answered 505).
    case versionNotSupported(major: Int, minor: Int)
    /// The stream ended in the middle of a message.
    case unexpectedEOF
    /// The peer closed the connection before the response arrived.
    case connectionClosed
    /// The operation needs an open connection and this one is closed.
    case notConnected
    /// Connecting to the server failed.
    case connectFailed(UVError)
    /// Reading from or writing to the socket failed.
    case io(UVError)

    /// A one-line explanation for logs.
    package var description: String {
        switch self {
        case .headerTooLarge(let limit): return "header section larger than \(limit) bytes"
        case .malformedMessage(let name, let reason): return "malformed HTTP message: \(reason) (\(name))"
        case .versionNotSupported(let major, let minor): return "HTTP/\(major).\(minor) is not supported"
        case .unexpectedEOF: return "connection ended in the middle of an HTTP message"
        case .connectionClosed: return "connection closed before the response arrived"
        case .notConnected: return "connection is not open"
        case .connectFailed(let error): return "connect failed: \(error)"
        case .io(let error): return "socket error: \(error)"
        }
    }
}
