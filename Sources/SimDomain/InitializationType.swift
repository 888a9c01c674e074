/// How an execution environment is initialised: `AWS_LAMBDA_INITIALIZATION_TYPE` and the Telemetry API's
/// `initializationType`.
package enum InitializationType: String, Sendable, CaseIterable {
    /// Started by an invoke (a cold start), or an attached runtime's environment.
    case onDemand = "on-demand"
    /// Started ahead of invokes for provisioned concurrency.
    case provisionedConcurrency = "provisioned-concurrency"
    /// Restored from a snapshot (never produced by the simulator; part of Lambda's vocabulary).
    case snapStart = "snap-start"
    /// An environment of a function on Lambda Managed Instances.
    case lambdaManagedInstances = "lambda-managed-instances"
}
