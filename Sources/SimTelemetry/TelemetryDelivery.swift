import SimHTTP
import SimUV

/// Sends one subscriber's batches to its listener, one at a time. Loop thread only.
///
/// HTTP: `POST <path>` with the batch as a JSON array and `Content-Type: application/json`, over one
/// keep-alive connection (opened again when it closed); a 2xx answer is a success, anything else or a
/// connection error a failure. TCP: the events as newline-delimited JSON over one stream kept open
/// (opened again after an error or the peer's close); a completed write is a success. Each send has a
/// deadline, paused while the sandbox is frozen, after which the connection is dropped and the send fails.
/// Completions never run from inside `send`.
package final class TelemetryDelivery {
    /// Why a send failed.
    package enum Failure: Error, Equatable, Sendable {
        /// No connection could be opened.
        case connectFailed(String)
        /// The listener answered with a non-2xx status.
        case status(Int)
        /// The connection failed or closed during the send.
        case io(String)
        /// No answer within the send deadline.
        case timedOut
    }

    private struct Pending {
        var token: UInt64
        var completion: (Result<Void, Failure>) -> Void
    }

    package let loop: EventLoop
    package let destination: SubscriptionDestination
    /// The address actually dialled for the sandbox host names.
    package let connectHost: String
    /// How long a send may take.
    package let timeoutMilliseconds: UInt64
    private var http: HTTPClientConnection?
    private var tcp: TCPConnection?
    private var pending: Pending?
    private var nextToken: UInt64 = 0
    private var timer: Timer?
    private var insideSend = false
    private var timeoutSuspended = false
    private var isClosed = false

    /// A delivery to `destination`, dialling `connectHost` (the sandbox's loopback address).
    package init(
        loop: EventLoop, destination: SubscriptionDestination, connectHost: String, timeoutMilliseconds: UInt64
    ) {
        self.loop = loop
        self.destination = destination
        self.connectHost = connectHost
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// True while a send waits for its result.
    package var isSending: Bool { pending != nil }

    /// Sends `events` (each one compact JSON object); `completion` runs once, later, with the result.
    package func send(_ events: [[UInt8]], completion: @escaping (Result<Void, Failure>) -> Void) {
        loop.assertInLoop()
        precondition(pending == nil, "one batch at a time")
        guard !isClosed else { return }
        nextToken += 1
        let token = nextToken
        pending = Pending(token: token, completion: completion)
        insideSend = true
        defer { insideSend = false }
        armTimeout()
        switch destination {
        case .http(let host, let port, let path): sendHTTP(events, host: host, port: port, path: path, token: token)
        case .tcp(let port): sendTCP(events, port: port, token: token)
        }
    }

    /// Stops (`true`) or restarts in full (`false`) the deadline of the send in progress.
    package func setTimeoutSuspended(_ suspended: Bool) {
        timeoutSuspended = suspended
        if suspended { timer?.stop() } else { armTimeout() }
    }

    /// Closes the connection and forgets the send in progress (its completion never runs).
    package func close() {
        isClosed = true
        pending = nil
        timer?.close()
        timer = nil
        dropConnection()
    }

    private func armTimeout() {
        guard pending != nil, !timeoutSuspended, !isClosed else { return }
        if timer == nil { timer = Timer(loop: loop) }
        timer?.start(afterMilliseconds: timeoutMilliseconds) { [weak self] in
            guard let self, let token = pending?.token else { return }
            finish(token, .failure(.timedOut))
            dropConnection()
        }
    }

    private func finish(_ token: UInt64, _ result: Result<Void, Failure>) {
        guard let current = pending, current.token == token else { return }
        pending = nil
        timer?.stop()
        if insideSend {
            loop.schedule(afterMilliseconds: 0) { current.completion(result) }
        } else {
            current.completion(result)
        }
    }

    private func dropConnection() {
        if let http {
            self.http = nil
            http.close()
        }
        if let tcp {
            self.tcp = nil
            tcp.close()
        }
    }

    // MARK: - HTTP

    private func sendHTTP(_ events: [[UInt8]], host: String, port: Int, path: String, token: UInt64) {
        var body: [UInt8] = [UInt8(ascii: "[")]
        body.reserveCapacity(events.reduce(2) { $0 + $1.count + 1 })
        for (index, event) in events.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: event)
        }
        body.append(UInt8(ascii: "]"))
        let request = HTTPRequest(
            method: "POST", target: path,
            headers: ["Host": "\(host):\(port)", "Content-Type": "application/json"], body: body)
        if let http, http.isOpen {
            post(request, on: http, token: token)
            return
        }
        HTTPClientConnection.connect(loop: loop, host: connectHost, port: port) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                finish(token, .failure(.connectFailed("\(error)")))
            case .success(let connection):
                guard pending?.token == token, !isClosed else {
                    connection.close()
                    return
                }
                http = connection
                connection.onClose = { [weak self, weak connection] in
                    if let self, http === connection { http = nil }
                }
                post(request, on: connection, token: token)
            }
        }
    }

    private func post(_ request: HTTPRequest, on connection: HTTPClientConnection, token: UInt64) {
        connection.send(request) { [weak self] result in
            switch result {
            case .success(let response) where (200..<300).contains(response.status):
                self?.finish(token, .success(()))
            case .success(let response):
                self?.finish(token, .failure(.status(response.status)))
            case .failure(let error):
                self?.finish(token, .failure(.io("\(error)")))
            }
        }
    }

    // MARK: - TCP

    private func sendTCP(_ events: [[UInt8]], port: Int, token: UInt64) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(events.reduce(0) { $0 + $1.count + 1 })
        for event in events {
            bytes.append(contentsOf: event)
            bytes.append(UInt8(ascii: "\n"))
        }
        if let tcp, !tcp.isClosed {
            write(bytes, on: tcp, token: token)
            return
        }
        TCPConnection.connect(loop: loop, host: connectHost, port: port) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error):
                finish(token, .failure(.connectFailed("\(error)")))
            case .success(let connection):
                guard pending?.token == token, !isClosed else {
                    connection.close()
                    return
                }
                tcp = connection
                connection.onData = { _ in }
                connection.onReadEnd = { [weak self, weak connection] _ in
                    guard let self, let connection, tcp === connection else { return }
                    tcp = nil
                    connection.close()
                }
                connection.startReading()
                write(bytes, on: connection, token: token)
            }
        }
    }

    private func write(_ bytes: [UInt8], on connection: TCPConnection, token: UInt64) {
        connection.write(bytes) { [weak self, weak connection] error in
            guard let self else { return }
            guard let error else {
                finish(token, .success(()))
                return
            }
            if let connection, tcp === connection {
                tcp = nil
                connection.close()
            }
            finish(token, .failure(.io("\(error)")))
        }
    }
}
