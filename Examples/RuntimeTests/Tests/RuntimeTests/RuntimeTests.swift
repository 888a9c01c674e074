import Foundation
import LambdaSim
import Testing

@Suite(.serialized) struct RuntimeTests {
    /// (a) The bundled bash runtime, started by the simulator: its answer, and the REPORT of the invoke awaited as a
    /// typed event.
    @Test func bashRuntime() async throws {
        // article: spawned
        let function = FunctionOptions(
            name: "hello", command: [Paths.bashRuntime + "/bootstrap"], codeDirectory: Paths.bashRuntime,
            handler: "function.handler")
        let events = SimulatorEventStream()
        try await withSimulator(functions: [function], events: events) { simulator in
            let response = try await simulator.invoke(function: "hello", payload: Array(#"{"name":"tests"}"#.utf8))
            #expect(response.status == 200)
            #expect(response.functionErrorType == nil)
            #expect(response.text.contains("tests"))

            let requestID = try #require(response.requestID)
            let report = try await events.report(for: requestID)
            #expect(report.status == .success)
            #expect(report.initDurationMilliseconds != nil)  // a cold start
        }
        // article-end
    }

    /// (b) The fixture runtime, attached: the simulator creates the sandbox and waits; the test starts the runtime
    /// itself, as a child with Lambda's environment, and the invoke sent before it existed is answered.
    @Test func attachedRuntime() async throws {
        // article: attached
        let function = FunctionOptions(name: "mine", command: [], codeDirectory: "/tmp", timeoutSeconds: 5)
        try await withSimulator(functions: [function]) { simulator in
            async let early = simulator.invoke(function: "mine", payload: Array(#"{"early":true}"#.utf8))
            let environment = try #require(try await simulator.attachEnvironment(function: "mine"))
            #expect(environment["AWS_LAMBDA_RUNTIME_API"] != nil)

            let runtime = try await simulator.spawn(runtime: [Paths.fixture], function: "mine")
            #expect(try await early.text == #"{"early":true}"#)
            let sandbox = try #require(try await simulator.sandboxes().first)
            #expect(sandbox.pids.contains(runtime.pid))
        }
        // article-end
    }

    /// (h) A function's settings are `FunctionOptions` properties: here a variable of its own and no freezing, which
    /// its sandbox then reports.
    @Test func functionSettings() async throws {
        // article: options
        var function = FunctionOptions(
            name: "fn", command: [Paths.fixture], codeDirectory: "/tmp", timeoutSeconds: 10,
            environment: [("GREETING", "hello")])
        function.freezeMode = .none
        // article-end
        #expect(function.environment == [("GREETING", "hello")])
        try await withSimulator(functions: [function]) { simulator in
            let response = try await simulator.invoke(function: "fn", payload: Array(#"{"hi":1}"#.utf8))
            #expect(response.text == #"{"hi":1}"#)
            let sandbox = try #require(try await simulator.sandboxes().first)
            #expect(sandbox.freezeMode == .none)
        }
    }

    /// (d) A test body that fails still leaves nothing behind: `withSimulator` stops the runtime (frozen between
    /// invokes here) before the error reaches the test.
    @Test func failingBodyCleansUp() async throws {
        struct Failure: Error {}
        var function = FunctionOptions(
            name: "hello", command: [Paths.bashRuntime + "/bootstrap"], codeDirectory: Paths.bashRuntime,
            handler: "function.handler")
        function.freezeMode = .signal
        var pids: [Int32] = []
        await #expect(throws: Failure.self) {
            try await withSimulator(functions: [function]) { simulator in
                _ = try await simulator.invoke(function: "hello", payload: Array("{}".utf8))
                pids = try await simulator.sandboxes().flatMap(\.pids)
                throw Failure()
            }
        }
        #expect(!pids.isEmpty)
        for pid in pids { #expect(!Self.isRunningOrStopped(pid), "process \(pid) was left behind") }
    }

    /// Whether `pid` is a live process (running, sleeping or stopped); gone and zombie processes are not.
    static func isRunningOrStopped(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }
}
