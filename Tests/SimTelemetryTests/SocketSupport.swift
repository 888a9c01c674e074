import SimCore
import SimDomain
import SimHTTP
import SimUV
import Testing

@testable import SimTelemetry

extension EventLoop {
    /// Waits until `condition`, evaluated on the loop now and every 5 ms, holds; false after `limit` ms.
    func wait(upTo limit: UInt64 = 10_000, until condition: @escaping @Sendable () -> Bool) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            submit {
                if condition() { return continuation.resume(returning: true) }
                let timer = Timer(loop: self)
                var elapsed: UInt64 = 0
                timer.start(afterMilliseconds: 5, repeatMilliseconds: 5) {
                    elapsed += 5
                    let held = condition()
                    guard held || elapsed >= limit else { return }
                    timer.close()
                    continuation.resume(returning: held)
                }
            }
        }
    }
}

/// An extension's HTTP listener on 127.0.0.1: answers each batch (recording its events) or holds it.
final class HTTPListener: @unchecked Sendable {
    /// How the listener treats a request.
    enum Mode {
        /// Records the batch (for 2xx) and answers with this status.
        case answer(Int)
        /// Never answers.
        case hold
    }

    let loop: EventLoop
    var mode: Mode
    private var server: HTTPServer?
    private(set) var port = 0
    /// Events of answered 2xx batches, in arrival order.
    private(set) var events: [JSONValue] = []
    /// Events per answered 2xx batch.
    private(set) var batchSizes: [Int] = []
    /// Per request received: connection, method, path, content type.
    private(set) var requests: [(connection: Int, method: String, path: String, contentType: String?)] = []
    private var held: [HTTPResponder] = []

    private init(loop: EventLoop, mode: Mode) {
        self.loop = loop
        self.mode = mode
    }

    /// Starts a listener on an ephemeral port.
    static func start(loop: EventLoop, mode: Mode = .answer(200)) async throws -> HTTPListener {
        let listener = HTTPListener(loop: loop, mode: mode)
        try await loop.run {
            let server = try HTTPServer(loop: loop, host: "127.0.0.1", port: 0) { request, responder in
                listener.handle(request, responder)
            }
            listener.server = server
            listener.port = server.port
        }
        return listener
    }

    private func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        requests.append((responder.connectionID, request.method, request.path, request.headers["Content-Type"]))
        switch mode {
        case .hold:
            held.append(responder)
        case .answer(let status):
            if (200..<300).contains(status), case .array(let items)? = try? JSON.parse(request.body) {
                events.append(contentsOf: items)
                batchSizes.append(items.count)
            }
            responder.send(HTTPResponse(status: status))
        }
    }

    /// Types of the events received.
    var types: [String] { events.compactMap { $0["type"]?.stringValue } }
    /// Records of the `function` events received.
    var functionLines: [String] {
        events.filter { $0["type"] == .string("function") }.compactMap { $0["record"]?.stringValue }
    }

    /// Stops listening (loop thread).
    func close() {
        server?.close()
        server = nil
    }
}

/// An extension's TCP listener on 127.0.0.1 collecting newline-delimited JSON.
final class TCPListener: @unchecked Sendable {
    let loop: EventLoop
    private var server: TCPServer?
    private var connections: [TCPConnection] = []
    private(set) var port = 0
    private(set) var bytes: [UInt8] = []
    private(set) var connectionCount = 0

    private init(loop: EventLoop) { self.loop = loop }

    static func start(loop: EventLoop) async throws -> TCPListener {
        let listener = TCPListener(loop: loop)
        try await loop.run {
            let server = try TCPServer(loop: loop, host: "127.0.0.1", port: 0) { connection in
                listener.connectionCount += 1
                listener.connections.append(connection)
                connection.onData = { chunk in listener.bytes.append(contentsOf: chunk) }
                connection.onReadEnd = { _ in connection.close() }
                connection.startReading()
            }
            listener.server = server
            listener.port = server.port
        }
        return listener
    }

    /// Complete lines received, each parsed (nil when a line is not JSON).
    var lines: [JSONValue?] {
        bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map {
            try? JSON.parse(Array($0))
        }
    }

    func close() {
        server?.close()
        server = nil
        for connection in connections { connection.close() }
    }
}

/// A hub on its own loop, with the clock of the machine.
final class HubFixture: @unchecked Sendable {
    let loop: EventLoop
    private(set) var hub: TelemetryHub!

    init(configuration: TelemetryHub.Configuration = .init()) async throws {
        loop = try EventLoop()
        let loop = loop
        let box = HubBox()
        try await loop.run { box.hub = TelemetryHub(loop: loop, configuration: configuration) }
        hub = box.hub
    }

    /// Runs `body` with the hub on the loop.
    func run<T: Sendable>(_ body: @escaping @Sendable (TelemetryHub) throws -> T) async throws -> T {
        let hub = LoopBound(hub!)
        return try await loop.run { try body(hub.value) }
    }

    /// Subscribes `extensionID` (named after it) with `body`.
    func subscribe(
        _ api: SubscriptionAPI = .telemetry, _ extensionID: String, _ body: String, open: Bool = true
    ) async throws -> SubscriptionResponse {
        try await run { hub in
            hub.subscribe(
                api: api, extensionID: extensionID, extensionName: extensionID, body: Array(body.utf8),
                subscriptionOpen: open)
        }
    }

    /// Emits `events` in one loop turn.
    func emit(_ events: [PlatformEvent]) async throws {
        try await run { hub in
            for event in events { hub.emit(event, at: SystemClock().epochMilliseconds) }
        }
    }

    /// Closes the hub and `listeners`, then shuts the loop down.
    func stop(closing listeners: [@Sendable () -> Void] = []) async throws {
        try await run { hub in
            hub.close()
            for close in listeners { close() }
        }
        await loop.shutdown()
    }
}

private final class HubBox: @unchecked Sendable {
    var hub: TelemetryHub?
}

/// Carries a loop-confined value into a `@Sendable` closure that runs on its loop.
struct LoopBound<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A subscribe body for an HTTP listener on `port`.
func httpBody(
    port: Int, api: SubscriptionAPI = .telemetry, schema: String? = nil, types: String = #"["platform","function"]"#,
    timeoutMs: Int = 25, maxItems: Int = 10_000, path: String = "/telemetry"
) -> String {
    let version = schema ?? (api == .telemetry ? "2022-12-13" : "2020-08-15")
    return
        #"{"schemaVersion":"\#(version)","types":\#(types),"buffering":{"timeoutMs":\#(timeoutMs),"maxItems":\#(maxItems)},"#
        + #""destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:\#(port)\#(path)"}}"#
}

/// `count` function lines `"<prefix> <i>"` as events.
func lines(_ prefix: String, _ range: Range<Int>) -> [PlatformEvent] {
    range.map { .functionLog("\(prefix) \($0)") }
}
