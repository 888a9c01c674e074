import SimCore
import Testing

@testable import SimLoad

/// Freeze figures of one run: differences of status snapshots, and no percentile without samples.
@Suite struct FreezeFiguresTests {
    private func status(freezes: [UInt64], thaws: [UInt64], frozen: Int, unconfirmed: Int) -> FunctionStatus {
        var freezeHistogram = LatencyHistogram()
        for value in freezes { freezeHistogram.record(value) }
        var thawHistogram = LatencyHistogram()
        for value in thaws { thawHistogram.record(value) }
        // What the status API publishes, read back.
        let published = LatencyHistogram(
            buckets: freezeHistogram.occupiedBuckets, total: freezeHistogram.total, max: freezeHistogram.max)
        var figures = FreezeFigures(
            mode: "signal", freezeP50Us: 0, freezeP99Us: 0, thawP50Us: 0, thawP99Us: 0, frozen: frozen, skipped: 0)
        figures.unconfirmed = unconfirmed
        return FunctionStatus(
            sandboxes: 1, busy: 0, freeze: figures, freezeHistogram: published, thawHistogram: thawHistogram)
    }

    /// Against an endpoint, the run's freezes are the difference of the snapshots before and after it: 1,000
    /// slow freezes before the run do not show in the percentiles of its 10 fast ones.
    @Test func endpointFiguresAreTheRunsOnly() throws {
        let before = status(
            freezes: Array(repeating: 5_000_000, count: 1_000), thaws: Array(repeating: 1_000_000, count: 1_000),
            frozen: 1_002, unconfirmed: 2)
        let after = status(
            freezes: Array(repeating: 5_000_000, count: 1_000) + Array(repeating: 50_000, count: 10),
            thaws: Array(repeating: 1_000_000, count: 1_000) + Array(repeating: 10_000, count: 10), frozen: 1_013,
            unconfirmed: 3)
        let run = try #require(after.freezeFigures(since: before))
        #expect(run.frozen == 11 && run.unconfirmed == 1 && run.freezeSamples == 10)
        #expect(abs(run.freezeP99Us - 50) < 2, "\(run.freezeP99Us)")
        #expect(abs(run.thawP50Us - 10) < 1, "\(run.thawP50Us)")
    }

    /// One freeze that was never confirmed has no latency: its percentiles are null in the JSON and "—" in the
    /// summary (not 0.0), and the unconfirmed freeze is counted and shown.
    @Test func noSamplesIsNotZero() throws {
        var recorder = LoadRecorder()
        recorder.started(due: 0)
        recorder.finished(due: 0, outcome: .succeeded, nanoseconds: 1_000_000, requestID: nil, start: .warm)
        recorder.settle()
        var figures = FreezeFigures(
            mode: "signal", freezeP50Us: 0, freezeP99Us: 0, thawP50Us: 0, thawP99Us: 0, frozen: 1, skipped: 0)
        figures.freezeSamples = 0
        figures.thawSamples = 0
        figures.unconfirmed = 1
        let result = LoadResult(
            recorder: recorder, function: "fn", target: "endpoint",
            plan: LoadPlan(
                model: .concurrency(1), stop: StopCondition(seconds: nil, requests: 1), payload: [],
                invocationType: "RequestResponse"), load: "concurrency 1", durationSeconds: 0.01, freeze: figures)
        let freeze = try #require(result.json["freeze"])
        #expect(freeze["freezeP50Us"] == .null && freeze["thawP99Us"] == .null)
        #expect(freeze["unconfirmed"] == .number("1"))
        #expect(result.summary.contains("p50 —  p99 —  (1 freezes, 1 unconfirmed, 0 skipped)"), "\(result.summary)")
        #expect(!result.summary.contains("0.0 µs"))
    }
}
