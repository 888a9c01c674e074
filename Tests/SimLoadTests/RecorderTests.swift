import SimCore
import Testing

@testable import SimLoad

/// Aggregation, thresholds, the JSON document and the HTML report.
@Suite struct RecorderTests {
    /// Outcomes are counted exactly; a verdict classifies an invoke whether it comes before or after the answer;
    /// what is left unclassified at the end is warm, and a cold start without an answer still counts.
    @Test func outcomesAndVerdicts() {
        var recorder = LoadRecorder()
        for bin in [0, 0, 1, 1, 2] { recorder.started(due: ms(100 * bin + 5)) }
        recorder.verdict(.cold, requestID: "a", at: 0)
        recorder.finished(due: ms(5), outcome: .succeeded, nanoseconds: 50_000_000, requestID: "a", start: nil)
        recorder.finished(due: ms(5), outcome: .functionError, nanoseconds: 2_000_000, requestID: "b", start: nil)
        recorder.verdict(.warm, requestID: "b", at: ms(150))
        recorder.finished(due: ms(105), outcome: .throttled, nanoseconds: 100_000, requestID: nil, start: nil)
        recorder.finished(due: ms(105), outcome: .succeeded, nanoseconds: 1_000_000, requestID: "c", start: nil)
        recorder.finished(due: ms(205), outcome: .otherError, nanoseconds: 1, requestID: nil, start: nil)
        recorder.verdict(.cold, requestID: "lost", at: ms(250))
        recorder.settle()
        #expect(recorder.requests == 5)
        #expect(LoadOutcome.allCases.map { recorder.count($0) } == [2, 1, 1, 1])
        #expect(recorder.coldStarts == 2)
        #expect(recorder.cold.count == 1 && recorder.warm.count == 2 && recorder.all.count == 3)
        #expect(recorder.timeline.map(\.requests) == [2, 2, 1])
        #expect(recorder.timeline.map(\.coldStarts) == [1, 0, 1])
        #expect(recorder.timeline[1].outcomes == [1, 0, 1, 0])
        #expect(recorder.binNanoseconds == 100_000_000)
    }

    /// Timeline bins are 100 ms while the run is under 10 s, then 1 s (each 10 bins merged into one, counts
    /// added, samples' peaks kept), then 10 s past 10 minutes.
    @Test func binsAdaptToTheRun() {
        var recorder = LoadRecorder()
        recorder.started(due: ms(50))
        recorder.started(due: ms(950))
        recorder.sandboxes(at: ms(120), total: 3, busy: 1)
        recorder.sandboxes(at: ms(640), total: 2, busy: 2)
        recorder.started(due: ms(9_950))
        #expect(recorder.binNanoseconds == 100_000_000 && recorder.timeline.count == 100)
        recorder.started(due: ms(10_000))
        #expect(recorder.binNanoseconds == 1_000_000_000 && recorder.timeline.count == 11)
        #expect(recorder.timeline[0].requests == 2 && recorder.timeline[9].requests == 1)
        #expect(recorder.timeline[0].sandboxes == 3 && recorder.timeline[0].busySandboxes == 2)
        recorder.started(due: ms(600_000))
        #expect(recorder.binNanoseconds == 10_000_000_000 && recorder.timeline.count == 61)
        #expect(recorder.requests == 5 && recorder.timeline.map(\.requests).reduce(0, +) == 5)
    }

    /// Sandboxes counted from lifecycle events are exact at every instant: each bin holds the peak of each state,
    /// a bin without events the state it held, and events before the start only set the state it starts from.
    @Test func sandboxesFromEvents() {
        var tracker = SandboxTracker()
        // A provisioned sandbox initialised before the run.
        tracker.apply(.initStarted, sandbox: "p", at: -5_000_000)
        tracker.apply(.initFinished, sandbox: "p", at: -1_000_000)
        // Two cold starts at 10 ms; one sandbox runs 0.45 s, the other is frozen after its invoke.
        for id in ["a", "b"] { tracker.apply(.initStarted, sandbox: id, at: Int64(ms(10))) }
        for id in ["a", "b"] { tracker.apply(.initFinished, sandbox: id, at: Int64(ms(40))) }
        for id in ["a", "b"] { tracker.apply(.invokeStarted, sandbox: id, at: Int64(ms(41))) }
        tracker.apply(.invokeFinished, sandbox: "b", at: Int64(ms(60)))
        tracker.apply(.frozen(latencyNanoseconds: 40_000), sandbox: "b", at: Int64(ms(60)))
        tracker.apply(.invokeFinished, sandbox: "a", at: Int64(ms(490)))
        tracker.apply(.thawed(latencyNanoseconds: 9_000), sandbox: "b", at: Int64(ms(510)))
        // A managed instance runs two invokes at once.
        tracker.apply(.invokeStarted, sandbox: "p", at: Int64(ms(520)))
        tracker.apply(.invokeStarted, sandbox: "p", at: Int64(ms(530)))
        tracker.apply(.terminated, sandbox: "a", at: Int64(ms(650)))
        tracker.extend(to: ms(790))
        let totals = tracker.timeline.map(\.total)
        #expect(totals == [3, 3, 3, 3, 3, 3, 3, 2], "\(totals)")
        #expect(tracker.timeline.map(\.busy) == [2, 1, 1, 1, 1, 1, 1, 1])
        #expect(tracker.timeline.map(\.initializing) == [2, 0, 0, 0, 0, 0, 0, 0])
        #expect(tracker.timeline.map(\.frozen) == [1, 1, 1, 1, 1, 1, 0, 0])
        #expect(tracker.timeline.map(\.inFlight) == [2, 1, 1, 1, 1, 2, 2, 2])
        #expect(tracker.current == SandboxTracker.Counts(total: 2, initializing: 0, busy: 1, frozen: 0, inFlight: 2))
        #expect(tracker.freezes.count == 1 && tracker.thaws.count == 1)
        // The run ended at 9.95 s; the simulator's stop, later, counts at the end: no bin past it, bins stay 100 ms.
        let end = ms(9_950)
        tracker.apply(.terminated, sandbox: "b", at: Int64(ms(10_400)), runEnd: end)
        tracker.apply(.terminated, sandbox: "p", at: Int64(ms(10_500)), runEnd: end)
        #expect(tracker.binNanoseconds == 100_000_000 && tracker.timeline.count == 100)
        #expect(tracker.timeline[99].total == 2 && tracker.current.total == 0)
    }

    @Test func classification() {
        #expect(LoadOutcome.classify(status: 200, functionError: false) == .succeeded)
        #expect(LoadOutcome.classify(status: 200, functionError: true) == .functionError)
        #expect(LoadOutcome.classify(status: 202, functionError: false) == .succeeded)
        #expect(LoadOutcome.classify(status: 429, functionError: false) == .throttled)
        #expect(LoadOutcome.classify(status: 502, functionError: false) == .otherError)
    }

    /// The REPORT line at the end of a log tail tells a cold start (Init Duration) from a warm one.
    @Test func tails() {
        let filler = String(repeating: "x", count: 3000) + "\n"
        let cold = filler + "END RequestId: 1\nREPORT RequestId: 1\tDuration: 1.00 ms\tInit Duration: 3.00 ms\t\n"
        let warm = "Init Duration: in the function's own output\n" + filler + "REPORT RequestId: 2\tDuration: 1 ms\t\n"
        #expect(LoadGenerator.startKind(fromTail: Base64.encode(Array(cold.utf8))) == .cold)
        #expect(LoadGenerator.startKind(fromTail: Base64.encode(Array(warm.utf8))) == .warm)
        #expect(LoadGenerator.startKind(fromTail: Base64.encode(Array("no report\n".utf8))) == nil)
        #expect(LoadGenerator.startKind(fromTail: "!!") == nil)
    }

    private func result(mode: String = "signal", limit: ConcurrencyLimit? = nil) -> LoadResult {
        var recorder = LoadRecorder()
        for index in 0..<100 {
            recorder.started(due: ms(20 * index))
            let outcome: LoadOutcome = index < 90 ? .succeeded : index < 95 ? .throttled : .otherError
            recorder.finished(
                due: ms(20 * index), outcome: outcome, nanoseconds: UInt64(index + 1) * 1_000_000,
                requestID: String(index), start: index == 0 ? .cold : .warm)
        }
        recorder.sandboxes(at: 0, total: 3, busy: 2, inFlight: 7)
        recorder.settle()
        let plan = LoadPlan(
            model: .rate(50), stop: StopCondition(seconds: 2, requests: nil), payload: [],
            invocationType: "RequestResponse")
        // Three sandboxes from their events: a managed instance running 6 invokes, one running 1, and one whose
        // freezes and thaws are timed.
        var tracker = SandboxTracker()
        for _ in 0..<6 { tracker.apply(.invokeStarted, sandbox: "m", at: 0) }
        tracker.apply(.invokeStarted, sandbox: "b", at: 0)
        for index in 0..<89 {
            tracker.apply(.frozen(latencyNanoseconds: UInt64(30_000 + 500 * index)), sandbox: "s", at: Int64(ms(index)))
            tracker.apply(.thawed(latencyNanoseconds: UInt64(8_000 + 100 * index)), sandbox: "s", at: Int64(ms(index)))
        }
        return LoadResult(
            recorder: recorder, function: "fn", target: "command", plan: plan, load: "50/s for 2s", durationSeconds: 2,
            freeze: FreezeFigures(
                mode: mode, freezeP50Us: 40, freezeP99Us: 90, thawP50Us: 8, thawP99Us: 20, frozen: 89, skipped: 1),
            sandboxes: tracker, concurrencyLimit: limit, generatorCPUSeconds: 0.002, processCPUSeconds: 0.01)
    }

    /// The report of one run has cards for the offered and succeeded rates, draws the offered rate against the
    /// outcomes and the reservation on the sandboxes chart.
    @Test func reportShowsOfferedRateAndLimit() {
        let run = result(limit: ConcurrencyLimit(value: 8, kind: "reserved"))
        // 100 invokes due 20 ms apart (the last at 1.98 s); 90 succeeded over the 2 s run.
        #expect(abs(run.offeredPerSecond - 100 / 1.98) < 0.01 && run.succeededPerSecond == 45)
        let html = LoadReport.html([run], generatedAtEpochMilliseconds: 0)
        #expect(html.contains("<b>51/s</b><span>offered</span>") && html.contains("<b>45/s</b><span>succeeded</span>"))
        #expect(html.contains(">offered</text>") && html.contains(">succeeded</text>"))
        #expect(html.contains(">reserved concurrency 8</text>"))
        #expect(html.contains("<b>3 / 8</b><span>peak sandboxes / limit</span>"))
        let endpoint = LoadReport.html([result()], generatedAtEpochMilliseconds: 0)
        #expect(endpoint.contains("<b>3</b><span>peak sandboxes</span>") && !endpoint.contains("reserved concurrency"))
        #expect(run.generatorCpuMicrosecondsPerInvoke == 20 && run.simulatorCpuMicrosecondsPerInvoke == 80)
    }

    /// The latency distribution is drawn in buckets at most 2 % wide, and the freeze and thaw latencies of the
    /// run as distributions.
    @Test func distributionsAreFine() {
        let run = result()
        let edges = run.histogramEdgesMs
        #expect(edges.count > 100)
        #expect(zip(edges, edges.dropFirst()).allSatisfy { $1 / $0 <= 1.02 })
        #expect(run.warmHistogram.reduce(0, +) == 89 && run.coldHistogram.reduce(0, +) == 1)
        #expect(run.freezeHistogram?.count == 89 && run.thawHistogram?.count == 89)
        let html = LoadReport.html([run], generatedAtEpochMilliseconds: 0)
        #expect(html.contains("Freeze latency, request to confirmation") && html.contains(">warm (89)</text>"))
    }

    /// `--compare-freeze`: a table of differences between the modes comes first, each chart is drawn once with
    /// every mode in a colour of its own, and every legend fits the chart's width.
    @Test func comparisonReport() throws {
        var runs = ["none", "signal", "cgroup"].map { result(mode: $0) }
        runs[1].latency.p99 = 99
        let html = LoadReport.html(runs, generatedAtEpochMilliseconds: 0)
        let differences = try #require(html.firstRange(of: "Differences between freeze modes"))
        let summary = try #require(html.firstRange(of: "<h2>Summary"))
        #expect(differences.lowerBound < summary.lowerBound)
        #expect(html.contains("99.000 <small class=\"worse\">+10 %</small>"))
        #expect(html.components(of: "class=\"chart-title\">Invokes per second") == 1)
        #expect(html.components(of: "<svg ") == 7, "rates, latency, sandboxes, warm, cold, freeze, thaw")
        for series in ["sandboxes", "succeeded", "p50"] {
            let colors = ["none", "signal", "cgroup"].compactMap { legendColor(of: "\($0) \(series)", in: html) }
            #expect(colors.count == 3 && Set(colors).count == 3, "\(series): \(colors)")
        }
        // Legend entries as the chart lays them out: a swatch and the name, 6.2 units a character.
        var rest = html[...]
        while let range = rest.firstRange(of: "class=\"legend\">") {
            let before = rest[..<range.lowerBound]
            let x = Double(before[before.index(before.lastIndex(of: "=")!, offsetBy: 2)...].prefix { $0 != "\"" })!
            let name = rest[range.upperBound...].prefix { $0 != "<" }
            #expect(x + Double(name.count) * 6.2 <= 880, "legend '\(name)' at \(x) overflows")
            rest = rest[range.upperBound...]
        }
    }

    /// The stroke colour of the legend swatch before the legend entry `name`.
    private func legendColor(of name: String, in html: String) -> String? {
        guard let range = html.firstRange(of: "class=\"legend\">\(name)</text>") else { return nil }
        let before = String(html[..<range.lowerBound].suffix(200))
        guard let stroke = before.ranges(of: "stroke=\"").last else { return nil }
        return String(before[stroke.upperBound...].prefix { $0 != "\"" })
    }

    /// `--fail-on` conditions, with units and percentages.
    @Test func failureConditions() throws {
        let run = result()
        func holds(_ text: String) throws -> Bool { try FailureCondition.parse(text).holds(for: run) }
        #expect(try holds("p99>80ms"))
        #expect(try !holds("p99>1s"))
        #expect(try holds("max>=90"))
        #expect(try holds("throttled>0"))
        #expect(try holds("errors>4%"))
        #expect(try !holds("errors>5%"))
        #expect(try holds("other_errors>=5"))
        #expect(try holds("cold_starts<2"))
        #expect(try holds("cold_p99>500us"))
        #expect(try FailureCondition.parseList("p99>500ms,errors>1%,throttled>0").count == 3)
        #expect(throws: LoadPlanError.self) { try FailureCondition.parse("latency>1") }
        #expect(throws: LoadPlanError.self) { try FailureCondition.parse("p99=1") }
        #expect(throws: LoadPlanError.self) { try FailureCondition.parse("p99>fast") }
    }

    /// The JSON document has exactly the issue's keys first, and each timeline second has its keys.
    @Test func jsonKeys() throws {
        let document = try JSON.parse(result().jsonText)
        guard case .object(let members) = document else {
            Issue.record("not an object")
            return
        }
        let required = [
            "function", "target", "model", "requests", "succeeded", "functionErrors", "throttled", "otherErrors",
            "coldStarts", "durationSeconds", "throughputPerSecond", "latencyMs", "coldLatencyMs", "warmLatencyMs",
            "freeze", "timeline",
        ]
        #expect(Array(members.map(\.0).prefix(required.count)) == required)
        #expect(document["requests"] == .number("100"))
        #expect(document["throttled"] == .number("5"))
        #expect(document["coldStarts"] == .number("1"))
        for key in ["p50", "p90", "p99", "max"] { #expect(document["latencyMs"]?[key] != nil) }
        for key in ["mode", "freezeP50Us", "freezeP99Us", "thawP50Us", "thawP99Us"] {
            #expect(document["freeze"]?[key] != nil)
        }
        guard case .array(let seconds) = document["timeline"], let first = seconds.first,
            case .object(let entry) = first
        else {
            Issue.record("no timeline")
            return
        }
        #expect(seconds.count == 20)
        #expect(document["binSeconds"] == .number("0.100"))
        #expect(
            entry.map(\.0) == [
                "startSeconds", "requests", "succeeded", "functionErrors", "throttled", "otherErrors", "coldStarts",
                "p50Ms", "p99Ms", "sandboxes", "busySandboxes", "inFlight", "initializingSandboxes", "frozenSandboxes",
            ])
        #expect(first["sandboxes"] == .number("3") && first["busySandboxes"] == .number("2"))
        #expect(first["inFlight"] == .number("7"))
        #expect(document["peakInFlight"] == .number("7"))
    }

    /// Sandboxes that ran several invokes at once (managed instances) get the invokes in flight in the summary and
    /// the sandboxes chart; one invoke per sandbox does not.
    @Test func inFlightShownForManagedInstances() {
        let several = result()
        #expect(several.runsSeveralPerSandbox && several.peakInFlight == 7)
        let html = LoadReport.html([several], generatedAtEpochMilliseconds: 0)
        #expect(html.contains("peak invokes in flight") && html.contains("invokes in flight (green)"))
        var single = several
        single.peakInFlight = 3
        #expect(!single.runsSeveralPerSandbox)
        #expect(!LoadReport.html([single], generatedAtEpochMilliseconds: 0).contains("invokes in flight"))
    }

    /// The report is one self-contained page: its charts are inline SVG, and it refers to nothing outside.
    @Test func selfContainedReport() {
        let html = LoadReport.html([result(), result()], generatedAtEpochMilliseconds: 0)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        let charts = html.components(of: "<svg ")
        #expect(charts >= 6, "\(charts) charts")
        for forbidden in ["<script", "src=", "href=", "url(", "@import", "http://", "https://", "<link"] {
            #expect(!html.contains(forbidden), "the report contains \(forbidden)")
        }
        #expect(html.contains("Latency over time") && html.contains("Sandboxes and cold starts"))
        #expect(html.contains("Freeze and thaw latency"))
    }
}

/// `milliseconds` in nanoseconds.
private func ms(_ milliseconds: Int) -> UInt64 { UInt64(milliseconds) * 1_000_000 }

extension String {
    fileprivate func components(of needle: String) -> Int {
        var count = 0
        var rest = self[...]
        while let range = rest.firstRange(of: needle) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
