import SimUV

/// One-shot client conveniences, callable from any thread or task.
package enum HTTPClient {
    /// Opens a connection to `host:port` on `loop`, sends `request`, returns the response and closes the
    /// connection. Hops onto the loop with `submit`; cancellation is not observed.
    /// - Throws: `HTTPError` (`connectFailed`, `connectionClosed`, `malformedMessage`, …).
    package static func request(
        loop: EventLoop, host: String, port: Int, _ request: HTTPRequest
    ) async throws -> HTTPResponse {
        try await withCheckedThrowingContinuation { continuation in
            loop.submit {
                HTTPClientConnection.connect(loop: loop, host: host, port: port) { result in
                    switch result {
                    case .failure(let error):
                        continuation.resume(throwing: error)
                    case .success(let connection):
                        connection.send(request) { result in
                            connection.close()
                            continuation.resume(with: result)
                        }
                    }
                }
            }
        }
    }
}
