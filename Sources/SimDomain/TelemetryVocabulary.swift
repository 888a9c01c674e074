/// The `types` filter of a subscription: which stream an event belongs to.
package enum TelemetryCategory: String, Sendable, CaseIterable {
    /// Events the platform generates (`platform.*`).
    case platform
    /// Lines the function's runtime wrote to stdout/stderr.
    case function
    /// Lines an extension wrote to stdout/stderr.
    case `extension`
}

/// The two subscription APIs (their paths and schemas are SimTelemetry's).
package enum SubscriptionAPI: String, Sendable, CaseIterable {
    /// `PUT /2022-07-01/telemetry`.
    case telemetry
    /// `PUT /2020-08-15/logs` (superseded, still served).
    case logs
}
