/// How invokes are started.
package enum LoadModel: Equatable, Sendable {
    /// Open model: invokes start on a fixed schedule, this many per second, whatever the answers do.
    case rate(Double)
    /// Open model whose rate ramps linearly from stage to stage (starting from 0).
    case stages([Stage])
    /// Closed model: this many callers, each invoking again as soon as it has its answer.
    case concurrency(Int)

    /// `open` or `closed`, as the JSON result says.
    package var name: String {
        switch self {
        case .rate, .stages: return "open"
        case .concurrency: return "closed"
        }
    }

    /// How long the stages last together; nil for the other models.
    package var stagesSeconds: Double? {
        guard case .stages(let stages) = self else { return nil }
        return stages.reduce(0) { $0 + $1.seconds }
    }
}

/// One stage of `--stages`: the rate ramps linearly to `target` invokes per second over `seconds`.
package struct Stage: Equatable, Sendable {
    package var seconds: Double
    package var target: Double

    package init(seconds: Double, target: Double) {
        self.seconds = seconds
        self.target = target
    }

    /// Parses `5s:50,20s:500,5s:0` (durations in `ms`, `s`, `m` or `h`; a bare number is seconds).
    package static func parseList(_ text: String) throws(LoadPlanError) -> [Stage] {
        var stages: [Stage] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw LoadPlanError("--stages: '\(item)' is not DURATION:RATE (e.g. 10s:100)")
            }
            let seconds = try parseDuration(String(parts[0]), option: "--stages")
            guard let target = Double(parts[1].trimmingCharacters(in: " ")), target >= 0, target.isFinite else {
                throw LoadPlanError("--stages: '\(parts[1])' is not a rate of zero or more invokes per second")
            }
            guard target <= LoadPlan.maximumRate else {
                throw LoadPlanError(
                    "--stages: rate \(parts[1]) is above \(LoadPlan.maximumRateText), the most the generator can schedule"
                )
            }
            stages.append(Stage(seconds: seconds, target: target))
        }
        guard stages.contains(where: { $0.seconds > 0 }) else { throw LoadPlanError("--stages: no stage lasts") }
        guard stages.reduce(0, { $0 + $1.seconds }) <= LoadPlan.longestRunSeconds else {
            throw LoadPlanError("--stages: the stages last more than \(LoadPlan.longestRunText), the longest run")
        }
        guard stages.contains(where: { $0.target > 0 }) else {
            throw LoadPlanError("--stages: every stage ends at rate 0, so nothing would be invoked")
        }
        return stages
    }
}

/// Parses a duration: `250ms`, `5s`, `2m`, `1h`, or a number of seconds; at most `LoadPlan.longestRunSeconds`.
package func parseDuration(_ text: String, option: String) throws(LoadPlanError) -> Double {
    let trimmed = text.trimmingCharacters(in: " ")
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    var seconds: Double?
    for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
        if let value = Double(trimmed.dropLast(suffix.count)), value >= 0, value.isFinite {
            seconds = value * factor
            break
        }
    }
    if seconds == nil, let value = Double(trimmed), value >= 0, value.isFinite { seconds = value }
    guard let seconds else { throw LoadPlanError("\(option): '\(text)' is not a duration (e.g. 30s, 2m, 500ms)") }
    guard seconds <= LoadPlan.longestRunSeconds else {
        throw LoadPlanError("\(option): '\(text)' is longer than \(LoadPlan.longestRunText), the longest run")
    }
    return seconds
}

extension StringProtocol {
    func trimmingCharacters(in set: Character) -> String {
        var slice = Substring(self)
        while slice.first == set { slice = slice.dropFirst() }
        while slice.last == set { slice = slice.dropLast() }
        return String(slice)
    }
}

/// When a run ends: after `seconds`, after `requests` invokes were started, or both (whichever comes first).
package struct StopCondition: Equatable, Sendable {
    package var seconds: Double?
    package var requests: Int?

    package init(seconds: Double?, requests: Int?) {
        self.seconds = seconds
        self.requests = requests
    }
}

/// A plan that cannot run, with the one-line message the command prints.
package struct LoadPlanError: Error, Equatable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// Everything a run needs to know about its load.
package struct LoadPlan: Equatable, Sendable {
    /// The highest rate the generator can keep to (it costs ~25 µs of CPU per invoke: ~40,000/s on one core);
    /// a higher `--rate` or stage is refused before any load.
    package static let maximumRate = 40_000.0
    package static let maximumRateText = "40,000/s"
    /// The longest run: every run stops by then, whatever else it says, which bounds the timeline (one second's
    /// histogram, ~5 KiB, per second of the run: at most ~18 MiB).
    package static let longestRunSeconds = 3_600.0
    package static let longestRunText = "1 h"
    /// The most callers of a closed model, and the longest client timeout.
    package static let maximumConcurrency = 10_000
    package static let longestClientTimeoutSeconds = 3_600.0

    package var model: LoadModel
    package var stop: StopCondition
    /// The request body of every invoke.
    package var payload: [UInt8]
    /// `RequestResponse` or `Event`.
    package var invocationType: String
    /// An invoke without an answer after this long counts as an other error.
    package var clientTimeoutSeconds: Double

    package init(
        model: LoadModel, stop: StopCondition, payload: [UInt8], invocationType: String,
        clientTimeoutSeconds: Double = 120
    ) {
        self.model = model
        self.stop = stop
        self.payload = payload
        self.invocationType = invocationType
        self.clientTimeoutSeconds = clientTimeoutSeconds
    }

    /// Checks the combination of options the way the command reports it: one line naming the problem.
    package func validate() throws(LoadPlanError) {
        switch model {
        case .rate(let rate):
            guard rate > 0, rate.isFinite else { throw LoadPlanError("--rate must be a positive number, not \(rate)") }
            guard rate <= Self.maximumRate else {
                throw LoadPlanError(
                    "--rate \(rate) is above \(Self.maximumRateText), the most the generator can schedule")
            }
        case .concurrency(let count):
            guard count > 0 else { throw LoadPlanError("--concurrency must be 1 or more, not \(count)") }
            guard count <= Self.maximumConcurrency else {
                throw LoadPlanError("--concurrency is at most 10,000, not \(count)")
            }
        case .stages:
            break
        }
        if let seconds = stop.seconds, !(seconds > 0) {
            throw LoadPlanError("--duration must be more than 0 seconds")
        }
        if let seconds = stop.seconds, !(seconds <= Self.longestRunSeconds) {
            throw LoadPlanError("--duration is at most \(Self.longestRunText), not \(seconds) s")
        }
        if let requests = stop.requests, requests <= 0 { throw LoadPlanError("--requests must be 1 or more") }
        if stop.seconds == nil && stop.requests == nil && model.stagesSeconds == nil {
            throw LoadPlanError("say how long to run: --duration SECONDS or --requests N")
        }
        guard invocationType == "RequestResponse" || invocationType == "Event" else {
            throw LoadPlanError("--invocation-type must be RequestResponse or Event, not \(invocationType)")
        }
        guard clientTimeoutSeconds > 0, clientTimeoutSeconds <= Self.longestClientTimeoutSeconds else {
            throw LoadPlanError(
                "--client-timeout must be more than 0 and at most 3600 seconds, not \(clientTimeoutSeconds)")
        }
    }

    /// When the run stops at the latest, in seconds: `maximumSeconds`, and never after the longest run.
    package var timeLimitSeconds: Double { min(maximumSeconds ?? Self.longestRunSeconds, Self.longestRunSeconds) }

    /// How long the run lasts at most, in seconds (nil: until `requests` were started).
    package var maximumSeconds: Double? {
        switch (stop.seconds, model.stagesSeconds) {
        case (let seconds?, let stages?): return min(seconds, stages)
        case (let seconds?, nil): return seconds
        case (nil, let stages?): return stages
        case (nil, nil): return nil
        }
    }
}
