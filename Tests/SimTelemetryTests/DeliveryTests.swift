import SimCore
import SimUV
import Testing

@testable import SimTelemetry

/// Delivery over real sockets: HTTP batches with keep-alive, TCP NDJSON, and the Logs API shapes.
@Suite(.timeLimit(.minutes(1)))
struct DeliveryTests {
    /// An HTTP subscriber receives its events as JSON-array POSTs, in order, over one kept-alive
    /// connection, filtered by its `types`.
    @Test func httpBatchesInOrderWithKeepAlive() async throws {
        let fixture = try await HubFixture()
        let listener = try await HTTPListener.start(loop: fixture.loop)
        #expect(try await fixture.subscribe(.telemetry, "ext", httpBody(port: listener.port)) == .ok)
        try await fixture.emit(lines("first", 0..<50) + [.extensionLog(name: "ext", line: "not wanted")])
        #expect(await fixture.loop.wait { listener.functionLines.count == 50 })
        try await fixture.emit(lines("second", 0..<50))
        #expect(await fixture.loop.wait { listener.functionLines.count == 100 })
        let (types, functionLines, requests, batches) = try await fixture.run { _ in
            (listener.types, listener.functionLines, listener.requests.map { "\($0)" }, listener.batchSizes.count)
        }
        #expect(types.first == "platform.telemetrySubscription")
        #expect(!types.contains("extension"))
        #expect(functionLines == (0..<50).map { "first \($0)" } + (0..<50).map { "second \($0)" })
        #expect(batches >= 2)
        let connections = try await fixture.run { _ in Set(listener.requests.map(\.connection)) }
        #expect(connections.count == 1)
        let shapes = try await fixture.run { _ in
            Set(listener.requests.map { "\($0.method) \($0.path) \($0.contentType ?? "-")" })
        }
        #expect(shapes == ["POST /telemetry application/json"])
        #expect(requests.count == batches)
        try await fixture.stop(closing: [listener.close])
    }

    /// A TCP subscriber receives newline-delimited JSON, one event per line, over one connection.
    @Test func tcpReceivesNDJSON() async throws {
        let fixture = try await HubFixture()
        let listener = try await TCPListener.start(loop: fixture.loop)
        let body =
            #"{"schemaVersion":"2022-12-13","types":["function"],"buffering":{"timeoutMs":25},"#
            + #""destination":{"protocol":"TCP","port":\#(listener.port)}}"#
        #expect(try await fixture.subscribe(.telemetry, "ext", body) == .ok)
        try await fixture.emit(lines("a", 0..<20))
        #expect(await fixture.loop.wait { listener.lines.count == 20 })
        try await fixture.emit(lines("b", 0..<20))
        #expect(await fixture.loop.wait { listener.lines.count == 40 })
        let (received, connections) = try await fixture.run { _ in (listener.lines, listener.connectionCount) }
        #expect(received.allSatisfy { $0?["type"] == .string("function") && $0?["time"] != nil })
        #expect(
            received.map { $0?["record"]?.stringValue }
                == (lines("a", 0..<20) + lines("b", 0..<20)).map {
                    if case .functionLog(let line) = $0 { return line }
                    return nil
                })
        #expect(connections == 1)
        try await fixture.stop(closing: [listener.close])
    }

    /// A Logs API 2021-03-18 subscriber gets the Logs API shapes, `platform.end` and `platform.fault`
    /// included.
    @Test func logsAPIShapes() async throws {
        let fixture = try await HubFixture()
        let listener = try await HTTPListener.start(loop: fixture.loop)
        let body = httpBody(port: listener.port, api: .logs, schema: "2021-03-18", path: "/logs")
        #expect(try await fixture.subscribe(.logs, "ext", body) == .ok)
        try await fixture.emit([
            .start(.init(requestID: "r1", version: "$LATEST")), .functionLog("hi"),
            .runtimeDone(.init(requestID: "r1", outcome: .error("Runtime.ExitError"), durationMs: 2)),
            .report(
                .init(
                    requestID: "r1", outcome: .error("Runtime.ExitError"), durationMs: 2.5, billedDurationMs: 3,
                    memorySizeMB: 128, maxMemoryUsedMB: 30)),
            .fault("RequestId: r1 Process exited before completing request"),
        ])
        #expect(await fixture.loop.wait { listener.events.count >= 7 })
        let events = try await fixture.run { _ in listener.events }
        #expect(
            events.compactMap { $0["type"]?.stringValue } == [
                "platform.logsSubscription", "platform.start", "function", "platform.runtimeDone", "platform.end",
                "platform.report", "platform.fault",
            ])
        #expect(events[1]["record"] == .object([("requestId", .string("r1"))]))
        #expect(events[3]["record"]?["status"] == .string("failure"))
        #expect(events[5]["record"]?["status"] == nil)
        try await fixture.stop(closing: [listener.close])
    }
}
