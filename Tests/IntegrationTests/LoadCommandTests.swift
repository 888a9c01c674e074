// `lambda-sim load` run as a user runs it: the CLI against real runtimes (the fixture, awslambdaric), its JSON
// result, its report and its exit status.

import Foundation
import SimCore
import SimUV
import Testing

@Suite("lambda-sim load", .serialized)
struct LoadCommandTests {
    private static let lambdaSim = TestPaths.binDirectory + "/lambda-sim"

    /// Runs `lambda-sim load ARGS --json FILE` in a fresh directory and returns the exit status, the output and
    /// the parsed JSON (nil when no file was written).
    private func load(_ arguments: [String], files: [String: String] = [:]) async throws
        -> (status: SimCore.ExitStatus, stdout: String, stderr: String, json: JSONValue?, directory: String)
    {
        let directory = try makeTemporaryDirectory()
        for (name, text) in files { try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
        let json = directory + "/result.json"
        let result = try await runProcess(
            // The options go before the arguments, whose `--` ends them.
            [Self.lambdaSim, "load", "--json", json, "--quiet"]
                + arguments.map { $0.replacingOccurrences(of: "DIR", with: directory) },
            workingDirectory: directory)
        let document = FileManager.default.contents(atPath: json).flatMap { try? JSON.parse(Array($0)) }
        return (result.status, result.stdout, result.stderr, document, directory)
    }

    private func int(_ value: JSONValue?) -> Int? {
        if case .number(let text)? = value { return Int(text) }
        return nil
    }

    private func double(_ value: JSONValue?) -> Double? {
        if case .number(let text)? = value { return Double(text) }
        return nil
    }

    private func config(reserved: Int) -> String {
        """
        account:
          concurrency: 100
        functions:
          busy:
            command: [\(TestPaths.fixtureRuntime)]
            codeUri: /tmp
            timeout: 10
            reservedConcurrency: \(reserved)
            freeze: none
        """
    }

    /// A closed model of 6 callers against a function reserved to 2 sandboxes: every invoke is counted once,
    /// as a success or a throttle (429), and the cold starts are exactly the sandboxes the simulator started.
    @Test(.timeLimit(.minutes(2)))
    func throttlesAndColdStartsAreExact() async throws {
        let run = try await load(
            [
                "busy", "--config", "DIR/load.yaml", "--concurrency", "6", "--requests", "120", "--payload",
                #"{"sleepMs":20}"#,
            ], files: ["load.yaml": config(reserved: 2)])
        #expect(run.status == SimCore.ExitStatus.exited(0), "\(run.stderr)")
        let json = try #require(run.json, "\(run.stdout) \(run.stderr)")
        #expect(int(json["requests"]) == 120)
        let succeeded = try #require(int(json["succeeded"]))
        let throttled = try #require(int(json["throttled"]))
        #expect(succeeded + throttled == 120, "\(json.serialized)")
        #expect(throttled > 0)
        #expect(int(json["otherErrors"]) == 0 && int(json["functionErrors"]) == 0)
        let cold = try #require(int(json["coldStarts"]))
        #expect(cold >= 2)
        #expect(cold == int(json["sandboxesStarted"]), "\(json.serialized)")
        #expect(json["model"]?.stringValue == "closed" && json["target"]?.stringValue == "config")
        #expect(run.stdout.contains("throttled"), "\(run.stdout)")
    }

    /// The open model starts invokes on schedule whatever the answers do: a function slower than its capacity
    /// (2 sandboxes, 100 ms each: 20 invokes/s) still gets 50 invokes/s started, and the queueing shows as
    /// latency measured from each scheduled start, not as fewer requests.
    @Test(.timeLimit(.minutes(2)))
    func openModelKeepsItsSchedule() async throws {
        let run = try await load([
            "fn", "--rate", "50", "--duration", "2", "--payload", #"{"sleepMs":100}"#, "--max-concurrency", "2",
            "--freeze", "none", "--", TestPaths.fixtureRuntime,
        ])
        #expect(run.status == SimCore.ExitStatus.exited(0), "\(run.stderr)")
        let json = try #require(run.json)
        #expect(int(json["requests"]) == 100)
        #expect(int(json["succeeded"]) == 100)
        #expect(json["model"]?.stringValue == "open" && json["target"]?.stringValue == "command")
        // 100 invokes at 20/s take ~5 s: the last ones waited ~3 s beyond their scheduled start.
        let p99 = try #require(double(json["latencyMs"]?["p99"]))
        #expect(p99 > 2_000, "p99 \(p99) ms")
        let duration = try #require(double(json["durationSeconds"]))
        #expect(duration > 4, "\(duration)")
        guard case .array(let seconds) = json["timeline"] else {
            Issue.record("no timeline")
            return
        }
        // Bins of 100 ms (the run is under 10 s): 5 invokes due in each.
        #expect(double(json["binSeconds"]) == 0.1)
        #expect(seconds.prefix(20).map { int($0["requests"]) } == Array(repeating: 5, count: 20))
        #expect(int(json["coldStarts"]) == 2)
        // One connection per invoke in flight at most: queued invokes wait on their own connection.
        let opened = try #require(int(json["connectionsOpened"]))
        #expect(opened > 2 && opened <= int(json["peakClientInFlight"]) ?? 0, "\(json.serialized.prefix(600))")
    }

    /// A short run's sandboxes are counted from the simulator's events: the 8 callers' sandboxes appear in the
    /// first 100 ms bin, the peak is at least the cold starts, and busy ones are counted while invokes run.
    @Test(.timeLimit(.minutes(2)))
    func shortRunCountsSandboxes() async throws {
        let run = try await load([
            "fn", "--concurrency", "8", "--requests", "400", "--max-concurrency", "8", "--freeze", "none", "--",
            TestPaths.fixtureRuntime,
        ])
        #expect(run.status == SimCore.ExitStatus.exited(0), "\(run.stderr)")
        let json = try #require(run.json)
        #expect(double(json["binSeconds"]) == 0.1)
        let cold = try #require(int(json["coldStarts"]))
        #expect(cold == 8)
        #expect((int(json["peakSandboxes"]) ?? 0) >= cold, "\(run.stdout)")
        guard case .array(let bins) = json["timeline"], let first = bins.first else {
            Issue.record("no timeline")
            return
        }
        #expect(int(first["sandboxes"]) == 8, "\(first.serialized)")
        #expect(int(first["initializingSandboxes"]) ?? 0 > 0, "\(first.serialized)")
        #expect(bins.allSatisfy { (int($0["sandboxes"]) ?? 0) == 8 }, "\(json["timeline"]!.serialized)")
        #expect(bins.contains { (int($0["busySandboxes"]) ?? 0) > 0 })
        #expect(run.stdout.contains("peak sandboxes ........ 8"), "\(run.stdout)")
    }

    /// `--compare-freeze none,signal` runs the same load once per mode on a fresh simulator and writes
    /// `{"runs": [...]}` in that order, with each run's freeze figures; the report overlays them; `--out` lines
    /// say their run's mode.
    @Test(.timeLimit(.minutes(2)))
    func compareFreeze() async throws {
        let run = try await load([
            "fn", "--compare-freeze", "none,signal", "--rate", "100", "--duration", "1", "--report", "DIR/report.html",
            "--out", "DIR/invokes.ndjson", "--", TestPaths.fixtureRuntime,
        ])
        #expect(run.status == SimCore.ExitStatus.exited(0), "\(run.stderr)")
        guard case .array(let runs) = try #require(run.json)["runs"] else {
            Issue.record("no runs")
            return
        }
        #expect(runs.count == 2)
        #expect(runs.map { $0["freeze"]?["mode"]?.stringValue } == ["none", "signal"])
        #expect(runs[0]["freeze"]?["freezeP50Us"] == JSONValue.null)
        #expect((double(runs[1]["freeze"]?["freezeP50Us"]) ?? 0) > 0)
        #expect(runs.allSatisfy { int($0["requests"]) == 100 })
        let html = try String(contentsOfFile: run.directory + "/report.html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("freeze signal") && !html.contains("<script"))
        // --out says which run each invoke belongs to.
        let lines = try String(contentsOfFile: run.directory + "/invokes.ndjson", encoding: .utf8)
            .split(separator: "\n").map { try JSON.parse(Array($0.utf8)) }
        #expect(
            lines.map { $0["freeze"]?.stringValue ?? "" } == Array(repeating: "none", count: 100)
                + Array(repeating: "signal", count: 100))
    }

    /// `--fail-on` turns a crossed threshold into exit status 1 and names it; one that holds not exits 0.
    @Test(.timeLimit(.minutes(1)))
    func failOn() async throws {
        let crossed = try await load([
            "fn", "--concurrency", "1", "--requests", "20", "--fail-on", "p50>0.001ms,throttled>0", "--",
            TestPaths.fixtureRuntime,
        ])
        #expect(crossed.status == SimCore.ExitStatus.exited(1))
        #expect(crossed.stderr.contains("failed: p50>0.001ms"), "\(crossed.stderr)")
        #expect(!crossed.stderr.contains("throttled>0"))
        #expect(crossed.json != nil, "the result is written before the verdict")
        let passed = try await load([
            "fn", "--concurrency", "1", "--requests", "20", "--fail-on", "errors>0,p99>5s", "--",
            TestPaths.fixtureRuntime,
        ])
        #expect(passed.status == SimCore.ExitStatus.exited(0), "\(passed.stderr)")
    }

    /// A run whose every invoke timed out fails its latency thresholds with "no data" (it passed them before);
    /// the summary ends with one ✓/✗ line per condition; client timeouts fire within a few ms of their deadline
    /// (ten 50 ms timeouts took 2.5 s when they were checked every 250 ms).
    @Test(.timeLimit(.minutes(1)))
    func thresholdsWithoutDataFail() async throws {
        let run = try await load([
            "fn", "--concurrency", "1", "--requests", "10", "--client-timeout", "0.05", "--payload",
            #"{"sleepMs":300}"#,
            "--max-concurrency", "10", "--freeze", "none", "--fail-on", "p99>100ms,throttled>0", "--",
            TestPaths.fixtureRuntime,
        ])
        #expect(run.status == SimCore.ExitStatus.exited(1), "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("✗ p99>100ms") && run.stdout.contains("no data (no invoke answered 200)"))
        #expect(run.stdout.contains("✓ throttled>0") && run.stdout.contains("throttled 0, limit 0"), "\(run.stdout)")
        #expect(run.stderr.contains("failed: p99>100ms (no data)"), "\(run.stderr)")
        let json = try #require(run.json)
        #expect(int(json["otherErrors"]) == 10)
        let duration = try #require(double(json["durationSeconds"]))
        #expect(duration < 1.2, "10 timeouts of 50 ms took \(duration) s")
    }

    /// `--json -` writes the JSON (and nothing else) to standard output and the summary to standard error, and
    /// creates no file named `-`; a target that is not a regular file (a symlink to this process's standard
    /// output, as /dev/stdout is) is written in place and stays a symlink. Every result says `interrupted` and
    /// `peakSandboxes`.
    @Test(.timeLimit(.minutes(1)))
    func jsonToStandardOutput() async throws {
        let directory = try makeTemporaryDirectory()
        let base = [Self.lambdaSim, "load", "fn", "--concurrency", "1", "--requests", "5", "--quiet"]
        let toDash = try await runProcess(
            base + ["--json", "-", "--", TestPaths.fixtureRuntime], workingDirectory: directory)
        #expect(toDash.status == SimCore.ExitStatus.exited(0), "\(toDash.stderr)")
        let document = try JSON.parse(Array(toDash.stdout.utf8))
        #expect(int(document["requests"]) == 5 && document["interrupted"] == .bool(false))
        #expect(int(document["peakSandboxes"]) == 1, "\(toDash.stdout)")
        #expect(toDash.stderr.contains("requests ....") && !toDash.stdout.contains("requests ...."))
        #expect(!FileManager.default.fileExists(atPath: directory + "/-"))
        let linesToDash = try await runProcess(
            base + ["--out", "-", "--", TestPaths.fixtureRuntime], workingDirectory: directory)
        #expect(linesToDash.stdout.split(separator: "\n").count == 5, "\(linesToDash.stdout)")
        #expect(linesToDash.stderr.contains("requests ...."))
        let link = directory + "/stdout"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/proc/self/fd/1")
        let toLink = try await runProcess(
            base + ["--json", link, "--", TestPaths.fixtureRuntime], workingDirectory: directory)
        #expect(toLink.status == SimCore.ExitStatus.exited(0), "\(toLink.stderr)")
        #expect(toLink.stdout.contains("requests ....") && toLink.stdout.contains(#""requests":5"#))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "/proc/self/fd/1")
    }

    /// `--out` writes one JSON line per invoke, which agree with the JSON result: every invoke once, its times in
    /// order, its latency from its scheduled start, and the simulator's cold/warm verdict and sandbox id.
    @Test(.timeLimit(.minutes(1)))
    func invokeLines() async throws {
        let run = try await load([
            "fn", "--concurrency", "2", "--requests", "20", "--max-concurrency", "2", "--out", "DIR/invokes.ndjson",
            "--", TestPaths.fixtureRuntime,
        ])
        #expect(run.status == SimCore.ExitStatus.exited(0), "\(run.stderr)")
        let json = try #require(run.json)
        let text = try String(contentsOfFile: run.directory + "/invokes.ndjson", encoding: .utf8)
        let lines = try text.split(separator: "\n").map { try JSON.parse(Array($0.utf8)) }
        #expect(lines.count == 20)
        #expect(lines.allSatisfy { int($0["status"]) == 200 && $0["outcome"]?.stringValue == "succeeded" })
        #expect(lines.filter { $0["cold"] == .bool(true) }.count == int(json["coldStarts"]))
        #expect(Set(lines.compactMap { $0["sandbox"]?.stringValue }).count == 2, "\(text)")
        #expect(Set(lines.compactMap { $0["requestId"]?.stringValue }).count == 20)
        for line in lines {
            let (scheduled, start, end) = try (
                #require(double(line["scheduledMs"])), #require(double(line["startMs"])),
                #require(double(line["endMs"]))
            )
            #expect(scheduled <= start && start <= end)
            #expect(abs(try #require(double(line["latencyMs"])) - (end - scheduled)) < 0.01)
        }
    }

    /// `--baseline` prints and reports the differences to an earlier run, and relative conditions fail a run that
    /// regressed: 30 ms invokes against a baseline of instant ones grew p99 by far more than 10 %.
    @Test(.timeLimit(.minutes(1)))
    func baselineComparison() async throws {
        let fast = try await load(["fn", "--concurrency", "1", "--requests", "20", "--", TestPaths.fixtureRuntime])
        #expect(fast.status == SimCore.ExitStatus.exited(0), "\(fast.stderr)")
        let baseline = fast.directory + "/result.json"
        let slow = try await load([
            "fn", "--concurrency", "1", "--requests", "20", "--payload", #"{"sleepMs":30}"#, "--baseline", baseline,
            "--fail-on", "p99>+10%,throughput<-99%", "--", TestPaths.fixtureRuntime,
        ])
        #expect(slow.status == SimCore.ExitStatus.exited(1), "\(slow.stderr)")
        #expect(slow.stdout.contains("against the baseline \(baseline)"), "\(slow.stdout)")
        #expect(slow.stdout.contains("✗ p99>+10%") && slow.stdout.contains("✓ throughput<-99%"), "\(slow.stdout)")
        let json = try #require(slow.json)
        #expect(json["baseline"]?["file"]?.stringValue == baseline)
        let change = try #require(double(json["baseline"]?["differences"]?["p99"]?["change"]))
        #expect(change > 0.1, "\(json["baseline"]?.serialized ?? "")")
        let p99 = try #require(double(json["latencyMs"]?["p99"]))
        #expect(double(json["baseline"]?["differences"]?["p99"]?["current"]) == p99)
        // A relative condition without a baseline, and a baseline that is not a result, are refused first.
        let without = try await load([
            "fn", "--concurrency", "1", "--requests", "2", "--fail-on", "p99>+10%", "--", TestPaths.fixtureRuntime,
        ])
        #expect(without.status == SimCore.ExitStatus.exited(2) && without.stderr.contains("give --baseline FILE"))
        let notJSON = try await load([
            "fn", "--concurrency", "1", "--requests", "2", "--baseline", "/etc/hostname", "--",
            TestPaths.fixtureRuntime,
        ])
        #expect(notJSON.status == SimCore.ExitStatus.exited(2) && notJSON.stderr.contains("--baseline /etc/hostname"))
        #expect(notJSON.json == nil)
    }

    /// `Event` invokes are accounted as accepted = ran + still queued + dropped: with time to drain, all 200 ran
    /// before the simulator stopped (most were dropped silently before); with a short drain the rest are reported
    /// as still queued, not as successes.
    @Test(.timeLimit(.minutes(1)))
    func eventModeAccounting() async throws {
        func events(_ drain: String) async throws -> (accepted: Int, ran: Int, queued: Int, dropped: Int) {
            let run = try await load([
                "fn", "--rate", "200", "--duration", "1", "--invocation-type", "Event", "--payload",
                #"{"sleepMs":20}"#, "--max-concurrency", "2", "--freeze", "none", "--drain", drain, "--",
                TestPaths.fixtureRuntime,
            ])
            #expect(run.status == SimCore.ExitStatus.exited(0), "\(run.stderr)")
            #expect(run.stdout.contains("events ......"), "\(run.stdout)")
            let events = try #require(run.json?["events"])
            return try (
                #require(int(events["accepted"])), #require(int(events["ran"])), #require(int(events["queued"])),
                #require(int(events["dropped"]))
            )
        }
        let drained = try await events("30")
        #expect(drained.accepted == 200 && drained.ran == 200 && drained.queued == 0 && drained.dropped == 0)
        let cut = try await events("0.2")
        #expect(cut.accepted == 200 && cut.queued > 0, "\(cut)")
        #expect(cut.ran + cut.queued + cut.dropped == cut.accepted, "\(cut)")
    }

    /// Against an endpoint, `Event` counts come from the status API before and after the run: the queue is
    /// waited for, and the simulator's function errors and throttles are this run's, not its whole life's.
    @Test(.timeLimit(.minutes(1)))
    func eventModeAgainstEndpoint() async throws {
        try await withSimulator([TestFunctions.fixture(maxConcurrency: 2)]) { sim in
            let url = "http://127.0.0.1:\(sim.simulator.port)"
            _ = try await load(["fn", "--endpoint", url, "--concurrency", "1", "--requests", "5"])
            let run = try await load([
                "fn", "--endpoint", url, "--rate", "100", "--duration", "1", "--invocation-type", "Event", "--payload",
                #"{"sleepMs":20}"#, "--drain", "30",
            ])
            #expect(run.status == SimCore.ExitStatus.exited(0), "\(run.stderr)")
            let events = try #require(run.json?["events"])
            #expect(int(events["accepted"]) == 100 && int(events["queued"]) == 0, "\(events.serialized)")
            #expect(int(events["functionErrors"]) == 0 && int(events["throttles"]) == 0)
        }
    }

    /// Against an endpoint, the freeze figures are this run's: a second run of 10 invokes reports its own ~10
    /// freezes, not the simulator's whole life (the issue saw 3,376 freezes for 1,877 invokes), and the status API
    /// publishes the unconfirmed ones.
    @Test(.timeLimit(.minutes(1)))
    func endpointFreezeFiguresOfTheRun() async throws {
        try await withSimulator([TestFunctions.freezeFixture(freeze: .signal)]) { sim in
            let url = "http://127.0.0.1:\(sim.simulator.port)"
            let first = try await load(["fn", "--endpoint", url, "--concurrency", "1", "--requests", "40"])
            #expect(first.status == SimCore.ExitStatus.exited(0), "\(first.stderr)")
            let run = try await load(["fn", "--endpoint", url, "--concurrency", "1", "--requests", "10"])
            let freeze = try #require(run.json?["freeze"])
            let frozen = try #require(int(freeze["frozen"]))
            #expect(frozen >= 8 && frozen <= 11, "\(freeze.serialized)")
            #expect(double(freeze["freezeP50Us"]) != nil && int(freeze["unconfirmed"]) != nil)
        }
    }

    /// AWS's Python runtime client under an endpoint target: the load tool drives a running simulator, learns
    /// cold starts from the log tail and reads the freeze figures from the status API.
    @Test(.timeLimit(.minutes(2)))
    func endpointWithAwslambdaric() async throws {
        var function = TestFunctions.python("handlers.ok", name: "py")
        function.freezeMode = .signal
        try await withSimulator([function]) { sim in
            let run = try await load([
                "py", "--endpoint", "http://127.0.0.1:\(sim.simulator.port)", "--concurrency", "1", "--requests", "30",
            ])
            #expect(run.status == SimCore.ExitStatus.exited(0), "\(run.stderr)")
            let json = try #require(run.json)
            #expect(int(json["succeeded"]) == 30)
            #expect(int(json["coldStarts"]) == 1)
            #expect(int(json["coldLatencyMs"]?["count"]) == 1 && int(json["warmLatencyMs"]?["count"]) == 29)
            #expect(json["target"]?.stringValue == "endpoint")
            #expect(json["freeze"]?["mode"]?.stringValue == "signal")
        }
    }

    /// Bad arguments, numbers out of range, a command that cannot start, an output that cannot be written and
    /// unreachable targets end with one line naming the problem and exit status 2, before any load, and no result
    /// file.
    @Test(.timeLimit(.minutes(1)))
    func badArguments() async throws {
        let cases: [([String], String)] = [
            (["fn", "--rate", "5", "--concurrency", "2", "--duration", "1", "--", "/bin/true"], "only one of --rate"),
            (["fn", "--rate=-3", "--duration", "1", "--", "/bin/true"], "--rate must be a positive number"),
            (["fn", "--rate", "5", "--", "/bin/true"], "--duration"),
            (["fn", "--rate", "5", "--duration", "1"], "say what to load"),
            (["fn", "--endpoint", "http://127.0.0.1:1", "--rate", "5", "--duration", "1"], "does not answer"),
            (["nope", "--config", "DIR/load.yaml", "--rate", "5", "--duration", "1"], "has no function 'nope'"),
            (["fn", "--rate", "5", "--duration", "1", "--payload", "{", "--", "/bin/true"], "not JSON"),
            (["fn", "--rate", "5", "--duration", "1", "--fail-on", "speed>1", "--", "/bin/true"], "unknown metric"),
            (["fn", "--rate", "-5", "--duration", "1", "--", "/bin/true"], "--rate must be a positive number"),
            (["fn", "--rate", "1e12", "--duration", "1", "--", "/bin/true"], "the most the generator can schedule"),
            (["fn", "--stages", "99999999999h:1", "--", "/bin/true"], "longer than 1 h"),
            (
                ["fn", "--rate", "5", "--duration", "1", "--out", "-", "--report", "-", "--", "/bin/true"],
                "only one of"
            ),
            (["fn", "--concurrency", "1", "--requests", "5", "--", "/nonexistent"], "/nonexistent does not exist"),
            (
                ["fn", "--concurrency", "1", "--requests", "5", "--report", "/nonexistent/r.html", "--", "/bin/true"],
                "--report /nonexistent/r.html: cannot write"
            ),
        ]
        for (arguments, message) in cases {
            let run = try await load(arguments, files: ["load.yaml": config(reserved: 1)])
            #expect(run.status == SimCore.ExitStatus.exited(2), "\(arguments): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
            #expect(run.json == nil)
        }
    }
}

/// `lambda-sim load` interrupted by signals, as Ctrl-C or a CI runner's SIGTERM interrupts it.
@Suite("lambda-sim load interrupts", .serialized)
struct LoadInterruptTests {
    /// A started `lambda-sim load` process, its output and exit collected on the client loop.
    private final class RunningLoad: @unchecked Sendable {
        // SAFETY: every field is touched on the client loop only.
        var process: ChildProcess?
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var exit: CheckedContinuation<SimCore.ExitStatus, Never>?
        var status: SimCore.ExitStatus?
    }

    /// Starts `lambda-sim load ARGUMENTS` with the function's code directory in a fresh directory, and waits until
    /// a runtime runs there (the load has begun).
    private func start(_ arguments: [String]) async throws -> (RunningLoad, directory: String) {
        let directory = try makeTemporaryDirectory()
        let running = RunningLoad()
        let loop = ClientLoop.shared
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            loop.submit {
                do {
                    let spec = ProcessSpec(
                        arguments: [TestPaths.binDirectory + "/lambda-sim", "load"]
                            + arguments.map { $0.replacingOccurrences(of: "DIR", with: directory) }
                            + ["--code-dir", directory, "--", TestPaths.fixtureRuntime],
                        environment: TestPaths.environment(), workingDirectory: directory)
                    let process = try ChildProcess(loop: loop, spec: spec)
                    running.process = process
                    process.onStdout = { running.stdout.append(contentsOf: $0) }
                    process.onStderr = { running.stderr.append(contentsOf: $0) }
                    process.onExit = { status in
                        loop.schedule(afterMilliseconds: 0) {
                            loop.schedule(afterMilliseconds: 1) {
                                running.process?.closePipes()
                                running.status = status
                                running.exit?.resume(returning: status)
                                running.exit = nil
                            }
                        }
                    }
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while runtimes(in: directory).isEmpty && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(!runtimes(in: directory).isEmpty, "no runtime started")
        return (running, directory)
    }

    private func signal(_ running: RunningLoad, _ number: Int32) async {
        await withCheckedContinuation { continuation in
            ClientLoop.shared.submit {
                running.process?.signal(number)
                continuation.resume()
            }
        }
    }

    private func wait(_ running: RunningLoad) async -> (SimCore.ExitStatus, stdout: String, stderr: String) {
        let status = await withCheckedContinuation { continuation in
            ClientLoop.shared.submit {
                if let status = running.status {
                    continuation.resume(returning: status)
                } else {
                    running.exit = continuation
                }
            }
        }
        return (
            status, String(decoding: running.stdout, as: UTF8.self), String(decoding: running.stderr, as: UTF8.self)
        )
    }

    /// The fixture runtimes whose working directory is `directory` (the function's code directory).
    private func runtimes(in directory: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/cwd")) == directory
                && (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8))?.hasPrefix("lambda-sim-fix")
                    == true
        }
    }

    private func int(_ value: JSONValue?) -> Int? {
        if case .number(let text)? = value { return Int(text) }
        return nil
    }

    private func json(_ path: String) -> JSONValue? {
        FileManager.default.contents(atPath: path).flatMap { try? JSON.parse(Array($0)) }
    }

    /// The first SIGINT stops starting invokes, waits for those in flight, then prints the summary and writes the
    /// JSON marked interrupted, with every invoke started answered; the exit status is 130 and no runtime is left.
    @Test(.timeLimit(.minutes(1)))
    func firstSignalDrainsAndReports() async throws {
        let (running, directory) = try await start([
            "fn", "--rate", "50", "--duration", "30", "--payload", #"{"sleepMs":300}"#, "--max-concurrency", "100",
            "--freeze", "none", "--quiet", "--json", "DIR/result.json", "--report", "DIR/report.html",
        ])
        try await Task.sleep(for: .milliseconds(500))
        let signalled = ContinuousClock.now
        await signal(running, SIGINT)
        let (status, stdout, stderr) = await wait(running)
        #expect(ContinuousClock.now - signalled < .seconds(5), "the drain waits only for invokes in flight")
        #expect(status == SimCore.ExitStatus.exited(130), "\(stderr)")
        #expect(stdout.contains("interrupted: no invoke started after the signal; 0 abandoned"), "\(stdout)")
        let result = try #require(json(directory + "/result.json"), "\(stdout) \(stderr)")
        #expect(result["interrupted"] == .bool(true))
        let requests = try #require(int(result["requests"]))
        #expect(requests > 0 && requests < 500, "\(requests) requests")
        #expect(int(result["succeeded"]) == requests, "\(result.serialized)")
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(html.contains("<b>Interrupted</b>"))
        #expect(runtimes(in: directory).isEmpty)
    }

    /// When the drain ends first, the invokes still in flight are abandoned: counted as other errors and as
    /// `abandoned`, and cut off at once.
    @Test(.timeLimit(.minutes(1)))
    func drainEndsWithAbandonedInvokes() async throws {
        let (running, directory) = try await start([
            "fn", "--concurrency", "4", "--duration", "30", "--payload", #"{"sleepMs":20000}"#, "--max-concurrency",
            "4", "--freeze", "none", "--quiet", "--drain", "0.5", "--json", "DIR/result.json",
        ])
        await signal(running, SIGTERM)
        let (status, stdout, stderr) = await wait(running)
        #expect(status == SimCore.ExitStatus.exited(143), "\(stderr)")
        let result = try #require(json(directory + "/result.json"), "\(stdout) \(stderr)")
        #expect(result["interrupted"] == .bool(true))
        #expect(int(result["abandoned"]) == 4 && int(result["otherErrors"]) == 4, "\(result.serialized)")
        #expect(int(result["requests"]) == 4)
        #expect(runtimes(in: directory).isEmpty)
    }

    /// A second signal aborts at once: no summary, no result file, exit 130, and no runtime left running.
    @Test(.timeLimit(.minutes(1)))
    func secondSignalAborts() async throws {
        let (running, directory) = try await start([
            "fn", "--concurrency", "4", "--duration", "30", "--payload", #"{"sleepMs":20000}"#, "--max-concurrency",
            "4", "--freeze", "signal", "--quiet", "--drain", "60", "--json", "DIR/result.json",
        ])
        await signal(running, SIGINT)
        try await Task.sleep(for: .milliseconds(200))
        let signalled = ContinuousClock.now
        await signal(running, SIGINT)
        let (status, stdout, stderr) = await wait(running)
        #expect(ContinuousClock.now - signalled < .seconds(5))
        #expect(status == SimCore.ExitStatus.exited(130), "\(stderr)")
        #expect(stderr.contains("aborted") && !stdout.contains("requests"), "\(stdout) \(stderr)")
        #expect(json(directory + "/result.json") == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        #expect(runtimes(in: directory).isEmpty)
    }
}
