import SimCore

/// Latencies of the last few seconds, for the live line: a ring of histograms of 250 ms each, so a spike late in
/// a run shows at once instead of being diluted in the run's totals. Memory: `slots` histograms (~5 KiB each).
package struct RecentLatency: Sendable {
    /// How long one slot covers, and how many make the window.
    package static let slotNanoseconds: UInt64 = 250_000_000
    package static let slots = 20
    /// The window: the last 5 s.
    package static var windowSeconds: Double { Double(slots) * Double(slotNanoseconds) / 1e9 }

    private var histograms = [LatencyHistogram](repeating: LatencyHistogram(), count: slots)
    /// The slot number (time / slot length) each histogram holds; -1 for none.
    private var epochs = [Int](repeating: -1, count: slots)

    package init() {}

    /// Records a latency of `nanoseconds` that ended at `now` (ns since the run's start).
    package mutating func record(_ nanoseconds: UInt64, at now: UInt64) {
        let epoch = Int(now / Self.slotNanoseconds)
        let index = epoch % Self.slots
        if epochs[index] != epoch {
            epochs[index] = epoch
            histograms[index] = LatencyHistogram()
        }
        histograms[index].record(nanoseconds)
    }

    /// The latencies that ended within the window before `now`, merged.
    package func window(at now: UInt64) -> LatencyHistogram {
        let current = Int(now / Self.slotNanoseconds)
        var merged = LatencyHistogram()
        for index in 0..<Self.slots where epochs[index] >= 0 && current - epochs[index] < Self.slots {
            merged.merge(histograms[index])
        }
        return merged
    }
}
