import Testing

@testable import SimLoad

/// The open model's schedule and the parsing of the load options.
@Suite struct ScheduleTests {
    /// At a constant rate, invoke k is due at k / rate: each second holds exactly `rate` invokes.
    @Test func constantRate() {
        var schedule = OpenSchedule(.rate(200))!
        let times = (0..<5).map { _ in schedule.nextTime()! }
        #expect(times == [0, 0.005, 0.010, 0.015, 0.020])
    }

    /// A ramp from 0 to 100/s over 10 s owes 500 invokes; invoke k falls where t²·100/20 = k; then a flat
    /// stage owes rate × seconds more; the schedule ends with the stages.
    @Test func ramps() {
        var schedule = OpenSchedule(.stages([Stage(seconds: 10, target: 100), Stage(seconds: 5, target: 100)]))!
        var times: [Double] = []
        while let time = schedule.nextTime() { times.append(time) }
        #expect(times.count == 500 + 500)
        #expect(times[0] == 0)
        #expect(abs(times[1] - (2.0 / 10).squareRoot()) < 1e-9)
        #expect(times.filter { $0 < 10 }.count == 500)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(times.last! < 15)
        // Ramping down to 0 owes half of a flat stage.
        var down = OpenSchedule(.stages([Stage(seconds: 1, target: 100), Stage(seconds: 4, target: 0)]))!
        var count = 0
        while down.nextTime() != nil { count += 1 }
        #expect(count == 50 + 200)
        #expect(abs(OpenSchedule(.stages([Stage(seconds: 10, target: 100)]))!.rate(at: 5) - 50) < 1e-9)
    }

    @Test func stageParsing() throws {
        #expect(
            try Stage.parseList("5s:50,20s:500,500ms:0") == [
                Stage(seconds: 5, target: 50), Stage(seconds: 20, target: 500), Stage(seconds: 0.5, target: 0),
            ])
        #expect(try Stage.parseList("2m:10") == [Stage(seconds: 120, target: 10)])
        #expect(throws: LoadPlanError.self) { try Stage.parseList("5s") }
        #expect(throws: LoadPlanError.self) { try Stage.parseList("5s:-1") }
        #expect(throws: LoadPlanError.self) { try Stage.parseList("5s:0,3s:0") }
        #expect(throws: LoadPlanError.self) { try Stage.parseList("x:10") }
    }

    /// Bad combinations are refused with one line naming the problem.
    @Test func planValidation() {
        func plan(_ model: LoadModel, seconds: Double? = 1, requests: Int? = nil, type: String = "RequestResponse")
            -> LoadPlan
        {
            LoadPlan(
                model: model, stop: StopCondition(seconds: seconds, requests: requests), payload: [],
                invocationType: type)
        }
        #expect(throws: LoadPlanError("--rate must be a positive number, not -3.0")) { try plan(.rate(-3)).validate() }
        #expect(throws: LoadPlanError.self) { try plan(.concurrency(0)).validate() }
        #expect(throws: LoadPlanError.self) { try plan(.rate(1), seconds: nil).validate() }
        #expect(throws: LoadPlanError.self) { try plan(.rate(1), type: "DryRun").validate() }
        #expect(throws: Never.self) { try plan(.stages([Stage(seconds: 1, target: 5)]), seconds: nil).validate() }
        #expect(plan(.stages([Stage(seconds: 3, target: 5)]), seconds: 2).maximumSeconds == 2)
    }
}
