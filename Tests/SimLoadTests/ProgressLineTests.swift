import Testing

@testable import SimLoad

/// The live progress line's windowed percentiles.
@Suite struct ProgressLineTests {
    /// A spike in the last seconds shows in the window whole, while the run's totals dilute it; what ended more than
    /// the window ago is forgotten.
    @Test func windowShowsRecentSpike() {
        var recent = RecentLatency()
        let second: UInt64 = 1_000_000_000
        for index in 0..<1_000 { recent.record(1_000_000, at: UInt64(index) * 10_000_000) }  // 1 ms for 10 s
        for index in 0..<20 { recent.record(500_000_000, at: 10 * second + UInt64(index) * 1_000_000) }  // 500 ms
        let window = recent.window(at: 10 * second + 100_000_000)
        // The window holds the 20 slots up to now: 5.25 s to 10.1 s, 475 invokes of 1 ms and the 20 of 500 ms.
        #expect(window.count == 475 + 20)
        #expect(window.percentile(0.99) >= 490_000_000)
        #expect(recent.window(at: 30 * second).count == 0)
        #expect(recent.window(at: 14 * second + 900_000_000).count == 20)
    }

    /// The line puts the window's p50/p99 next to the run's, and a dash when nothing was answered in the window.
    @Test func lineShowsWindowAndRun() {
        var progress = LoadProgress(
            elapsedSeconds: 12, plannedSeconds: 30, started: 2031, plannedRequests: nil, answered: 2000,
            currentRate: 498, p50Ms: 0.4, p99Ms: 1.9, errors: 0, throttled: 0, sandboxes: 1, busySandboxes: 1)
        progress.recentP50Ms = 0.41
        progress.recentP99Ms = 250
        #expect(progress.line.contains("last 5s p50 0.41 p99 250 ms  run p50 0.40 p99 1.90 ms"), "\(progress.line)")
        progress.recentP50Ms = nil
        progress.recentP99Ms = nil
        #expect(progress.line.contains("last 5s —  run p50"), "\(progress.line)")
    }
}
