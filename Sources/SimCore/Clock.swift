#if canImport(Glibc)
    import Glibc
#endif

/// Time as the simulator's state machines see it: injected so tests can drive it by hand.
package protocol SimClock: Sendable {
    /// Monotonic nanoseconds, for durations.
    var monotonicNanoseconds: UInt64 { get }
    /// Wall-clock milliseconds since the Unix epoch, for deadlines and log timestamps.
    var epochMilliseconds: Int64 { get }
}

/// The machine's clocks.
package struct SystemClock: SimClock {
    package init() {}

    package var monotonicNanoseconds: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    package var epochMilliseconds: Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
