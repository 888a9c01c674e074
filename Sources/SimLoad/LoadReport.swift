import SimCore

/// `--report FILE.html`: one self-contained page (inline CSS and SVG, no scripts, fonts or images from anywhere)
/// with the summary and the charts of one run, or of several runs side by side (`--compare-freeze`): then a table
/// of the differences between the modes comes first, and every chart shows all modes at once, one colour each.
package enum LoadReport {
    /// One colour per run (freeze mode); no other series of a comparison uses them.
    private static let runColors = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#9D755D"]
    private static let outcomeColors = (ok: "#54A24B", functionError: "#F58518", throttled: "#B279A2", other: "#E45756")
    /// Series of one run: the offered rate, cold starts, initialising sandboxes, the concurrency limit.
    private static let offeredColor = "#1d2330"
    private static let coldColor = "#E45756"
    private static let initializingColor = "#F58518"
    private static let limitColor = "#7f7f7f"

    /// The page for `runs` (one per freeze mode when comparing), generated at `epochMilliseconds`.
    package static func html(_ runs: [LoadResult], generatedAtEpochMilliseconds epochMilliseconds: Int64) -> String {
        guard let first = runs.first else { return "" }
        let comparing = runs.count > 1
        let names = runs.map { comparing ? ($0.freeze?.mode ?? "run") : "" }
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>lambda-sim load: \(escape(first.function))</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 920px;
                   color: #1d2330; background: #fff; }
            h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 6px; }
            .sub { color: #5a6272; font-size: 13px; margin-bottom: 16px; }
            table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
            th, td { padding: 4px 12px; border-bottom: 1px solid #e4e7ec; text-align: right; }
            th:first-child, td:first-child { text-align: left; color: #5a6272; font-weight: normal; }
            thead th { color: #1d2330; font-weight: 600; }
            td small { color: #5a6272; } td small.worse { color: #c0392b; } td small.better { color: #2e7d32; }
            .cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 8px 0 4px; }
            .card { border: 1px solid #e4e7ec; border-radius: 8px; padding: 8px 14px; min-width: 110px; }
            .card b { display: block; font-size: 20px; } .card span { color: #5a6272; font-size: 12px; }
            svg { width: 100%; height: auto; display: block; margin-bottom: 8px; }
            svg .grid { stroke: #eef0f3; } svg .axis { stroke: #9aa1ad; }
            svg .tick, svg .legend { font-size: 11px; fill: #5a6272; } svg .axis-label { font-size: 11px; fill: #5a6272; }
            svg .chart-title { font-size: 13px; font-weight: 600; fill: #1d2330; }
            .note { color: #5a6272; font-size: 12px; }
            </style></head><body>

            """
        let modes = comparing ? " — freeze modes compared: " + names.joined(separator: ", ") : ""
        page += "<h1>lambda-sim load: \(escape(first.function))</h1>\n"
        page +=
            "<div class=\"sub\">target: \(escape(first.target)) · \(escape(first.model)) model, \(escape(first.load)) · "
            + "\(escape(first.invocationType))\(escape(modes)) · timeline bins of "
            + "\(number(first.binSeconds, first.binSeconds < 1 ? 1 : 0)) s · generated "
            + "\(CivilTime(epochMilliseconds: epochMilliseconds).iso8601)</div>\n"
        if runs.contains(where: \.interrupted) {
            page +=
                "<div class=\"sub\"><b>Interrupted</b>: a signal stopped the run early; the figures cover what ran "
                + "until then.</div>\n"
        }
        if comparing {
            page += "<h2>Differences between freeze modes</h2>\n" + differencesTable(runs, names: names)
        } else {
            page += cards(first)
        }
        page += "<h2>Summary</h2>\n" + summaryTable(runs, names: names)
        page += "<h2>Offered load and outcomes</h2>\n" + ratesChart(runs, names: names)
        page += "<h2>Latency over time</h2>\n" + latencyChart(runs, names: names)
        page += "<h2>Sandboxes and cold starts</h2>\n" + sandboxesChart(runs, names: names)
        page += "<h2>Latency distribution</h2>\n" + distributionCharts(runs, names: names)
        if runs.contains(where: { ($0.freezeHistogram?.count ?? 0) + ($0.thawHistogram?.count ?? 0) > 0 }) {
            page += "<h2>Freeze and thaw latency</h2>\n" + freezeCharts(runs, names: names)
        }
        page +=
            "<p class=\"note\">Latencies are measured by the load generator from each invoke's scheduled start (open "
            + "model) or its send (closed model), over invokes answered 200; distributions are drawn in the "
            + "histogram's own buckets, each 1.94 % wide. Cold starts are the invokes whose REPORT carried an Init "
            + "Duration. Sandboxes are counted from the simulator's events (exact; each bin shows its peak) or, for an "
            + "endpoint, sampled ten times a second. Freeze and thaw latencies run from the request to its "
            + "confirmation.</p>\n"
        return page + "</body></html>\n"
    }

    private static func number(_ value: Double, _ decimals: Int = 2) -> String {
        LambdaLog.fixed(value, decimals: decimals)
    }

    private static func rate(_ value: Double) -> String { number(value, value < 10 ? 1 : 0) + "/s" }

    private static func cards(_ run: LoadResult) -> String {
        func card(_ value: String, _ label: String) -> String {
            "<div class=\"card\"><b>\(value)</b><span>\(label)</span></div>"
        }
        var out = "<div class=\"cards\">"
        out += card(rate(run.offeredPerSecond), "offered")
        out += card(rate(run.succeededPerSecond), "succeeded")
        out += card(String(run.requests), "requests")
        out += card(number(run.latency.p99, run.latency.p99 < 10 ? 2 : 0) + " ms", "p99 latency")
        out += card(String(run.coldStarts), "cold starts")
        out += card(String(run.throttled), "throttled")
        out += card(String(run.functionErrors + run.otherErrors), "errors")
        if let peak = run.peakSandboxes {
            if let limit = run.concurrencyLimit {
                out += card("\(peak) / \(limit.value)", "peak sandboxes / limit")
            } else {
                out += card(String(peak), "peak sandboxes")
            }
        }
        if let freeze = run.freeze, freeze.frozen > 0 {
            out += card(number(freeze.freezeP50Us, 0) + " µs", "freeze p50 (\(freeze.mode))")
        }
        return out + "</div>\n"
    }

    /// `--compare-freeze`: each mode's key figures, and how far each is from the first mode's.
    private static func differencesTable(_ runs: [LoadResult], names: [String]) -> String {
        guard let base = runs.first else { return "" }
        /// A figure of a run (nil: not measured) and whether more is worse.
        typealias Figure = (
            label: String, unit: String, decimals: Int, moreIsWorse: Bool, value: (LoadResult) -> Double?
        )
        func frozen(_ run: LoadResult) -> FreezeFigures? { run.freeze.flatMap { $0.frozen > 0 ? $0 : nil } }
        let figures: [Figure] = [
            ("succeeded", "/s", 1, false, { $0.succeededPerSecond }),
            ("latency p50", "ms", 3, true, { $0.latency.count > 0 ? $0.latency.p50 : nil }),
            ("latency p99", "ms", 3, true, { $0.latency.count > 0 ? $0.latency.p99 : nil }),
            ("warm p99", "ms", 3, true, { $0.warmLatency.count > 0 ? $0.warmLatency.p99 : nil }),
            ("cold p50", "ms", 1, true, { $0.coldLatency.count > 0 ? $0.coldLatency.p50 : nil }),
            ("simulator CPU per invoke", "µs", 1, true, { $0.simulatorCpuMicrosecondsPerInvoke }),
            ("freeze p50", "µs", 1, true, { frozen($0)?.freezeP50Us }),
            ("freeze p99", "µs", 1, true, { frozen($0)?.freezeP99Us }),
            ("thaw p50", "µs", 1, true, { frozen($0)?.thawP50Us }),
            ("thaw p99", "µs", 1, true, { frozen($0)?.thawP99Us }),
        ]
        var out = "<table><thead><tr><th></th>"
        for (index, name) in names.enumerated() {
            let color = runColors[index % runColors.count]
            out += "<th><span style=\"color:\(color)\">■</span> freeze \(escape(name))</th>"
        }
        out += "</tr></thead><tbody>"
        for figure in figures {
            let values = runs.map(figure.value)
            guard values.contains(where: { $0 != nil }) else { continue }
            out += "<tr><td>\(escape(figure.label)) (\(figure.unit))</td>"
            for (index, value) in values.enumerated() {
                guard let value else {
                    out += "<td>—</td>"
                    continue
                }
                var cell = number(value, figure.decimals)
                if index > 0, let reference = figure.value(base), reference > 0 {
                    let change = (value - reference) / reference * 100
                    let worse = figure.moreIsWorse ? change > 0 : change < 0
                    let sign = change >= 0 ? "+" : "−"
                    let css = abs(change) < 0.5 ? "" : worse ? " class=\"worse\"" : " class=\"better\""
                    cell += " <small\(css)>\(sign)\(number(abs(change), 0)) %</small>"
                }
                out += "<td>\(cell)</td>"
            }
            out += "</tr>"
        }
        out += "</tbody></table>\n"
        return out
            + "<p class=\"note\">Differences are against freeze \(escape(names[0])); the simulator's CPU is the "
            + "lambda-sim process's user and system time without the load generator's, over the run's invokes.</p>\n"
    }

    private static func summaryTable(_ runs: [LoadResult], names: [String]) -> String {
        var rows: [(String, [String])] = []
        func add(_ label: String, _ value: (LoadResult) -> String) { rows.append((label, runs.map(value))) }
        func percent(_ n: Int, _ run: LoadResult) -> String {
            run.requests > 0 ? "\(n) (\(number(Double(n) * 100 / Double(run.requests))) %)" : "\(n)"
        }
        func latency(_ f: LatencyFigures) -> String {
            f.count > 0 ? "\(number(f.p50, 3)) / \(number(f.p90, 3)) / \(number(f.p99, 3)) / \(number(f.max, 3))" : "—"
        }
        add("requests") { "\($0.requests) over " + number($0.durationSeconds, 1) + " s" }
        add("offered") { rate($0.offeredPerSecond) }
        add("succeeded") { percent($0.succeeded, $0) + ", " + rate($0.succeededPerSecond) }
        add("function errors") { percent($0.functionErrors, $0) }
        add("throttled") { percent($0.throttled, $0) }
        add("other errors") { percent($0.otherErrors, $0) }
        add("cold starts") { String($0.coldStarts) }
        add("peak sandboxes") { $0.peakSandboxes.map(String.init) ?? "—" }
        if runs.contains(where: { $0.concurrencyLimit != nil }) {
            add("concurrency limit") { $0.concurrencyLimit?.label ?? "—" }
        }
        if runs.contains(where: \.runsSeveralPerSandbox) {
            add("peak invokes in flight") { $0.peakInFlight.map(String.init) ?? "—" }
        }
        add("latency ms p50 / p90 / p99 / max") { latency($0.latency) }
        add("warm") { latency($0.warmLatency) }
        add("cold") { latency($0.coldLatency) }
        add("freeze µs p50 / p99") { run in
            run.freeze.map {
                $0.frozen > 0 ? "\(number($0.freezeP50Us, 1)) / \(number($0.freezeP99Us, 1))" : "not frozen"
            }
                ?? "—"
        }
        add("thaw µs p50 / p99") { run in
            run.freeze.map { $0.frozen > 0 ? "\(number($0.thawP50Us, 1)) / \(number($0.thawP99Us, 1))" : "not frozen" }
                ?? "—"
        }
        add("freezes (skipped)") { $0.freeze.map { "\($0.frozen) (\($0.skipped))" } ?? "—" }
        if runs.contains(where: { $0.generatorCpuMicrosecondsPerInvoke != nil }) {
            add("CPU per invoke: simulator / generator") { run in
                (run.simulatorCpuMicrosecondsPerInvoke.map { number($0, 1) + " µs" } ?? "—") + " / "
                    + (run.generatorCpuMicrosecondsPerInvoke.map { number($0, 1) + " µs" } ?? "—")
            }
        }
        var out = "<table>"
        if runs.count > 1 {
            out += "<thead><tr><th></th>" + names.map { "<th>freeze \(escape($0))</th>" }.joined() + "</tr></thead>"
        }
        out += "<tbody>"
        for (label, values) in rows {
            out += "<tr><td>\(escape(label))</td>" + values.map { "<td>\(escape($0))</td>" }.joined() + "</tr>"
        }
        return out + "</tbody></table>\n"
    }

    /// A chart over the run's time.
    private static func timeChart(
        _ title: String, yLabel: String, runs: [LoadResult], yRange: ClosedRange<Double>, logY: Bool = false
    ) -> SVGChart {
        let end = runs.map { Double($0.timeline.count) * $0.binSeconds }.max() ?? 1
        var chart = SVGChart(
            title: title, xLabel: "seconds", yLabel: yLabel, xRange: 0...max(end, 0.1), yRange: yRange, logY: logY)
        chart.minimumXStep = runs.map(\.binSeconds).min() ?? 1
        return chart
    }

    /// The middle of each bin of `run` (its start, for `steps` that span the bin), with `value` of it.
    private static func points<T>(
        _ run: LoadResult, steps: Bool = false, _ value: (TimelineSecond) -> T?
    ) -> [(Double, T?)] {
        run.timeline.map { ($0.startSeconds + (steps ? 0 : run.binSeconds / 2), value($0)) }
    }

    /// Offered rate against what became of it, per second: stacked outcomes for one run; for several, the
    /// succeeded and throttled rates of each mode as lines.
    private static func ratesChart(_ runs: [LoadResult], names: [String]) -> String {
        func perSecond(_ run: LoadResult, _ count: Int) -> Double { Double(count) / run.binSeconds }
        let peak =
            runs.flatMap { run in
                run.timeline.map {
                    perSecond(run, max($0.requests, $0.succeeded + $0.functionErrors + $0.throttled + $0.otherErrors))
                }
            }.max() ?? 1
        var chart = timeChart(
            "Invokes per second: offered (line) and their outcomes", yLabel: "invokes/s", runs: runs,
            yRange: 0...(max(peak, 1) * 1.15))
        if runs.count == 1, let run = runs.first {
            chart.stackedBars(
                [
                    ("succeeded", outcomeColors.ok, run.timeline.map { perSecond(run, $0.succeeded) }),
                    (
                        "function error", outcomeColors.functionError,
                        run.timeline.map { perSecond(run, $0.functionErrors) }
                    ),
                    ("throttled", outcomeColors.throttled, run.timeline.map { perSecond(run, $0.throttled) }),
                    ("other error", outcomeColors.other, run.timeline.map { perSecond(run, $0.otherErrors) }),
                ], xs: run.timeline.map { $0.startSeconds + run.binSeconds / 2 })
            chart.line(
                .init(
                    name: "offered", color: offeredColor,
                    points: points(run, steps: true) { perSecond(run, $0.requests) }, steps: true))
            return chart.render()
        }
        // The modes share the plan, so one offered line stands for all.
        if let run = runs.first {
            chart.line(
                .init(
                    name: "offered", color: offeredColor,
                    points: points(run, steps: true) { perSecond(run, $0.requests) }, dotted: true, steps: true))
        }
        for (index, run) in runs.enumerated() {
            let color = runColors[index % runColors.count]
            chart.line(
                .init(
                    name: "\(names[index]) succeeded", color: color,
                    points: points(run) { perSecond(run, $0.succeeded) }))
            if run.throttled > 0 {
                chart.line(
                    .init(
                        name: "\(names[index]) throttled", color: color,
                        points: points(run) { perSecond(run, $0.throttled) }, dashed: true))
            }
        }
        return chart.render()
    }

    private static func latencyChart(_ runs: [LoadResult], names: [String]) -> String {
        let values = runs.flatMap { $0.timeline.flatMap { [$0.p50Ms, $0.p99Ms].compactMap { $0 } } }
        var chart = timeChart(
            "p50 (solid) and p99 (dashed) latency per bin", yLabel: "ms (log)", runs: runs,
            yRange: (values.min() ?? 0.1)...(values.max() ?? 1), logY: true)
        for (index, run) in runs.enumerated() {
            let color = runColors[index % runColors.count]
            let prefix = names[index].isEmpty ? "" : names[index] + " "
            chart.line(.init(name: prefix + "p50", color: color, points: points(run) { $0.p50Ms }))
            chart.line(.init(name: prefix + "p99", color: color, points: points(run) { $0.p99Ms }, dashed: true))
        }
        return chart.render()
    }

    private static func sandboxesChart(_ runs: [LoadResult], names: [String]) -> String {
        // Managed instances run several invokes per sandbox: then the invokes in flight are drawn too.
        let several = runs.contains(where: \.runsSeveralPerSandbox)
        let peak = runs.compactMap { several ? $0.peakInFlight : $0.peakSandboxes }.max() ?? 0
        // The limit is drawn when it is in reach of the peak (the account's 1,000 would flatten 8 sandboxes).
        let limit = runs.compactMap(\.concurrencyLimit).first
        let drawnLimit = limit.flatMap { $0.kind != "account" || $0.value <= max(peak, 1) * 3 ? $0 : nil }
        var title = "Sandboxes (solid), busy (dashed)"
        if runs.count == 1 && runs.contains(where: { $0.timeline.contains { $0.initializingSandboxes != nil } }) {
            title += ", initialising (dotted)"
        }
        if several { title += runs.count == 1 ? ", invokes in flight (green)" : ", invokes in flight (dotted)" }
        title += ", cold starts (▲)"
        if let limit, drawnLimit == nil { title += " — \(limit.label), off the chart" }
        var chart = timeChart(
            title, yLabel: several ? "sandboxes, invokes" : "sandboxes", runs: runs,
            yRange: 0...(Double(max(peak, drawnLimit?.value ?? 0, 1)) + 1))
        chart.minimumYStep = 1
        var anySamples = false
        for (index, run) in runs.enumerated() {
            let color = runColors[index % runColors.count]
            let prefix = names[index].isEmpty ? "" : names[index] + " "
            if run.timeline.contains(where: { $0.sandboxes != nil }) {
                anySamples = true
                chart.line(
                    .init(
                        name: prefix + "sandboxes", color: color,
                        points: points(run, steps: true) { $0.sandboxes.map(Double.init) }, steps: true))
                chart.line(
                    .init(
                        name: prefix + "busy", color: color,
                        points: points(run, steps: true) { $0.busySandboxes.map(Double.init) }, dashed: true,
                        steps: true))
                if runs.count == 1 && run.timeline.contains(where: { $0.initializingSandboxes != nil }) {
                    chart.line(
                        .init(
                            name: "initialising", color: initializingColor,
                            points: points(run, steps: true) { $0.initializingSandboxes.map(Double.init) },
                            dotted: true,
                            steps: true))
                }
                if several {
                    chart.line(
                        .init(
                            name: prefix + "invokes in flight", color: runs.count == 1 ? "#54A24B" : color,
                            points: points(run, steps: true) { $0.inFlight.map(Double.init) }, dotted: runs.count > 1,
                            steps: true))
                }
            }
            // Side by side when several runs have cold starts in the same bin.
            chart.markers(
                prefix + "cold starts", color: runs.count == 1 ? coldColor : color,
                at: run.timeline.map { ($0.startSeconds + run.binSeconds / 2, $0.coldStarts) },
                offset: (Double(index) - Double(runs.count - 1) / 2) * 11)
        }
        if let drawnLimit {
            chart.rule(drawnLimit.label, color: limitColor, at: Double(drawnLimit.value))
        }
        let note = anySamples ? "" : "<p class=\"note\">The target reported no sandbox counts.</p>\n"
        return chart.render() + note
    }

    /// Step curves of histograms on a log axis, each as the share of its own samples per bucket.
    private static func distributionChart(
        _ title: String, unit: String, divisor: Double, of what: String = "invokes",
        _ series: [(name: String, color: String, LatencyHistogram)]
    ) -> String {
        let shown = series.filter { $0.2.count > 0 }
        let indices = shown.flatMap { $0.2.occupiedBuckets.map(\.index) }
        guard let low = indices.min(), let high = indices.max() else { return "" }
        // A margin of a few buckets each side, so the curves start and end at zero.
        let range = (low - 3)...(high + 3)
        func edge(_ index: Int) -> Double { LatencyHistogram.bounds(ofBucket: index).lower / divisor }
        var peak = 0.0
        var curves: [(String, String, [(Double, Double?)])] = []
        for (name, color, histogram) in shown {
            let counts = Dictionary(uniqueKeysWithValues: histogram.occupiedBuckets.map { ($0.index, $0.count) })
            let total = Double(histogram.count)
            let points = range.map { index in
                (edge(index), Double(counts[index] ?? 0) * 100 / total) as (Double, Double?)
            }
            peak = max(peak, points.compactMap(\.1).max() ?? 0)
            curves.append(("\(name) (\(histogram.count))", color, points))
        }
        var chart = SVGChart(
            title: title, xLabel: "\(unit) (log scale; buckets 1.94 % wide)", yLabel: "% of \(what) per bucket",
            xRange: edge(range.lowerBound)...edge(range.upperBound + 1), yRange: 0...max(peak, 1), logX: true)
        for (name, color, points) in curves {
            chart.line(.init(name: name, color: color, points: points, steps: true))
        }
        return chart.render()
    }

    private static func distributionCharts(_ runs: [LoadResult], names: [String]) -> String {
        guard runs.count > 1 else {
            guard let run = runs.first else { return "" }
            return distributionChart(
                "Warm invokes' latency", unit: "ms", divisor: 1e6, [("warm", runColors[0], run.warmLatencyHistogram)])
                + distributionChart(
                    "Cold starts' latency", unit: "ms", divisor: 1e6, of: "cold starts",
                    [("cold", coldColor, run.coldLatencyHistogram)])
        }
        let warm = runs.enumerated().map {
            (names[$0.offset], runColors[$0.offset % runColors.count], $0.element.warmLatencyHistogram)
        }
        let cold = runs.enumerated().map {
            (names[$0.offset], runColors[$0.offset % runColors.count], $0.element.coldLatencyHistogram)
        }
        return distributionChart("Warm invokes' latency by freeze mode", unit: "ms", divisor: 1e6, warm)
            + distributionChart(
                "Cold starts' latency by freeze mode", unit: "ms", divisor: 1e6, of: "cold starts", cold)
    }

    private static func freezeCharts(_ runs: [LoadResult], names: [String]) -> String {
        func label(_ index: Int) -> String {
            names[index].isEmpty ? (runs[index].freeze?.mode ?? "run") : names[index]
        }
        let freezes = runs.enumerated().compactMap { index, run in
            run.freezeHistogram.map { (label(index), runColors[index % runColors.count], $0) }
        }
        let thaws = runs.enumerated().compactMap { index, run in
            run.thawHistogram.map { (label(index), runColors[index % runColors.count], $0) }
        }
        return distributionChart(
            "Freeze latency, request to confirmation, by mode", unit: "µs", divisor: 1e3, of: "freezes", freezes)
            + distributionChart(
                "Thaw latency, request to confirmation, by mode", unit: "µs", divisor: 1e3, of: "thaws", thaws)
    }
}
