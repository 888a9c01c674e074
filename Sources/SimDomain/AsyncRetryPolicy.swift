/// What happens to an asynchronous (`Event`) invoke after each attempt, as Lambda decides it (§6.4).
///
/// ```
/// attempt ── success ──────────────────────────────► done(Success)
///         ── function error, retries left ─────────► retry after 1 min, then 2 min (× time scale)
///         ── function error, none left ────────────► done(RetriesExhausted)
///         ── throttled or system error ────────────► retry after 1 s, doubling to 5 min, while the event is young
///         ── the event is older than its maximum age ► done(EventAgeExceeded)
/// ```
package struct AsyncRetryPolicy: Sendable, Equatable {
    /// How an attempt ended.
    package enum AttemptOutcome: Sendable, Equatable {
        case success
        case functionError
        case throttled
    }

    /// The `condition` of an invocation record.
    package enum Condition: String, Sendable, Equatable {
        case success = "Success"
        case retriesExhausted = "RetriesExhausted"
        case eventAgeExceeded = "EventAgeExceeded"
        /// lambda-sim's own: the simulator stopped before the event could finish.
        case simulatorStopped = "SimulatorStopped"
    }

    package enum Decision: Sendable, Equatable {
        case done(Condition)
        case retry(afterMilliseconds: UInt64)
    }

    /// Retries after function errors (0...2).
    package var maximumRetryAttempts: Int
    /// Oldest an event may get, in milliseconds (Lambda: 60 s to 6 h).
    package var maximumEventAgeMilliseconds: UInt64
    /// Multiplies every delay (a test runs Lambda's minutes in milliseconds).
    package var timeScale: Double

    package init(maximumRetryAttempts: Int = 2, maximumEventAgeMilliseconds: UInt64 = 21_600_000, timeScale: Double = 1)
    {
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumEventAgeMilliseconds = maximumEventAgeMilliseconds
        self.timeScale = timeScale
    }

    /// Decides after attempt number `attempt` (1-based) ended with `outcome`, the event being `ageMilliseconds`
    /// old (unscaled), of which `functionErrors` attempts failed with a function error so far.
    package func decide(
        outcome: AttemptOutcome, functionErrors: Int, throttles: Int, ageMilliseconds: UInt64
    ) -> Decision {
        switch outcome {
        case .success:
            return .done(.success)
        case .functionError:
            guard functionErrors <= maximumRetryAttempts else { return .done(.retriesExhausted) }
            let delay: UInt64 = functionErrors == 1 ? 60_000 : 120_000
            return ageMilliseconds + delay > maximumEventAgeMilliseconds
                ? .done(.eventAgeExceeded) : .retry(afterMilliseconds: scaled(delay))
        case .throttled:
            let exponent = UInt64(min(max(throttles - 1, 0), 20))
            let delay: UInt64 = min(UInt64(1_000) << exponent, 300_000)
            return ageMilliseconds + delay > maximumEventAgeMilliseconds
                ? .done(.eventAgeExceeded) : .retry(afterMilliseconds: scaled(delay))
        }
    }

    /// A delay in real milliseconds after the time scale.
    package func scaled(_ milliseconds: UInt64) -> UInt64 {
        UInt64((Double(milliseconds) * timeScale).rounded())
    }
}
