// Starts a simulator for one test, talks to its front port and its sandboxes' Runtime APIs, and
// builds the functions the tests run.

import Foundation
import LambdaSim
import SimHTTP
import Testing

/// A running simulator and its log, handed to a test's body.
struct SimHarness: Sendable {
    let simulator: Simulator
    let logs: LogWatcher

    /// Invokes `function` with `payload` through the library's public `Simulator.invoke` (on the simulator's own
    /// loop); `headers` are sent as they are (a raw `X-Amz-Invocation-Type`, `X-Amz-Log-Type`, …), `qualifier` as
    /// `?Qualifier=`.
    func invoke(
        _ function: String, payload: String = "{}", headers: [String: String] = [:], qualifier: String? = nil
    ) async throws -> InvokeClient.Response {
        try await invoke(function, body: Array(payload.utf8), headers: headers, qualifier: qualifier)
    }

    /// Invokes `function` with raw `body` bytes (see `invoke(_:payload:headers:qualifier:)`).
    func invoke(
        _ function: String, body: [UInt8], headers: [String: String] = [:], qualifier: String? = nil
    ) async throws -> InvokeClient.Response {
        try await simulator.invoke(
            function: function, payload: body, qualifier: qualifier,
            headers: headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// `count` invokes of `function` with `payload` at once; their responses in the order they came.
    func invokeAtOnce(_ function: String, count: Int, payload: String) async throws -> [InvokeClient.Response] {
        try await withThrowingTaskGroup(of: InvokeClient.Response.self) { group in
            for _ in 0..<count { group.addTask { try await invoke(function, payload: payload) } }
            var responses: [InvokeClient.Response] = []
            for try await response in group { responses.append(response) }
            return responses
        }
    }

    /// Sends any request to the front port.
    func front(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await HTTPClient.request(loop: ClientLoop.shared, host: "127.0.0.1", port: simulator.port, request)
    }

    /// Sends a request to a sandbox's Runtime API, given as `host:port`.
    func runtimeAPI(_ address: String, _ request: HTTPRequest) async throws -> HTTPResponse {
        let parts = address.split(separator: ":")
        let port = try #require(parts.last.flatMap { Int($0) }, "bad Runtime API address \(address)")
        return try await HTTPClient.request(
            loop: ClientLoop.shared, host: String(parts.dropLast().joined(separator: ":")), port: port, request)
    }

    /// Waits for `count` sandboxes to have started a runtime (their INIT_START lines, or `platform.initStart`
    /// records in the JSON log format), then returns the simulator's status of every sandbox.
    func sandboxes(atLeast count: Int) async throws -> [SandboxStatus] {
        var seen: Set<String> = []
        while seen.count < count {
            let known = seen
            let line = await logs.first {
                ($0.text.hasPrefix("INIT_START ") || $0.text.contains(#""type":"platform.initStart""#))
                    && !known.contains($0.sandboxID)
            }
            guard let line else { break }
            seen.insert(line.sandboxID)
        }
        return try await simulator.sandboxes()
    }
}

/// Starts a simulator on 127.0.0.1 port 0 with `functions`, runs `body`, and stops the simulator however
/// `body` ends.
/// With `account`, the simulator runs in serve mode (limits, throttling, provisioned sandboxes, retries).
func withSimulator(
    _ functions: [FunctionOptions], account: Simulator.AccountOptions? = nil,
    _ body: (SimHarness) async throws -> Void
) async throws {
    let logs = LogWatcher()
    let simulator = try await Simulator.start(
        functions: functions, host: "127.0.0.1", port: 0, account: account, console: { logs.append($0) },
        keepHistory: true)
    do {
        try await body(SimHarness(simulator: simulator, logs: logs))
    } catch {
        await simulator.stop()
        throw error
    }
    await simulator.stop()
}

/// Functions the tests run.
enum TestFunctions {
    /// A function running the native fixture runtime.
    static func fixture(
        name: String = "fn", timeoutSeconds: Double = 3, environment: [(String, String)] = [],
        aliases: [String] = [], maxConcurrency: Int = 1
    ) -> FunctionOptions {
        FunctionOptions(
            name: name, command: [TestPaths.fixtureRuntime], codeDirectory: TestPaths.binDirectory,
            runtime: "provided.al2023", timeoutSeconds: timeoutSeconds, environment: EnvironmentVariables(environment),
            inheritedEnvironment: TestPaths.inheritedEnvironment, aliases: aliases, maxConcurrency: maxConcurrency)
    }

    /// A function running awslambdaric with `handler` from `Fixtures/python`.
    static func python(
        _ handler: String, name: String = "py", timeoutSeconds: Double = 3, memorySizeMB: Int = 128,
        environment: [(String, String)] = []
    ) -> FunctionOptions {
        FunctionOptions(
            name: name, command: [TestPaths.python, "-m", "awslambdaric", handler],
            codeDirectory: TestPaths.pythonFixtures, handler: handler, runtime: "python3.11",
            memorySizeMB: memorySizeMB, timeoutSeconds: timeoutSeconds, environment: EnvironmentVariables(environment),
            inheritedEnvironment: TestPaths.inheritedEnvironment)
    }
}

extension FunctionOptions {
    /// The same function with its Runtime API open to any local process, for tests that call the API themselves
    /// (by default only the sandbox's own processes may).
    func withOpenRuntimeAPI() -> FunctionOptions {
        var open = self
        open.runtimeAPIAccess = .any
        return open
    }
}
