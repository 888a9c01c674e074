import Testing

@testable import SimLoad

/// The numbers of a plan stay within what the generator can do and what bounds its memory.
@Suite struct LimitsTests {
    private func plan(_ model: LoadModel, seconds: Double? = 1, timeout: Double = 120) -> LoadPlan {
        LoadPlan(
            model: model, stop: StopCondition(seconds: seconds, requests: nil), payload: [],
            invocationType: "RequestResponse", clientTimeoutSeconds: timeout)
    }

    /// A rate above what the generator can schedule is refused naming the limit; so is a run longer than the
    /// longest, whichever option says it, and a client timeout out of range.
    @Test func numbersOutOfRangeAreRefused() throws {
        #expect(throws: LoadPlanError("--rate 1000000000000.0 is above 40,000/s, the most the generator can schedule"))
        {
            try plan(.rate(1e12)).validate()
        }
        #expect(throws: Never.self) { try plan(.rate(40_000)).validate() }
        #expect(throws: LoadPlanError("--stages: rate 50000 is above 40,000/s, the most the generator can schedule")) {
            try Stage.parseList("1s:50000")
        }
        #expect(throws: LoadPlanError("--stages: '99999999999h' is longer than 1 h, the longest run")) {
            try Stage.parseList("99999999999h:1")
        }
        #expect(throws: LoadPlanError("--stages: the stages last more than 1 h, the longest run")) {
            try Stage.parseList("40m:1,40m:2")
        }
        #expect(throws: LoadPlanError("--duration: '2h' is longer than 1 h, the longest run")) {
            try parseDuration("2h", option: "--duration")
        }
        #expect(throws: LoadPlanError.self) { try plan(.rate(1), timeout: .nan).validate() }
        #expect(throws: LoadPlanError.self) { try plan(.rate(1), timeout: 1e9).validate() }
        // Every run stops by the longest run, even one bounded only by its request count.
        var requestsOnly = plan(.concurrency(1), seconds: nil)
        requestsOnly.stop.requests = 10
        #expect(requestsOnly.timeLimitSeconds == LoadPlan.longestRunSeconds)
        #expect(plan(.rate(1), seconds: 2).timeLimitSeconds == 2)
    }
}
