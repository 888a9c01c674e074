import Testing

@testable import SimLoad

/// `--fail-on` verdicts and the summary's threshold lines.
@Suite struct ThresholdTests {
    /// A run of `answered` invokes answered 200 (1, 2, … ms) and `failed` other errors, over 2 s.
    private func result(answered: Int, failed: Int) -> LoadResult {
        var recorder = LoadRecorder()
        for index in 0..<(answered + failed) {
            recorder.started(due: 0)
            recorder.finished(
                due: 0, outcome: index < answered ? .succeeded : .otherError,
                nanoseconds: UInt64(index + 1) * 1_000_000, requestID: nil, start: .warm)
        }
        recorder.settle()
        let plan = LoadPlan(
            model: .concurrency(1), stop: StopCondition(seconds: 2, requests: nil), payload: [],
            invocationType: "RequestResponse")
        return LoadResult(
            recorder: recorder, function: "fn", target: "command", plan: plan, load: "concurrency 1",
            durationSeconds: 2, freeze: nil)
    }

    /// A latency condition over no invoke answered 200 fails and says "no data", whichever way it compares; so
    /// does a percentage of no requests. A count over none is 0, which is data.
    @Test func noDataFails() throws {
        let allFailed = result(answered: 0, failed: 200)
        for text in ["p99>100ms", "p50<1s", "avg>1s", "warm_p95>1ms"] {
            let condition = try FailureCondition.parse(text)
            #expect(condition.evaluate(allFailed) == FailureCondition.Verdict(measured: nil, fails: true), "\(text)")
            #expect(condition.line(for: allFailed).hasSuffix("no data (no invoke answered 200)"), "\(text)")
        }
        let nothing = result(answered: 0, failed: 0)
        #expect(try FailureCondition.parse("errors>1%").evaluate(nothing).measured == nil)
        #expect(try FailureCondition.parse("errors>0").evaluate(nothing) == .init(measured: 0, fails: false))
    }

    /// p95 and avg are metrics; each line says ✓ or ✗, the measured value and the limit.
    @Test func linesShowValueAndLimit() throws {
        let run = result(answered: 100, failed: 0)
        let p95 = try FailureCondition.parse("p95>90ms")
        #expect(p95.evaluate(run).fails)
        #expect(abs((p95.evaluate(run).measured ?? 0) - 95) < 2)
        let average = try FailureCondition.parse("avg>60ms")
        #expect(!average.evaluate(run).fails)
        #expect(abs((average.evaluate(run).measured ?? 0) - 50.5) < 0.01)
        #expect(average.line(for: run) == "    ✓ avg>60ms .............. avg 50.5 ms, limit 60.0 ms")
        let errors = try FailureCondition.parse("errors>=1%")
        #expect(
            errors.line(for: result(answered: 90, failed: 10))
                == "    ✗ errors>=1% ............ errors 10.00 %, limit 1.00 %")
        let throughput = try FailureCondition.parse("throughput<10/s")
        #expect(throughput.evaluate(run) == .init(measured: 50, fails: false))
    }
}
