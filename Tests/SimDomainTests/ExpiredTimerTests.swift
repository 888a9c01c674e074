import Testing

@testable import SimDomain

/// When an expired sandbox timer fires, or waits a turn for Runtime API input the loop has not read yet.
struct ExpiredTimerTests {
    /// With nothing unread it fires at once; with unread input it waits, again and again, until the twentieth
    /// wait, after which it fires whatever is unread.
    @Test func waitsForUnreadInputAtMostTwentyTimes() {
        #expect(ExpiredTimer.decide(deferrals: 0, unreadInput: false) == .fire)
        for deferrals in 0..<20 {
            #expect(ExpiredTimer.decide(deferrals: deferrals, unreadInput: true) == .wait)
        }
        #expect(ExpiredTimer.decide(deferrals: 20, unreadInput: true) == .fire)
        #expect(ExpiredTimer.decide(deferrals: 7, unreadInput: false) == .fire)
    }
}
