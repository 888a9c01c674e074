import Testing

@testable import SimDomain

@Suite struct PoolSettingsTests {
    private var function: FunctionSpec {
        var function = FunctionSpec(name: "fn", command: ["/bin/true"], codeDirectory: "/tmp", maxConcurrency: 4)
        function.provisionedConcurrency = 3
        function.idleTimeoutSeconds = 1.5
        function.maxLifetimeSeconds = 60
        return function
    }

    /// With an account the pool throttles instead of capping sandboxes, and the serve settings apply.
    @Test func anAccountAppliesTheServeSettings() {
        let settings = PoolStateMachine.Settings(
            function: function, accountLimited: true, scalingRate: (sandboxes: 10, periodMilliseconds: 2_000),
            provisioningWidth: 8)
        #expect(settings.functionName == "fn" && settings.accountLimited && settings.maxSandboxes == Int.max)
        #expect(settings.provisionedConcurrency == 3 && settings.provisioningWidth == 8)
        #expect(settings.idleTimeoutMilliseconds == 1_500 && settings.maxLifetimeMilliseconds == 60_000)
        #expect(settings.scalingRate?.sandboxes == 10 && settings.scalingRate?.periodMilliseconds == 2_000)
        #expect(!settings.isAttached && settings.environmentMaxConcurrency == nil)
    }

    /// Without an account `maxConcurrency` caps the sandboxes, and none is provisioned, reaped or rate-limited.
    @Test func runModeCapsSandboxesOnly() {
        let settings = PoolStateMachine.Settings(
            function: function, accountLimited: false, scalingRate: (sandboxes: 10, periodMilliseconds: 2_000))
        #expect(!settings.accountLimited && settings.maxSandboxes == 4 && settings.provisionedConcurrency == 0)
        #expect(settings.idleTimeoutMilliseconds == nil && settings.maxLifetimeMilliseconds == nil)
        #expect(settings.scalingRate == nil)
    }

    /// An attached function has one sandbox from the start, with an account or without.
    @Test func anAttachedFunctionProvisionsItsOneSandbox() {
        var attached = function
        attached.command = []
        for accountLimited in [false, true] {
            let settings = PoolStateMachine.Settings(function: attached, accountLimited: accountLimited)
            #expect(settings.isAttached && settings.provisionedConcurrency == 1)
        }
    }

    /// A managed instance's slots reach the pool.
    @Test func managedInstanceSlots() {
        var managed = function
        managed.environmentMaxConcurrency = 8
        let settings = PoolStateMachine.Settings(function: managed, accountLimited: true)
        #expect(settings.environmentMaxConcurrency == 8 && settings.isManagedInstance)
    }

    /// Asynchronous retries come from the function, their delays scaled.
    @Test func asyncRetryPolicyFromTheFunction() {
        var function = function
        function.maximumRetryAttempts = 1
        function.maximumEventAgeSeconds = 60
        let policy = AsyncRetryPolicy(function: function, timeScale: 0.001)
        #expect(
            policy == AsyncRetryPolicy(maximumRetryAttempts: 1, maximumEventAgeMilliseconds: 60_000, timeScale: 0.001))
    }
}
