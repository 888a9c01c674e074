// Per-test folders of external extensions (wrappers around Fixtures/extensions/lib), the records those
// extensions write, direct Extensions API calls, and a harness that checks no process outlives stop().

import Foundation
import LambdaSim
import SimHTTP
import Testing

/// What an extension appended to the record file: one JSON object per line.
struct ExtensionRecord {
    let fields: [String: Any]

    /// The extension's file name.
    var ext: String { fields["ext"] as? String ?? "" }
    /// The extension process's pid.
    var pid: Int32 { Int32(fields["pid"] as? Int ?? 0) }
    /// `start`, `register`, `event`, `child`, `init-error`, `next-error`, `exiting`.
    var kind: String { fields["kind"] as? String ?? "" }
    /// When the extension wrote it, epoch milliseconds.
    var time: Int64 { Int64(fields["t"] as? Int ?? 0) }
    /// The event of an `event` record.
    var event: [String: Any] { fields["event"] as? [String: Any] ?? [:] }
    var eventType: String? { event["eventType"] as? String }
    /// The pid of a `child` record's forked process.
    var child: Int32? { (fields["child"] as? Int).map { Int32($0) } }
    /// The environment of a `start` record (Python extensions only).
    var environment: [String: String] { fields["env"] as? [String: String] ?? [:] }
}

/// A temporary folder holding `extensions/` (the function's extensions directory), `lib/` (a link to
/// `Fixtures/extensions/lib`) and the record file the extensions append to.
struct ExtensionFolder {
    let root: String

    /// What `FunctionOptions.extensionsDirectory` points at.
    var directory: String { root + "/extensions" }
    /// The JSON-lines file the extensions write (`EXT_RECORD_FILE`).
    var recordFile: String { root + "/records.jsonl" }

    /// Variables the function must carry for these extensions: the record file and the venv's interpreter.
    var environment: [(String, String)] {
        [("EXT_RECORD_FILE", recordFile), ("LAMBDA_SIM_PYTHON", TestPaths.python)]
    }

    init() throws {
        root = try makeTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: root + "/lib", withDestinationPath: TestPaths.fixtures + "/extensions/lib")
    }

    /// Adds `lib/recording_extension.py` as the extension `name`, its wrapper exporting `settings` (EXT_*).
    func addPython(_ name: String, _ settings: [(String, String)] = [], executable: Bool = true) throws {
        try addWrapper(
            name, settings: settings,
            command: #"exec "$LAMBDA_SIM_PYTHON" "$(dirname "$0")/../lib/recording_extension.py" "$(basename "$0")""#,
            executable: executable)
    }

    /// Adds `lib/curl_extension.sh` (sh + curl) as the extension `name`, its wrapper exporting `settings`.
    func addCurl(_ name: String, _ settings: [(String, String)] = []) throws {
        try addWrapper(
            name, settings: settings,
            command: #"exec /bin/sh "$(dirname "$0")/../lib/curl_extension.sh" "$(basename "$0")""#, executable: true)
    }

    private func addWrapper(_ name: String, settings: [(String, String)], command: String, executable: Bool) throws {
        var script = "#!/bin/sh\n"
        for (key, value) in settings {
            script += "export \(key)='\(value.replacingOccurrences(of: "'", with: #"'\''"#))'\n"
        }
        script += command + "\n"
        try writeFile(directory + "/" + name, script, mode: executable ? 0o755 : 0o644)
    }

    /// Writes `contents` to a new file `path` with permissions `mode`. The descriptor is close-on-exec: a process
    /// another test forks meanwhile must not keep the file open for writing, or exec'ing it fails with ETXTBSY.
    func writeFile(_ path: String, _ contents: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw POSIXError(.EIO) }
        guard fchmod(fd, mode) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// A gate file (`gatePath`, not yet created) and an `AWS_LAMBDA_EXEC_WRAPPER` script that holds the runtime
    /// until the gate exists: registration stays open, without any timing, until the test calls `openGate()`.
    func gatedRuntime() throws -> [(String, String)] {
        let wrapper = root + "/gated-runtime.sh"
        try writeFile(
            wrapper, "#!/bin/sh\nwhile [ ! -e \"$RUNTIME_GATE\" ]; do sleep 0.02; done\nexec \"$@\"\n", mode: 0o755)
        return [("AWS_LAMBDA_EXEC_WRAPPER", wrapper), ("RUNTIME_GATE", gatePath)]
    }

    /// The gate file of `gatedRuntime()` (extensions may wait for it too, with `wait-file:`).
    var gatePath: String { root + "/gate" }

    /// Creates the gate file.
    func openGate() throws { try writeFile(gatePath, "", mode: 0o644) }

    /// Every record so far, in the order written.
    func records() throws -> [ExtensionRecord] {
        guard FileManager.default.fileExists(atPath: recordFile) else { return [] }
        let text = try String(contentsOfFile: recordFile, encoding: .utf8)
        return try text.split(separator: "\n").map { ExtensionRecord(fields: try jsonObject(String($0))) }
    }

    /// The records of one extension, optionally of one kind.
    func records(of ext: String, kind: String? = nil) throws -> [ExtensionRecord] {
        try records().filter { $0.ext == ext && (kind == nil || $0.kind == kind) }
    }

    /// Every extension process and forked child the records name.
    func recordedPIDs() -> [Int32] {
        let all = (try? records()) ?? []
        return all.map(\.pid) + all.compactMap(\.child)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

extension TestFunctions {
    /// The native fixture runtime with `folder`'s extensions (and the variables they need).
    static func fixture(
        extensions folder: ExtensionFolder, name: String = "fn", timeoutSeconds: Double = 3,
        runtime: String = "provided.al2023", environment: [(String, String)] = []
    ) -> FunctionOptions {
        FunctionOptions(
            name: name, command: [TestPaths.fixtureRuntime], codeDirectory: TestPaths.binDirectory,
            handler: "fixture.handler", runtime: runtime, timeoutSeconds: timeoutSeconds,
            environment: EnvironmentVariables(folder.environment + environment),
            inheritedEnvironment: TestPaths.inheritedEnvironment,
            extensionsDirectory: folder.directory)
    }
}

/// Like `withSimulator`, then checks that stop() left no process behind: every pid the sandboxes reported just
/// before stop, and every extension process and forked child the folders' records name, must be gone (ESRCH).
/// Returns how long stop() took. The folders stay (the test reads their records and removes them).
@discardableResult
func withExtensionSimulator(
    _ functions: [FunctionOptions], folders: [ExtensionFolder], _ body: (SimHarness) async throws -> Void
) async throws -> Duration {
    let logs = LogWatcher()
    let simulator = try await Simulator.start(
        functions: functions, host: "127.0.0.1", port: 0, console: { logs.append($0) }, keepHistory: true)
    var failure: (any Error)?
    do {
        try await body(SimHarness(simulator: simulator, logs: logs))
    } catch {
        failure = error
    }
    var pids = (try? await simulator.sandboxes())?.flatMap(\.pids) ?? []
    let started = ContinuousClock.now
    await simulator.stop()
    let stopDuration = ContinuousClock.now - started
    for folder in folders { pids += folder.recordedPIDs() }
    if let failure { throw failure }
    let alive = await survivors(of: pids)
    #expect(alive.isEmpty, "still present after stop(): \(alive.map { "\($0) \(processState($0))" })")
    return stopDuration
}

/// The pids of `pids` that still exist after up to `timeout` (orphans are reaped by pid 1, which may take a
/// moment; a live process never turns into ESRCH).
func survivors(of pids: [Int32], timeout: Duration = .seconds(20)) async -> [Int32] {
    let deadline = ContinuousClock.now + timeout
    var alive = Array(Set(pids.filter { $0 > 0 }))
    while !alive.isEmpty && ContinuousClock.now < deadline {
        alive = alive.filter { kill($0, 0) == 0 || errno != ESRCH }
        if !alive.isEmpty { try? await Task.sleep(for: .milliseconds(50)) }
    }
    return alive
}

/// The `State:` line of /proc/<pid>/status, for failure messages.
func processState(_ pid: Int32) -> String {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    return status.split(separator: "\n").first { $0.hasPrefix("State:") }.map(String.init) ?? "gone"
}

extension SimHarness {
    /// Calls the Extensions API (`/2020-01-01/extension/<path>`) of the sandbox at `api` directly.
    func extensionAPI(
        _ api: String, _ method: String, _ path: String, headers: HTTPHeaders = [:], body: String = ""
    ) async throws -> HTTPResponse {
        try await runtimeAPI(
            api,
            HTTPRequest(
                method: method, target: "/2020-01-01/extension/" + path, headers: headers, body: Array(body.utf8)))
    }

    /// Registers an extension named `name` for `events` (nil: no `Lambda-Extension-Name` header).
    func registerExtension(_ api: String, name: String?, events: [String] = []) async throws -> HTTPResponse {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let name { headers.add("Lambda-Extension-Name", name) }
        let list = events.map { "\"\($0)\"" }.joined(separator: ",")
        return try await extensionAPI(api, "POST", "register", headers: headers, body: #"{"events":[\#(list)]}"#)
    }

    /// Waits for the log line `text` printed by the extension `name`; nil after `timeout`.
    func extensionLine(_ name: String, _ text: String, timeout: Duration = .seconds(30)) async -> Simulator.LogLine? {
        await logs.first(timeout: timeout) { $0.extensionName == name && $0.text == text }
    }
}

/// Checks a 403 from the Extensions API: JSON content type and exactly `{"errorMessage","errorType"}`.
func expectForbidden(
    _ reply: HTTPResponse, _ errorType: String, _ errorMessage: String,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(reply.status == 403, "\(errorType): \(text(reply))", sourceLocation: sourceLocation)
    #expect(reply.headers["Content-Type"] == "application/json", sourceLocation: sourceLocation)
    let body = try stringObject(reply.body)
    #expect(body == ["errorType": errorType, "errorMessage": errorMessage], sourceLocation: sourceLocation)
}

/// The number before " ms" of a tab-separated `field` (`Duration`, `PostRuntimeExtensionsDuration`, ...) in a line.
func milliseconds(_ field: String, in line: String) -> Double? {
    for part in line.split(separator: "\t") {
        let trimmed = part.drop { $0 == " " }
        let segments = trimmed.split(separator: ":", maxSplits: 1)
        guard segments.count == 2, segments[0] == field else { continue }
        return Double(segments[1].trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ms", with: ""))
    }
    return nil
}
