import Synchronization
import Testing

@testable import SimUV

/// The loop's microsecond timers.
@Suite struct FineTimersTests {
    /// A cancelled timer leaves the timerfd armed only for the timers still scheduled: cancelling the earliest
    /// re-arms it for the next, cancelling the last disarms it, so no wake comes for nothing.
    @Test(.timeLimit(.minutes(1))) func cancellingTheEarliestRearmsOrDisarms() async throws {
        let loop = try EventLoop()
        let states = try await loop.run { () -> [Bool] in
            guard let timers = FineTimers.of(loop) else { return [] }
            let early = timers.schedule(afterNanoseconds: 5_000_000_000) {}
            let late = timers.schedule(afterNanoseconds: 9_000_000_000) {}
            var states = [timers.isArmed]
            timers.cancel(early)
            states.append(timers.isArmed)
            timers.cancel(late)
            states.append(timers.isArmed)
            return states
        }
        #expect(states == [true, true, false])
        await loop.shutdown()
    }

    /// Timers run once each, in time, and a body may schedule another.
    @Test(.timeLimit(.minutes(1))) func bodiesRunAndMayScheduleMore() async throws {
        let loop = try EventLoop()
        let ran = Mutex<[String]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.submit {
                guard let timers = FineTimers.of(loop) else { return done.resume() }
                timers.schedule(afterNanoseconds: 200_000) {
                    ran.withLock { $0.append("first") }
                    timers.schedule(afterNanoseconds: 100_000) {
                        ran.withLock { $0.append("second") }
                        done.resume()
                    }
                }
                let cancelled = timers.schedule(afterNanoseconds: 100_000) { ran.withLock { $0.append("cancelled") } }
                timers.cancel(cancelled)
            }
        }
        #expect(ran.withLock { $0 } == ["first", "second"])
        await loop.shutdown()
    }
}
