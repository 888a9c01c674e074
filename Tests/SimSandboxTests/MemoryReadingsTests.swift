import Testing

@testable import SimSandbox

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

    /// An invoke of a millisecond or more is read at its end however recent the last reading: an allocation takes
    /// time, so a peak it raised is in its own REPORT.
    @Test func longInvokeAlwaysReads() {
        var readings = MemoryReadings()
        readings.read(at: 100 * Self.ms)
        _ = readings.invokeEnded(durationMs: 0.05, at: 100 * Self.ms)
        #expect(readings.invokeEnded(durationMs: 1.0, at: 101 * Self.ms) == .read)
        #expect(readings.invokeEnded(durationMs: 250, at: 101 * Self.ms) == .read)
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
