/// One `--fail-on` condition: the run fails when it holds, e.g. `p99>500ms`, `errors>1%`, `throttled>0`.
///
/// Metrics: `p50`, `p90`, `p99`, `max` (latency of the invokes answered 200; the value takes `us`, `ms` or `s`,
/// milliseconds when bare), the same for `cold_` and `warm_` invokes (`cold_p99`), and the counts `errors`
/// (function errors plus other errors), `function_errors`, `other_errors`, `throttled`, `cold_starts` and
/// `succeeded`, whose value is a number or a percentage of the requests (`1%`). Operators: `>`, `>=`, `<`, `<=`.
package struct FailureCondition: Equatable, Sendable, CustomStringConvertible {
    package enum Comparison: String, Sendable, CaseIterable {
        case greaterOrEqual = ">="
        case lessOrEqual = "<="
        case greater = ">"
        case less = "<"
    }

    package var metric: String
    package var comparison: Comparison
    /// Milliseconds for latencies, a count or a fraction of requests (with `isPercent`) for counts.
    package var value: Double
    package var isPercent: Bool
    package let text: String

    package var description: String { text }

    private static let latencyMetrics = ["p50", "p90", "p99", "max"]
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
            guard isLatency || countMetrics.contains(metric) else {
                throw LoadPlanError(
                    "--fail-on: unknown metric '\(metric)' in '\(raw)' (p50, p90, p99, max, cold_p99, errors, "
                        + "function_errors, other_errors, throttled, cold_starts, succeeded)")
            }
            var isPercent = false
            var factor = 1.0
            if isLatency {
                for (suffix, f) in [("us", 0.001), ("µs", 0.001), ("ms", 1.0), ("s", 1000.0)]
                where valueText.hasSuffix(suffix) {
                    valueText.removeLast(suffix.count)
                    factor = f
                    break
                }
            } else if valueText.hasSuffix("%") {
                valueText.removeLast()
                isPercent = true
                factor = 0.01
            }
            guard let number = Double(valueText), number >= 0 else {
                throw LoadPlanError("--fail-on: '\(raw)' does not end in a number")
            }
            return FailureCondition(
                metric: metric, comparison: comparison, value: number * factor, isPercent: isPercent, text: text)
        }
        throw LoadPlanError("--fail-on: '\(raw)' has no comparison (use >, >=, < or <=)")
    }

    /// Whether the condition holds for `result` (so the run fails).
    package func holds(for result: LoadResult) -> Bool {
        let measured: Double
        func latency(_ figures: LatencyFigures, _ name: String) -> Double {
            switch name {
            case "p50": return figures.p50
            case "p90": return figures.p90
            case "p99": return figures.p99
            default: return figures.max
            }
        }
        switch metric {
        case "errors": measured = count(result.functionErrors + result.otherErrors, result)
        case "function_errors": measured = count(result.functionErrors, result)
        case "other_errors": measured = count(result.otherErrors, result)
        case "throttled": measured = count(result.throttled, result)
        case "cold_starts": measured = count(result.coldStarts, result)
        case "succeeded": measured = count(result.succeeded, result)
        default:
            if metric.hasPrefix("cold_") {
                measured = latency(result.coldLatency, String(metric.dropFirst(5)))
            } else if metric.hasPrefix("warm_") {
                measured = latency(result.warmLatency, String(metric.dropFirst(5)))
            } else {
                measured = latency(result.latency, metric)
            }
        }
        switch comparison {
        case .greater: return measured > value
        case .greaterOrEqual: return measured >= value
        case .less: return measured < value
        case .lessOrEqual: return measured <= value
        }
    }

    private func count(_ n: Int, _ result: LoadResult) -> Double {
        isPercent ? (result.requests > 0 ? Double(n) / Double(result.requests) : 0) : Double(n)
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: Character, _ replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
