import SimCore

/// A function's sandboxes by state, counted from the simulator's own lifecycle events, so exact at every instant:
/// a timeline of the peak of each count per bin (bins as `LoadRecorder`'s), and the run's freeze and thaw
/// latencies.
///
/// Each sandbox moves through these states, on these changes:
///
///     (none) ---- initStarted ----> initializing ---- initFinished ----> idle
///     idle ---- invokeStarted ----> busy(1) ---- invokeStarted ----> busy(n + 1)   (managed instances)
///     busy(n) ---- invokeFinished ----> busy(n - 1), or idle at 0
///     idle ---- frozen ----> frozen ---- thawed ----> idle
///     any ---- terminated ----> (none)
///
/// Changes before the run's start set the state the run starts from; only those from the start on enter the
/// timeline and the latencies. Memory: one entry per live sandbox, at most 600 bins, two histograms.
package struct SandboxTracker: Sendable {
    /// A change of one sandbox, from the simulator's event stream.
    package enum Change: Sendable, Equatable {
        /// An init began (`platform.initStart`).
        case initStarted
        /// The init ended (`platform.initReport`).
        case initFinished
        /// An invoke was handed to the runtime (`platform.start`).
        case invokeStarted
        /// The invoke phase ended (`platform.report`).
        case invokeFinished
        /// The processes were frozen; the latency to the confirmation (nil: a thaw came first).
        case frozen(latencyNanoseconds: UInt64?)
        /// The processes were thawed; the latency as for `frozen`.
        case thawed(latencyNanoseconds: UInt64?)
        /// The sandbox shut down for good.
        case terminated
    }

    /// How many sandboxes are in each state (and how many invokes run in them).
    package struct Counts: Sendable, Equatable {
        /// Every sandbox of the function.
        package var total = 0
        /// Sandboxes running an init.
        package var initializing = 0
        /// Sandboxes running at least one invoke.
        package var busy = 0
        /// Sandboxes whose processes are frozen.
        package var frozen = 0
        /// Invokes running in them (several per managed instance).
        package var inFlight = 0

        package init(total: Int = 0, initializing: Int = 0, busy: Int = 0, frozen: Int = 0, inFlight: Int = 0) {
            self.total = total
            self.initializing = initializing
            self.busy = busy
            self.frozen = frozen
            self.inFlight = inFlight
        }

        /// The higher of each count.
        func peak(_ other: Counts) -> Counts {
            Counts(
                total: max(total, other.total), initializing: max(initializing, other.initializing),
                busy: max(busy, other.busy), frozen: max(frozen, other.frozen), inFlight: max(inFlight, other.inFlight))
        }
    }

    /// The state of one sandbox.
    private enum State: Equatable {
        /// Running its init: ---- initFinished ----> idle.
        case initializing
        /// Waiting for an invoke: ---- invokeStarted ----> busy(1), ---- frozen ----> frozen.
        case idle
        /// Running this many invokes: ---- invokeFinished ----> busy(n - 1) or idle.
        case busy(Int)
        /// Frozen: ---- thawed ----> idle.
        case frozen
    }

    private var sandboxes: [String: State] = [:]
    /// The counts now.
    package private(set) var current = Counts()
    /// The peak counts of each bin since the start.
    package private(set) var timeline: [Counts] = []
    /// The width of each bin of `timeline`.
    package private(set) var binNanoseconds = TimelineBinning.finestNanoseconds
    /// Freeze and thaw latencies confirmed since the start.
    package private(set) var freezes = LatencyHistogram()
    package private(set) var thaws = LatencyHistogram()
    /// Freezes and thaws since the start whose confirmation never came.
    package private(set) var unconfirmedFreezes = 0
    package private(set) var unconfirmedThaws = 0

    package init() {}

    /// Applies `change` of `sandbox`, which happened `at` nanoseconds after the run's start (negative: before).
    /// Once the run has ended, `runEnd` nanoseconds after its start, later changes (the simulator's stop) count at
    /// the end, so they add no bins past it.
    package mutating func apply(_ change: Change, sandbox: String, at: Int64, runEnd: UInt64? = nil) {
        let at = runEnd.map { min(at, Int64($0)) } ?? at
        let before = sandboxes[sandbox]
        let after: State?
        switch (change, before) {
        case (.initStarted, _): after = .initializing
        case (.initFinished, .initializing), (.initFinished, nil): after = .idle
        case (.initFinished, let state): after = state
        case (.invokeStarted, .busy(let n)): after = .busy(n + 1)
        case (.invokeStarted, _): after = .busy(1)
        case (.invokeFinished, .busy(let n)): after = n > 1 ? .busy(n - 1) : .idle
        case (.invokeFinished, let state): after = state ?? .idle
        case (.frozen, _): after = .frozen
        case (.thawed, .frozen), (.thawed, nil): after = .idle
        case (.thawed, let state): after = state
        case (.terminated, _): after = nil
        }
        let slot = at >= 0 ? self.slot(UInt64(at)) : nil
        count(before, -1)
        count(after, +1)
        sandboxes[sandbox] = after
        guard let slot else { return }
        timeline[slot] = timeline[slot].peak(current)
        switch change {
        case .frozen(let latency?): freezes.record(latency)
        case .frozen(nil): unconfirmedFreezes += 1
        case .thawed(let latency?): thaws.record(latency)
        case .thawed(nil): unconfirmedThaws += 1
        default: break
        }
    }

    /// Carries the counts up to `at` nanoseconds after the start (the end of the run), so that bins without
    /// changes show the state they held.
    package mutating func extend(to at: UInt64) {
        let slot = slot(at)
        timeline[slot] = timeline[slot].peak(current)
    }

    /// Makes the bins `widthNanoseconds` wide (a multiple of 10 of the current width, or the same).
    package mutating func coarsen(to widthNanoseconds: UInt64) {
        while binNanoseconds < widthNanoseconds {
            var merged: [Counts] = []
            merged.reserveCapacity(timeline.count / 10 + 1)
            for (index, bin) in timeline.enumerated() {
                if index % 10 == 0 { merged.append(bin) } else { merged[merged.count - 1] = merged.last!.peak(bin) }
            }
            timeline = merged
            binNanoseconds *= 10
        }
    }

    private mutating func count(_ state: State?, _ delta: Int) {
        guard let state else { return }
        current.total += delta
        switch state {
        case .initializing: current.initializing += delta
        case .idle: break
        case .busy(let n):
            current.busy += delta
            current.inFlight += delta * n
        case .frozen: current.frozen += delta
        }
    }

    /// The bin of the instant `at`, coarsening the bins and filling those since the last change with the counts
    /// they held.
    private mutating func slot(_ at: UInt64) -> Int {
        coarsen(to: TimelineBinning.width(toHold: at, from: binNanoseconds))
        let index = Int(at / binNanoseconds)
        if index >= timeline.count {
            timeline.append(contentsOf: repeatElement(current, count: index + 1 - timeline.count))
        }
        return index
    }
}
