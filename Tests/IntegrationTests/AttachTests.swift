// Attach mode (issue 15, item 2): a function without a command gets its sandbox and Runtime API at start, and the
// simulator waits for a runtime its user starts — here the fixture, started by the test itself.

import Foundation
import LambdaSim
import Testing

@Suite("Attach mode", .serialized)
struct AttachTests {
    /// An invoke sent before any runtime exists waits; the fixture started with `attachEnvironment` then answers it
    /// and the next one.
    @Test(.timeLimit(.minutes(1)))
    func aRuntimeStartedByTheTestAttaches() async throws {
        let function = FunctionOptions(
            name: "fn", command: [], codeDirectory: TestPaths.binDirectory, timeoutSeconds: 10)
        try await withSimulator([function]) { sim in
            let environment = try #require(try await sim.simulator.attachEnvironment(function: "fn"))
            let api = try #require(environment["AWS_LAMBDA_RUNTIME_API"])
            #expect(environment["AWS_LAMBDA_FUNCTION_NAME"] == "fn")

            async let early = sim.invoke("fn", payload: #"{"early":true}"#)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await sim.simulator.sandboxes().map(\.state) == [.initializing])

            let runtime = try await BackgroundProcess.start(
                [TestPaths.fixtureRuntime], environment: environment.map { "\($0.key)=\($0.value)" })
            defer { runtime.signal(SIGKILL) }
            #expect(text(try await early) == #"{"early":true}"#)
            #expect(text(try await sim.invoke("fn", payload: #"{"late":1}"#)) == #"{"late":1}"#)
            let sandbox = try #require(try await sim.simulator.sandboxes().first)
            #expect(sandbox.runtimeAPI == api)
            #expect(sandbox.freezeMode == .none)
            // The second invoke's REPORT comes when the runtime asks for the next one, just after its answer.
            #expect(try await eventually { try await sim.simulator.sandboxes().first?.invocations == 2 })
        }
    }

    /// An attached function has exactly one sandbox; `lambda-sim run --attach` prints what to export and waits.
    @Test(.timeLimit(.minutes(1)))
    func oneSandboxAndTheCommand() async throws {
        var two = FunctionOptions(name: "fn", command: [], codeDirectory: "/tmp")
        two.maxConcurrency = 2
        await #expect(throws: Simulator.OptionError.self) { _ = try await Simulator.start(functions: [two], port: 0) }

        let process = try await BackgroundProcess.start([FreezePaths.lambdaSim, "run", "--attach", "--port", "0"])
        defer { process.signal(SIGTERM) }
        #expect(
            try await process.waitForLine(prefix: "export AWS_LAMBDA_RUNTIME_API='127.") != nil, "\(process.stderr)")
        #expect(try await process.waitForLine(prefix: "lambda-sim: Invoke API listening on") != nil)
        let bad = try await runProcess([FreezePaths.lambdaSim, "run", "--attach", "--", TestPaths.fixtureRuntime])
        #expect(bad.status == .exited(2) && bad.stderr.contains("--attach takes no runtime command"), "\(bad.stderr)")
    }
}
