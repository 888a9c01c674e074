import Testing

@testable import SimDomain

/// When memory is read at the ends of invokes (`MemoryReadings`), on a manual clock (monotonic nanoseconds).
struct MemoryReadingsTests {
    static let ms: UInt64 = 1_000_000

    /// The first invoke's end reads at once: there is no reading to lean on.
    @Test func firstInvokeReads() {
        var readings = MemoryReadings()
        #expect(readings.invokeEnded(durationMs: 0.05, at: 5 * Self.ms) == .read)
    }

    /// The first invoke after an init reads however short and recent: it touches the handler's memory for the
    /// first time. So does the first one after a later init.
    @Test func firstInvokeAfterInitReads() {
        var readings = MemoryReadings()
        readings.read(at: 100 * Self.ms)
        readings.initEnded()
        #expect(readings.invokeEnded(durationMs: 0.05, at: 101 * Self.ms) == .read)
        readings.read(at: 101 * Self.ms)
        #expect(
            readings.invokeEnded(durationMs: 0.05, at: 102 * Self.ms) == .armCatchUp(afterNanoseconds: 49 * Self.ms))
        readings.read(at: 110 * Self.ms)
        readings.initEnded()
        #expect(readings.invokeEnded(durationMs: 0.05, at: 111 * Self.ms) == .read)
    }

    /// A short invoke ending within the interval of the last reading arms one catch-up, due when the interval ends;
    /// further short invokes meanwhile skip; the catch-up's reading opens the next interval.
    @Test func shortInvokesShareOneCatchUp() {
        var readings = MemoryReadings()
        readings.read(at: 100 * Self.ms)
        _ = readings.invokeEnded(durationMs: 0.05, at: 100 * Self.ms)
        #expect(
            readings.invokeEnded(durationMs: 0.05, at: 101 * Self.ms) == .armCatchUp(afterNanoseconds: 49 * Self.ms))
        #expect(readings.catchUpDue == 150 * Self.ms)
        for t in stride(from: 102, to: 150, by: 7) {
            #expect(readings.invokeEnded(durationMs: 0.05, at: UInt64(t) * Self.ms) == .skip)
        }
        readings.read(at: 150 * Self.ms)
        #expect(readings.catchUpDue == nil)
        #expect(
            readings.invokeEnded(durationMs: 0.05, at: 151 * Self.ms) == .armCatchUp(afterNanoseconds: 49 * Self.ms))
    }

    /// With the runtime's CPU clock, its CPU time since the last reading decides, not the invoke's wall duration:
    /// a millisecond of CPU reads at once however recent the reading; an invoke stretched to 10 ms of wall time by
    /// a backlog, with 50 µs of CPU, waits for the catch-up. The clock is not read after an invoke too short for
    /// the runtime's threads to have used a millisecond in it.
    @Test func runtimeCPUDecides() {
        var readings = MemoryReadings()
        readings.read(at: 100 * Self.ms, runtimeCPU: 7 * Self.ms)
        _ = readings.invokeEnded(durationMs: 0.05, runtimeCPU: 7 * Self.ms, at: 100 * Self.ms)
        #expect(
            readings.invokeEnded(durationMs: 10, runtimeCPU: 7 * Self.ms + 50_000, at: 110 * Self.ms)
                == .armCatchUp(afterNanoseconds: 40 * Self.ms))
        var clockReads = 0
        func clock(_ value: UInt64) -> UInt64 {
            clockReads += 1
            return value
        }
        #expect(readings.invokeEnded(durationMs: 0.5, runtimeCPU: clock(8 * Self.ms), at: 111 * Self.ms) == .skip)
        #expect(clockReads == 0)
        #expect(
            readings.invokeEnded(
                durationMs: 0.5, runtimeThreads: 4, runtimeCPU: clock(8 * Self.ms), at: 111 * Self.ms) == .read)
        #expect(clockReads == 1)
        readings.read(at: 111 * Self.ms, runtimeCPU: 8 * Self.ms)
        #expect(
            readings.invokeEnded(durationMs: 20, runtimeCPU: 8 * Self.ms + 999_999, at: 131 * Self.ms)
                == .armCatchUp(afterNanoseconds: 30 * Self.ms))
        // A new runtime's clock starts again from zero: below the last reading's, which reads.
        #expect(readings.invokeEnded(durationMs: 2, runtimeCPU: 2 * Self.ms, at: 132 * Self.ms) == .read)
    }

    /// An invoke of `longDuration` or more reads at its end whatever the runtime's CPU: its time may have gone to
    /// a child or an extension.
    @Test func longInvokeReadsWhateverTheCPU() {
        var readings = MemoryReadings()
        readings.read(at: 100 * Self.ms, runtimeCPU: 7 * Self.ms)
        _ = readings.invokeEnded(durationMs: 0.05, runtimeCPU: 7 * Self.ms, at: 100 * Self.ms)
        #expect(readings.invokeEnded(durationMs: 50, runtimeCPU: 7 * Self.ms, at: 149 * Self.ms) == .read)
    }

    /// Without the runtime's CPU clock, an invoke of a millisecond or more is read at its end however recent the
    /// last reading: an allocation takes time, so a peak it raised is in its own REPORT.
    @Test func longInvokeAlwaysReads() {
        var readings = MemoryReadings()
        readings.read(at: 100 * Self.ms)
        _ = readings.invokeEnded(durationMs: 0.05, at: 100 * Self.ms)
        #expect(readings.invokeEnded(durationMs: 1.0, at: 101 * Self.ms) == .read)
        #expect(readings.invokeEnded(durationMs: 250, at: 101 * Self.ms) == .read)
    }

    /// A failed invoke reads at once however short and recent, and a first invoke that failed leaves the next one
    /// still the first since the init (which reads too).
    @Test func failureReadsAndKeepsTheFirstInvokeMark() {
        var readings = MemoryReadings()
        readings.read(at: 100 * Self.ms)
        readings.initEnded()
        #expect(readings.invokeEnded(failed: true, durationMs: 0.05, at: 100 * Self.ms) == .read)
        readings.read(at: 100 * Self.ms)
        #expect(readings.invokeEnded(durationMs: 0.05, at: 101 * Self.ms) == .read)
        readings.read(at: 101 * Self.ms)
        #expect(readings.invokeEnded(failed: true, durationMs: 0.05, at: 102 * Self.ms) == .read)
    }

    /// A short invoke ending once the interval is over reads at once, catch-up or not.
    @Test func staleReadingReads() {
        var readings = MemoryReadings()
        readings.read(at: 100 * Self.ms)
        _ = readings.invokeEnded(durationMs: 0.05, at: 100 * Self.ms)
        #expect(readings.invokeEnded(durationMs: 0.05, at: 150 * Self.ms) == .read)
        readings.read(at: 150 * Self.ms)
        _ = readings.invokeEnded(durationMs: 0.05, at: 160 * Self.ms)
        #expect(readings.invokeEnded(durationMs: 0.05, at: 200 * Self.ms) == .read)
    }

    /// Over a second of back-to-back 60 µs invokes, memory is read about once per interval: 20 readings, not 16,000.
    @Test func backToBackInvokesReadOncePerInterval() {
        var readings = MemoryReadings()
        var reads = 0
        var catchUp: UInt64?
        var now: UInt64 = 0
        while now < 1_000 * Self.ms {
            now += 60_000
            if let due = catchUp, now >= due {
                readings.read(at: due)
                reads += 1
                catchUp = nil
            }
            switch readings.invokeEnded(durationMs: 0.06, at: now) {
            case .read:
                readings.read(at: now)
                reads += 1
            case .armCatchUp(let after): catchUp = now + after
            case .skip: break
            }
        }
        #expect(reads >= 20 && reads <= 21, "\(reads) readings")
    }
}
