// Platform-detected failures: runtime crashes, timeouts, bad bootstraps and init errors
// (lambda-behaviour.md §1.5, §1.7, §6.6, §6.8; design.md §2.2 for the timeout body).

import Foundation
import LambdaSim
import Testing

@Suite("Platform failures")
struct FailureTests {
    /// A runtime that exits with status 3 mid-invoke fails that invoke with Runtime.ExitError
    /// "exit status 3", and the next invoke cold-starts a fresh runtime and succeeds.
    @Test(.timeLimit(.minutes(1)))
    func exitMidInvoke() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let crash = try await sim.invoke("fn", payload: #"{"exit":3}"#)
            let id = try #require(crash.headers["x-amzn-RequestId"])
            #expect(crash.status == 200)
            #expect(crash.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(
                try stringObject(crash.body) == [
                    "errorMessage": "RequestId: \(id) Error: Runtime exited with error: exit status 3",
                    "errorType": "Runtime.ExitError",
                ])
            let report = try #require(await sim.logs.report(for: id))
            #expect(report.hasSuffix("\tStatus: error\tError Type: Runtime.ExitError\t"), "\(report)")

            let next = try await sim.invoke("fn", payload: #"{"again":1}"#)
            #expect(next.status == 200)
            #expect(!next.headers.contains("X-Amz-Function-Error"))
            #expect(text(next) == #"{"again":1}"#)
            #expect(sim.logs.texts.filter { $0.hasPrefix("INIT_START ") }.count == 2)
        }
    }

    /// A runtime killed by SIGKILL mid-invoke fails it with Runtime.ExitError "signal: killed"; the next invoke
    /// cold-starts and succeeds.
    @Test(.timeLimit(.minutes(1)))
    func killedMidInvoke() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let crash = try await sim.invoke("fn", payload: #"{"signal":9}"#)
            let id = try #require(crash.headers["x-amzn-RequestId"])
            #expect(crash.status == 200)
            #expect(crash.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(
                try stringObject(crash.body) == [
                    "errorMessage": "RequestId: \(id) Error: Runtime exited with error: signal: killed",
                    "errorType": "Runtime.ExitError",
                ])
            let next = try await sim.invoke("fn", payload: #"{"again":2}"#)
            #expect(next.status == 200)
            #expect(text(next) == #"{"again":2}"#)
            #expect(sim.logs.texts.filter { $0.hasPrefix("INIT_START ") }.count == 2)
        }
    }

    /// An invoke running past a 1 s timeout answers 200 + Unhandled with Sandbox.Timedout "Task timed out after
    /// 1.00 seconds" without waiting for the runtime, logs the timeout line and `Status: timeout` on REPORT, and
    /// the next invoke works.
    @Test(.timeLimit(.minutes(1)))
    func timeout() async throws {
        try await withSimulator([TestFunctions.fixture(timeoutSeconds: 1)]) { sim in
            let clock = ContinuousClock()
            let started = clock.now
            let response = try await sim.invoke("fn", payload: #"{"sleepMs":5000}"#)
            let elapsed = clock.now - started
            let id = try #require(response.headers["x-amzn-RequestId"])
            #expect(response.status == 200)
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(
                try stringObject(response.body) == [
                    "errorMessage": "RequestId: \(id) Error: Task timed out after 1.00 seconds",
                    "errorType": "Sandbox.Timedout",
                ])
            #expect(elapsed >= .milliseconds(950) && elapsed < .milliseconds(4_000), "answered after \(elapsed)")

            let report = try #require(await sim.logs.report(for: id))
            #expect(report.contains("\tDuration: 1000.00 ms\t"), "\(report)")
            #expect(report.hasSuffix("\tStatus: timeout\t"), "\(report)")
            let timedOut = #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ([0-9a-f-]{36}) Task timed out after 1\.00 seconds/#
            #expect(sim.logs.texts.contains { $0.wholeMatch(of: timedOut)?.1 == Substring(id) })

            let next = try await sim.invoke("fn", payload: #"{"sleepMs":1}"#)
            #expect(next.status == 200)
            #expect(!next.headers.contains("X-Amz-Function-Error"))
            #expect(text(next) == #"{"sleepMs":1}"#)
        }
    }

    /// A bootstrap that does not exist fails the invoke with Runtime.InvalidEntrypoint, also on REPORT.
    @Test(.timeLimit(.minutes(1)))
    func missingBootstrap() async throws {
        let function = FunctionOptions(
            name: "fn", command: ["/nonexistent/lambda-sim-it/bootstrap"], codeDirectory: TestPaths.binDirectory,
            inheritedEnvironment: TestPaths.inheritedEnvironment)
        try await withSimulator([function]) { sim in
            try await expectInvalidEntrypoint(sim)
        }
    }

    /// A bootstrap file without execute permission fails the invoke with Runtime.InvalidEntrypoint.
    @Test(.timeLimit(.minutes(1)))
    func nonExecutableBootstrap() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bootstrap = directory + "/bootstrap"
        try "#!/bin/sh\nexit 0\n".write(toFile: bootstrap, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: bootstrap)
        let function = FunctionOptions(
            name: "fn", command: [bootstrap], codeDirectory: directory,
            inheritedEnvironment: TestPaths.inheritedEnvironment)
        try await withSimulator([function]) { sim in
            try await expectInvalidEntrypoint(sim)
        }
    }

    /// An executable script without a `#!` line (exec fails with ENOEXEC) fails the invoke with
    /// Runtime.InvalidEntrypoint "fork/exec …: exec format error", as Lambda's Go launcher words it.
    @Test(.timeLimit(.minutes(1)))
    func scriptWithoutShebang() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bootstrap = directory + "/bootstrap"
        try "echo no interpreter line\nexit 0\n".write(toFile: bootstrap, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bootstrap)
        let function = FunctionOptions(
            name: "fn", command: [bootstrap], codeDirectory: directory,
            inheritedEnvironment: TestPaths.inheritedEnvironment)
        try await withSimulator([function]) { sim in
            let (id, body) = try await expectInitFailure(sim, errorType: "Runtime.InvalidEntrypoint")
            #expect(body["errorMessage"] == "RequestId: \(id) Error: fork/exec \(bootstrap): exec format error")
        }
    }

    /// A code directory that does not exist fails the invoke with Runtime.InvalidWorkingDir naming the directory
    /// (not the bootstrap, which exists).
    @Test(.timeLimit(.minutes(1)))
    func missingCodeDirectory() async throws {
        let missing = try makeTemporaryDirectory() + "/gone"
        let function = FunctionOptions(
            name: "fn", command: [TestPaths.fixtureRuntime], codeDirectory: missing,
            inheritedEnvironment: TestPaths.inheritedEnvironment)
        try await withSimulator([function]) { sim in
            let (id, body) = try await expectInitFailure(sim, errorType: "Runtime.InvalidWorkingDir")
            #expect(body["errorMessage"] == "RequestId: \(id) Error: chdir \(missing): no such file or directory")
        }
    }

    /// A closed-set flag of `run` (`--freeze`, `--log-format`, `--runtime-api-access`, `--log-level`) with a value
    /// outside its set stops the command before it starts (exit 2), naming the flag, the value and every value it
    /// takes.
    @Test(.timeLimit(.minutes(1)))
    func closedSetFlagsRefuseOtherValues() async throws {
        let cases = [
            ("--freeze", "bogus", "'none', 'signal' or 'cgroup'"), ("--log-format", "xml", "'text' and 'json'"),
            ("--runtime-api-access", "all", "'sandbox' and 'any'"), ("--log-level", "verbose", "- FATAL"),
        ]
        for (flag, value, values) in cases {
            let run = try await BackgroundProcess.start([
                FreezePaths.lambdaSim, "run", "--port", "0", flag, value, "--", TestPaths.fixtureRuntime,
            ])
            #expect(try await run.waitForExit() == .exited(2))
            #expect(run.stderr.contains("The value '\(value)' is invalid for '\(flag) "), "\(run.stderr)")
            #expect(run.stderr.contains(values), "\(run.stderr)")
        }
    }

    /// `run --code-dir` and serve's `codeUri` naming no directory stop the command before it starts, naming the
    /// flag or key and the path.
    @Test(.timeLimit(.minutes(1)))
    func missingCodeDirectoryIsAUsageError() async throws {
        let directory = try makeTemporaryDirectory()
        let run = try await BackgroundProcess.start([
            FreezePaths.lambdaSim, "run", "--port", "0", "--code-dir", directory + "/gone", "--",
            TestPaths.fixtureRuntime,
        ])
        #expect(try await run.waitForExit() == .exited(2))
        #expect(run.stderr.contains("--code-dir \(directory)/gone is not a directory"), "\(run.stderr)")

        let config = directory + "/serve.yaml"
        try "functions:\n  fn:\n    command: [x]\n    codeUri: gone\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let serve = try await BackgroundProcess.start([FreezePaths.lambdaSim, "serve", "--config", config])
        #expect(try await serve.waitForExit() == .exited(2))
        #expect(
            serve.stderr.contains("\(config):4: functions.fn.codeUri: codeUri \(directory)/gone is not a directory"),
            "\(serve.stderr)")
    }

    private func expectInvalidEntrypoint(_ sim: SimHarness) async throws {
        _ = try await expectInitFailure(sim, errorType: "Runtime.InvalidEntrypoint")
    }

    /// Invokes `fn` once, expects it to fail with `errorType` (body and REPORT), and returns its request id and body.
    private func expectInitFailure(
        _ sim: SimHarness, errorType: String
    ) async throws -> (String, [String: String]) {
        let response = try await sim.invoke("fn", payload: "{}")
        let id = try #require(response.headers["x-amzn-RequestId"])
        #expect(response.status == 200)
        #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
        let body = try stringObject(response.body)
        #expect(body["errorType"] == errorType, "\(body)")
        let report = try #require(await sim.logs.report(for: id))
        #expect(report.hasSuffix("\tStatus: error\tError Type: \(errorType)\t"), "\(report)")
        return (id, body)
    }

    /// A runtime posting /init/error fails the init (INIT_REPORT Phase: init), the init is retried inside the invoke
    /// (INIT_REPORT Phase: invoke), and the invoker gets 200 + Unhandled with the runtime's init error body.
    @Test(.timeLimit(.minutes(1)))
    func initError() async throws {
        let function = TestFunctions.fixture(environment: [("FIXTURE_INIT_ERROR", "Custom.InitFailed")])
        try await withSimulator([function]) { sim in
            let response = try await sim.invoke("fn", payload: "{}")
            let id = try #require(response.headers["x-amzn-RequestId"])
            #expect(response.status == 200)
            #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(text(response) == #"{"errorMessage":"fixture init error","errorType":"Custom.InitFailed"}"#)

            _ = try #require(await sim.logs.report(for: id))
            let texts = sim.logs.texts
            let initReport =
                #/INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: (init|invoke)\tStatus: error\tError Type: .+/#
            let phases = texts.compactMap { $0.wholeMatch(of: initReport).map { String($0.1) } }
            #expect(phases == ["init", "invoke"], "\(texts)")
            let invokePhase = try #require(texts.firstIndex { $0.contains("\tPhase: invoke\t") })
            let start = try #require(texts.firstIndex(of: "START RequestId: \(id) Version: $LATEST"))
            #expect(invokePhase < start)
        }
    }
}
