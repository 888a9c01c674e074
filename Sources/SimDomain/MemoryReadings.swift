/// When a sandbox reads its memory (`/proc/<pid>/status` of every process, about 7 µs each) at the end of an
/// invoke. The figure read is a high-water mark, so a later reading misses no peak; what a skipped reading costs is
/// only when a peak is reported. The first invoke after an init (which touches the handler's code and data for the
/// first time) is always followed by a reading, and so is every invoke long enough for the runtime's threads to
/// have used `minimumCPU` of CPU time in it after which the runtime process has used `minimumCPU` or more since
/// the last reading (one `clock_gettime` of its CPU clock, ~1 µs): memory
/// cannot grow without CPU time, since the kernel zeroes or maps every page a process touches first. Where that
/// clock cannot be read the invoke's wall duration stands in (`minimumDuration`), and an invoke of `longDuration`
/// or more always reads (its time may have gone to a child or an extension, whose CPU the runtime's clock does not
/// count). Any other invoke reads only when the last reading is at least `interval` old, else one reading follows
/// when the interval is over. So back-to-back warm invokes read memory about once per interval, also when the
/// simulator's own backlog stretches their wall durations under load, and only an invoke that raises the peak
/// with under a millisecond of the runtime's CPU (or in another process) right after a reading shows it late: in
/// the REPORT of the first invoke that ends after the next reading, at most `interval` later.
///
///     idle ---- reading at t ----> fresh until t + interval ---- short invoke ends ----> catch-up due at
///     t + interval (one timer, armed once) ---- reading ----> fresh ...
///     (a long invoke's end, a failure or init reads at once in every state)
package struct MemoryReadings: Sendable {
    /// When memory was last read (monotonic nanoseconds); nil before the first reading.
    package private(set) var lastReading: UInt64?
    /// When the catch-up reading is due, while one is.
    package private(set) var catchUpDue: UInt64?
    /// Whether the next invoke is the first since an init.
    package private(set) var firstInvoke = true
    /// The runtime's CPU time at the last reading (nanoseconds), where its clock could be read.
    package private(set) var cpuAtLastReading: UInt64?

    /// Least time between two readings at the ends of short invokes (nanoseconds).
    package static let interval: UInt64 = 50_000_000
    /// Runtime CPU time since the last reading (nanoseconds) after which an invoke's end reads at once.
    package static let minimumCPU: UInt64 = 1_000_000
    /// Without the runtime's CPU time: invokes at least this long (milliseconds) are followed by a reading.
    package static let minimumDuration = 1.0
    /// Invokes at least this long (milliseconds) are always followed by a reading.
    package static let longDuration = 50.0

    /// Readings before the first: the first invoke's end reads.
    package init() {}

    /// What to do at the end of an invoke.
    package enum Decision: Equatable {
        /// Read now.
        case read
        /// Arm a timer for the catch-up reading, due in this many nanoseconds.
        case armCatchUp(afterNanoseconds: UInt64)
        /// Nothing: the last reading is recent and a catch-up is already armed.
        case skip
    }

    /// The decision for an invoke of `durationMs` that ended at `now`, when the runtime's CPU clock reads
    /// `runtimeCPU` nanoseconds (nil when it cannot be read) and it had `runtimeThreads` threads at the last reading.
    /// The clock is read only when the decision needs it: not after an invoke too short for the runtime's threads
    /// to have used `minimumCPU` in it (the CPU of many such invokes together waits for the catch-up).
    /// An invoke that `failed` (an error, a timeout, a crash) always reads, and leaves the first-invoke mark as it was.
    package mutating func invokeEnded(
        failed: Bool = false, durationMs: Double, runtimeThreads: Int = 1,
        runtimeCPU: @autoclosure () -> UInt64? = nil, at now: UInt64
    ) -> Decision {
        if failed { return .read }
        defer { firstInvoke = false }
        guard let last = lastReading, !firstInvoke, durationMs < Self.longDuration, now &- last < Self.interval
        else {
            return .read
        }
        if durationMs * 1_000_000 * Double(max(1, runtimeThreads)) >= Double(Self.minimumCPU) {
            if let before = cpuAtLastReading, let cpu = runtimeCPU() {
                if cpu &- before >= Self.minimumCPU { return .read }
            } else if durationMs >= Self.minimumDuration {
                return .read
            }
        }
        if catchUpDue != nil { return .skip }
        let due = last + Self.interval
        catchUpDue = due
        return .armCatchUp(afterNanoseconds: due - now)
    }

    /// An init ended (and memory was read): the next invoke is a first one again.
    package mutating func initEnded() {
        firstInvoke = true
    }

    /// Memory was read at `now` (at an invoke's end, at the catch-up, at init or at an exit), when the runtime's
    /// CPU clock read `runtimeCPU` nanoseconds (nil when it could not be read).
    package mutating func read(at now: UInt64, runtimeCPU: UInt64? = nil) {
        lastReading = now
        cpuAtLastReading = runtimeCPU
        catchUpDue = nil
    }
}
