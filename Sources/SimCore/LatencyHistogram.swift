/// Latency percentiles without keeping samples: log-spaced buckets (36 per factor of 2, each 1.94 % wide, as
/// HDR histograms space theirs) from 1 ns to ~1,000 s.
package struct LatencyHistogram: Sendable, Equatable {
    package static let bucketsPerOctave = 36
    private static let octaves = 40
    private var buckets = [UInt32](repeating: 0, count: bucketsPerOctave * octaves)
    /// Number of samples.
    package private(set) var count = 0
    /// Largest sample, in nanoseconds.
    package private(set) var max: UInt64 = 0
    /// Sum of the samples, in nanoseconds.
    package private(set) var total: UInt64 = 0

    package init() {}

    /// Records one duration in nanoseconds.
    package mutating func record(_ nanoseconds: UInt64) {
        count += 1
        total &+= nanoseconds
        if nanoseconds > max { max = nanoseconds }
        buckets[Self.bucket(for: nanoseconds)] &+= 1
    }

    /// Adds every sample of `other`.
    package mutating func merge(_ other: LatencyHistogram) {
        count += other.count
        total &+= other.total
        max = Swift.max(max, other.max)
        for i in buckets.indices { buckets[i] &+= other.buckets[i] }
    }

    /// The value below which `fraction` (0...1) of the samples fall, in nanoseconds (bucket upper bound,
    /// never above the maximum).
    package func percentile(_ fraction: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = Swift.max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (index, n) in buckets.enumerated() {
            seen += Int(n)
            if seen >= rank { return Swift.min(max, Self.upperBound(of: index)) }
        }
        return max
    }

    /// The buckets holding samples, in ascending order: each one's index and count (what a status endpoint
    /// publishes so that a client can subtract two snapshots of one histogram, `subtracting`).
    package var occupiedBuckets: [(index: Int, count: Int)] {
        buckets.enumerated().compactMap { $0.element > 0 ? ($0.offset, Int($0.element)) : nil }
    }

    /// The values bucket `index` holds, in nanoseconds: from `lower` (inclusive) to `upper` (exclusive).
    package static func bounds(ofBucket index: Int) -> (lower: Double, upper: Double) {
        (exp2(Double(index) / Double(bucketsPerOctave)), exp2(Double(index + 1) / Double(bucketsPerOctave)))
    }

    /// A histogram from published buckets (indexes out of range are ignored), its sum and maximum.
    package init(buckets published: [(index: Int, count: Int)], total: UInt64, max: UInt64) {
        for (index, n) in published where buckets.indices.contains(index) && n > 0 {
            buckets[index] &+= UInt32(truncatingIfNeeded: n)
            count += n
        }
        self.total = total
        self.max = max
    }

    /// The samples of this histogram that `earlier`, an earlier snapshot of the same one, did not have. The
    /// maximum is the upper bound of the highest bucket left (never above this one's).
    package func subtracting(_ earlier: LatencyHistogram) -> LatencyHistogram {
        var result = LatencyHistogram()
        for index in buckets.indices {
            let n = buckets[index] >= earlier.buckets[index] ? buckets[index] - earlier.buckets[index] : 0
            result.buckets[index] = n
            result.count += Int(n)
            if n > 0 { result.max = Swift.min(max, Self.upperBound(of: index)) }
        }
        result.total = total >= earlier.total ? total - earlier.total : 0
        return result
    }

    /// The bucket that holds `value` nanoseconds.
    package static func bucket(for value: UInt64) -> Int {
        let v = Double(Swift.max(value, 1))
        let index = Int((log2(v) * Double(bucketsPerOctave)).rounded(.down))
        return Swift.min(Swift.max(index, 0), bucketsPerOctave * octaves - 1)
    }

    private static func upperBound(of index: Int) -> UInt64 {
        UInt64(exp2(Double(index + 1) / Double(bucketsPerOctave)).rounded(.up))
    }
}

#if canImport(Glibc)
    import Glibc
#endif
