import SimCore
import SimHTTP
import SimOrchestrator
import SimSandbox

/// The status endpoints on the front port: `/_sim/health`, `/_sim/functions`, `/_sim/sandboxes` (JSON) and
/// `/metrics` (Prometheus text).
enum StatusAPI {
    static func respond(to request: HTTPRequest, pools: [FunctionPool]) -> HTTPResponse {
        guard request.method == "GET" else { return HTTPResponse(status: 405, headers: ["Allow": "GET"]) }
        switch request.path {
        case "/_sim/health":
            let ready = pools.allSatisfy(\.isReady)
            let body = JSONValue.object([("status", .string(ready ? "ok" : "initializing"))]).serialized
            return json(ready ? 200 : 503, body)
        case "/_sim/functions":
            return json(200, JSONValue.object([("functions", .array(pools.map(function)))]).serialized)
        case "/_sim/sandboxes":
            let sandboxes = pools.flatMap { pool in pool.sandboxes.map { sandbox($0, pool: pool) } }
            return json(200, JSONValue.object([("sandboxes", .array(sandboxes))]).serialized)
        case "/metrics":
            return HTTPResponse(
                status: 200, headers: ["Content-Type": "text/plain; version=0.0.4"], body: Array(metrics(pools).utf8))
        default:
            return json(404, JSONValue.object([("message", .string("no such status endpoint"))]).serialized)
        }
    }

    private static func json(_ status: Int, _ body: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(body.utf8))
    }

    private static func number(_ value: Int) -> JSONValue { .number(String(value)) }

    private static func function(_ pool: FunctionPool) -> JSONValue {
        let spec = pool.function
        let sandboxes = pool.sandboxes
        return .object([
            ("name", .string(spec.name)),
            ("memorySize", number(spec.memorySizeMB)),
            ("timeout", .number(LambdaLog.fixed(spec.timeoutSeconds))),
            ("freeze", .string(spec.freezeMode.rawValue)),
            ("sandboxes", number(sandboxes.count)),
            ("busy", number(sandboxes.filter { $0.lifecycleState == .busy }.count)),
            ("inFlight", number(pool.invokesInFlight)),
            ("concurrency", number(pool.concurrency)),
            (
                "perExecutionEnvironmentMaxConcurrency",
                spec.environmentMaxConcurrency.map { number($0) } ?? .null
            ),
            ("queued", number(pool.queuedCount)),
            ("invocations", number(pool.counters.invocations)),
            ("errors", number(pool.counters.errors)),
            ("throttles", number(pool.counters.throttles)),
            ("coldStarts", number(pool.counters.coldStarts)),
            ("freezeLatencyUs", latency(pool.freezeStatistics.freezes)),
            ("thawLatencyUs", latency(pool.freezeStatistics.thaws)),
            ("freezes", number(pool.freezeStatistics.frozen)),
            ("freezesSkipped", number(pool.freezeStatistics.skipped)),
            ("freezesUnconfirmed", number(pool.freezeStatistics.freezesUnconfirmed)),
            ("thawsUnconfirmed", number(pool.freezeStatistics.thawsUnconfirmed)),
        ])
    }

    /// `{"count","p50","p99","max"}` of a latency histogram, in microseconds, then its `totalNs`, `maxNs` and
    /// non-empty `buckets` (`[[index, count], ...]`), so that a client can subtract two snapshots and have the
    /// percentiles of what happened in between (`lambda-sim load --endpoint`).
    private static func latency(_ histogram: LatencyHistogram) -> JSONValue {
        func micros(_ nanoseconds: UInt64) -> JSONValue {
            .number(LambdaLog.fixed(Double(nanoseconds) / 1000, decimals: 1))
        }
        return .object([
            ("count", number(histogram.count)), ("p50", micros(histogram.percentile(0.5))),
            ("p99", micros(histogram.percentile(0.99))), ("max", micros(histogram.max)),
            ("totalNs", .number(String(histogram.total))), ("maxNs", .number(String(histogram.max))),
            ("buckets", .array(histogram.occupiedBuckets.map { .array([number($0.index), number($0.count)]) })),
        ])
    }

    private static func sandbox(_ sandbox: Sandbox, pool: FunctionPool) -> JSONValue {
        .object([
            ("id", .string(sandbox.id)),
            ("function", .string(pool.function.name)),
            ("state", .string(sandbox.lifecycleState.rawValue)),
            ("runtimeApi", .string(sandbox.runtimeAPI)),
            ("pids", .array(sandbox.pids.map { number(Int($0)) })),
            ("frozen", .bool(sandbox.freezer.isFrozen)),
            // A managed instance keeps running between invokes.
            (
                "freeze",
                .string(
                    pool.function.isManagedInstance ? "never (managed instance)" : pool.function.freezeMode.rawValue)
            ),
            ("inFlight", number(sandbox.invokesInFlight)),
            ("slots", number(pool.function.slotsPerEnvironment)),
            ("initType", .string(sandbox.initializationType.rawValue)),
            ("invocations", number(sandbox.invocationCount)),
            ("coldStartMs", sandbox.coldStartMilliseconds.map { .number(LambdaLog.fixed($0)) } ?? .null),
            (
                "lastUsed",
                sandbox.lastUsedEpochMilliseconds.map { .string(CivilTime(epochMilliseconds: $0).iso8601) } ?? .null
            ),
        ])
    }

    /// Prometheus text exposition.
    static func metrics(_ pools: [FunctionPool]) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(String, String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += "\(name)\(labels) \(value)\n" }
        }
        func label(_ pool: FunctionPool, _ extra: String = "") -> String {
            "{function=\"\(pool.function.name)\"\(extra)}"
        }
        family(
            "lambda_sim_invocations_total", "counter", "Invokes received.",
            pools.map { (label($0), String($0.counters.invocations)) })
        family(
            "lambda_sim_errors_total", "counter", "Invokes that ended in a function error.",
            pools.map { (label($0), String($0.counters.errors)) })
        family(
            "lambda_sim_throttles_total", "counter", "Invokes answered 429.",
            pools.map { (label($0), String($0.counters.throttles)) })
        family(
            "lambda_sim_cold_starts_total", "counter", "Sandboxes started for an invoke.",
            pools.map { (label($0), String($0.counters.coldStarts)) })
        family(
            "lambda_sim_concurrency", "gauge",
            "Concurrency as Lambda counts it: environments busy from an invoke until ready for the next "
                + "(invokes in flight for a managed instance).",
            pools.map { (label($0), String($0.concurrency)) })
        family(
            "lambda_sim_slots", "gauge",
            "Invokes the live sandboxes can serve at once (a managed instance serves several).",
            pools.map { pool in (label(pool), String(pool.sandboxes.count * pool.function.slotsPerEnvironment)) })
        var byState: [(String, String)] = []
        for pool in pools {
            var counts: [String: Int] = [:]
            for sandbox in pool.sandboxes { counts[sandbox.lifecycleState.rawValue, default: 0] += 1 }
            for (state, count) in counts.sorted(by: { $0.key < $1.key }) {
                byState.append((label(pool, ",state=\"\(state)\""), String(count)))
            }
        }
        family("lambda_sim_sandboxes", "gauge", "Sandboxes by state.", byState)
        for (name, help, pick) in [
            (
                "lambda_sim_invoke_duration_seconds", "Invoke duration (REPORT's Duration).",
                \FunctionPool.invokeDurations
            ),
            ("lambda_sim_init_duration_seconds", "Init duration of cold starts.", \FunctionPool.initDurations),
        ] as [(String, String, KeyPath<FunctionPool, LatencyHistogram>)] {
            out += "# HELP \(name) \(help)\n# TYPE \(name) summary\n"
            for pool in pools {
                let histogram = pool[keyPath: pick]
                for quantile in [0.5, 0.9, 0.99] {
                    let seconds = Double(histogram.percentile(quantile)) / 1e9
                    out += "\(name)\(label(pool, ",quantile=\"\(quantile)\"")) \(seconds)\n"
                }
                out += "\(name)_sum\(label(pool)) \(Double(histogram.total) / 1e9)\n"
                out += "\(name)_count\(label(pool)) \(histogram.count)\n"
            }
        }
        var freeze: [(String, String)] = []
        for pool in pools {
            let statistics = pool.freezeStatistics
            for (kind, histogram) in [("freeze", statistics.freezes), ("thaw", statistics.thaws)] {
                for quantile in [0.5, 0.99] {
                    let seconds = Double(histogram.percentile(quantile)) / 1e9
                    freeze.append((label(pool, ",op=\"\(kind)\",quantile=\"\(quantile)\""), String(seconds)))
                }
                freeze.append(("_count" + label(pool, ",op=\"\(kind)\""), String(histogram.count)))
            }
        }
        out += "# HELP lambda_sim_freeze_seconds Freeze and thaw latency, request to confirmation.\n"
        out += "# TYPE lambda_sim_freeze_seconds summary\n"
        for (labels, value) in freeze {
            if labels.hasPrefix("_count") {
                out += "lambda_sim_freeze_seconds_count\(labels.dropFirst("_count".count)) \(value)\n"
            } else {
                out += "lambda_sim_freeze_seconds\(labels) \(value)\n"
            }
        }
        return out
    }
}
