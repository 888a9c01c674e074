import SimUV
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// SIGINT and SIGTERM during a run, watched on a loop of their own: the first asks the run to stop and drain,
/// the second to abort at once.
///
///     running ---- 1st signal ----> draining (`onSignal(signal, 1)`: stop scheduling, drain, report)
///     draining ---- 2nd signal ----> aborting (`onSignal(signal, 2)`: cut everything off, no report)
package final class Interrupts: Sendable {
    private let loop: EventLoop
    private let state = Mutex<(count: Int, signal: Int32, handler: (@Sendable (Int32, Int) -> Void)?)>((0, 0, nil))

    /// Starts watching; the default action of both signals is replaced until the process ends.
    package init() throws(UVError) {
        loop = try EventLoop(name: "lambda-sim-load-signals")
        let loop = self.loop
        // The watchers, and this object through them, live as long as the process: the loop keeps them.
        loop.submit { [self] in
            for number in [SIGINT, SIGTERM] {
                _ = try? SignalWatcher(loop: loop, signal: number) { [self] received in
                    let (count, handler) = state.withLock { value in
                        value.count += 1
                        if value.count == 1 { value.signal = received }
                        return (value.count, value.handler)
                    }
                    handler?(received, count)
                }
            }
        }
    }

    /// How many signals arrived so far.
    package var count: Int { state.withLock { $0.count } }

    /// The first signal that arrived, or 0.
    package var firstSignal: Int32 { state.withLock { $0.signal } }

    /// Calls `handler` (on the signals' thread) with each signal and how many arrived so far; replaces the previous
    /// handler.
    package func onSignal(_ handler: (@Sendable (Int32, Int) -> Void)?) {
        state.withLock { $0.handler = handler }
    }
}
