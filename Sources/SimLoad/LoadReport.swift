import SimCore

/// `--report FILE.html`: one self-contained page (inline CSS and SVG, no scripts, fonts or images from anywhere)
/// with the summary and the charts of one run, or of several runs side by side (`--compare-freeze`).
package enum LoadReport {
    private static let runColors = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#E45756"]
    private static let outcomeColors = (ok: "#54A24B", functionError: "#F58518", throttled: "#B279A2", other: "#E45756")

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
            .cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 8px 0 4px; }
            .card { border: 1px solid #e4e7ec; border-radius: 8px; padding: 8px 14px; min-width: 120px; }
            .card b { display: block; font-size: 20px; } .card span { color: #5a6272; font-size: 12px; }
            svg { width: 100%; height: auto; display: block; }
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
            + "\(escape(first.invocationType))\(escape(modes)) · generated "
            + "\(CivilTime(epochMilliseconds: epochMilliseconds).iso8601)</div>\n"
        if runs.contains(where: \.interrupted) {
            page +=
                "<div class=\"sub\"><b>Interrupted</b>: a signal stopped the run early; the figures cover what ran "
                + "until then.</div>\n"
        }
        page += cards(runs, names: names)
        page += "<h2>Summary</h2>\n" + summaryTable(runs, names: names)
        page += "<h2>Latency over time</h2>\n" + latencyChart(runs, names: names)
        page += "<h2>Outcomes per second</h2>\n"
        for (index, run) in runs.enumerated() { page += outcomesChart(run, name: names[index]) }
        page += "<h2>Sandboxes and cold starts</h2>\n" + sandboxesChart(runs, names: names)
        page += "<h2>Latency distribution, cold and warm</h2>\n" + histogramChart(runs, names: names)
        if runs.contains(where: { ($0.freeze?.frozen ?? 0) > 0 }) {
            page += "<h2>Freeze and thaw latency</h2>\n" + freezeChart(runs, names: names)
        }
        page +=
            "<p class=\"note\">Latencies are measured by the load generator from each invoke's scheduled start (open "
            + "model) or its send (closed model), over invokes answered 200. Cold starts are the invokes whose "
            + "REPORT carried an Init Duration. Freeze and thaw latencies run from the request to its confirmation.</p>\n"
        return page + "</body></html>\n"
    }

    private static func number(_ value: Double, _ decimals: Int = 2) -> String {
        LambdaLog.fixed(value, decimals: decimals)
    }

    private static func cards(_ runs: [LoadResult], names: [String]) -> String {
        guard runs.count == 1, let run = runs.first else { return "" }
        func card(_ value: String, _ label: String) -> String {
            "<div class=\"card\"><b>\(value)</b><span>\(label)</span></div>"
        }
        var out = "<div class=\"cards\">"
        out += card(String(run.requests), "requests")
        out += card(number(run.throughputPerSecond, 0) + "/s", "throughput")
        out += card(number(run.latency.p99, run.latency.p99 < 10 ? 2 : 0) + " ms", "p99 latency")
        out += card(String(run.coldStarts), "cold starts")
        out += card(String(run.throttled), "throttled")
        out += card(String(run.functionErrors + run.otherErrors), "errors")
        if let freeze = run.freeze, freeze.frozen > 0 {
            out += card(number(freeze.freezeP50Us, 0) + " µs", "freeze p50 (\(freeze.mode))")
        }
        return out + "</div>\n"
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
        add("requests") { String($0.requests) }
        add("throughput") { number($0.throughputPerSecond, 1) + "/s over " + number($0.durationSeconds, 1) + " s" }
        add("succeeded") { percent($0.succeeded, $0) }
        add("function errors") { percent($0.functionErrors, $0) }
        add("throttled") { percent($0.throttled, $0) }
        add("other errors") { percent($0.otherErrors, $0) }
        add("cold starts") { String($0.coldStarts) }
        add("peak sandboxes") { $0.peakSandboxes.map(String.init) ?? "—" }
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

    /// A chart over the run's seconds.
    private static func timeChart(
        _ title: String, yLabel: String, runs: [LoadResult], yRange: ClosedRange<Double>, logY: Bool = false
    ) -> SVGChart {
        var chart = SVGChart(
            title: title, xLabel: "seconds", yLabel: yLabel, xRange: seconds(runs), yRange: yRange, logY: logY)
        chart.minimumXStep = 1
        return chart
    }

    private static func seconds(_ runs: [LoadResult]) -> ClosedRange<Double> {
        0...Double(max(1, runs.map(\.timeline.count).max() ?? 1))
    }

    private static func latencyChart(_ runs: [LoadResult], names: [String]) -> String {
        let values = runs.flatMap { $0.timeline.flatMap { [$0.p50Ms, $0.p99Ms].compactMap { $0 } } }
        var chart = timeChart(
            "p50 (solid) and p99 (dashed) latency per second", yLabel: "ms (log)", runs: runs,
            yRange: (values.min() ?? 0.1)...(values.max() ?? 1), logY: true)
        for (index, run) in runs.enumerated() {
            let color = runColors[index % runColors.count]
            let prefix = names[index].isEmpty ? "" : names[index] + " "
            chart.line(
                .init(
                    name: prefix + "p50", color: color, points: run.timeline.map { (Double($0.second) + 0.5, $0.p50Ms) }
                ))
            chart.line(
                .init(
                    name: prefix + "p99", color: color,
                    points: run.timeline.map { (Double($0.second) + 0.5, $0.p99Ms) },
                    dashed: true))
        }
        return chart.render()
    }

    private static func outcomesChart(_ run: LoadResult, name: String) -> String {
        let totals = run.timeline.map { Double($0.succeeded + $0.functionErrors + $0.throttled + $0.otherErrors) }
        var chart = timeChart(
            "Outcomes per second" + (name.isEmpty ? "" : " — freeze \(name)"), yLabel: "invokes", runs: [run],
            yRange: 0...(totals.max() ?? 1))
        chart.minimumYStep = 1
        chart.stackedBars(
            [
                ("ok", outcomeColors.ok, run.timeline.map { Double($0.succeeded) }),
                ("function error", outcomeColors.functionError, run.timeline.map { Double($0.functionErrors) }),
                ("throttled", outcomeColors.throttled, run.timeline.map { Double($0.throttled) }),
                ("other error", outcomeColors.other, run.timeline.map { Double($0.otherErrors) }),
            ], xs: run.timeline.map { Double($0.second) + 0.5 })
        return chart.render()
    }

    private static func sandboxesChart(_ runs: [LoadResult], names: [String]) -> String {
        // Managed instances run several invokes per sandbox: then the invokes in flight are drawn too.
        let several = runs.contains(where: \.runsSeveralPerSandbox)
        let peak = runs.compactMap { several ? $0.peakInFlight : $0.peakSandboxes }.max() ?? 0
        var chart = timeChart(
            several
                ? "Sandboxes (solid), busy (dashed), invokes in flight (green), cold starts (▲)"
                : "Sandboxes (solid), busy (dashed), cold starts (▲)",
            yLabel: several ? "sandboxes, invokes" : "sandboxes", runs: runs, yRange: 0...Double(max(peak, 1)))
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
                        points: run.timeline.map { (Double($0.second) + 0.5, $0.sandboxes.map(Double.init)) }))
                chart.line(
                    .init(
                        name: prefix + "busy", color: color,
                        points: run.timeline.map { (Double($0.second) + 0.5, $0.busySandboxes.map(Double.init)) },
                        dashed: true))
                if several {
                    chart.line(
                        .init(
                            name: prefix + "invokes in flight", color: index == 0 ? "#54A24B" : color,
                            points: run.timeline.map { (Double($0.second) + 0.5, $0.inFlight.map(Double.init)) }))
                }
            }
            chart.markers(
                prefix + "cold starts", color: index == 0 ? "#E45756" : color,
                at: run.timeline.map { (Double($0.second) + 0.5, $0.coldStarts) })
        }
        let note = anySamples ? "" : "<p class=\"note\">The target reported no sandbox counts.</p>\n"
        return chart.render() + note
    }

    private static func histogramChart(_ runs: [LoadResult], names: [String]) -> String {
        guard let edges = runs.max(by: { $0.histogramEdgesMs.count < $1.histogramEdgesMs.count })?.histogramEdgesMs,
            edges.count > 1
        else { return "" }
        // Trim empty buckets at both ends.
        let counts = runs.flatMap { [$0.coldHistogram, $0.warmHistogram] }
        let used = (0..<(edges.count - 1)).filter { bucket in counts.contains { bucket < $0.count && $0[bucket] > 0 } }
        guard let low = used.first, let high = used.last else { return "" }
        let categories = (low...high).map { number(edges[$0], edges[$0] < 1 ? 2 : 1) }
        var groups: [(String, String, [Double])] = []
        var peak = 1.0
        for (index, run) in runs.enumerated() {
            let prefix = names[index].isEmpty ? "" : names[index] + " "
            let warm = (low...high).map { $0 < run.warmHistogram.count ? Double(run.warmHistogram[$0]) : 0 }
            let cold = (low...high).map { $0 < run.coldHistogram.count ? Double(run.coldHistogram[$0]) : 0 }
            peak = max(peak, (warm + cold).max() ?? 1)
            groups.append((prefix + "warm", runColors[index % runColors.count], warm))
            if cold.contains(where: { $0 > 0 }) {
                groups.append((prefix + "cold", index == 0 ? "#E45756" : "#9D755D", cold))
            }
        }
        var chart = SVGChart(
            title: "Invokes per latency bucket (bucket start, ms; log scale of counts)", xLabel: "latency (ms)",
            yLabel: "invokes (log)", xRange: 0...1, yRange: 0.5...peak, logY: true)
        chart.minimumYLabel = 1
        chart.groupedBars(groups, categories: categories)
        return chart.render()
    }

    private static func freezeChart(_ runs: [LoadResult], names: [String]) -> String {
        let categories = ["freeze p50", "freeze p99", "thaw p50", "thaw p99"]
        var groups: [(String, String, [Double])] = []
        for (index, run) in runs.enumerated() {
            guard let freeze = run.freeze, freeze.frozen > 0 else { continue }
            groups.append(
                (
                    names[index].isEmpty ? freeze.mode : names[index], runColors[index % runColors.count],
                    [freeze.freezeP50Us, freeze.freezeP99Us, freeze.thawP50Us, freeze.thawP99Us]
                ))
        }
        let peak = groups.flatMap(\.2).max() ?? 1
        var chart = SVGChart(
            title: "Freeze and thaw latency by mode (request to confirmation)", xLabel: "", yLabel: "µs",
            xRange: 0...1, yRange: 0...max(peak, 1))
        chart.groupedBars(groups, categories: categories)
        return chart.render()
    }
}
