import Testing

@testable import SimDomain

@Suite struct AsyncRetryPolicyTests {
    /// Function errors are retried twice, after 1 and 2 minutes, then exhausted.
    @Test func functionErrors() {
        let policy = AsyncRetryPolicy()
        #expect(
            policy.decide(outcome: .functionError, functionErrors: 1, throttles: 0, ageMilliseconds: 0)
                == .retry(afterMilliseconds: 60_000))
        #expect(
            policy.decide(outcome: .functionError, functionErrors: 2, throttles: 0, ageMilliseconds: 60_000)
                == .retry(afterMilliseconds: 120_000))
        #expect(
            policy.decide(outcome: .functionError, functionErrors: 3, throttles: 0, ageMilliseconds: 180_000)
                == .done(.retriesExhausted))
        #expect(
            policy.decide(outcome: .success, functionErrors: 0, throttles: 0, ageMilliseconds: 0) == .done(.success))
    }

    /// MaximumRetryAttempts 0 ends at the first function error.
    @Test func noRetries() {
        let policy = AsyncRetryPolicy(maximumRetryAttempts: 0)
        #expect(
            policy.decide(outcome: .functionError, functionErrors: 1, throttles: 0, ageMilliseconds: 0)
                == .done(.retriesExhausted))
    }

    /// Throttles back off from 1 s, doubling to 5 minutes, until the event is too old.
    @Test func throttles() {
        let policy = AsyncRetryPolicy(maximumEventAgeMilliseconds: 600_000)
        #expect(
            policy.decide(outcome: .throttled, functionErrors: 0, throttles: 1, ageMilliseconds: 0)
                == .retry(afterMilliseconds: 1_000))
        #expect(
            policy.decide(outcome: .throttled, functionErrors: 0, throttles: 3, ageMilliseconds: 0)
                == .retry(afterMilliseconds: 4_000))
        #expect(
            policy.decide(outcome: .throttled, functionErrors: 0, throttles: 15, ageMilliseconds: 0)
                == .retry(afterMilliseconds: 300_000))
        #expect(
            policy.decide(outcome: .throttled, functionErrors: 0, throttles: 15, ageMilliseconds: 400_000)
                == .done(.eventAgeExceeded))
    }

    /// The time scale shrinks every delay.
    @Test func timeScale() {
        let policy = AsyncRetryPolicy(timeScale: 0.001)
        #expect(
            policy.decide(outcome: .functionError, functionErrors: 1, throttles: 0, ageMilliseconds: 0)
                == .retry(afterMilliseconds: 60))
    }
}
