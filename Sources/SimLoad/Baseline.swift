import SimCore

#if canImport(Glibc)
    import Glibc
#endif

/// `--baseline FILE`: an earlier run's `--json` document, to print and report this run's differences to, and to
/// measure relative `--fail-on` conditions (`p99>+10%`) against.
package struct Baseline: Sendable {
    /// One compared figure: its value in this run and in the baseline (nil: no data), and the change as a fraction.
    package struct Difference: Equatable, Sendable {
        package var metric: String
        package var current: Double?
        package var baseline: Double?

        /// `(current − baseline) / baseline`, nil when either has no data or the baseline is 0.
        package var change: Double? {
            guard let current, let baseline, baseline != 0 else { return nil }
            return (current - baseline) / baseline
        }
    }

    /// The figures compared, in the order printed.
    package static let metrics = [
        "throughput", "succeeded", "errors", "throttled", "cold_starts", "p50", "p95", "p99",
        "max",
    ]
    /// The largest baseline file read (a result with its timeline is a few hundred KiB for an hour's run).
    package static let maximumBytes = 64 << 20

    package let path: String
    /// The baseline's runs: one, or one per freeze mode of a `--compare-freeze` run.
    package let runs: [JSONValue]

    /// Reads `path`; fails with one line when it is not a `lambda-sim load --json` result.
    package init(path: String) throws(LoadPlanError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw LoadPlanError("--baseline \(path): cannot read (\(String(cString: strerror(errno))))")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = read(descriptor, &block, block.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += block[..<n]
            guard bytes.count <= Self.maximumBytes else {
                throw LoadPlanError("--baseline \(path): larger than 64 MiB, not a load result")
            }
        }
        guard let document = try? JSON.parse(bytes) else {
            throw LoadPlanError("--baseline \(path): not JSON")
        }
        if case .array(let runs)? = document["runs"], !runs.isEmpty {
            self.runs = runs
        } else {
            runs = [document]
        }
        guard runs.allSatisfy({ $0["requests"] != nil && $0["latencyMs"] != nil }) else {
            throw LoadPlanError("--baseline \(path): not a lambda-sim load --json result")
        }
    }

    /// The baseline run to compare run `index` of `count` with: the same position when the baseline has as many
    /// runs, else its first.
    package func document(forRun index: Int, of count: Int) -> JSONValue {
        runs.count == count && index < runs.count ? runs[index] : runs[0]
    }

    /// The differences of `result` to `baseline`, one per compared figure.
    package static func differences(_ result: LoadResult, to baseline: JSONValue) -> [Difference] {
        let current = result.json
        return metrics.map {
            Difference(
                metric: $0, current: FailureCondition.measure($0, in: current, asFraction: false),
                baseline: FailureCondition.measure($0, in: baseline, asFraction: false))
        }
    }

    /// The summary's lines for `differences`.
    package func text(_ differences: [Difference]) -> String {
        func format(_ metric: String, _ value: Double?) -> String {
            guard let value else { return "—" }
            if metric == "throughput" { return LambdaLog.fixed(value, decimals: 1) + "/s" }
            if metric.hasPrefix("p") || metric == "max" {
                return LambdaLog.fixed(value, decimals: value < 10 ? 3 : 1) + " ms"
            }
            return String(Int(value))
        }
        var text = "  against the baseline \(path)\n"
        for difference in differences {
            let dots = String(repeating: ".", count: max(2, 18 - difference.metric.count))
            text +=
                "    \(difference.metric) \(dots) \(format(difference.metric, difference.current))  (baseline "
                + format(difference.metric, difference.baseline)
                + (difference.change.map { ", " + FailureCondition.signed($0) } ?? "") + ")\n"
        }
        return text
    }

    /// The result's `baseline` object: the file and each difference (`current`, `baseline`, `change`; null when
    /// unknown).
    package func json(_ differences: [Difference]) -> JSONValue {
        func number(_ value: Double?, _ decimals: Int) -> JSONValue {
            value.map { .number(LambdaLog.fixed($0, decimals: decimals)) } ?? .null
        }
        return .object([
            ("file", .string(path)),
            (
                "differences",
                .object(
                    differences.map {
                        (
                            $0.metric,
                            .object([
                                ("current", number($0.current, 3)), ("baseline", number($0.baseline, 3)),
                                ("change", number($0.change, 4)),
                            ])
                        )
                    })
            ),
        ])
    }
}
