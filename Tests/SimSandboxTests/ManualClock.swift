import SimCore
import Synchronization

/// A clock tests move by hand.
final class ManualClock: SimClock {
    private let state = Mutex<(UInt64, Int64)>((1_000_000_000, 1_700_000_000_000))

    var monotonicNanoseconds: UInt64 { state.withLock { $0.0 } }
    var epochMilliseconds: Int64 { state.withLock { $0.1 } }

    /// Moves both clocks forward.
    func advance(milliseconds: Double) {
        state.withLock {
            $0.0 += UInt64(milliseconds * 1_000_000)
            $0.1 += Int64(milliseconds)
        }
    }
}
