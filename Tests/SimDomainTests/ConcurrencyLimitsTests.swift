import Testing

@testable import SimDomain

@Suite struct ConcurrencyLimitsTests {
    /// A reserved function gets exactly its reservation, then ReservedFunctionConcurrentInvocationLimitExceeded.
    @Test func reservedCap() {
        var limits = ConcurrencyLimits(accountLimit: 10, reservations: ["r": 2])
        let r1 = limits.acquire("r")
        #expect(r1 == nil)
        let r2 = limits.acquire("r")
        #expect(r2 == nil)
        let r3 = limits.acquire("r")
        #expect(r3 == .reserved)
        limits.release("r")
        let r4 = limits.acquire("r")
        #expect(r4 == nil)
    }

    /// Unreserved functions share the account limit minus every reservation.
    @Test func unreservedPool() {
        var limits = ConcurrencyLimits(accountLimit: 5, reservations: ["r": 2])
        #expect(limits.unreservedPool == 3)
        let r5 = limits.acquire("a")
        #expect(r5 == nil)
        let r6 = limits.acquire("b")
        #expect(r6 == nil)
        let r7 = limits.acquire("a")
        #expect(r7 == nil)
        let r8 = limits.acquire("b")
        #expect(r8 == .account)
        // The reservation is still there for its function.
        let r9 = limits.acquire("r")
        #expect(r9 == nil)
        #expect(limits.totalInUse == 4)
        limits.release("a")
        let r10 = limits.acquire("b")
        #expect(r10 == nil)
    }

    /// A reservation of zero throttles every invoke of that function.
    @Test func zeroReservation() {
        var limits = ConcurrencyLimits(accountLimit: 5, reservations: ["off": 0])
        let r11 = limits.acquire("off")
        #expect(r11 == .reserved)
    }

    /// Provisioned environments are part of the reservation, busy or not: with 2 of a reservation of 3
    /// provisioned, one on-demand environment may be busy; invokes on the provisioned ones need no more.
    @Test func provisionedCountAgainstTheReservation() {
        var limits = ConcurrencyLimits(accountLimit: 10, reservations: ["f": 3])
        limits.allocateProvisioned("f", 2)
        #expect(limits.charged("f") == 2)
        let got1 = limits.acquire("f")
        #expect(got1 == nil)
        let got2 = limits.acquire("f")
        #expect(got2 == .reserved)
        let got3 = limits.acquireProvisioned("f")
        #expect(got3)
        let got4 = limits.acquireProvisioned("f")
        #expect(got4)
        let refused = limits.acquireProvisioned("f")
        #expect(!refused)
        #expect(limits.totalInUse == 3)
        #expect(limits.charged("f") == 3)
        limits.release("f", .provisioned)
        // A provisioned environment that is not busy still counts: no second on-demand one.
        let got5 = limits.acquire("f")
        #expect(got5 == .reserved)
        limits.release("f", .onDemand)
        let got6 = limits.acquire("f")
        #expect(got6 == nil)
    }

    /// Provisioned environments of a function without a reservation come out of the unreserved pool.
    @Test func provisionedCountAgainstTheUnreservedPool() {
        var limits = ConcurrencyLimits(accountLimit: 5, reservations: ["r": 1])
        limits.allocateProvisioned("p", 3)
        #expect(limits.unreservedInUse == 3)
        let got7 = limits.acquire("a")
        #expect(got7 == nil)
        let got8 = limits.acquire("p")
        #expect(got8 == .account)
        let got9 = limits.acquireProvisioned("p")
        #expect(got9)
        #expect(limits.totalInUse == 2)
        #expect(limits.unreservedInUse == 4)
    }

    /// The scaling-rate bucket allows `capacity` at once and refills continuously, never beyond capacity.
    @Test func tokenBucket() {
        var bucket = TokenBucket(capacity: 2, periodNanoseconds: 10_000_000_000, now: 0)
        let r12 = bucket.take(now: 0)
        #expect(r12)
        let r13 = bucket.take(now: 0)
        #expect(r13)
        let r14 = bucket.take(now: 1_000_000_000)
        #expect(!r14)
        let r15 = bucket.take(now: 5_000_000_000)
        #expect(r15)
        let r16 = bucket.take(now: 5_000_000_000)
        #expect(!r16)
        let r17 = bucket.take(now: 100_000_000_000)
        #expect(r17)
        let r18 = bucket.take(now: 100_000_000_000)
        #expect(r18)
        let r19 = bucket.take(now: 100_000_000_000)
        #expect(!r19)
    }
}
