/// Lambda's concurrency accounting for one account, as pure logic.
///
/// Concurrency is the number of busy execution environments: an environment is busy from the moment an invoke is
/// placed on it (initialising sandboxes included) until it is ready for the next one (`ConcurrencyUnits`); a
/// managed instance counts its invokes in flight. A function with reserved concurrency may use up to its
/// reservation and no more; every other function shares the unreserved pool, which is the account limit minus all
/// reservations.
///
/// Provisioned environments are allocated out of the function's reservation (or out of the unreserved pool), busy
/// or not: a function's charge is its provisioned environments plus its busy on-demand ones, so a function never
/// has more environments than its reservation. An invoke placed on an idle provisioned environment needs no more
/// than that allocation.
///
/// ```
/// acquire(f) ── f reserved and charged(f) == reservation ──► throttled(ReservedFunctionConcurrentInvocationLimitExceeded)
///            ── f unreserved and unreserved pool full ──► throttled(ConcurrentInvocationLimitExceeded)
///            ── otherwise ──► granted (inUse(f) + 1, charged(f) + 1)
/// acquireProvisioned(f) ── a provisioned environment of f is not busy ──► granted (inUse(f) + 1, charged(f) same)
/// release(f, kind) ──► inUse(f) − 1
/// ```
package struct ConcurrencyLimits: Sendable, Equatable {
    /// Why an invoke was throttled: `TooManyRequestsException.Reason`.
    package enum ThrottleReason: String, Sendable, Equatable {
        case account = "ConcurrentInvocationLimitExceeded"
        case reserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
        case scalingRate = "FunctionInvocationRateLimitExceeded"
    }

    /// What a unit of concurrency was taken for.
    package enum Kind: Sendable, Equatable {
        /// An on-demand environment (or a managed-instance invoke): charged against the limits while held.
        case onDemand
        /// A provisioned environment: already charged through the function's allocation.
        case provisioned
    }

    package let accountLimit: Int
    package private(set) var reservations: [String: Int]
    /// Busy environments (units held) per function, provisioned ones included.
    package private(set) var inUse: [String: Int] = [:]
    /// Provisioned environments allocated per function.
    package private(set) var provisioned: [String: Int] = [:]
    /// Busy provisioned environments per function.
    package private(set) var provisionedInUse: [String: Int] = [:]

    package init(accountLimit: Int, reservations: [String: Int] = [:]) {
        self.accountLimit = accountLimit
        self.reservations = reservations
    }

    /// Concurrency left for functions without a reservation.
    package var unreservedPool: Int { max(0, accountLimit - reservations.values.reduce(0, +)) }

    /// What `function` counts against its reservation or the unreserved pool: its provisioned environments, busy
    /// or not, and its busy on-demand environments.
    package func charged(_ function: String) -> Int {
        provisioned[function, default: 0] + inUse[function, default: 0] - provisionedInUse[function, default: 0]
    }

    /// What functions without a reservation count against the unreserved pool.
    package var unreservedInUse: Int {
        Set(inUse.keys).union(provisioned.keys).filter { reservations[$0] == nil }.reduce(0) { $0 + charged($1) }
    }

    /// Busy environments in the whole account.
    package var totalInUse: Int { inUse.values.reduce(0, +) }

    /// Allocates `count` provisioned environments to `function` (at start).
    package mutating func allocateProvisioned(_ function: String, _ count: Int) {
        provisioned[function] = count > 0 ? count : nil
    }

    /// Takes one unit of concurrency for an on-demand environment of `function`, or says why not.
    package mutating func acquire(_ function: String) -> ThrottleReason? {
        let current = charged(function)
        if let reservation = reservations[function] {
            guard current < reservation else { return .reserved }
        } else {
            guard unreservedInUse < unreservedPool else { return .account }
        }
        inUse[function, default: 0] += 1
        return nil
    }

    /// Takes one unit for an idle provisioned environment of `function` (within its allocation, so never
    /// throttled); false when every provisioned environment is busy already.
    package mutating func acquireProvisioned(_ function: String) -> Bool {
        let busy = provisionedInUse[function, default: 0]
        guard busy < provisioned[function, default: 0] else { return false }
        provisionedInUse[function] = busy + 1
        inUse[function, default: 0] += 1
        return true
    }

    /// Gives one unit of `kind` back.
    package mutating func release(_ function: String, _ kind: Kind = .onDemand) {
        let current = inUse[function, default: 0]
        precondition(current > 0, "release without acquire for \(function)")
        inUse[function] = current - 1
        if kind == .provisioned {
            let busy = provisionedInUse[function, default: 0]
            precondition(busy > 0, "provisioned release without acquire for \(function)")
            provisionedInUse[function] = busy - 1
        }
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
