import SimCore

/// The JSON events the Extensions API hands out through `/event/next`.
package enum ExtensionEvents {
    /// `{"eventType":"INVOKE","deadlineMs":…,"requestId":…,"invokedFunctionArn":…,"tracing":{…}}`.
    package static func invoke(_ invocation: Invocation, deadlineEpochMilliseconds: Int64) -> String {
        var members: [(String, JSONValue)] = [
            ("eventType", .string("INVOKE")),
            ("deadlineMs", .number(String(deadlineEpochMilliseconds))),
            ("requestId", .string(invocation.requestID)),
            ("invokedFunctionArn", .string(invocation.invokedFunctionARN)),
        ]
        if !invocation.traceID.isEmpty {
            members.append(
                ("tracing", .object([("type", .string("X-Amzn-Trace-Id")), ("value", .string(invocation.traceID))])))
        }
        return JSONValue.object(members).serialized
    }

    /// `{"eventType":"SHUTDOWN","deadlineMs":…,"shutdownReason":"spindown|timeout|failure"}`.
    package static func shutdown(
        reason: SandboxStateMachine.ShutdownReason, deadlineEpochMilliseconds: Int64
    ) -> String {
        JSONValue.object([
            ("eventType", .string("SHUTDOWN")),
            ("deadlineMs", .number(String(deadlineEpochMilliseconds))),
            ("shutdownReason", .string(reason.rawValue)),
        ]).serialized
    }
}
