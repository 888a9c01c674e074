import Testing

@testable import SimSandbox

/// The ration of descriptor walks that end in a refusal (`PeerScanBudget`), on a manual clock.
struct PeerScanBudgetTests {
    /// A fresh budget allows a walk at once.
    @Test func freshBudgetAllows() {
        let budget = PeerScanBudget()
        #expect(budget.allows(at: 0))
        #expect(budget.wait(at: 0) == 0)
    }

    /// A refusing walk of d nanoseconds closes the budget for 9 d after it ends: walks that refuse take at most a
    /// tenth of the time.
    @Test func refusingWalkIsFollowedByNineTimesItsLength() {
        var budget = PeerScanBudget()
        budget.refusedAfterScan(from: 1_000, to: 3_000)
        #expect(!budget.allows(at: 3_000))
        #expect(budget.wait(at: 3_000) == 18_000)
        #expect(!budget.allows(at: 20_999))
        #expect(budget.allows(at: 21_000))
        #expect(budget.wait(at: 25_000) == 0)
    }

    /// Over any run of refusing walks back to back at the allowed pace, walking takes a tenth of the time.
    @Test func shareHoldsOverManyWalks() {
        var budget = PeerScanBudget()
        var now: UInt64 = 0
        var walking: UInt64 = 0
        for _ in 0..<1_000 {
            now += budget.wait(at: now)
            #expect(budget.allows(at: now))
            let start = now
            now += 50_000
            walking += 50_000
            budget.refusedAfterScan(from: start, to: now)
        }
        now += budget.wait(at: now)
        #expect(walking * PeerScanBudget.share == now)
    }
}
