/// Lambda's concurrency accounting for one account, as pure logic.
///
/// Concurrency is the number of invokes in flight (initialising sandboxes included). A function with
/// reserved concurrency may use up to its reservation and no more; every other function shares the
/// unreserved pool, which is the account limit minus all reservations.
///
/// ```
/// acquire(f) ── f reserved and inUse(f) == reservation ──► throttled(ReservedFunctionConcurrentInvocationLimitExceeded)
///            ── f unreserved and unreserved pool full ──► throttled(ConcurrentInvocationLimitExceeded)
///            ── otherwise ──► granted (inUse(f) + 1)
/// release(f) ──► inUse(f) − 1
/// ```
package struct ConcurrencyLimits: Sendable, Equatable {
    /// Why an invoke was throttled: `TooManyRequestsException.Reason`.
    package enum ThrottleReason: String, Sendable, Equatable {
        case account = "ConcurrentInvocationLimitExceeded"
        case reserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
        case scalingRate = "FunctionInvocationRateLimitExceeded"
    }

    package let accountLimit: Int
    package private(set) var reservations: [String: Int]
    package private(set) var inUse: [String: Int] = [:]

    package init(accountLimit: Int, reservations: [String: Int] = [:]) {
        self.accountLimit = accountLimit
        self.reservations = reservations
    }

    /// Concurrency left for functions without a reservation.
    package var unreservedPool: Int { max(0, accountLimit - reservations.values.reduce(0, +)) }

    /// Invokes in flight of functions without a reservation.
    package var unreservedInUse: Int {
        inUse.filter { reservations[$0.key] == nil }.values.reduce(0, +)
    }

    /// Invokes in flight in the whole account.
    package var totalInUse: Int { inUse.values.reduce(0, +) }

    /// Takes one unit of concurrency for `function`, or says why not.
    package mutating func acquire(_ function: String) -> ThrottleReason? {
        let current = inUse[function, default: 0]
        if let reservation = reservations[function] {
            guard current < reservation else { return .reserved }
        } else {
            guard unreservedInUse < unreservedPool else { return .account }
        }
        inUse[function] = current + 1
        return nil
    }

    /// Gives one unit back.
    package mutating func release(_ function: String) {
        let current = inUse[function, default: 0]
        precondition(current > 0, "release without acquire for \(function)")
        inUse[function] = current - 1
    }
}

/// A per-function scaling-rate limit: `capacity` new sandboxes, refilled continuously at `capacity` per
/// `periodNanoseconds` (Lambda: 1,000 per 10 s), never accumulating beyond `capacity`.
package struct TokenBucket: Sendable, Equatable {
    package let capacity: Double
    package let periodNanoseconds: UInt64
    private var tokens: Double
    private var updatedAt: UInt64

    package init(capacity: Int, periodNanoseconds: UInt64, now: UInt64) {
        self.capacity = Double(capacity)
        self.periodNanoseconds = periodNanoseconds
        tokens = Double(capacity)
        updatedAt = now
    }

    /// Takes one token if there is one.
    package mutating func take(now: UInt64) -> Bool {
        let elapsed = Double(now &- updatedAt)
        tokens = min(capacity, tokens + elapsed * capacity / Double(periodNanoseconds))
        updatedAt = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
