import ArgumentParser
import Foundation
import LambdaSim
import SimLoad
import Synchronization

import enum SimCore.JSONValue

#if canImport(Glibc)
    import Glibc
#endif

/// `lambda-sim load FUNCTION …`: drives a function with an open or closed load model and reports throughput,
/// latency (cold and warm), outcomes, cold starts, sandboxes and freeze cost.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load-test a function: open or closed model, cold starts, throttles, freeze cost, a report.",
        discussion: """
            Target one of: --endpoint URL (anything that speaks the Invoke API, e.g. a running lambda-sim), \
            --config FILE (starts serve with that YAML in this process), or [function flags] -- COMMAND (starts \
            the function as `run` does). Load: --rate N (open model: invokes start on schedule whatever the \
            answers do; latency counts from the scheduled start), --stages "5s:50,20s:500,5s:0" (the rate ramps \
            linearly stage by stage), or --concurrency N (closed model: N callers back to back). Stop after \
            --duration and/or --requests. Exit status: 0, 1 when a --fail-on condition holds, 2 for bad arguments \
            or a target that cannot be reached.
            """
    )

    @Argument(
        help: "The function to invoke (its name in the config or at the endpoint; the name of a COMMAND's function).")
    var functionName: String

    @Option(help: "The Invoke API to drive, e.g. http://127.0.0.1:9000.")
    var endpoint: String?

    @Option(help: "A serve configuration (YAML) to start in this process.")
    var config: String?

    @Option(help: "A SAM template to start in this process, like --config (python3.x under LAMBDA_SIM_PYTHON).")
    var template: String?

    @Option(
        help: """
            Drive this HTTP URL instead of the Invoke API: a route or Function URL of --template's HTTP front end             (a path such as /lambda-url/fn/, or http://127.0.0.1:PORT/… to start the front end on PORT), or any             HTTP server on its own.
            """)
    var url: String?

    @Option(help: "With --url: the request's method (default GET, or POST with --body).")
    var method: String?

    @Option(help: "With --url: a request header, Name: value (repeatable).")
    var header: [String] = []

    @Option(help: "With --url: the request's body.")
    var body: String?

    // Numbers parse unconditionally, so `--rate -5` reaches validation instead of reading as an option.
    @Option(parsing: .unconditional, help: "Open model: invokes started per second (at most 40,000).")
    var rate: Double?

    @Option(help: "Open model with ramps: DURATION:RATE stages, e.g. \"5s:50,20s:500,5s:0\".")
    var stages: String?

    @Option(parsing: .unconditional, help: "Closed model: callers, each invoking again as soon as it has its answer.")
    var concurrency: Int?

    @Option(parsing: .unconditional, help: "Stop starting invokes after this long (e.g. 30, 30s, 2m; at most 1h).")
    var duration: String?

    @Option(parsing: .unconditional, help: "Stop after starting this many invokes.")
    var requests: Int?

    @Option(help: "The JSON payload of every invoke (default {}).")
    var payload: String?

    @Option(help: "Read the payload from this file.")
    var payloadFile: String?

    @Option(help: "RequestResponse (default) or Event.")
    var invocationType: String = "RequestResponse"

    @Option(help: "Run once per freeze mode on a fresh simulator, e.g. none,signal,cgroup (with --config or COMMAND).")
    var compareFreeze: String?

    @Option(help: "Write the result as JSON to this file.")
    var json: String?

    @Option(help: "Write one JSON line per invoke to this file (scheduled, start, end, status, outcome, cold, ...).")
    var out: String?

    @Option(help: "An earlier run's --json result: print and report the differences; --fail-on \"p99>+10%\" uses it.")
    var baseline: String?

    @Option(help: "Write a self-contained HTML report to this file.")
    var report: String?

    @Option(help: "Exit 1 when a condition holds, e.g. \"p99>500ms,errors>1%,throttled>0\".")
    var failOn: String?

    @Option(
        parsing: .unconditional, help: "An invoke without an answer after this many seconds counts as an other error.")
    var clientTimeout: Double = 120

    @Option(
        parsing: .unconditional,
        help:
            "After a first SIGINT or SIGTERM, wait this many seconds for invokes in flight (default 5); a second aborts."
    )
    var drain: Double = 5

    @Flag(help: "Print only the summary (no live progress line).")
    var quiet = false

    @OptionGroup var function: FunctionFlags

    /// What the command runs against.
    private enum TargetKind: String {
        case endpoint, config, command
    }

    private var targetKind: TargetKind {
        if endpoint != nil || (url != nil && template == nil) { return .endpoint }
        if config != nil || template != nil { return .config }
        return .command
    }

    func validate() throws {
        if url == nil && (method != nil || !header.isEmpty || body != nil) {
            throw ValidationError("--method, --header and --body go with --url")
        }
        if url != nil && (endpoint != nil || config != nil || !function.command.isEmpty) {
            throw ValidationError("--url drives a route of --template's HTTP front end or a server of its own")
        }
        if url != nil && (invocationType != "RequestResponse" || payload != nil || payloadFile != nil) {
            throw ValidationError(
                "with --url the request is --method, --header and --body (no payload or invocation type)")
        }
        if let url {
            do {
                _ = try HTTPLoadTarget.parse(url: url)
                for text in header { _ = try HTTPLoadTarget.header(text) }
            } catch {
                throw ValidationError(error.description)
            }
            if template == nil && url.hasPrefix("/") {
                throw ValidationError("--url \(url): a path needs --template (whose front end serves it)")
            }
        }
        let targets = [
            endpoint != nil, config != nil, template != nil, !function.command.isEmpty, url != nil && template == nil,
        ].filter { $0 }.count
        if targets == 0 {
            throw ValidationError("say what to load: --endpoint URL, --config FILE or -- COMMAND [ARG...]")
        }
        if targets > 1 {
            throw ValidationError("give only one of --endpoint, --config, --template and -- COMMAND")
        }
        if function.anyGiven && function.command.isEmpty {
            throw ValidationError("function flags (--freeze, --memory, …) apply only with -- COMMAND")
        }
        let models = [rate != nil, stages != nil, concurrency != nil].filter { $0 }.count
        if models == 0 { throw ValidationError("say how to load: --rate N, --stages \"5s:50,…\" or --concurrency N") }
        if models > 1 { throw ValidationError("give only one of --rate, --stages and --concurrency") }
        if payload != nil && payloadFile != nil {
            throw ValidationError("give only one of --payload and --payload-file")
        }
        if [json, report, out].filter({ $0 == "-" }).count > 1 {
            throw ValidationError("only one of --json, --report and --out can be - (standard output)")
        }
        guard drain >= 0, drain <= LoadPlan.longestClientTimeoutSeconds else {
            throw ValidationError("--drain must be between 0 and 3600 seconds, not \(drain)")
        }
        if compareFreeze != nil && endpoint != nil {
            throw ValidationError(
                "--compare-freeze starts a fresh simulator per mode: use it with --config or -- COMMAND")
        }
        do {
            _ = try plan()
            _ = try freezeModes()
            let conditions = try failOn.map(FailureCondition.parseList) ?? []
            if baseline == nil, let relative = conditions.first(where: \.isRelative) {
                throw LoadPlanError("--fail-on \(relative.text) compares with an earlier run: give --baseline FILE")
            }
        } catch let error as LoadPlanError {
            throw ValidationError(error.description)
        }
    }

    private func plan() throws -> LoadPlan {
        let model: LoadModel
        if let rate {
            model = .rate(rate)
        } else if let stages {
            model = .stages(try Stage.parseList(stages))
        } else {
            model = .concurrency(concurrency ?? 1)
        }
        let seconds = try duration.map { try parseDuration($0, option: "--duration") }
        var body = Array((payload ?? "{}").utf8)
        if let payloadFile {
            guard let data = FileManager.default.contents(atPath: payloadFile) else {
                throw LoadPlanError("--payload-file: cannot read \(payloadFile)")
            }
            body = Array(data)
        }
        if !body.isEmpty, let problem = LoadPlan.payloadProblem(body) {
            throw LoadPlanError(
                "the payload is not JSON (\(problem)); Lambda would answer 400 InvalidRequestContentException")
        }
        let plan = LoadPlan(
            model: model, stop: StopCondition(seconds: seconds, requests: requests), payload: body,
            invocationType: invocationType, clientTimeoutSeconds: clientTimeout)
        try plan.validate()
        return plan
    }

    /// The freeze modes `--compare-freeze` names, in order; one nil (the function's own mode) without it.
    private func freezeModes() throws -> [FreezeMode?] {
        guard let compareFreeze else { return [nil] }
        let names = compareFreeze.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty else { throw LoadPlanError("--compare-freeze: no mode given") }
        return try names.map { name in
            guard let mode = FreezeMode(rawValue: name) else {
                throw LoadPlanError("--compare-freeze: '\(name)' is not none, signal or cgroup")
            }
            return mode
        }
    }

    /// The load as the user gave it, for the summary.
    private var loadDescription: String {
        var text: String
        if let rate {
            text = rate == rate.rounded() ? "\(Int(rate))/s" : "\(rate)/s"
        } else if let stages {
            text = "stages \(stages)"
        } else {
            text = "concurrency \(concurrency ?? 1)"
        }
        if let duration { text += " for \(duration)" }
        if let requests { text += ", at most \(requests) invokes" }
        return text
    }

    func run() async throws {
        let plan: LoadPlan
        let conditions: [FailureCondition]
        let previous: Baseline?
        do {
            plan = try self.plan()
            conditions = try failOn.map(FailureCondition.parseList) ?? []
            previous = try baseline.map { try Baseline(path: $0) }
        } catch let error as LoadPlanError {
            Console.error("lambda-sim load: \(error)")
            throw ExitCode(2)
        }
        // A reader of an output that goes away ends a write with EPIPE, not the process.
        signal(SIGPIPE, SIG_IGN)
        // Outputs are checked (and their temporary files created) before any load.
        let jsonFile: OutputFile?
        let reportFile: OutputFile?
        let invokeLog: InvokeLog?
        do {
            jsonFile = try json.map { try OutputFile($0, option: "--json") }
            reportFile = try report.map { try OutputFile($0, option: "--report") }
            invokeLog = try out.map {
                InvokeLog(output: try OutputFile($0, option: "--out"), awaitsVerdicts: endpoint == nil)
            }
        } catch let error as LoadPlanError {
            Console.error("lambda-sim load: \(error)")
            throw ExitCode(2)
        }
        // The first SIGINT/SIGTERM stops the schedule and drains; a second cuts everything off.
        let interrupts: Interrupts
        do {
            interrupts = try Interrupts()
        } catch {
            Console.error("lambda-sim load: cannot watch signals: \(error)")
            throw ExitCode(1)
        }
        let running = RunningGenerator()
        let drain = self.drain
        interrupts.onSignal { signal, count in
            if count == 1 {
                Console.error(
                    "\nlambda-sim load: interrupted, waiting up to \(drain) s for "
                        + "invokes in flight (again to abort)")
                running.generator?.interrupt(drainSeconds: drain)
            } else {
                running.generator?.interrupt(drainSeconds: 0)
            }
        }
        var results: [LoadResult] = []
        let modes = try freezeModes()
        for mode in modes where interrupts.count == 0 {
            if let mode, !quiet, compareFreeze != nil { human("lambda-sim load: freeze \(mode.rawValue)\n") }
            let target: LoadTarget
            do {
                target = try await LoadTarget.start(command: self, freeze: mode, interrupts: interrupts)
            } catch let error as LoadPlanError {
                Console.error("lambda-sim load: \(error)")
                throw ExitCode(2)
            }
            if compareFreeze != nil { invokeLog?.startRun(freeze: mode?.rawValue) }
            var result = try await runOnce(
                plan: plan, target: target, running: running, interrupts: interrupts, log: invokeLog)
            if interrupts.count >= 2 { break }
            result.interrupted = interrupts.count > 0
            let earlier = previous?.document(forRun: results.count, of: modes.count)
            var comparison = ""
            if let previous, let earlier {
                let differences = Baseline.differences(result, to: earlier)
                result.baseline = previous.json(differences)
                comparison = previous.text(differences)
            }
            results.append(result)
            human(result.summary + comparison + Self.thresholdLines(conditions, result, baseline: earlier) + "\n")
        }
        let signalled = interrupts.count > 0 ? ExitCode(128 + interrupts.firstSignal) : nil
        if interrupts.count >= 2 || results.isEmpty, let signalled {
            // Aborted (or interrupted before any load): nothing is reported, nothing written.
            jsonFile?.discard()
            reportFile?.discard()
            invokeLog?.discard()
            Console.error("lambda-sim load: aborted")
            throw signalled
        }
        do {
            try invokeLog?.commit()
            if let jsonFile {
                let value: JSONDocument = results.count == 1 ? .single(results[0]) : .runs(results)
                try jsonFile.write(value.text)
                try jsonFile.commit()
            }
            if let reportFile {
                try reportFile.write(
                    LoadReport.html(results, generatedAtEpochMilliseconds: Int64(Date().timeIntervalSince1970 * 1000)))
                try reportFile.commit()
            }
        } catch {
            Console.error("lambda-sim load: \(error)")
            throw ExitCode(2)
        }
        var failed: [String] = []
        for (index, result) in results.enumerated() {
            for condition in conditions {
                let verdict = condition.evaluate(
                    result, baseline: previous?.document(forRun: index, of: modes.count))
                guard verdict.fails else { continue }
                let run = results.count > 1 ? " (freeze \(result.freeze?.mode ?? String(index)))" : ""
                failed.append(condition.text + (verdict.measured == nil ? " (no data)" : "") + run)
            }
        }
        if let signalled { throw signalled }
        if !failed.isEmpty {
            Console.error("lambda-sim load: failed: " + failed.joined(separator: ", "))
            throw ExitCode(1)
        }
    }

    /// Where the human output goes: standard output, or standard error when an output (`--json -`, `--out -`,
    /// `--report -`) takes standard output.
    private var humanDescriptor: Int32 { [json, report, out].contains("-") ? 2 : 1 }

    /// Prints `text` for a human (the summary, the progress line).
    private func human(_ text: String) { writeAll(humanDescriptor, text) }

    /// The summary's last lines: one per `--fail-on` condition, ✓ or ✗, the measured value and the limit.
    private static func thresholdLines(
        _ conditions: [FailureCondition], _ result: LoadResult, baseline: JSONValue?
    ) -> String {
        guard !conditions.isEmpty else { return "" }
        return "  thresholds\n" + conditions.map { $0.line(for: result, baseline: baseline) + "\n" }.joined()
    }

    /// One run against a started target; stops the target afterwards.
    private func runOnce(
        plan: LoadPlan, target: LoadTarget, running: RunningGenerator, interrupts: Interrupts, log: InvokeLog?
    ) async throws -> LoadResult {
        let generator: LoadGenerator
        do {
            generator = try LoadGenerator(
                plan: plan, endpoint: target.endpoint, askTail: target.needsTail, http: target.http)
        } catch {
            await target.stop()
            Console.error("lambda-sim load: cannot start the load generator: \(error)")
            throw ExitCode(1)
        }
        let tally = plan.invocationType == "Event" ? EventTally() : nil
        // Against an endpoint, the figures of this run are the status API's differences from before it.
        let before = target.simulator == nil ? await Preflight.functionStatus(target.endpoint) : nil
        if log != nil || tally != nil {
            generator.onAnswer = { answer in
                log?.answered(answer)
                if answer.status == 202 { tally?.accepted() }
            }
        }
        let verdicts = Task { await target.forwardVerdicts(to: generator, log: log, tally: tally) }
        // Without the simulator's events (an endpoint), the sandboxes are sampled ten times a second.
        let sampler = Task {
            while !Task.isCancelled && target.events == nil {
                if let (total, busy, inFlight) = await target.sampleSandboxes() {
                    generator.sandboxes(total: total, busy: busy, inFlight: inFlight)
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        running.generator = generator
        defer { running.generator = nil }
        if interrupts.count > 0 { generator.interrupt(drainSeconds: interrupts.count > 1 ? 0 : drain) }
        let live = !quiet && isatty(humanDescriptor) == 1
        let printer = live ? ProgressPrinter(descriptor: humanDescriptor) : nil
        var progress: (@Sendable (LoadProgress) -> Void)?
        if let printer { progress = { printer.show($0) } }
        let cpuBefore = Self.processCPUSeconds()
        let duration = await generator.run(progress: progress)
        let processCPU = Self.processCPUSeconds() - cpuBefore
        printer?.end()
        var events: EventCounts?
        if let tally {
            events = await drainEvents(tally, target: target, before: before, interrupts: interrupts)
        }
        sampler.cancel()
        let freeze = await target.freezeFigures(since: before)
        await target.stop()
        let (started, sandboxes) = await verdicts.value
        let abandoned = await generator.abandonedCount()
        let recorder = await generator.finishRecording()
        var result = LoadResult(
            recorder: recorder, function: functionName, target: targetKind.rawValue, plan: plan, load: loadDescription,
            durationSeconds: duration, freeze: freeze, sandboxesStarted: started, sandboxes: sandboxes,
            concurrencyLimit: target.concurrencyLimit, generatorCPUSeconds: generator.cpuSeconds,
            processCPUSeconds: target.simulator == nil ? nil : processCPU)
        result.abandoned = abandoned
        result.events = events ?? tally?.counts
        return result
    }

    /// The user and system CPU time this process has used, in seconds.
    private static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// Waits, up to `--drain`, for the run's `Event` invokes to finish before the simulator stops: with a simulator
    /// of its own until every accepted event ran or expired (the tally then has the counts, taken after the stop);
    /// against an endpoint until its queue is back to where it was, and returns counts from the status API's
    /// snapshots before and after (nil when the endpoint has none).
    private func drainEvents(
        _ tally: EventTally, target: LoadTarget, before: FunctionStatus?, interrupts: Interrupts
    ) async -> EventCounts? {
        let deadline = ContinuousClock.now + .milliseconds(Int(drain * 1000))
        if target.simulator != nil {
            while !tally.settled && ContinuousClock.now < deadline && interrupts.count < 2 {
                try? await Task.sleep(for: .milliseconds(10))
            }
            return nil
        }
        guard let before, let queuedBefore = before.queued else { return nil }
        var after = await Preflight.functionStatus(target.endpoint)
        while let queued = after?.queued, queued > queuedBefore, ContinuousClock.now < deadline, interrupts.count < 2 {
            try? await Task.sleep(for: .milliseconds(20))
            after = await Preflight.functionStatus(target.endpoint)
        }
        var counts = EventCounts(accepted: tally.counts.accepted)
        func delta(_ path: KeyPath<FunctionStatus, Int?>) -> Int? {
            guard let now = after?[keyPath: path], let then = before[keyPath: path] else { return nil }
            return max(0, now - then)
        }
        counts.queued = delta(\.queued).map { min($0, counts.accepted) }
        counts.functionErrors = delta(\.errors)
        counts.throttles = delta(\.throttles)
        return counts
    }

    /// What `load` drives: an endpoint, or a simulator it started.
    private final class LoadTarget: Sendable {
        let endpoint: InvokeEndpoint
        let simulator: Simulator?
        let events: SimulatorEventStream?
        let function: String
        /// The function's reservation, the account's limit, or run's --max-concurrency (nil for an endpoint).
        let concurrencyLimit: ConcurrencyLimit?
        /// The HTTP request driven instead of invokes (`--url`).
        let http: HTTPLoadTarget?

        var needsTail: Bool { simulator == nil && http == nil }

        private init(
            endpoint: InvokeEndpoint, simulator: Simulator?, events: SimulatorEventStream?, function: String,
            concurrencyLimit: ConcurrencyLimit? = nil, http: HTTPLoadTarget? = nil
        ) {
            self.endpoint = endpoint
            self.simulator = simulator
            self.events = events
            self.function = function
            self.concurrencyLimit = concurrencyLimit
            self.http = http
        }

        /// The request `--url` describes, sent to `host:port` unless the URL names its own.
        static func httpTarget(of command: LoadCommand, host: String?, port: Int?) throws(LoadPlanError)
            -> HTTPLoadTarget?
        {
            guard let url = command.url else { return nil }
            let parsed = try HTTPLoadTarget.parse(url: url)
            var headers: [(String, String)] = []
            for text in command.header { headers.append(try HTTPLoadTarget.header(text)) }
            let body = command.body.map { Array($0.utf8) } ?? []
            return HTTPLoadTarget(
                host: host ?? parsed.host ?? "127.0.0.1", port: port ?? parsed.port ?? 80,
                method: command.method ?? (command.body == nil ? "GET" : "POST"), target: parsed.target,
                headers: headers, body: body)
        }

        /// Starts (or checks) the target of `command`, with `freeze` overriding the function's mode.
        static func start(
            command: LoadCommand, freeze: FreezeMode?, interrupts: Interrupts
        ) async throws -> LoadTarget {
            let name = command.functionName
            if command.url != nil && command.template == nil,
                let http = try httpTarget(of: command, host: nil, port: nil)
            {
                // An HTTP server on its own: no simulator's events, no status API.
                return LoadTarget(
                    endpoint: InvokeEndpoint(host: http.host, port: http.port, function: name), simulator: nil,
                    events: nil, function: name, http: http)
            }
            if let url = command.endpoint {
                let endpoint = try InvokeEndpoint.parse(url: url, function: name)
                try await Preflight.check(endpoint, url: url)
                return LoadTarget(endpoint: endpoint, simulator: nil, events: nil, function: name)
            }
            var functions: [FunctionOptions]
            var account: Simulator.AccountOptions?
            var frontEnd: HTTPFrontEndOptions?
            if let path = command.config ?? command.template {
                let configuration: SimulatorConfiguration
                do {
                    if command.template == nil {
                        configuration = try SimulatorConfiguration.load(file: path)
                    } else {
                        let template = try TemplateConfiguration.load(file: path)
                        configuration = template.configuration
                        frontEnd = template.http
                    }
                } catch {
                    throw LoadPlanError("\(error)")
                }
                let (all, settings) = (configuration.functions, configuration.account)
                guard all.contains(where: { $0.name == name }) else {
                    throw LoadPlanError(
                        "\(path) has no function '\(name)' (it has: \(all.map(\.name).joined(separator: ", ")))")
                }
                functions = all
                account = settings
            } else {
                do {
                    functions = [try command.function.options(name: name)]
                } catch {
                    throw LoadPlanError("\(error)")
                }
            }
            if let target = functions.first(where: { $0.name == name }),
                let problem = Preflight.commandProblem(
                    target.command, codeDirectory: target.codeDirectory,
                    searchPath: ProcessInfo.processInfo.environment["PATH"])
            {
                throw LoadPlanError("cannot start '\(name)': \(problem)")
            }
            if let mode = freeze {
                for index in functions.indices where functions[index].name == name {
                    functions[index].freezeMode = mode
                }
            }
            let events = SimulatorEventStream(capacityBytes: 16 << 20, includeOutput: false)
            let simulator: Simulator
            do {
                simulator = try await Simulator.start(
                    functions: functions, host: "127.0.0.1", port: 0, account: account, events: events)
            } catch {
                throw LoadPlanError("cannot start the simulator: \(error)")
            }
            // Provisioned sandboxes initialise first, as they would before traffic reaches Lambda.
            for _ in 0..<6_000 where interrupts.count == 0 {
                if (try? await simulator.isReady()) ?? true { break }
                try? await Task.sleep(for: .milliseconds(20))
            }
            // Serve mode throttles at the reservation or the account's limit; run mode queues beyond its maximum.
            let options = functions.first { $0.name == name }
            let limit =
                account == nil
                ? options.map { ConcurrencyLimit(value: $0.maxConcurrency, kind: "max") }
                : options?.reservedConcurrency.map { ConcurrencyLimit(value: $0, kind: "reserved") }
                    ?? account.map { ConcurrencyLimit(value: $0.concurrency, kind: "account") }
            // `--url`: the template's routes and Function URLs, on the URL's port or one of the system's choosing.
            var http: HTTPLoadTarget?
            if let frontEnd, let url = command.url {
                let port = (try? HTTPLoadTarget.parse(url: url))?.port ?? 0
                do {
                    let bound = try await simulator.startHTTPFrontEnd(frontEnd, host: "127.0.0.1", port: port)
                    http = try httpTarget(of: command, host: "127.0.0.1", port: bound)
                } catch {
                    await simulator.stop()
                    throw LoadPlanError("cannot start the HTTP front end: \(error)")
                }
            }
            return LoadTarget(
                endpoint: InvokeEndpoint(host: "127.0.0.1", port: simulator.port, function: name),
                simulator: simulator, events: events, function: name, concurrencyLimit: limit, http: http)
        }

        /// Tells the generator which invokes were cold starts, as the simulator reports them, feeds the invoke log
        /// and the Event tally, and counts the function's sandboxes by state from their lifecycle events, until the
        /// simulator stops; returns how many sandboxes the simulator started for invokes and their states over the
        /// run (nil for an endpoint).
        func forwardVerdicts(
            to generator: LoadGenerator, log: InvokeLog?, tally: EventTally?
        ) async -> (Int?, SandboxTracker?) {
            guard let events else { return (nil, nil) }
            var started = 0
            var tracker = SandboxTracker()
            var shown = (counts: SandboxTracker.Counts(), at: Int64(0))
            for await event in events where event.function == function {
                let change: SandboxTracker.Change?
                switch event.kind {
                case .report(let report):
                    if let id = event.requestID {
                        if report.status != .success { tally?.functionError() }
                        let kind: StartKind = report.initDurationMilliseconds != nil ? .cold : .warm
                        generator.verdict(kind, requestID: id)
                        log?.verdict(kind, requestID: id, sandbox: event.sandboxID)
                    }
                    change = .invokeFinished
                case .initStarted(let type, let phase):
                    if type == .onDemand && phase == .initial { started += 1 }
                    change = .initStarted
                case .initFinished: change = .initFinished
                case .invokeStarted: change = .invokeStarted
                case .frozen(let latency): change = .frozen(latencyNanoseconds: latency.map { UInt64($0 * 1000) })
                case .thawed(let latency): change = .thawed(latencyNanoseconds: latency.map { UInt64($0 * 1000) })
                case .sandboxTerminated: change = .terminated
                case .asyncResult(let condition, let attempts):
                    tally?.finished(condition: condition.rawValue, attempts: attempts)
                    change = nil
                case .throttled:
                    tally?.throttled()
                    change = nil
                default: change = nil
                }
                guard let change, let sandbox = event.sandboxID else { continue }
                // Events before the run's start (provisioned inits) set the state it starts from.
                // Those after its end (the simulator's stop) count at the end.
                let origin = generator.startEpochMilliseconds
                let end = generator.endEpochMilliseconds
                let at = origin > 0 ? (event.epochMilliseconds - origin) * 1_000_000 : -1
                let runEnd = origin > 0 && end >= origin ? UInt64(end - origin) * 1_000_000 : nil
                tracker.apply(change, sandbox: sandbox, at: at, runEnd: runEnd)
                // The progress line gets the counts when they change, at most ten times a second.
                if tracker.current != shown.counts && event.epochMilliseconds - shown.at >= 100 {
                    shown = (tracker.current, event.epochMilliseconds)
                    generator.showSandboxes(
                        total: tracker.current.total, busy: tracker.current.busy + tracker.current.initializing,
                        inFlight: tracker.current.inFlight)
                }
            }
            return (started, tracker)
        }

        /// The function's sandboxes and how many are busy (initialising or running an invoke).
        /// The function's sandboxes, how many are busy (initialising or running an invoke), and the invokes in
        /// flight in them (several in a managed instance).
        func sampleSandboxes() async -> (Int, Int, Int?)? {
            if let simulator {
                guard let all = try? await simulator.sandboxes() else { return nil }
                let mine = all.filter { $0.function == function }
                let busy = mine.filter { $0.state == .busy || $0.state == .initializing }.count
                return (mine.count, busy, mine.reduce(0) { $0 + $1.inFlight })
            }
            guard let status = await Preflight.functionStatus(endpoint) else { return nil }
            return (status.sandboxes, status.busy, status.inFlight)
        }

        /// The freeze figures of the run, when the target is lambda-sim: a simulator of its own started with the
        /// run; an endpoint's are the differences from `before`, its status when the run began.
        func freezeFigures(since before: FunctionStatus?) async -> FreezeFigures? {
            if let simulator {
                guard let summary = try? await simulator.freezeSummary(function: function) else { return nil }
                var figures = FreezeFigures(
                    mode: summary.mode.rawValue, freezeP50Us: summary.freezes.p50Microseconds,
                    freezeP99Us: summary.freezes.p99Microseconds, thawP50Us: summary.thaws.p50Microseconds,
                    thawP99Us: summary.thaws.p99Microseconds, frozen: summary.frozen, skipped: summary.skipped)
                figures.freezeSamples = summary.freezes.count
                figures.thawSamples = summary.thaws.count
                figures.unconfirmed = summary.freezesUnconfirmed
                figures.thawsUnconfirmed = summary.thawsUnconfirmed
                return figures
            }
            return await Preflight.functionStatus(endpoint)?.freezeFigures(since: before)
        }

        func stop() async {
            await simulator?.stop()
        }
    }
}

/// The generator of the run in progress, for the signal handler.
private final class RunningGenerator: Sendable {
    private let current = Mutex<LoadGenerator?>(nil)

    var generator: LoadGenerator? {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}

/// The live progress line, rewritten in place on the terminal.
private final class ProgressPrinter: Sendable {
    let descriptor: Int32

    init(descriptor: Int32) { self.descriptor = descriptor }

    func show(_ progress: LoadProgress) {
        writeAll(descriptor, "\r\u{1B}[K" + progress.line)
    }

    func end() {
        writeAll(descriptor, "\r\u{1B}[K")
    }
}

/// Writes all of `text` to `descriptor` (gives up on an error: the reader went away).
private func writeAll(_ descriptor: Int32, _ text: String) {
    var text = text
    text.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}

/// The result file: one run, or `{"runs": [...]}` when comparing freeze modes.
private enum JSONDocument {
    case single(LoadResult)
    case runs([LoadResult])

    var text: String {
        switch self {
        case .single(let result): return result.jsonText + "\n"
        case .runs(let results): return "{\"runs\":[" + results.map(\.jsonText).joined(separator: ",") + "]}\n"
        }
    }
}
