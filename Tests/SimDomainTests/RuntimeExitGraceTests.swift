import SimCore
import Testing

@testable import SimDomain

@Suite struct RuntimeExitGraceTests {
    let exit = RuntimeExitGrace.Exit(status: .exited(1), outOfMemory: false)

    /// Without a stream being read the exit is reported after a 0 ms and then a 1 ms turn of the loop.
    @Test func exitIsReportedAfterTwoTurns() {
        var grace = RuntimeExitGrace()
        #expect(grace.runtimeExited(exit) == .wait(.firstTurn, milliseconds: 0, exit))
        #expect(
            grace.waited(.firstTurn, exit: exit, streamBeingRead: true) == .wait(.secondTurn, milliseconds: 1, exit))
        #expect(grace.waited(.secondTurn, exit: exit, streamBeingRead: false) == .report(exit))
        #expect(!grace.isHoldingExit)
        #expect(grace.streamEnded() == .none)
    }

    /// A streamed response being read after the turns holds the exit until it ends; the 100 ms cap then finds
    /// nothing to report.
    @Test func streamBeingReadHoldsTheExitUntilItEnds() {
        var grace = RuntimeExitGrace()
        #expect(
            grace.waited(.secondTurn, exit: exit, streamBeingRead: true)
                == .wait(.streamCap, milliseconds: 100, exit))
        #expect(grace.isHoldingExit)
        #expect(grace.streamEnded() == .report(exit))
        #expect(!grace.isHoldingExit)
        #expect(grace.waited(.streamCap, exit: exit, streamBeingRead: true) == .none)
    }

    /// A stream that does not end within 100 ms lets the exit go at the cap, once.
    @Test func streamCapReportsTheHeldExit() {
        var grace = RuntimeExitGrace()
        let oom = RuntimeExitGrace.Exit(status: .signaled(9), outOfMemory: true)
        _ = grace.waited(.secondTurn, exit: oom, streamBeingRead: true)
        #expect(grace.waited(.streamCap, exit: oom, streamBeingRead: true) == .report(oom))
        #expect(grace.streamEnded() == .none)
    }
}
