import Foundation
import LambdaSim
import Testing

@Suite(.serialized) struct EventTests {
    /// (e) A JSON payload in and a decoded result out; then the invoke's REPORT, and the `platform.runtimeDone` that
    /// came before it, which the wait for the REPORT read past and the next wait finds by looking back.
    @Test func waitingLooksBack() async throws {
        // article: waiting
        struct Greeting: Codable, Equatable {
            var name: String
        }
        let function = FunctionOptions(name: "echo", command: [Paths.fixture], codeDirectory: "/tmp")
        let events = SimulatorEventStream()
        try await withSimulator(functions: [function], events: events) { simulator in
            let answer = try await simulator.invoke(
                function: "echo", json: Greeting(name: "tests"), returning: Greeting.self)
            #expect(answer == Greeting(name: "tests"))

            let (requestID, report) = try await events.nextReport(function: "echo")
            #expect(report.status == .success)
            // Read past while waiting for the REPORT, so found at once.
            let done = try await events.telemetry(.runtimeDone, timeout: .seconds(1))
            #expect(done.requestID == requestID)
        }
        // article-end
    }

    /// (f) Cancelling the task of an invoke or of a wait ends it at once with `CancellationError`; the cancelled
    /// invoke still runs to its end in the sandbox.
    @Test func cancellation() async throws {
        // article: cancellation
        let function = FunctionOptions(
            name: "slow", command: [Paths.fixture], codeDirectory: "/tmp", timeoutSeconds: 10)
        let events = SimulatorEventStream()
        try await withSimulator(functions: [function], events: events) { simulator in
            let invoke = Task { try await simulator.invoke(function: "slow", payload: #"{"sleepMs":1000}"#) }
            _ = try await events.telemetry(.start, function: "slow")  // the runtime has the invoke
            invoke.cancel()
            await #expect(throws: CancellationError.self) { try await invoke.value }
            // The invoke itself runs on to its end in its sandbox, as on Lambda when a caller goes away.
            let (_, report) = try await events.nextReport(function: "slow")
            #expect(report.durationMilliseconds >= 1000)

            let wait = Task { try await events.nextReport(function: "other", timeout: .seconds(60)) }
            wait.cancel()
            await #expect(throws: CancellationError.self) { try await wait.value }
        }
        // article-end
    }

    /// (g) The event vocabulary: typed init type and phase, Telemetry API types, and sandbox states.
    @Test func vocabulary() async throws {
        // article: vocabulary
        let function = FunctionOptions(name: "echo", command: [Paths.fixture], codeDirectory: "/tmp")
        let events = SimulatorEventStream()
        try await withSimulator(functions: [function], events: events) { simulator in
            _ = try await simulator.invoke(function: "echo", payload: #"{"print":"hello"}"#)
            var types: [TelemetryEventType] = []
            for await event in events {
                if case .initStarted(let type, let phase) = event.kind {
                    #expect(type == .onDemand && phase == .initial)
                }
                if case .output(.runtime, let line) = event.kind { #expect(line == "hello") }
                if let type = event.telemetryType { types.append(type) }
                if case .report = event.kind { break }
            }
            #expect(types == [.initStart, .initReport, .start, .function, .runtimeDone, .report])
            let sandbox = try #require(try await simulator.sandboxes().first)
            #expect([.ready, .frozen].contains(sandbox.state) && sandbox.freezeMode == .signal)
        }
        // article-end
    }
}
