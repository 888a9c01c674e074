// Telemetry API and Logs API subscribers for the integration tests: extensions running
// Fixtures/telemetry/telemetry_extension.py (configured with TEL_* variables) that record every batch they
// receive, readers for those records, a listener outside the sandbox, and checks of JSON types.

import Foundation
import LambdaSim
import SimUV
import Synchronization
import Testing

/// One event as a subscriber received it: `{"time","type","record"}`.
struct ReceivedEvent: @unchecked Sendable {
    let fields: [String: Any]

    var time: String { fields["time"] as? String ?? "" }
    var type: String { fields["type"] as? String ?? "" }
    /// The record of a platform event (empty for a string record).
    var record: [String: Any] { fields["record"] as? [String: Any] ?? [:] }
    /// The record of a log line.
    var line: String? { fields["record"] as? String }
    var requestID: String? { record["requestId"] as? String }
    var status: String? { record["status"] as? String }
    var errorType: String? { record["errorType"] as? String }
    var metrics: [String: Any] { record["metrics"] as? [String: Any] ?? [:] }
}

extension ExtensionFolder {
    /// Adds `Fixtures/telemetry/telemetry_extension.py` as the extension `name`, its wrapper exporting
    /// `settings` (TEL_*).
    func addTelemetry(_ name: String, _ settings: [(String, String)] = []) throws {
        let link = root + "/telemetry"
        if !FileManager.default.fileExists(atPath: link) {
            try FileManager.default.createSymbolicLink(
                atPath: link, withDestinationPath: TestPaths.fixtures + "/telemetry")
        }
        var script = "#!/bin/sh\n"
        for (key, value) in settings {
            script += "export \(key)='\(value.replacingOccurrences(of: "'", with: #"'\''"#))'\n"
        }
        script += #"exec "$LAMBDA_SIM_PYTHON" "$(dirname "$0")/../telemetry/telemetry_extension.py" "$(basename "$0")""#
        try writeFile(directory + "/" + name, script + "\n", mode: 0o755)
    }

    /// Every complete record line so far (a line still being written is left out).
    func completeRecords() throws -> [ExtensionRecord] {
        guard FileManager.default.fileExists(atPath: recordFile) else { return [] }
        let text = try String(contentsOfFile: recordFile, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()  // empty after the final newline, or a partial line
        return try lines.filter { !$0.isEmpty }.map { ExtensionRecord(fields: try jsonObject(String($0))) }
    }

    /// The records of extension `ext` of one kind, in the order written.
    func telemetryRecords(of ext: String, kind: String) throws -> [ExtensionRecord] {
        try completeRecords().filter { $0.ext == ext && $0.kind == kind }
    }

    /// Every event extension `ext` received, in delivery order; `pid` picks one process (generation).
    func receivedEvents(of ext: String, pid: Int32? = nil) throws -> [ReceivedEvent] {
        try telemetryRecords(of: ext, kind: "batch").filter { pid == nil || $0.pid == pid }.flatMap { batch in
            (batch.fields["events"] as? [Any] ?? []).map { ReceivedEvent(fields: $0 as? [String: Any] ?? [:]) }
        }
    }

    /// Polls (every 20 ms) until `ext` has received an event matching `predicate`; false after `timeout`.
    func waitForEvent(
        of ext: String, timeout: Duration = .seconds(10), _ predicate: (ReceivedEvent) -> Bool
    ) async throws -> Bool {
        try await pollUntil(timeout: timeout) { try receivedEvents(of: ext).contains(where: predicate) }
    }
}

/// Polls `condition` every 20 ms with `Task.sleep` until it holds (true) or `timeout` passes (false).
func pollUntil(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: .milliseconds(20))
    }
}

extension TestFunctions {
    /// awslambdaric running `handler` from `Fixtures/telemetry`, with `folder`'s extensions.
    static func telemetryPython(
        _ handler: String, name: String = "tel-py", memorySizeMB: Int = 128, extensions folder: ExtensionFolder
    ) -> FunctionOptions {
        FunctionOptions(
            name: name, command: [TestPaths.python, "-m", "awslambdaric", handler],
            codeDirectory: TestPaths.fixtures + "/telemetry", handler: handler, runtime: "python3.11",
            memorySizeMB: memorySizeMB, environment: EnvironmentVariables(folder.environment),
            inheritedEnvironment: TestPaths.inheritedEnvironment, extensionsDirectory: folder.directory)
    }
}

/// True for a JSON integer as JSONSerialization decodes it (not a boolean, no fraction in the text).
func isJSONInteger(_ value: Any?) -> Bool {
    guard let number = value as? NSNumber else { return false }
    let kind = String(cString: number.objCType)
    return kind != "c" && kind != "d" && kind != "f"
}

/// True for a JSON number written with a fraction (`200.0`, `11.185`).
func isJSONFloat(_ value: Any?) -> Bool {
    guard let number = value as? NSNumber else { return false }
    let kind = String(cString: number.objCType)
    return kind == "d" || kind == "f"
}

/// True for the Telemetry API's `time`: ISO-8601 UTC with milliseconds, e.g. `2022-10-12T00:00:15.064Z`.
func isTelemetryTime(_ text: String) -> Bool {
    text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil
}

/// A TCP listener on 127.0.0.1 outside every sandbox (so never frozen) that collects NDJSON lines with the
/// wall-clock time each arrived. A subscription with `{"protocol":"TCP","port":port}` delivers here.
final class NDJSONListener: Sendable {
    /// One received line and when it arrived (epoch ms).
    struct Line: Sendable {
        var text: String
        var arrivedAt: Int64
    }

    /// The server and its connections, touched on the clients' loop only.
    private final class Box: @unchecked Sendable {
        var server: TCPServer?
        var connections: [TCPConnection] = []
    }

    /// Complete lines, and the bytes of a line still arriving.
    private final class Collector: Sendable {
        let state = Mutex<(lines: [Line], pending: [UInt8])>(([], []))

        func append(_ bytes: UnsafeRawBufferPointer) {
            let now = epochMilliseconds()
            state.withLock { state in
                state.pending.append(contentsOf: bytes)
                while let end = state.pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let text = String(decoding: state.pending[..<end], as: UTF8.self)
                    state.pending.removeSubrange(...end)
                    state.lines.append(Line(text: text, arrivedAt: now))
                }
            }
        }
    }

    private let box = Box()
    private let collector = Collector()
    /// The port to subscribe to.
    let port: Int

    /// Starts listening on an ephemeral port.
    init() async throws {
        let box = self.box
        let collector = self.collector
        port = try await ClientLoop.shared.run {
            let server = try TCPServer(loop: ClientLoop.shared, host: "127.0.0.1", port: 0) { connection in
                box.connections.append(connection)
                connection.onData = { collector.append($0) }
                connection.onReadEnd = { [weak connection] _ in connection?.close() }
                connection.startReading()
            }
            box.server = server
            return server.port
        }
    }

    /// The lines so far.
    var lines: [Line] { collector.state.withLock { $0.lines } }

    /// The lines so far as events, with their arrival times.
    func events() throws -> [(event: ReceivedEvent, arrivedAt: Int64)] {
        try lines.map { (ReceivedEvent(fields: try jsonObject($0.text)), $0.arrivedAt) }
    }

    /// Stops listening and closes every connection.
    func close() async {
        let box = self.box
        try? await ClientLoop.shared.run {
            box.server?.close()
            box.server = nil
            for connection in box.connections { connection.close() }
            box.connections.removeAll()
        }
    }
}
