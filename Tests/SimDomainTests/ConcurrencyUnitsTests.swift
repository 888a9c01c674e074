import Testing

@testable import SimDomain

@Suite struct ConcurrencyUnitsTests {
    /// An environment keeps its invoke's unit after the invoke's answer, so the next invoke at the reservation is
    /// throttled until that environment is ready for another.
    @Test func environmentHoldsTheUnitUntilReady() {
        var limits = ConcurrencyLimits(accountLimit: 10, reservations: ["f": 1])
        var units = ConcurrencyUnits()
        let got1 = limits.acquire("f")
        #expect(got1 == nil)
        units.admit("r1", kind: .onDemand)
        units.bind("r1", to: "s1")
        // The response is out, but the runtime has not asked for `/next` yet (or works after its response).
        let got2 = units.finished("r1")
        #expect(got2 == nil)
        #expect(units.count == 1)
        #expect(units.isHeld(byEnvironment: "s1"))
        let got3 = limits.acquire("f")
        #expect(got3 == .reserved)
        // The runtime's `/next` and every extension's `/event/next`: the environment is ready.
        let released = units.environmentFree("s1")
        #expect(released == .onDemand)
        if let released { limits.release("f", released) }
        #expect(units.count == 0)
        let got4 = limits.acquire("f")
        #expect(got4 == nil)
    }

    /// An invoke that never reached an environment (throttled by the scaling rate, or queued at shutdown) gives
    /// its unit back with its answer.
    @Test func unplacedInvokeReleasesWithItsAnswer() {
        var units = ConcurrencyUnits()
        units.admit("r1", kind: .onDemand)
        #expect(units.count == 1)
        let got5 = units.finished("r1")
        #expect(got5 == .onDemand)
        #expect(units.count == 0)
        let got6 = units.finished("r1")
        #expect(got6 == nil)
    }

    /// An environment that ends while it holds a unit (reaped after a failure, or shut down) gives it back once.
    @Test func environmentGoneReleases() {
        var units = ConcurrencyUnits()
        units.admit("r1", kind: .provisioned)
        units.bind("r1", to: "s1")
        let got7 = units.environmentFree("s1")
        #expect(got7 == .provisioned)
        let got8 = units.environmentFree("s1")
        #expect(got8 == nil)
    }

    /// A managed-instance invoke is never bound to its environment: its unit comes back with its answer, while
    /// the environment goes on serving others.
    @Test func managedInstanceInvokesCountPerInvoke() {
        var units = ConcurrencyUnits()
        units.admit("r1", kind: .onDemand)
        units.admit("r2", kind: .onDemand)
        #expect(units.count == 2)
        let got9 = units.environmentFree("m1")
        #expect(got9 == nil)
        let got10 = units.finished("r1")
        #expect(got10 == .onDemand)
        #expect(units.count == 1)
    }

    /// Binding an invoke that holds no unit (run mode has no account) changes nothing.
    @Test func bindWithoutUnitIsIgnored() {
        var units = ConcurrencyUnits()
        units.bind("r1", to: "s1")
        #expect(units.count == 0)
        #expect(!units.isHeld(byEnvironment: "s1"))
    }
}
