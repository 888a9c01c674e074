extension PoolStateMachine.Settings {
    /// The settings of `function`'s pool, each read from the function once.
    ///
    /// With an account (`accountLimited`, serve mode) invokes beyond the limits are throttled rather than queued,
    /// so `maxConcurrency` bounds nothing, and the serve-only settings apply: provisioned concurrency, the idle
    /// timeout, the maximum lifetime and the account's `scalingRate`. Without one (run mode) at most
    /// `maxConcurrency` sandboxes run and none is kept or reaped. An attached function has one sandbox, there from
    /// the start, waiting for its runtime.
    package init(
        function: FunctionSpec, accountLimited: Bool,
        scalingRate: (sandboxes: Int, periodMilliseconds: UInt64)? = nil, provisioningWidth: Int = 16
    ) {
        self.init(functionName: function.name)
        environmentMaxConcurrency = function.environmentMaxConcurrency
        isAttached = function.isAttached
        self.accountLimited = accountLimited
        maxSandboxes = accountLimited ? Int.max : function.maxConcurrency
        self.provisioningWidth = provisioningWidth
        guard accountLimited else {
            provisionedConcurrency = function.isAttached ? 1 : 0
            return
        }
        provisionedConcurrency = function.isAttached ? 1 : function.provisionedConcurrency
        idleTimeoutMilliseconds = function.idleTimeoutSeconds.map { UInt64($0 * 1000) }
        maxLifetimeMilliseconds = function.maxLifetimeSeconds.map { UInt64($0 * 1000) }
        self.scalingRate = scalingRate
    }
}

extension AsyncRetryPolicy {
    /// The retries of `function`'s asynchronous invokes, every delay multiplied by `timeScale`.
    package init(function: FunctionSpec, timeScale: Double = 1) {
        self.init(
            maximumRetryAttempts: function.maximumRetryAttempts,
            maximumEventAgeMilliseconds: UInt64(function.maximumEventAgeSeconds) * 1000, timeScale: timeScale)
    }
}
