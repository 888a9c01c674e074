import SimUV
import Synchronization

/// One-shot client conveniences, callable from any thread or task.
package enum HTTPClient {
    /// Opens a connection to `host:port` on `loop`, sends `request`, returns the response and closes the
    /// connection. Hops onto the loop with `submit`. Honours task cancellation: a cancelled request closes its
    /// connection at once (or never opens it) and throws `CancellationError`.
    /// - Throws: `HTTPError` (`connectFailed`, `connectionClosed`, `malformedMessage`, …), `CancellationError`.
    package static func request(
        loop: EventLoop, host: String, port: Int, _ request: HTTPRequest
    ) async throws -> HTTPResponse {
        let exchange = Exchange()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard exchange.begin(continuation) else { return }
                loop.submit {
                    guard !exchange.isCancelled else { return }
                    HTTPClientConnection.connect(loop: loop, host: host, port: port) { result in
                        switch result {
                        case .failure(let error):
                            exchange.finish(.failure(error))
                        case .success(let connection):
                            guard exchange.attach(connection) else { return connection.close() }
                            connection.send(request) { result in
                                connection.close()
                                exchange.finish(result)
                            }
                        }
                    }
                }
            }
        } onCancel: {
            // The continuation ends now; the connection (if any) is closed on its loop.
            if let connection = exchange.cancel() { loop.submit { connection.value.close() } }
        }
    }

    /// One request's continuation and connection, shared by the loop and a cancelling task: whichever comes first
    /// resumes the continuation, once.
    private final class Exchange: Sendable {
        private struct State {
            var continuation: CheckedContinuation<HTTPResponse, any Error>?
            var connection: OnLoop?
            var cancelled = false
        }
        private let state = Mutex<State>(State())

        var isCancelled: Bool { state.withLock { $0.cancelled } }

        /// Stores the continuation; false (having resumed it with `CancellationError`) when already cancelled.
        func begin(_ continuation: CheckedContinuation<HTTPResponse, any Error>) -> Bool {
            let cancelled = state.withLock { state -> Bool in
                guard !state.cancelled else { return true }
                state.continuation = continuation
                return false
            }
            if cancelled { continuation.resume(throwing: CancellationError()) }
            return !cancelled
        }

        /// Records the open connection; false when the request was cancelled meanwhile.
        func attach(_ connection: HTTPClientConnection) -> Bool {
            state.withLock { state in
                guard !state.cancelled else { return false }
                state.connection = OnLoop(value: connection)
                return true
            }
        }

        /// Resumes with `result` unless cancellation already did.
        func finish(_ result: Result<HTTPResponse, any Error>) {
            let continuation = state.withLock { state in
                defer {
                    state.continuation = nil
                    state.connection = nil
                }
                return state.continuation
            }
            continuation?.resume(with: result)
        }

        /// A connection carried to its loop from the cancelling task.
        // SAFETY: the connection is stored and handed back under the lock, and only used on its loop.
        struct OnLoop: @unchecked Sendable {
            let value: HTTPClientConnection
        }

        /// Marks the request cancelled, resumes with `CancellationError`, and returns the connection to close.
        func cancel() -> OnLoop? {
            let (continuation, connection) = state.withLock { state in
                state.cancelled = true
                defer {
                    state.continuation = nil
                    state.connection = nil
                }
                return (state.continuation, state.connection)
            }
            continuation?.resume(throwing: CancellationError())
            return connection
        }
    }
}
