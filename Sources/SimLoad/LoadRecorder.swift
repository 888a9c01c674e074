import SimCore

/// How one invoke ended, from the invoker's side.
package enum LoadOutcome: Int, CaseIterable, Sendable {
    /// 200 (or 202 for an `Event` invoke) without `X-Amz-Function-Error`.
    case succeeded
    /// 200 with `X-Amz-Function-Error`: the function failed.
    case functionError
    /// 429: throttled.
    case throttled
    /// Anything else: another status, a connection failure, no answer within the client timeout.
    case otherError

    /// The outcome of an HTTP request to a route or Function URL (`load --url`), where only the status speaks:
    /// 429 throttled (a Function URL's throttle); 500, 502 and 504, what API Gateway and Function URLs answer for a
    /// function that failed, timed out or was throttled behind an API, function errors; another 5xx an other error;
    /// anything else (the function's own 2xx, 3xx or 4xx) succeeded.
    package static func classifyHTTP(status: Int) -> LoadOutcome {
        switch status {
        case 429: return .throttled
        case 500, 502, 504: return .functionError
        case 500...599: return .otherError
        default: return .succeeded
        }
    }

    /// Classifies an answer by its status and whether it carried `X-Amz-Function-Error`.
    package static func classify(status: Int, functionError: Bool) -> LoadOutcome {
        switch status {
        case 200: return functionError ? .functionError : .succeeded
        case 202: return .succeeded
        case 429: return .throttled
        default: return .otherError
        }
    }
}

/// Whether an invoke started a sandbox (a cold start), as the simulator reports it.
package enum StartKind: Sendable, Equatable {
    case cold, warm
}

/// The width of a run's timeline bins, adapted to the run as it goes: 100 ms while the run is under 10 s, then
/// 1 s up to 10 minutes, then ten times wider each time the bins would pass 600. Widths grow by a factor of 10,
/// so a timeline is made coarser by merging each 10 bins into one.
package enum TimelineBinning {
    /// The first width: 100 ms.
    package static let finestNanoseconds: UInt64 = 100_000_000

    /// How many bins of `widthNanoseconds` a timeline may hold before it gets ten times coarser.
    package static func capacity(widthNanoseconds: UInt64) -> Int {
        widthNanoseconds <= finestNanoseconds ? 100 : 600
    }

    /// The width a timeline must have to hold the instant `nanoseconds` after the start, when it is
    /// `widthNanoseconds` wide now.
    package static func width(toHold nanoseconds: UInt64, from widthNanoseconds: UInt64) -> UInt64 {
        var width = widthNanoseconds
        while nanoseconds / width >= UInt64(capacity(widthNanoseconds: width)) { width *= 10 }
        return width
    }
}

/// Adds up a run: counts per outcome, latency histograms (all, cold, warm), and a timeline of bins whose width
/// adapts to the run (`TimelineBinning`). Memory: one histogram (~6 KB) per bin, at most 600 bins, and one entry
/// per invoke still waiting for its cold/warm verdict. Not thread-safe; the generator feeds it on its loop. Times
/// are nanoseconds since the start of the run.
package struct LoadRecorder: Sendable {
    /// One bin of the timeline (invokes are counted in the bin in which they were due to start).
    package struct Bin: Sendable, Equatable {
        package var requests = 0
        package var outcomes = [0, 0, 0, 0]
        package var coldStarts = 0
        package var latency = LatencyHistogram()
        /// The most sandboxes of the function, and busy ones, sampled during the bin (nil: unknown).
        package var sandboxes: Int?
        package var busySandboxes: Int?
        /// Invokes in flight in the function's sandboxes (a managed instance runs several), sampled (nil: unknown).
        package var inFlight: Int?

        package init() {}

        /// Adds `other`'s counts and takes the higher of their samples.
        mutating func merge(_ other: Bin) {
            requests += other.requests
            for index in outcomes.indices { outcomes[index] += other.outcomes[index] }
            coldStarts += other.coldStarts
            latency.merge(other.latency)
            sandboxes = maxOptional(sandboxes, other.sandboxes)
            busySandboxes = maxOptional(busySandboxes, other.busySandboxes)
            inFlight = maxOptional(inFlight, other.inFlight)
        }
    }

    package private(set) var requests = 0
    package private(set) var outcomes = [0, 0, 0, 0]
    package private(set) var coldStarts = 0
    package private(set) var all = LatencyHistogram()
    package private(set) var cold = LatencyHistogram()
    package private(set) var warm = LatencyHistogram()
    package private(set) var timeline: [Bin] = []
    /// Connections the generator opened, and the most invokes it had started and not yet seen answered at once
    /// (each needs a connection of its own).
    package var connectionsOpened = 0
    package var peakClientInFlight = 0
    /// How often the generator's thread went to sleep and was woken during the run (its voluntary context
    /// switches), when known.
    package var generatorWakes: Int?
    /// When the last invoke started (was due, in an open model).
    package private(set) var lastStart: UInt64 = 0
    /// The width of each bin of `timeline`.
    package private(set) var binNanoseconds = TimelineBinning.finestNanoseconds
    /// Answered invokes (200) waiting for their cold/warm verdict, by request id: their latency and due time.
    private var awaiting: [String: (nanoseconds: UInt64, due: UInt64)] = [:]
    /// Verdicts that came before the answer, by request id, with the time they came.
    private var early: [String: (kind: StartKind, at: UInt64)] = [:]

    package init() {}

    /// The count of `outcome`.
    package func count(_ outcome: LoadOutcome) -> Int { outcomes[outcome.rawValue] }

    /// An invoke due at `due` was started.
    package mutating func started(due: UInt64) {
        requests += 1
        lastStart = max(lastStart, due)
        timeline[slot(due)].requests += 1
    }

    /// The invoke due at `due` ended with `outcome` after `nanoseconds` (measured from its scheduled start).
    /// `requestID` and a known `start` kind classify it cold or warm; with a `requestID` but no kind yet, the
    /// verdict is awaited (`verdict`).
    package mutating func finished(
        due: UInt64, outcome: LoadOutcome, nanoseconds: UInt64, requestID: String?, start: StartKind?
    ) {
        outcomes[outcome.rawValue] += 1
        timeline[slot(due)].outcomes[outcome.rawValue] += 1
        guard outcome == .succeeded || outcome == .functionError else { return }
        all.record(nanoseconds)
        timeline[slot(due)].latency.record(nanoseconds)
        if let start {
            classify(start, nanoseconds: nanoseconds, at: due)
        } else if let requestID {
            if let verdict = early.removeValue(forKey: requestID) {
                classify(verdict.kind, nanoseconds: nanoseconds, at: due)
            } else {
                awaiting[requestID] = (nanoseconds, due)
            }
        }
    }

    /// The simulator said, at `at`, whether `requestID` was a cold start (its REPORT had an init duration).
    package mutating func verdict(_ kind: StartKind, requestID: String, at: UInt64) {
        if let pending = awaiting.removeValue(forKey: requestID) {
            classify(kind, nanoseconds: pending.nanoseconds, at: pending.due)
        } else {
            early[requestID] = (kind, at)
        }
    }

    /// Ends the run: answered invokes still without a verdict count as warm; cold starts whose invoke got no
    /// 200 (the client gave up, say) still count as cold starts, in the bin they were reported.
    package mutating func settle() {
        for (_, pending) in awaiting { classify(.warm, nanoseconds: pending.nanoseconds, at: pending.due) }
        awaiting.removeAll()
        for (_, verdict) in early where verdict.kind == .cold {
            coldStarts += 1
            timeline[slot(verdict.at)].coldStarts += 1
        }
        early.removeAll()
    }

    /// Records a sample, taken at `at`, of the function's sandboxes.
    package mutating func sandboxes(at: UInt64, total: Int, busy: Int, inFlight: Int? = nil) {
        let index = slot(at)
        timeline[index].sandboxes = max(timeline[index].sandboxes ?? 0, total)
        timeline[index].busySandboxes = max(timeline[index].busySandboxes ?? 0, busy)
        if let inFlight { timeline[index].inFlight = max(timeline[index].inFlight ?? 0, inFlight) }
    }

    /// Makes the timeline's bins `widthNanoseconds` wide (a multiple of 10 of the current width, or the same).
    package mutating func coarsen(to widthNanoseconds: UInt64) {
        while binNanoseconds < widthNanoseconds {
            var merged: [Bin] = []
            merged.reserveCapacity(timeline.count / 10 + 1)
            for (index, bin) in timeline.enumerated() {
                if index % 10 == 0 { merged.append(bin) } else { merged[merged.count - 1].merge(bin) }
            }
            timeline = merged
            binNanoseconds *= 10
        }
    }

    private mutating func classify(_ kind: StartKind, nanoseconds: UInt64, at: UInt64) {
        switch kind {
        case .cold:
            coldStarts += 1
            timeline[slot(at)].coldStarts += 1
            cold.record(nanoseconds)
        case .warm:
            warm.record(nanoseconds)
        }
    }

    /// The timeline index of the instant `at`, coarsening the bins and growing the timeline to hold it.
    private mutating func slot(_ at: UInt64) -> Int {
        coarsen(to: TimelineBinning.width(toHold: at, from: binNanoseconds))
        let index = Int(at / binNanoseconds)
        if index >= timeline.count {
            timeline.append(contentsOf: repeatElement(Bin(), count: index + 1 - timeline.count))
        }
        return index
    }
}

/// The larger of two optional counts (nil only when both are).
func maxOptional(_ a: Int?, _ b: Int?) -> Int? {
    guard let a else { return b }
    guard let b else { return a }
    return max(a, b)
}
