import SimCore
import SimDomain

/// A validated `serve --config` file: the account, the front server and the functions to host.
///
/// Built by `ConfigLoader`; every value is in range and every path is absolute.
package struct SimulatorConfig: Sendable, Equatable {
    /// The simulated account: identity, region and concurrency limits.
    package var account = AccountConfig()
    /// Where the Invoke API listens.
    package var server = ServerConfig()
    /// The functions, in the order the file lists them (at least one).
    package var functions: [FunctionSpec]
    /// How fast each function may add sandboxes; `nil` when the file does not say (lambda-sim extension).
    package var scalingRate: ScalingRate?
    /// Top-level `asyncDefaults`: asynchronous-invocation settings every function inherits field by field
    /// unless its own `async` overrides them (lambda-sim extension); `nil` when absent.
    package var asyncDefaults: AsyncConfig?

    package init(
        account: AccountConfig = AccountConfig(), server: ServerConfig = ServerConfig(),
        functions: [FunctionSpec], scalingRate: ScalingRate? = nil, asyncDefaults: AsyncConfig? = nil
    ) {
        self.account = account
        self.server = server
        self.functions = functions
        self.scalingRate = scalingRate
        self.asyncDefaults = asyncDefaults
    }

    /// The function called `name`, if the file defines it.
    package func function(named name: String) -> FunctionSpec? {
        functions.first { $0.name == name }
    }
}

/// The `account` section: who the simulated functions belong to and how much they may run at once.
package struct AccountConfig: Sendable, Equatable {
    /// 12-digit account id used in ARNs.
    package var id = "123456789012"
    /// Region used in ARNs and `AWS_REGION`.
    package var region = "us-east-1"
    /// Account-level concurrent executions (Lambda's default quota: 1,000).
    package var concurrency = 1000

    package init(id: String = "123456789012", region: String = "us-east-1", concurrency: Int = 1000) {
        self.id = id
        self.region = region
        self.concurrency = concurrency
    }
}

/// The `server` section: the front port serving the Invoke and status APIs.
package struct ServerConfig: Sendable, Equatable {
    /// Address to bind.
    package var host = "127.0.0.1"
    /// Port to bind; 0 picks a free one.
    package var port = 9000

    package init(host: String = "127.0.0.1", port: Int = 9000) {
        self.host = host
        self.port = port
    }
}

/// `account.scalingRate: {sandboxes: N, perSeconds: S}`: each function may add up to N sandboxes every
/// S seconds (a lambda-sim extension; Lambda's fixed rate is `ScalingRate.lambda`).
package struct ScalingRate: Sendable, Equatable {
    /// Sandboxes a function may add per window (≥ 1).
    package var sandboxes: Int
    /// Length of the window in seconds (> 0).
    package var perSeconds: Double

    package init(sandboxes: Int, perSeconds: Double) {
        self.sandboxes = sandboxes
        self.perSeconds = perSeconds
    }

    /// Lambda's rate since November 2023: 1,000 execution environments every 10 seconds per function.
    package static let lambda = ScalingRate(sandboxes: 1000, perSeconds: 10)
}
