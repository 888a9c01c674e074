import SimCore

/// One `--fail-on` condition: the run fails when it holds, e.g. `p99>500ms`, `errors>1%`, `throttled>0`.
///
/// Metrics: `p50`, `p90`, `p95`, `p99`, `max`, `avg` (latency of the invokes answered 200; the value takes `us`,
/// `ms` or `s`, milliseconds when bare), the same for `cold_` and `warm_` invokes (`cold_p99`), `throughput`
/// (invokes that succeeded per second), and the counts `errors` (function errors plus other errors),
/// `function_errors`, `other_errors`, `throttled`, `cold_starts` and `succeeded`, whose value is a number or a
/// percentage of the requests (`1%`). Operators: `>`, `>=`, `<`, `<=`. A condition over no samples (a latency
/// when no invoke was answered 200, a percentage of no requests) has no data, and fails the run.
///
/// A signed percentage makes the condition relative to a baseline run (`--baseline`): `p99>+10%` holds when p99
/// grew by more than 10 %, `throughput<-5%` when throughput fell by more than 5 %.
package struct FailureCondition: Equatable, Sendable, CustomStringConvertible {
    /// How the measured value is compared with the limit.
    package enum Comparison: String, Sendable, CaseIterable {
        case greaterOrEqual = ">="
        case lessOrEqual = "<="
        case greater = ">"
        case less = "<"
    }

    /// What the limit is measured in.
    package enum Unit: Sendable, Equatable {
        /// Milliseconds.
        case milliseconds
        /// A count of invokes.
        case count
        /// A fraction of the requests (written as a percentage).
        case fraction
        /// Invokes per second.
        case perSecond
    }

    package var metric: String
    package var comparison: Comparison
    /// Milliseconds for latencies, a count or a fraction of requests (`unit`), invokes per second for throughput.
    package var value: Double
    package var unit: Unit
    /// Whether `value` is a signed fraction of change against a baseline run.
    package var isRelative = false
    package let text: String

    /// Whether the value is a percentage of the requests.
    package var isPercent: Bool { unit == .fraction }

    package var description: String { text }

    private static let latencyMetrics = ["p50", "p90", "p95", "p99", "max", "avg"]
    private static let countMetrics = [
        "errors", "function_errors", "other_errors", "throttled", "cold_starts", "succeeded",
    ]

    /// Parses a comma-separated list.
    package static func parseList(_ text: String) throws(LoadPlanError) -> [FailureCondition] {
        var conditions: [FailureCondition] = []
        for item in text.split(separator: ",") { conditions.append(try parse(String(item))) }
        return conditions
    }

    /// Parses one condition.
    package static func parse(_ raw: String) throws(LoadPlanError) -> FailureCondition {
        let text = raw.filter { $0 != " " }
        for comparison in Comparison.allCases {
            guard let range = text.firstRange(of: comparison.rawValue) else { continue }
            let metric = String(text[..<range.lowerBound]).lowercased().replacingOccurrences("-", "_")
            var valueText = String(text[range.upperBound...]).lowercased()
            let isLatency =
                latencyMetrics.contains(metric)
                || ["cold_", "warm_"].contains {
                    metric.hasPrefix($0) && latencyMetrics.contains(String(metric.dropFirst(5)))
                }
            guard isLatency || countMetrics.contains(metric) || metric == "throughput" else {
                throw LoadPlanError(
                    "--fail-on: unknown metric '\(metric)' in '\(raw)' (p50, p90, p95, p99, max, avg, cold_p99, "
                        + "throughput, errors, function_errors, other_errors, throttled, cold_starts, succeeded)")
            }
            var unit = Unit.count
            var factor = 1.0
            if let sign = valueText.first, sign == "+" || sign == "-", valueText.hasSuffix("%") {
                let magnitude = Double(valueText.dropFirst().dropLast())
                guard let magnitude, magnitude >= 0, magnitude.isFinite else {
                    throw LoadPlanError("--fail-on: '\(raw)' does not end in a signed percentage (e.g. +10%)")
                }
                var condition = FailureCondition(
                    metric: metric, comparison: comparison, value: (sign == "-" ? -magnitude : magnitude) / 100,
                    unit: isLatency ? .milliseconds : metric == "throughput" ? .perSecond : .count, text: text)
                condition.isRelative = true
                return condition
            }
            if isLatency {
                unit = .milliseconds
                for (suffix, f) in [("us", 0.001), ("µs", 0.001), ("ms", 1.0), ("s", 1000.0)]
                where valueText.hasSuffix(suffix) {
                    valueText.removeLast(suffix.count)
                    factor = f
                    break
                }
            } else if metric == "throughput" {
                unit = .perSecond
                if valueText.hasSuffix("/s") { valueText.removeLast(2) }
            } else if valueText.hasSuffix("%") {
                valueText.removeLast()
                unit = .fraction
                factor = 0.01
            }
            guard let number = Double(valueText), number >= 0, number.isFinite else {
                throw LoadPlanError("--fail-on: '\(raw)' does not end in a number")
            }
            return FailureCondition(
                metric: metric, comparison: comparison, value: number * factor, unit: unit, text: text)
        }
        throw LoadPlanError("--fail-on: '\(raw)' has no comparison (use >, >=, < or <=)")
    }

    /// What a condition found in one run.
    package struct Verdict: Equatable, Sendable {
        /// The measured value in the condition's unit; nil when there was no data.
        package var measured: Double?
        /// Whether the run fails by this condition (it holds, or there was no data).
        package var fails: Bool
    }

    /// Whether the condition holds for `result` (so the run fails); a condition with no data holds.
    package func holds(for result: LoadResult) -> Bool { evaluate(result).fails }

    /// Measures the condition on `result`; a relative condition measures the change from `baseline` (a `--json`
    /// document), and has no data without one.
    package func evaluate(_ result: LoadResult, baseline: JSONValue? = nil) -> Verdict {
        let current = Self.measure(metric, in: result.json, asFraction: isPercent)
        var measured = current
        if isRelative {
            let before = baseline.flatMap { Self.measure(metric, in: $0, asFraction: false) }
            if let current, let before, before > 0 { measured = (current - before) / before } else { measured = nil }
        }
        guard let measured else { return Verdict(measured: nil, fails: true) }
        let holds: Bool
        switch comparison {
        case .greater: holds = measured > value
        case .greaterOrEqual: holds = measured >= value
        case .less: holds = measured < value
        case .lessOrEqual: holds = measured <= value
        }
        return Verdict(measured: measured, fails: holds)
    }

    /// The summary's line for this condition: `✓ p99>500ms ....... p99 42.100 ms, limit 500 ms` (✓ passed, ✗
    /// failed), or `✗ p99>100ms ....... no data (no invoke answered 200)`.
    package func line(for result: LoadResult, baseline: JSONValue? = nil) -> String {
        let verdict = evaluate(result, baseline: baseline)
        let dots = String(repeating: ".", count: max(2, 22 - text.count))
        let line = "    \(verdict.fails ? "✗" : "✓") \(text) \(dots) "
        guard let measured = verdict.measured else {
            let why =
                isRelative && baseline == nil
                ? "no baseline"
                : isRelative
                    ? "no value in both runs"
                    : unit == .milliseconds
                        ? "no invoke answered 200" : "no requests"
            return line + "no data (\(why))"
        }
        if isRelative {
            let current = Self.measure(metric, in: result.json, asFraction: false) ?? 0
            let before = baseline.flatMap { Self.measure(metric, in: $0, asFraction: false) } ?? 0
            return line + "\(metric) \(format(current)) vs \(format(before)): \(Self.signed(measured)), "
                + "limit \(Self.signed(value))"
        }
        return line + "\(metric) \(format(measured)), limit \(format(value))"
    }

    /// A change as a signed percentage: `+15.50 %`.
    package static func signed(_ fraction: Double) -> String {
        (fraction >= 0 ? "+" : "") + LambdaLog.fixed(fraction * 100, decimals: 2) + " %"
    }

    /// `value` in the condition's unit, for the summary.
    private func format(_ value: Double) -> String {
        switch unit {
        case .milliseconds: return LambdaLog.fixed(value, decimals: value < 10 ? 3 : 1) + " ms"
        case .count: return value == value.rounded() ? String(Int(value)) : LambdaLog.fixed(value, decimals: 2)
        case .fraction: return LambdaLog.fixed(value * 100, decimals: 2) + " %"
        case .perSecond: return LambdaLog.fixed(value, decimals: 1) + "/s"
        }
    }

    /// The value of `metric` in a `--json` document, or nil when it has no samples (or the document lacks it);
    /// counts as a fraction of the requests with `asFraction`.
    package static func measure(_ metric: String, in document: JSONValue, asFraction: Bool) -> Double? {
        func number(_ value: JSONValue?) -> Double? {
            if case .number(let text)? = value { return Double(text) }
            return nil
        }
        func latency(_ key: String, _ name: String) -> Double? {
            guard let figures = document[key], let count = number(figures["count"]), count > 0 else { return nil }
            return number(figures[name])
        }
        let requests = number(document["requests"])
        func count(_ keys: [String]) -> Double? {
            let values = keys.map { number(document[$0]) }
            guard values.allSatisfy({ $0 != nil }) else { return nil }
            let total = values.reduce(0) { $0 + ($1 ?? 0) }
            guard asFraction else { return total }
            guard let requests, requests > 0 else { return nil }
            return total / requests
        }
        switch metric {
        case "errors": return count(["functionErrors", "otherErrors"])
        case "function_errors": return count(["functionErrors"])
        case "other_errors": return count(["otherErrors"])
        case "throttled": return count(["throttled"])
        case "cold_starts": return count(["coldStarts"])
        case "succeeded": return count(["succeeded"])
        case "throughput":
            guard let succeeded = number(document["succeeded"]), let seconds = number(document["durationSeconds"]),
                seconds > 0
            else { return nil }
            return succeeded / seconds
        default:
            if metric.hasPrefix("cold_") { return latency("coldLatencyMs", String(metric.dropFirst(5))) }
            if metric.hasPrefix("warm_") { return latency("warmLatencyMs", String(metric.dropFirst(5))) }
            return latency("latencyMs", metric)
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: Character, _ replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
