import SimCore
import Synchronization

/// A clock tests move by hand; monotonic time starts at 1,000 ms, wall time at 2023-11-14T22:13:20Z.
final class ManualClock: SimClock {
    private let state = Mutex<(UInt64, Int64)>((1_000_000_000, 1_700_000_000_000))

    var monotonicNanoseconds: UInt64 { state.withLock { $0.0 } }
    var epochMilliseconds: Int64 { state.withLock { $0.1 } }
    /// Monotonic milliseconds now.
    var milliseconds: UInt64 { monotonicNanoseconds / 1_000_000 }

    /// Moves both clocks forward.
    func advance(milliseconds: UInt64) {
        state.withLock {
            $0.0 += milliseconds * 1_000_000
            $0.1 += Int64(milliseconds)
        }
    }
}
