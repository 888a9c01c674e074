// A raw TCP exchange for requests SimHTTP's client would never send (malformed HTTP).

import SimUV

/// Bytes received on the loop thread until the peer closes.
private final class RawExchange: @unchecked Sendable {
    var received: [UInt8] = []
    var connection: TCPConnection?
    var finished = false
}

/// Connects to `host:port`, writes `bytes`, and returns everything received until the server closes the
/// connection, or what arrived within `timeoutMilliseconds` if it does not.
func rawExchange(
    host: String = "127.0.0.1", port: Int, _ bytes: [UInt8], timeoutMilliseconds: UInt64 = 15_000
) async throws -> [UInt8] {
    let loop = ClientLoop.shared
    return try await withCheckedThrowingContinuation { continuation in
        loop.submit {
            TCPConnection.connect(loop: loop, host: host, port: port) { result in
                switch result {
                case .failure(let error):
                    continuation.resume(throwing: error)
                case .success(let connection):
                    let exchange = RawExchange()
                    exchange.connection = connection
                    connection.onData = { exchange.received.append(contentsOf: $0) }
                    let finish = {
                        guard !exchange.finished else { return }
                        exchange.finished = true
                        exchange.connection?.close()
                        exchange.connection = nil
                        continuation.resume(returning: exchange.received)
                    }
                    connection.onReadEnd = { _ in finish() }
                    loop.schedule(afterMilliseconds: timeoutMilliseconds) { finish() }
                    connection.startReading()
                    connection.write(bytes)
                }
            }
        }
    }
}
