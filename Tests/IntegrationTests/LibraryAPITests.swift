// The test-library API (issue 15): a serve YAML file as the simulator's options, the event stream's waiting helpers,
// a shutdown with a reason and its outcome, and spawning processes for an attached function.

import Foundation
import LambdaSim
import Testing

@Suite("Library API", .serialized)
struct LibraryAPITests {
    /// The bundled serve configuration loads as options (every key honoured: limits, provisioned concurrency,
    /// extensions, environment), and its bash function answers through a scoped simulator; a broken file is an
    /// error naming the file, line and key.
    @Test(.timeLimit(.minutes(1)))
    func serveConfigurationAsOptions() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["LAMBDA_SIM_PYTHON"] = TestPaths.python
        let configuration = try SimulatorConfiguration.load(
            file: TestPaths.repositoryRoot + "/Config/serve.yaml", environment: environment)
        #expect(configuration.functions.map(\.name) == ["hello-bash", "hello-python"])
        #expect(configuration.account.concurrency == 1000 && configuration.port == 9000)
        let bash = try #require(configuration.functions.first)
        #expect(bash.reservedConcurrency == 10 && bash.extensionsDirectory?.hasSuffix("Config/extensions") == true)
        #expect(configuration.functions[1].provisionedConcurrency == 1)
        #expect(
            configuration.functions[1].inheritedEnvironment.contains { $0 == ("LAMBDA_SIM_PYTHON", TestPaths.python) })

        try await withSimulator(configuration) { simulator in
            #expect(simulator.port != 9000)
            let response = try await simulator.invoke(function: "hello-bash", payload: Array(#"{"name":"yaml"}"#.utf8))
            #expect(response.status == 200 && response.text.contains("yaml"), "\(response.text)")
        }

        #expect(throws: SimulatorConfiguration.Error.self) {
            _ = try SimulatorConfiguration.parse("functions:\n  f:\n    command: [x]\n    memorySize: 64\n")
        }
        do {
            _ = try SimulatorConfiguration.parse(
                "functions:\n  f:\n    command: [x]\n    memorySize: 64\n", file: "f.yaml")
        } catch {
            #expect(error.line == 4 && error.keyPath == "functions.f.memorySize" && error.file == "f.yaml")
            #expect(error.description.hasPrefix("f.yaml:4: functions.f.memorySize: "))
        }
    }

    /// The stream's helpers: N sandboxes started, the next REPORT, a telemetry type, and a wait that gives up with
    /// the time it waited, or when the simulator stops.
    @Test(.timeLimit(.minutes(1)))
    func waitingHelpers() async throws {
        let events = SimulatorEventStream()
        let simulator = try await Simulator.start(
            functions: [TestFunctions.fixture(maxConcurrency: 2)], port: 0, events: events)
        async let first = simulator.invoke(function: "fn", payload: Array(#"{"sleepMs":300}"#.utf8))
        async let second = simulator.invoke(function: "fn", payload: Array(#"{"sleepMs":300}"#.utf8))
        let started = try await events.sandboxesStarted(2, function: "fn")
        #expect(Set(started).count == 2)
        let (requestID, report) = try await events.nextReport(function: "fn")
        #expect(report.durationMilliseconds >= 300 && report.initDurationMilliseconds != nil)
        #expect([try await first.requestID, try await second.requestID].contains(requestID))
        let done = try await events.telemetry(.report, function: "fn")
        #expect(done.requestID != requestID && done.telemetryType == .report)

        await #expect(throws: SimulatorEventStream.WaitError.timedOut(waitingFor: "REPORT", after: .milliseconds(200)))
        {
            _ = try await events.nextReport(timeout: .milliseconds(200))
        }
        await simulator.stop()
        await #expect(throws: SimulatorEventStream.WaitError.ended(waitingFor: "REPORT")) {
            _ = try await events.nextReport()
        }
    }

    /// Cancellation: an invoke cancelled at 0.3 s of a 3 s invoke throws `CancellationError` at once (it returned
    /// success at 3 s before), and a wait cancelled at 0.3 s throws it at once rather than at its 8 s timeout.
    @Test(.timeLimit(.minutes(1)))
    func cancellationEndsInvokesAndWaits() async throws {
        let events = SimulatorEventStream()
        try await withSimulator(functions: [TestFunctions.fixture()], events: events) { simulator in
            let clock = ContinuousClock()
            var start = clock.now
            let invoke = Task { try await simulator.invoke(function: "fn", payload: Array(#"{"sleepMs":3000}"#.utf8)) }
            try await Task.sleep(for: .milliseconds(300))
            invoke.cancel()
            await #expect(throws: CancellationError.self) { _ = try await invoke.value }
            #expect(clock.now - start < .seconds(1), "the cancelled invoke ended after \(clock.now - start)")

            start = clock.now
            let wait = Task { try await events.nextReport(function: "nothing", timeout: .seconds(8)) }
            try await Task.sleep(for: .milliseconds(300))
            wait.cancel()
            await #expect(throws: CancellationError.self) { _ = try await wait.value }
            #expect(clock.now - start < .seconds(1), "the cancelled wait ended after \(clock.now - start)")
            // The simulator still answers.
            let after = try await simulator.invoke(function: "fn", payload: Array(#"{"a":1}"#.utf8))
            #expect(after.status == 200)
        }
    }

    /// Waits look back: after waiting for an invoke's REPORT, a wait for the `platform.runtimeDone` that came before
    /// it finds that event at once (it timed out after 30 s before), and a matched event is not found twice.
    @Test(.timeLimit(.minutes(1)))
    func waitsLookBackOnEventsReadPast() async throws {
        let events = SimulatorEventStream()
        try await withSimulator(functions: [TestFunctions.fixture()], events: events) { simulator in
            let response = try await simulator.invoke(function: "fn", payload: Array(#"{"a":1}"#.utf8))
            let requestID = try #require(response.requestID)
            let report = try await events.report(for: requestID)
            #expect(report.durationMilliseconds >= 0)
            let done = try await events.telemetry(.runtimeDone, timeout: .seconds(2))
            #expect(done.requestID == requestID)
            await #expect(throws: SimulatorEventStream.WaitError.self) {
                _ = try await events.telemetry(.runtimeDone, timeout: .milliseconds(300))
            }
        }
    }

    /// The look-back is bounded: after waits read past more than `lookBackBytes` of events (six 200 KB output
    /// lines), the oldest event read past (the first invoke's `platform.runtimeDone`) is forgotten while the latest
    /// is still found.
    @Test(.timeLimit(.minutes(1)))
    func lookBackIsBounded() async throws {
        let events = SimulatorEventStream()
        try await withSimulator(functions: [TestFunctions.fixture()], events: events) { simulator in
            let first = try #require(try await simulator.invoke(function: "fn", payload: #"{"a":1}"#).requestID)
            let line = String(repeating: "x", count: 200_000)
            var last = ""
            for _ in 0..<6 {
                last = try #require(
                    try await simulator.invoke(function: "fn", payload: #"{"print":"\#(line)"}"#).requestID)
            }
            _ = try await events.report(for: last)
            func runtimeDone(_ id: String) -> (SimulatorEvent) -> Bool {
                { event in
                    guard event.requestID == id, case .runtimeDone = event.kind else { return false }
                    return true
                }
            }
            _ = try await events.first(timeout: .seconds(1), "latest runtimeDone", where: runtimeDone(last))
            await #expect(throws: SimulatorEventStream.WaitError.self) {
                _ = try await events.first(timeout: .milliseconds(300), "first runtimeDone", where: runtimeDone(first))
            }
        }
    }

    /// Iterating a stream ends (the loop finishes) as soon as the iterating task is cancelled, not when the simulator
    /// stops.
    @Test(.timeLimit(.minutes(1)))
    func cancellationEndsIteration() async throws {
        let events = SimulatorEventStream()
        try await withSimulator(functions: [TestFunctions.fixture()], events: events) { simulator in
            _ = try await simulator.invoke(function: "fn", payload: #"{"a":1}"#)
            let reader = Task {
                var count = 0
                for await _ in events { count += 1 }
                return count
            }
            try await Task.sleep(for: .milliseconds(300))
            let clock = ContinuousClock()
            let start = clock.now
            reader.cancel()
            let count = await reader.value
            #expect(count > 0 && clock.now - start < .seconds(1), "\(count) events, ended after \(clock.now - start)")
        }
    }

    /// The closed sets of events are enums: an asynchronous invoke ends as `.asyncResult(condition: .success,
    /// attempts: 1)`, and a failing one, with no retries, as `.retriesExhausted`.
    @Test(.timeLimit(.minutes(1)))
    func asynchronousResultsAreTyped() async throws {
        var function = TestFunctions.fixture()
        function.maximumRetryAttempts = 0
        let events = SimulatorEventStream()
        try await withSimulator(functions: [function], events: events) { simulator in
            let accepted = try await simulator.invoke(function: "fn", payload: #"{"a":1}"#, type: .event)
            let failed = try await simulator.invoke(function: "fn", payload: #"{"error":"My.Error"}"#, type: .event)
            for (response, condition) in [
                (accepted, SimulatorEvent.AsyncCondition.success), (failed, .retriesExhausted),
            ] {
                let id = try #require(response.requestID)
                let result = try await events.first("asyncResult of \(id)") {
                    guard $0.requestID == id, case .asyncResult = $0.kind else { return false }
                    return true
                }
                #expect(result.kind == .asyncResult(condition: condition, attempts: 1))
            }
        }
    }

    /// An exit status reads in Lambda's (Go's) wording: `exit status N` for a code, `signal: name` for a signal.
    @Test func exitStatusWording() {
        #expect(Simulator.ExitStatus.exited(code: 0).description == "exit status 0")
        #expect(Simulator.ExitStatus.exited(code: 255).description == "exit status 255")
        #expect(Simulator.ExitStatus.signaled(SIGKILL).description == "signal: killed")
        #expect(Simulator.ExitStatus.signaled(SIGTERM).description == "signal: terminated")
    }

    /// `stop(reason: .timeout)`: the runtime gets SIGTERM and its share of the deadline, then the extension gets
    /// SHUTDOWN with reason `timeout` and exits within the deadline; the outcome says both ended in time.
    @Test(.timeLimit(.minutes(1)))
    func shutdownWithAReason() async throws {
        var function = FunctionOptions(
            name: "fn", command: [TestPaths.fixtureRuntime], codeDirectory: TestPaths.binDirectory,
            inheritedEnvironment: TestPaths.inheritedEnvironment,
            extensionsDirectory: TestPaths.repositoryRoot + "/Config/extensions")
        function.freezeMode = .none
        let logs = LogWatcher()
        let simulator = try await Simulator.start(functions: [function], port: 0, console: { logs.append($0) })
        #expect(try await simulator.invoke(function: "fn", payload: Array("{}".utf8)).status == 200)
        let outcome = await simulator.stop(reason: .timeout)
        let sandbox = try #require(outcome.sandboxes.first)
        #expect(sandbox.function == "fn")
        let byName = Dictionary(uniqueKeysWithValues: sandbox.processes.map { ($0.name, $0) })
        #expect(byName["invoke-logger"]?.exitedInTime == true, "\(sandbox.processes)")
        #expect(byName["invoke-logger"]?.status == .exited(code: 0))
        #expect(byName["runtime"]?.exitedInTime == true, "\(sandbox.processes)")
        #expect(logs.texts.contains("SHUTDOWN reason=timeout"), "\(logs.texts)")

        // Without extensions, a reason other than spindown gets no SIGTERM grace: the runtime is killed.
        let alone = try await Simulator.start(functions: [TestFunctions.fixture()], port: 0)
        #expect(try await alone.invoke(function: "fn", payload: Array("{}".utf8)).status == 200)
        let killed = await alone.stop(reason: .failure)
        let runtime = try #require(killed.sandboxes.first?.processes.first)
        #expect(
            runtime.name == "runtime" && !runtime.exitedInTime && runtime.status == .signaled(SIGKILL)
                && runtime.status.description == "signal: killed", "\(runtime)")
    }

    /// The outcome is the final shutdown's alone: a reset before it (here a timeout, whose runtime was killed) is
    /// neither listed nor counted against the runtime that then stopped in time.
    @Test(.timeLimit(.minutes(1)))
    func outcomeOfTheLastShutdownOnly() async throws {
        let simulator = try await Simulator.start(functions: [TestFunctions.fixture(timeoutSeconds: 1)], port: 0)
        let timedOut = try await simulator.invoke(function: "fn", payload: Array(#"{"sleepMs":3000}"#.utf8))
        #expect(timedOut.functionErrorType == "Sandbox.Timedout")
        #expect(try await simulator.invoke(function: "fn", payload: Array("{}".utf8)).status == 200)
        let outcome = await simulator.stop(reason: .spindown)
        let processes = try #require(outcome.sandboxes.first?.processes)
        #expect(processes.count == 1, "\(processes)")
        #expect(processes.first?.name == "runtime" && processes.first?.exitedInTime == true, "\(processes)")
    }

    /// Spawning: only an attached function takes a runtime, only a named attached extension an extension; a
    /// spawned runtime that crashes fails the invoke as a launched one would (not a timeout).
    @Test(.timeLimit(.minutes(1)))
    func spawnRules() async throws {
        let attached = FunctionOptions(name: "att", command: [], codeDirectory: "/tmp", timeoutSeconds: 5)
        try await withSimulator(functions: [attached, TestFunctions.fixture()]) { simulator in
            await #expect(throws: Simulator.OptionError.self) {
                try await simulator.spawn(runtime: [TestPaths.fixtureRuntime], function: "fn")
            }
            await #expect(throws: Simulator.OptionError.self) {
                try await simulator.spawn(extension: ["/bin/true"], function: "att")
            }
            try await simulator.spawn(runtime: [TestPaths.fixtureRuntime], function: "att")
            let crashed = try await simulator.invoke(function: "att", payload: Array(#"{"exit":3}"#.utf8))
            #expect(crashed.functionErrorType == "Runtime.ExitError", "\(crashed.text)")
        }
    }

    /// A spawned process's handle: its pid is the sandbox's runtime, the environment given by name reaches it,
    /// `signal` reaches it (SIGKILL ends it, and the invoke in flight fails as a crash), `waitForExit` returns once
    /// it is gone, and a signal after that sends nothing.
    @Test(.timeLimit(.minutes(1)))
    func spawnedProcessHandle() async throws {
        let attached = FunctionOptions(name: "att", command: [], codeDirectory: "/tmp", timeoutSeconds: 10)
        try await withSimulator(functions: [attached]) { simulator in
            let environment = try #require(try await simulator.attachEnvironment(function: "att"))
            #expect(environment["AWS_LAMBDA_FUNCTION_NAME"] == "att" && environment["AWS_LAMBDA_RUNTIME_API"] != nil)
            let runtime = try await simulator.spawn(
                runtime: [TestPaths.fixtureRuntime], function: "att", environment: ["GREETING": "hello"])
            #expect(runtime.isRunning)
            let answer = try await simulator.invoke(function: "att", payload: #"{"env":"GREETING"}"#)
            #expect(answer.text.contains("hello"), "\(answer.text)")
            #expect(try await simulator.sandboxes().first?.pids.contains(runtime.pid) == true)

            let slow = Task { try await simulator.invoke(function: "att", payload: #"{"sleepMs":5000}"#) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(await runtime.signal(SIGKILL))
            try await runtime.waitForExit(timeout: .seconds(5))
            #expect(!runtime.isRunning)
            #expect(try await slow.value.functionErrorType == "Runtime.ExitError")
            #expect(await runtime.signal(SIGTERM) == false)
        }
    }

    /// A handle outlives its simulator: once `stop` has ended the process, the handle says so and a signal sends
    /// nothing (and returns at once rather than waiting on the stopped loop).
    @Test(.timeLimit(.minutes(1)))
    func spawnedProcessAfterStop() async throws {
        let attached = FunctionOptions(name: "att", command: [], codeDirectory: "/tmp", timeoutSeconds: 10)
        let runtime = try await withSimulator(functions: [attached]) { simulator in
            let runtime = try await simulator.spawn(runtime: [TestPaths.fixtureRuntime], function: "att")
            #expect(try await simulator.invoke(function: "att", payload: #"{"a":1}"#).status == 200)
            return runtime
        }
        try await runtime.waitForExit(timeout: .seconds(5))
        #expect(await runtime.signal(SIGTERM) == false)
    }

    /// Every call that needs the loop, made after `stop`, throws `StoppedError` at once instead of waiting on the
    /// ended loop; a signal wait under way ends with it too, and a second `stop` returns the first one's outcome.
    @Test(.timeLimit(.minutes(1)))
    func callsAfterStopThrow() async throws {
        let function = FunctionOptions(name: "echo", command: [TestPaths.fixtureRuntime], codeDirectory: "/tmp")
        let simulator = try await Simulator.start(functions: [function], port: 0)
        let signalWait = Task { try await simulator.waitForSignal() }
        #expect(try await simulator.invoke(function: "echo", payload: "{}").status == 200)
        let outcome = await simulator.stop(reason: .spindown)
        #expect(outcome.sandboxes.count == 1)
        func stopped(_ operation: String) -> @Sendable (any Error) -> Bool {
            { ($0 as? Simulator.StoppedError)?.operation == operation }
        }
        await #expect(performing: { try await signalWait.value }, throws: stopped("waitForSignal"))
        await #expect(
            performing: { try await simulator.invoke(function: "echo", payload: "{}") }, throws: stopped("invoke"))
        await #expect(performing: { try await simulator.sandboxes() }, throws: stopped("sandboxes"))
        await #expect(throws: Simulator.StoppedError.self) { try await simulator.isReady() }
        await #expect(throws: Simulator.StoppedError.self) { try await simulator.freezeSummary() }
        await #expect(throws: Simulator.StoppedError.self) { try await simulator.freezeSummary(function: "echo") }
        await #expect(throws: Simulator.StoppedError.self) { try await simulator.events() }
        await #expect(throws: Simulator.StoppedError.self) { try await simulator.attachEnvironment(function: "echo") }
        await #expect(throws: Simulator.StoppedError.self) {
            try await simulator.spawn(runtime: [TestPaths.fixtureRuntime], function: "echo")
        }
        await #expect(throws: Simulator.StoppedError.self) { try await simulator.watch([]) }
        await #expect(throws: Simulator.StoppedError.self) { try await simulator.waitForSignal() }
        #expect(await simulator.stop(reason: .failure) == outcome)
    }

}
