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

/// Adds up a run: counts per outcome, latency histograms (all, cold, warm), and a timeline of one entry per
/// second of the run. Memory: one histogram (~5 KB) per second of the run and one entry per invoke still waiting
/// for its cold/warm verdict. Not thread-safe; the generator feeds it on its loop.
package struct LoadRecorder: Sendable {
    /// One second of the timeline (by the second in which invokes were due to start).
    package struct Second: Sendable, Equatable {
        package var requests = 0
        package var outcomes = [0, 0, 0, 0]
        package var coldStarts = 0
        package var latency = LatencyHistogram()
        /// Sandboxes of the function and busy ones, sampled during the second (nil: unknown).
        package var sandboxes: Int?
        package var busySandboxes: Int?
        /// Invokes in flight in the function's sandboxes (a managed instance runs several), sampled (nil: unknown).
        package var inFlight: Int?

        package init() {}
    }

    package private(set) var requests = 0
    package private(set) var outcomes = [0, 0, 0, 0]
    package private(set) var coldStarts = 0
    package private(set) var all = LatencyHistogram()
    package private(set) var cold = LatencyHistogram()
    package private(set) var warm = LatencyHistogram()
    package private(set) var timeline: [Second] = []
    /// Answered invokes (200) waiting for their cold/warm verdict, by request id: their latency and second.
    private var awaiting: [String: (nanoseconds: UInt64, second: Int)] = [:]
    /// Verdicts that came before the answer, by request id, with the second they came in.
    private var early: [String: (kind: StartKind, second: Int)] = [:]

    package init() {}

    /// The count of `outcome`.
    package func count(_ outcome: LoadOutcome) -> Int { outcomes[outcome.rawValue] }

    /// An invoke was started in `second` of the run.
    package mutating func started(second: Int) {
        requests += 1
        timeline[slot(second)].requests += 1
    }

    /// The invoke started in `second` ended with `outcome` after `nanoseconds` (measured from its scheduled
    /// start). `requestID` and a known `start` kind classify it cold or warm; with a `requestID` but no kind yet,
    /// the verdict is awaited (`verdict`).
    package mutating func finished(
        second: Int, outcome: LoadOutcome, nanoseconds: UInt64, requestID: String?, start: StartKind?
    ) {
        outcomes[outcome.rawValue] += 1
        timeline[slot(second)].outcomes[outcome.rawValue] += 1
        guard outcome == .succeeded || outcome == .functionError else { return }
        all.record(nanoseconds)
        timeline[slot(second)].latency.record(nanoseconds)
        if let start {
            classify(start, nanoseconds: nanoseconds, second: second)
        } else if let requestID {
            if let verdict = early.removeValue(forKey: requestID) {
                classify(verdict.kind, nanoseconds: nanoseconds, second: second)
            } else {
                awaiting[requestID] = (nanoseconds, second)
            }
        }
    }

    /// The simulator said, in `second` of the run, whether `requestID` was a cold start (its REPORT had an init
    /// duration).
    package mutating func verdict(_ kind: StartKind, requestID: String, second: Int) {
        if let pending = awaiting.removeValue(forKey: requestID) {
            classify(kind, nanoseconds: pending.nanoseconds, second: pending.second)
        } else {
            early[requestID] = (kind, second)
        }
    }

    /// Ends the run: answered invokes still without a verdict count as warm; cold starts whose invoke got no
    /// 200 (the client gave up, say) still count as cold starts, in the second they were reported.
    package mutating func settle() {
        for (_, pending) in awaiting { classify(.warm, nanoseconds: pending.nanoseconds, second: pending.second) }
        awaiting.removeAll()
        for (_, verdict) in early where verdict.kind == .cold {
            coldStarts += 1
            timeline[slot(verdict.second)].coldStarts += 1
        }
        early.removeAll()
    }

    /// Records a sample of the function's sandboxes in `second`.
    package mutating func sandboxes(second: Int, total: Int, busy: Int, inFlight: Int? = nil) {
        let index = slot(second)
        timeline[index].sandboxes = max(timeline[index].sandboxes ?? 0, total)
        timeline[index].busySandboxes = max(timeline[index].busySandboxes ?? 0, busy)
        if let inFlight { timeline[index].inFlight = max(timeline[index].inFlight ?? 0, inFlight) }
    }

    private mutating func classify(_ kind: StartKind, nanoseconds: UInt64, second: Int) {
        switch kind {
        case .cold:
            coldStarts += 1
            timeline[slot(second)].coldStarts += 1
            cold.record(nanoseconds)
        case .warm:
            warm.record(nanoseconds)
        }
    }

    /// The timeline index of `second`, growing the timeline to it.
    private mutating func slot(_ second: Int) -> Int {
        let index = max(0, second)
        if index >= timeline.count {
            timeline.append(contentsOf: repeatElement(Second(), count: index + 1 - timeline.count))
        }
        return index
    }
}
