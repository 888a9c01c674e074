/// When a sandbox reads its memory (`/proc/<pid>/status` of every process, about 7 µs each) at the end of an
/// invoke. The figure read is a high-water mark, so a later reading misses no peak; what a skipped reading costs is
/// only when a peak is reported. The first invoke after an init (which touches the handler's code and data for the
/// first time) and every invoke of at least `minimumDuration` are always followed by a reading; a shorter one only
/// when the last reading is at least `interval` old, else one reading follows when the interval is over.
/// So back-to-back warm invokes read memory about once per interval, and only a sub-millisecond invoke that raises
/// the peak right after another shows it late: in the REPORT of the first invoke that ends after the next reading.
///
///     idle ---- reading at t ----> fresh until t + interval ---- short invoke ends ----> catch-up due at
///     t + interval (one timer, armed once) ---- reading ----> fresh ...
///     (a long invoke's end, a failure or init reads at once in every state)
struct MemoryReadings {
    /// When memory was last read (monotonic nanoseconds); nil before the first reading.
    private(set) var lastReading: UInt64?
    /// When the catch-up reading is due, while one is.
    private(set) var catchUpDue: UInt64?
    /// Whether the next invoke is the first since an init.
    private(set) var firstInvoke = true

    /// Least time between two readings at the ends of short invokes (nanoseconds).
    static let interval: UInt64 = 50_000_000
    /// Invokes at least this long (milliseconds) are always followed by a reading.
    static let minimumDuration = 1.0

    /// What to do at the end of an invoke.
    enum Decision: Equatable {
        /// Read now.
        case read
        /// Arm a timer for the catch-up reading, due in this many nanoseconds.
        case armCatchUp(afterNanoseconds: UInt64)
        /// Nothing: the last reading is recent and a catch-up is already armed.
        case skip
    }

    /// The decision for an invoke of `durationMs` that ended at `now`.
    mutating func invokeEnded(durationMs: Double, at now: UInt64) -> Decision {
        defer { firstInvoke = false }
        guard let last = lastReading, !firstInvoke, durationMs < Self.minimumDuration, now &- last < Self.interval
        else {
            return .read
        }
        if catchUpDue != nil { return .skip }
        let due = last + Self.interval
        catchUpDue = due
        return .armCatchUp(afterNanoseconds: due - now)
    }

    /// An init ended (and memory was read): the next invoke is a first one again.
    mutating func initEnded() {
        firstInvoke = true
    }

    /// Memory was read at `now` (at an invoke's end, at the catch-up, at init or at an exit).
    mutating func read(at now: UInt64) {
        lastReading = now
        catchUpDue = nil
    }
}
