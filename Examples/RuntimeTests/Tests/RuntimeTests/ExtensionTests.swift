import Foundation
import LambdaSim
import Testing

@Suite(.serialized) struct ExtensionTests {
    /// (c) An extension that subscribes to the Telemetry API, started by the test beside an attached runtime: the
    /// test waits for typed events (the extension's registration, the invoke's REPORT, the lines the extension
    /// printed for each platform event it received), and the shutdown's outcome says it exited in time.
    @Test func telemetryExtension() async throws {
        // article: extension
        var function = FunctionOptions(name: "observed", command: [], codeDirectory: "/tmp", timeoutSeconds: 5)
        function.attachedExtensions = ["telemetry-logger"]
        let events = SimulatorEventStream()
        let simulator = try await Simulator.start(functions: [function], port: 0, events: events)
        do {
            try await simulator.spawn(
                extension: [Paths.python, Paths.fixtures + "/telemetry-logger"], named: "telemetry-logger",
                function: "observed")
            try await simulator.spawn(runtime: [Paths.fixture], function: "observed")
            let ready = try await events.telemetry(.extension)
            #expect(
                ready.kind
                    == .extensionState(name: "telemetry-logger", state: .ready, events: [.shutdown], errorType: nil))

            let response = try await simulator.invoke(function: "observed", payload: Array("{}".utf8))
            let requestID = try #require(response.requestID)
            _ = try await events.report(for: requestID)
            // The extension received the invoke's platform.report and printed it.
            _ = try await events.first("the extension's line for the report") { event in
                event.kind
                    == .output(
                        source: .extension("telemetry-logger"), line: "telemetry-logger: platform.report \(requestID)")
            }
        } catch {
            await simulator.stop()
            throw error
        }
        let outcome = await simulator.stop(reason: .spindown)
        let processes = try #require(outcome.sandboxes.first?.processes)
        #expect(processes.first { $0.name == "telemetry-logger" }?.exitedInTime == true)
        // article-end
    }
}
