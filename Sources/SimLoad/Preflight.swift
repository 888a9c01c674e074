import SimCore
import SimHTTP
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// What `lambda-sim serve` says of one function at `/_sim/functions`: used by `load --endpoint` to sample
/// sandboxes and read the freeze cost. Other Invoke API servers have no such endpoint.
package struct FunctionStatus: Sendable, Equatable {
    package var sandboxes: Int
    package var busy: Int
    /// Invokes in flight in its sandboxes (several per managed instance), when the target says.
    package var inFlight: Int? = nil
    package var freeze: FreezeFigures?
    /// Invokes waiting for a sandbox and events between attempts, and the counters since the simulator started:
    /// invokes received (every attempt of an event), function errors, throttles (nil when the target does not say).
    package var queued: Int? = nil
    package var invocations: Int? = nil
    package var errors: Int? = nil
    package var throttles: Int? = nil
    /// The freeze and thaw latency histograms since the simulator started, when the target publishes their buckets.
    package var freezeHistogram: LatencyHistogram? = nil
    package var thawHistogram: LatencyHistogram? = nil

    /// The freeze figures of what happened between `earlier`, a snapshot taken before a run, and this one: the
    /// counts' differences, and percentiles of the latency histograms' difference. Nil without freeze figures; the
    /// whole life's figures when either snapshot lacks the histograms.
    package func freezeFigures(since earlier: FunctionStatus?) -> FreezeFigures? {
        guard var figures = freeze else { return nil }
        guard let earlier, let before = earlier.freeze, let freezes = freezeHistogram, let thaws = thawHistogram,
            let freezesBefore = earlier.freezeHistogram, let thawsBefore = earlier.thawHistogram
        else { return figures }
        let freezeDelta = freezes.subtracting(freezesBefore)
        let thawDelta = thaws.subtracting(thawsBefore)
        func us(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1000 }
        figures.frozen = max(0, figures.frozen - before.frozen)
        figures.skipped = max(0, figures.skipped - before.skipped)
        figures.unconfirmed = max(0, figures.unconfirmed - before.unconfirmed)
        figures.thawsUnconfirmed = max(0, figures.thawsUnconfirmed - before.thawsUnconfirmed)
        figures.freezeSamples = freezeDelta.count
        figures.thawSamples = thawDelta.count
        figures.freezeP50Us = us(freezeDelta.percentile(0.5))
        figures.freezeP99Us = us(freezeDelta.percentile(0.99))
        figures.thawP50Us = us(thawDelta.percentile(0.5))
        figures.thawP99Us = us(thawDelta.percentile(0.99))
        return figures
    }
}

/// Checks an endpoint before a run, and reads lambda-sim's status endpoint during one.
package enum Preflight {
    /// One loop for these occasional requests.
    private static let loop: EventLoop? = try? EventLoop(name: "lambda-sim-load-status")

    /// Fails with a one-line message when `endpoint` does not answer, or does not know the function (a `DryRun`
    /// invoke, which runs nothing, must answer 204).
    package static func check(_ endpoint: InvokeEndpoint, url: String) async throws(LoadPlanError) {
        guard let loop else { throw LoadPlanError("cannot start an event loop") }
        let request = HTTPRequest(
            method: "POST", target: endpoint.path, headers: ["X-Amz-Invocation-Type": "DryRun"], body: Array("{}".utf8))
        let response: HTTPResponse
        do {
            response = try await HTTPClient.request(loop: loop, host: endpoint.host, port: endpoint.port, request)
        } catch {
            throw LoadPlanError("the endpoint \(url) does not answer (\(error))")
        }
        switch response.status {
        case 204, 200: return
        case 404:
            throw LoadPlanError(
                "the endpoint \(url) has no function '\(endpoint.function)' (404 ResourceNotFoundException)")
        default:
            let type = response.headers["x-amzn-ErrorType"].map { " \($0)" } ?? ""
            throw LoadPlanError(
                "the endpoint \(url) answered a DryRun invoke of '\(endpoint.function)' with \(response.status)\(type)")
        }
    }

    /// The function's entry of `GET /_sim/functions`, or nil when the endpoint has none.
    package static func functionStatus(_ endpoint: InvokeEndpoint) async -> FunctionStatus? {
        guard let loop,
            let response = try? await HTTPClient.request(
                loop: loop, host: endpoint.host, port: endpoint.port,
                HTTPRequest(method: "GET", target: "/_sim/functions")),
            response.status == 200, let document = try? JSON.parse(response.body),
            case .array(let functions) = document["functions"] ?? document
        else { return nil }
        guard let entry = functions.first(where: { $0["name"]?.stringValue == endpoint.function }) else { return nil }
        func int(_ value: JSONValue?) -> Int? {
            if case .number(let text)? = value { return Int(text) ?? Double(text).map { Int($0) } }
            return nil
        }
        func double(_ value: JSONValue?) -> Double {
            if case .number(let text)? = value { return Double(text) ?? 0 }
            return 0
        }
        guard let sandboxes = int(entry["sandboxes"]), let busy = int(entry["busy"]) else { return nil }
        var freeze: FreezeFigures?
        if let mode = entry["freeze"]?.stringValue, let freezes = entry["freezeLatencyUs"],
            let thaws = entry["thawLatencyUs"]
        {
            freeze = FreezeFigures(
                mode: mode, freezeP50Us: double(freezes["p50"]), freezeP99Us: double(freezes["p99"]),
                thawP50Us: double(thaws["p50"]), thawP99Us: double(thaws["p99"]), frozen: int(entry["freezes"]) ?? 0,
                skipped: int(entry["freezesSkipped"]) ?? 0)
            freeze?.freezeSamples = int(freezes["count"])
            freeze?.thawSamples = int(thaws["count"])
            freeze?.unconfirmed = int(entry["freezesUnconfirmed"]) ?? 0
            freeze?.thawsUnconfirmed = int(entry["thawsUnconfirmed"]) ?? 0
        }
        func histogram(_ value: JSONValue?) -> LatencyHistogram? {
            guard let value, case .array(let pairs)? = value["buckets"], let total = int(value["totalNs"]),
                let max = int(value["maxNs"])
            else { return nil }
            let buckets = pairs.compactMap { pair -> (index: Int, count: Int)? in
                guard case .array(let items) = pair, items.count == 2, let index = int(items[0]),
                    let count = int(items[1])
                else { return nil }
                return (index, count)
            }
            return LatencyHistogram(
                buckets: buckets, total: UInt64(Swift.max(0, total)), max: UInt64(Swift.max(0, max)))
        }
        return FunctionStatus(
            sandboxes: sandboxes, busy: busy, inFlight: int(entry["inFlight"]), freeze: freeze,
            queued: int(entry["queued"]), invocations: int(entry["invocations"]), errors: int(entry["errors"]),
            throttles: int(entry["throttles"]), freezeHistogram: histogram(entry["freezeLatencyUs"]),
            thawHistogram: histogram(entry["thawLatencyUs"]))
    }
}

extension LoadPlan {
    /// Why `payload` is not JSON, or nil when it is (Lambda rejects other payloads with 400).
    package static func payloadProblem(_ payload: [UInt8]) -> String? {
        JSON.validate(payload).map { "\($0)" }
    }
}

extension LoadResult {
    /// The `--json` document of this run.
    package var jsonText: String { json.serialized }
}

extension LoadProgress {
    /// The live line: `12.0/30s  2031 invokes  498/s  last 5s p50 0.41 p99 2.10 ms  run p50 0.40 p99 1.90 ms
    /// errors 0  throttled 0  sandboxes 1 busy/1  in flight 7`: percentiles of the last seconds (— when nothing
    /// was answered in them) next to the run's, and in flight only when sandboxes run several invokes at once.
    package var line: String {
        func ms(_ value: Double) -> String { LambdaLog.fixed(value, decimals: value < 10 ? 2 : 0) }
        var text = LambdaLog.fixed(elapsedSeconds, decimals: 1)
        if let plannedSeconds { text += "/" + LambdaLog.fixed(plannedSeconds, decimals: 0) + "s" } else { text += "s" }
        text += "  \(started)"
        if let plannedRequests { text += "/\(plannedRequests)" }
        text += " invokes  \(Int(currentRate))/s  last \(Int(RecentLatency.windowSeconds))s "
        if let recentP50Ms, let recentP99Ms {
            text += "p50 \(ms(recentP50Ms)) p99 \(ms(recentP99Ms)) ms"
        } else {
            text += "—"
        }
        text += "  run p50 \(ms(p50Ms)) p99 \(ms(p99Ms)) ms  errors \(errors)"
        text += "  throttled \(throttled)"
        if let sandboxes { text += "  sandboxes \(busySandboxes ?? 0) busy/\(sandboxes)" }
        if let inFlight, let busySandboxes, inFlight > busySandboxes { text += "  in flight \(inFlight)" }
        return text
    }
}

extension Preflight {
    /// Why the runtime `command` of a function cannot be started, or nil when it can: its executable must be an
    /// executable regular file (a name without a slash is looked up in `searchPath`, as `execvp` does), and its
    /// `codeDirectory` a directory.
    package static func commandProblem(_ command: [String], codeDirectory: String, searchPath: String?) -> String? {
        guard let executable = command.first, !executable.isEmpty else { return "the function has no command" }
        var info = stat()
        guard stat(codeDirectory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            return "the code directory \(codeDirectory) does not exist"
        }
        func runnable(_ path: String) -> Bool {
            var info = stat()
            return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && access(path, X_OK) == 0
                && info.st_mode & 0o111 != 0
        }
        if executable.contains("/") {
            let path = executable.hasPrefix("/") ? executable : codeDirectory + "/" + executable
            if runnable(path) { return nil }
            return access(path, F_OK) == 0
                ? "the command \(executable) is not an executable file" : "the command \(executable) does not exist"
        }
        let directories = (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        if directories.contains(where: { runnable(($0.isEmpty ? "." : String($0)) + "/" + executable) }) { return nil }
        return "the command \(executable) is not found in PATH"
    }
}
