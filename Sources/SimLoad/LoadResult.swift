import SimCore

/// Latency percentiles of one group of invokes, in milliseconds.
package struct LatencyFigures: Equatable, Sendable {
    package var p50: Double
    package var p90: Double
    package var p99: Double
    package var max: Double
    package var count: Int
    package var p95 = 0.0
    /// The mean (0 without samples).
    package var average = 0.0

    package init(_ histogram: LatencyHistogram) {
        func ms(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1_000_000 }
        p50 = ms(histogram.percentile(0.5))
        p90 = ms(histogram.percentile(0.9))
        p95 = ms(histogram.percentile(0.95))
        p99 = ms(histogram.percentile(0.99))
        max = ms(histogram.max)
        count = histogram.count
        average = histogram.count > 0 ? ms(histogram.total) / Double(histogram.count) : 0
    }

    package init(p50: Double, p90: Double, p99: Double, max: Double, count: Int) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.max = max
        self.count = count
    }
}

/// What freezing cost during a run, when the target is lambda-sim.
package struct FreezeFigures: Equatable, Sendable {
    package var mode: String
    package var freezeP50Us: Double
    package var freezeP99Us: Double
    package var thawP50Us: Double
    package var thawP99Us: Double
    /// Freezes carried out, and those skipped because the next invoke was already waiting.
    package var frozen: Int
    package var skipped: Int
    /// Confirmed freezes and thaws, the samples behind the percentiles (nil: as many as `frozen`); a percentile
    /// over none is null in the JSON and "—" in the summary.
    package var freezeSamples: Int?
    package var thawSamples: Int?
    /// Freezes and thaws carried out but never confirmed (no latency recorded).
    package var unconfirmed = 0
    package var thawsUnconfirmed = 0

    package init(
        mode: String, freezeP50Us: Double, freezeP99Us: Double, thawP50Us: Double, thawP99Us: Double, frozen: Int,
        skipped: Int
    ) {
        self.mode = mode
        self.freezeP50Us = freezeP50Us
        self.freezeP99Us = freezeP99Us
        self.thawP50Us = thawP50Us
        self.thawP99Us = thawP99Us
        self.frozen = frozen
        self.skipped = skipped
    }
}

/// The reserved concurrency of the function, or the account's limit when it has none: the ceiling of its
/// sandboxes, drawn on the report's sandboxes chart.
package struct ConcurrencyLimit: Equatable, Sendable {
    /// Concurrent executions.
    package var value: Int
    /// `reserved` (the function's reservation), `account` (the account's limit) or `max` (`run`'s
    /// `--max-concurrency`, beyond which invokes queue).
    package var kind: String

    /// How the report names it: `reserved concurrency 8`, `account limit 1000`, `--max-concurrency 1`.
    package var label: String {
        switch kind {
        case "reserved": return "reserved concurrency \(value)"
        case "account": return "account limit \(value)"
        default: return "--max-concurrency \(value)"
        }
    }

    package init(value: Int, kind: String) {
        self.value = value
        self.kind = kind
    }
}

/// One bin of a run's timeline (`binSeconds` wide: 100 ms for runs under 10 s, 1 s up to 10 minutes, then
/// coarser).
package struct TimelineSecond: Equatable, Sendable {
    /// The bin's start, in seconds since the start of the run.
    package var startSeconds: Double
    package var requests: Int
    package var succeeded: Int
    package var functionErrors: Int
    package var throttled: Int
    package var otherErrors: Int
    package var coldStarts: Int
    package var p50Ms: Double?
    package var p99Ms: Double?
    package var sandboxes: Int?
    package var busySandboxes: Int?
    /// Most invokes in flight in the function's sandboxes seen during the second, when the target says.
    package var inFlight: Int? = nil
    /// Most sandboxes initialising, and frozen, during the bin (counted from the simulator's events; nil for an
    /// endpoint).
    package var initializingSandboxes: Int? = nil
    package var frozenSandboxes: Int? = nil
}

/// The outcome of one run, as the summary, the JSON file and the HTML report show it.
package struct LoadResult: Equatable, Sendable {
    package var function: String
    /// `endpoint`, `config` or `command`.
    package var target: String
    /// `open` or `closed`.
    package var model: String
    /// The load as the user gave it: `500/s`, `stages 5s:50,20s:500`, `concurrency 10`.
    package var load: String
    package var invocationType: String
    package var requests: Int
    package var succeeded: Int
    package var functionErrors: Int
    package var throttled: Int
    package var otherErrors: Int
    package var coldStarts: Int
    package var durationSeconds: Double
    package var latency: LatencyFigures
    package var coldLatency: LatencyFigures
    package var warmLatency: LatencyFigures
    package var freeze: FreezeFigures?
    package var timeline: [TimelineSecond]
    /// The width of each timeline bin, in seconds.
    package var binSeconds: Double
    /// The function's reservation or the account's limit, when the target is started here.
    package var concurrencyLimit: ConcurrencyLimit?
    /// The run's freeze and thaw latencies, from the simulator's events (nil for an endpoint).
    package var freezeHistogram: LatencyHistogram?
    package var thawHistogram: LatencyHistogram?
    /// The latencies of warm and cold invokes, for the report's distributions.
    package var warmLatencyHistogram: LatencyHistogram
    package var coldLatencyHistogram: LatencyHistogram
    /// CPU (user + system) per invoke of the load generator's thread, and of the rest of the lambda-sim process
    /// (the simulator, when it runs in this process).
    package var generatorCpuMicrosecondsPerInvoke: Double?
    package var simulatorCpuMicrosecondsPerInvoke: Double?
    /// How often the generator's thread was woken per invoke: about 1 when answers and due invokes share wakes.
    package var generatorWakesPerInvoke: Double?
    /// Connections the generator opened, and the most invokes in flight from its side at once.
    package var connectionsOpened: Int
    package var peakClientInFlight: Int
    /// Bucket edges (ms) and the cold and warm invokes in each bucket, for the report's histogram.
    package var histogramEdgesMs: [Double]
    package var coldHistogram: [Int]
    package var warmHistogram: [Int]
    /// The highest number of sandboxes seen.
    package var peakSandboxes: Int?
    /// The most invokes in flight seen at once in the function's sandboxes (several per managed instance).
    package var peakInFlight: Int?

    /// Whether sandboxes ran several invokes at once (managed instances): more in flight than sandboxes.
    package var runsSeveralPerSandbox: Bool {
        guard let peakInFlight, let peakSandboxes else { return false }
        return peakInFlight > peakSandboxes
    }
    /// Sandboxes the simulator started for invokes during the run (on-demand inits), when it says.
    package var sandboxesStarted: Int?
    /// Whether a signal stopped the run early (its figures cover what ran until then), and the invokes that were
    /// still in flight or waiting when its drain ended (counted as other errors).
    package var interrupted = false
    package var abandoned = 0
    /// The differences to a `--baseline` run, as the JSON's `baseline` object (nil: no baseline).
    package var baseline: JSONValue?
    /// What became of the `Event` invokes (nil for `RequestResponse`).
    package var events: EventCounts?

    package var throughputPerSecond: Double { durationSeconds > 0 ? Double(requests) / durationSeconds : 0 }
    /// Invokes that succeeded per second of the run.
    package var succeededPerSecond: Double { durationSeconds > 0 ? Double(succeeded) / durationSeconds : 0 }
    /// Invokes started per second while the load was offered: up to the last start (its scheduled time in an open
    /// model), not the last answer.
    package var offeredPerSecond: Double

    /// Builds the result of a finished (settled) recording.
    package init(
        recorder: LoadRecorder, function: String, target: String, plan: LoadPlan, load: String,
        durationSeconds: Double, freeze: FreezeFigures?, sandboxesStarted: Int? = nil,
        sandboxes tracker: SandboxTracker? = nil, concurrencyLimit: ConcurrencyLimit? = nil,
        generatorCPUSeconds: Double? = nil, processCPUSeconds: Double? = nil
    ) {
        let invokes = Double(max(recorder.requests, 1))
        generatorCpuMicrosecondsPerInvoke = generatorCPUSeconds.map { $0 * 1e6 / invokes }
        simulatorCpuMicrosecondsPerInvoke = processCPUSeconds.map { ($0 - (generatorCPUSeconds ?? 0)) * 1e6 / invokes }
        generatorWakesPerInvoke = recorder.generatorWakes.map { Double($0) / invokes }
        warmLatencyHistogram = recorder.warm
        connectionsOpened = recorder.connectionsOpened
        peakClientInFlight = recorder.peakClientInFlight
        coldLatencyHistogram = recorder.cold
        var recorder = recorder
        var tracker = tracker
        let width = max(recorder.binNanoseconds, tracker?.binNanoseconds ?? 0)
        recorder.coarsen(to: width)
        tracker?.coarsen(to: width)
        binSeconds = Double(width) / 1e9
        let lastStart = Double(recorder.lastStart) / 1e9
        offeredPerSecond = lastStart > 0 ? Double(recorder.requests) / lastStart : 0
        self.concurrencyLimit = concurrencyLimit
        freezeHistogram = tracker?.freezes
        thawHistogram = tracker?.thaws
        self.sandboxesStarted = sandboxesStarted
        self.function = function
        self.target = target
        model = plan.model.name
        self.load = load
        invocationType = plan.invocationType
        requests = recorder.requests
        succeeded = recorder.count(.succeeded)
        functionErrors = recorder.count(.functionError)
        throttled = recorder.count(.throttled)
        otherErrors = recorder.count(.otherError)
        coldStarts = recorder.coldStarts
        self.durationSeconds = durationSeconds
        latency = LatencyFigures(recorder.all)
        coldLatency = LatencyFigures(recorder.cold)
        warmLatency = LatencyFigures(recorder.warm)
        self.freeze = freeze
        // The bins up to the last answer; the simulator's events after it (its stop) are left out.
        let binCount = max(recorder.timeline.count, Int((durationSeconds * 1e9).rounded(.up) / Double(width)))
        timeline = (0..<binCount).map { index in
            let entry = index < recorder.timeline.count ? recorder.timeline[index] : LoadRecorder.Bin()
            var bin = TimelineSecond(
                startSeconds: Double(index) * Double(width) / 1e9, requests: entry.requests,
                succeeded: entry.outcomes[0],
                functionErrors: entry.outcomes[1], throttled: entry.outcomes[2], otherErrors: entry.outcomes[3],
                coldStarts: entry.coldStarts,
                p50Ms: entry.latency.count > 0 ? Double(entry.latency.percentile(0.5)) / 1e6 : nil,
                p99Ms: entry.latency.count > 0 ? Double(entry.latency.percentile(0.99)) / 1e6 : nil,
                sandboxes: entry.sandboxes, busySandboxes: entry.busySandboxes, inFlight: entry.inFlight)
            if let tracker {
                // Counted from the simulator's events: exact, the bin's peak of each state. A bin after the last
                // change held the state of the end.
                let counts = index < tracker.timeline.count ? tracker.timeline[index] : tracker.current
                bin.sandboxes = counts.total
                bin.busySandboxes = counts.busy
                bin.inFlight = counts.inFlight
                bin.initializingSandboxes = counts.initializing
                bin.frozenSandboxes = counts.frozen
            }
            return bin
        }
        peakSandboxes = timeline.compactMap(\.sandboxes).max()
        peakInFlight = timeline.compactMap(\.inFlight).max()
        // The histogram's own buckets (1.94 % wide) from the fastest invoke's to the slowest's.
        let cold = Dictionary(uniqueKeysWithValues: recorder.cold.occupiedBuckets.map { ($0.index, $0.count) })
        let warm = Dictionary(uniqueKeysWithValues: recorder.warm.occupiedBuckets.map { ($0.index, $0.count) })
        let used = Array(cold.keys) + Array(warm.keys)
        if let low = used.min(), let high = used.max() {
            histogramEdgesMs = (low...(high + 1)).map { LatencyHistogram.bounds(ofBucket: $0).lower / 1e6 }
            coldHistogram = (low...high).map { cold[$0] ?? 0 }
            warmHistogram = (low...high).map { warm[$0] ?? 0 }
        } else {
            histogramEdgesMs = []
            coldHistogram = []
            warmHistogram = []
        }
    }

    /// `--json`: the keys the issue lists, then more.
    package var json: JSONValue {
        func number(_ value: Double) -> JSONValue { .number(LambdaLog.fixed(value, decimals: 3)) }
        func number(_ value: Int) -> JSONValue { .number(String(value)) }
        func optional(_ value: Int?) -> JSONValue { value.map(number) ?? .null }
        func optional(_ value: Double?) -> JSONValue { value.map(number) ?? .null }
        func figures(_ f: LatencyFigures) -> JSONValue {
            .object([
                ("p50", number(f.p50)), ("p90", number(f.p90)), ("p99", number(f.p99)), ("max", number(f.max)),
                ("count", number(f.count)), ("p95", number(f.p95)), ("avg", number(f.average)),
            ])
        }
        // Percentiles are null without samples (mode none, no invoke ended, or no freeze confirmed).
        let freezeValue: JSONValue =
            freeze.map {
                let frozen = ($0.freezeSamples ?? $0.frozen) > 0
                let thawed = ($0.thawSamples ?? $0.frozen) > 0
                return .object([
                    ("mode", .string($0.mode)), ("freezeP50Us", frozen ? number($0.freezeP50Us) : .null),
                    ("freezeP99Us", frozen ? number($0.freezeP99Us) : .null),
                    ("thawP50Us", thawed ? number($0.thawP50Us) : .null),
                    ("thawP99Us", thawed ? number($0.thawP99Us) : .null), ("frozen", number($0.frozen)),
                    ("skipped", number($0.skipped)), ("unconfirmed", number($0.unconfirmed)),
                    ("thawsUnconfirmed", number($0.thawsUnconfirmed)),
                ])
            } ?? .null
        var members: [(String, JSONValue)] = [
            ("function", .string(function)),
            ("target", .string(target)),
            ("model", .string(model)),
            ("requests", number(requests)),
            ("succeeded", number(succeeded)),
            ("functionErrors", number(functionErrors)),
            ("throttled", number(throttled)),
            ("otherErrors", number(otherErrors)),
            ("coldStarts", number(coldStarts)),
            ("durationSeconds", number(durationSeconds)),
            ("throughputPerSecond", number(throughputPerSecond)),
            ("latencyMs", figures(latency)),
            ("coldLatencyMs", figures(coldLatency)),
            ("warmLatencyMs", figures(warmLatency)),
            ("freeze", freezeValue),
            (
                "timeline",
                .array(
                    timeline.map { s in
                        .object([
                            ("startSeconds", number(s.startSeconds)), ("requests", number(s.requests)),
                            ("succeeded", number(s.succeeded)), ("functionErrors", number(s.functionErrors)),
                            ("throttled", number(s.throttled)), ("otherErrors", number(s.otherErrors)),
                            ("coldStarts", number(s.coldStarts)), ("p50Ms", optional(s.p50Ms)),
                            ("p99Ms", optional(s.p99Ms)), ("sandboxes", optional(s.sandboxes)),
                            ("busySandboxes", optional(s.busySandboxes)), ("inFlight", optional(s.inFlight)),
                            ("initializingSandboxes", optional(s.initializingSandboxes)),
                            ("frozenSandboxes", optional(s.frozenSandboxes)),
                        ])
                    })
            ),
            ("load", .string(load)),
            ("invocationType", .string(invocationType)),
            // Never null: at least the sandboxes the run saw start, when nothing sampled them.
            ("peakSandboxes", number(max(peakSandboxes ?? 0, coldStarts, sandboxesStarted ?? 0))),
            ("peakInFlight", optional(peakInFlight)),
            ("sandboxesStarted", optional(sandboxesStarted)),
            ("binSeconds", number(binSeconds)),
            ("succeededPerSecond", number(succeededPerSecond)),
            ("offeredPerSecond", number(offeredPerSecond)),
            ("generatorCpuUsPerInvoke", optional(generatorCpuMicrosecondsPerInvoke)),
            ("simulatorCpuUsPerInvoke", optional(simulatorCpuMicrosecondsPerInvoke)),
            ("generatorWakesPerInvoke", optional(generatorWakesPerInvoke)),
            ("connectionsOpened", number(connectionsOpened)),
            ("peakClientInFlight", number(peakClientInFlight)),
            (
                "concurrencyLimit",
                concurrencyLimit.map { .object([("value", number($0.value)), ("kind", .string($0.kind))]) } ?? .null
            ),
            ("interrupted", .bool(interrupted)),
            ("abandoned", number(abandoned)),
            (
                "latencyHistogram",
                .object([
                    ("edgesMs", .array(histogramEdgesMs.map { number($0) })),
                    ("cold", .array(coldHistogram.map { number($0) })),
                    ("warm", .array(warmHistogram.map { number($0) })),
                ])
            ),
        ]
        if let events { members.append(("events", events.json)) }
        if let baseline { members.append(("baseline", baseline)) }
        return .object(members)
    }

    /// The summary table printed at the end, in the spirit of k6 and hey.
    package var summary: String {
        func percent(_ n: Int) -> String {
            requests > 0 ? " (" + LambdaLog.fixed(Double(n) * 100 / Double(requests), decimals: 2) + " %)" : ""
        }
        func row(_ label: String, _ value: String) -> String {
            let dots = String(repeating: ".", count: max(2, 22 - label.count))
            return "  \(label) \(dots) \(value)\n"
        }
        func ms(_ value: Double) -> String { pad(LambdaLog.fixed(value, decimals: value < 10 ? 3 : 1), 10) }
        func latencyRow(_ label: String, _ f: LatencyFigures) -> String {
            guard f.count > 0 else { return "    \(pad(label, 6, left: false))" + pad("—", 10) + "\n" }
            return "    \(pad(label, 6, left: false))" + ms(f.p50) + ms(f.p90) + ms(f.p99) + ms(f.max)
                + pad(String(f.count), 10) + "\n"
        }
        var out = "lambda-sim load: \(function) (\(target)), \(load), \(invocationType)\n"
        if interrupted {
            out += "  interrupted: no invoke started after the signal; \(abandoned) abandoned at the end of the drain\n"
        }
        out += row(
            "requests",
            "\(requests)  \(LambdaLog.fixed(throughputPerSecond, decimals: 1))/s over "
                + LambdaLog.fixed(durationSeconds, decimals: 1) + " s")
        out += row("succeeded", "\(succeeded)\(percent(succeeded))")
        out += row("function errors", "\(functionErrors)\(percent(functionErrors))")
        out += row("throttled", "\(throttled)\(percent(throttled))")
        out += row("other errors", "\(otherErrors)\(percent(otherErrors))")
        out += row("cold starts", "\(coldStarts)")
        if let events { out += events.summary }
        if let peakSandboxes { out += row("peak sandboxes", "\(peakSandboxes)") }
        if runsSeveralPerSandbox, let peakInFlight {
            // Only worth a line when sandboxes run several invokes at once (managed instances).
            out += row("peak in flight", "\(peakInFlight)")
        }
        out +=
            "  latency (ms)" + pad("p50", 10) + pad("p90", 10) + pad("p99", 10) + pad("max", 10) + pad("count", 10)
            + "\n"
        out += latencyRow("all", latency)
        out += latencyRow("warm", warmLatency)
        out += latencyRow("cold", coldLatency)
        if let freeze, freeze.frozen == 0 {
            out += row("freeze (\(freeze.mode))", "no freezes")
        } else if let freeze {
            func micros(_ value: Double, samples: Int) -> String {
                samples > 0 ? LambdaLog.fixed(value, decimals: 1) + " µs" : "—"
            }
            let freezes = freeze.freezeSamples ?? freeze.frozen
            let thaws = freeze.thawSamples ?? freeze.frozen
            let unconfirmed = freeze.unconfirmed > 0 ? "\(freeze.unconfirmed) unconfirmed, " : ""
            out += row(
                "freeze (\(freeze.mode))",
                "p50 \(micros(freeze.freezeP50Us, samples: freezes))  p99 \(micros(freeze.freezeP99Us, samples: freezes))"
                    + "  (\(freeze.frozen) freezes, \(unconfirmed)\(freeze.skipped) skipped)")
            let thawsUnconfirmed = freeze.thawsUnconfirmed > 0 ? "  (\(freeze.thawsUnconfirmed) unconfirmed)" : ""
            out += row(
                "thaw (\(freeze.mode))",
                "p50 \(micros(freeze.thawP50Us, samples: thaws))  p99 \(micros(freeze.thawP99Us, samples: thaws))"
                    + thawsUnconfirmed)
        }
        return out
    }
}

/// `text` padded with spaces to `width` (on the left by default, for numbers).
func pad(_ text: String, _ width: Int, left: Bool = true) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return left ? fill + text : text + fill
}
