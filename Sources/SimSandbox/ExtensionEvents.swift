import SimCore
import SimDomain

/// The JSON of the events the Extensions API hands out through `/event/next`.
package enum ExtensionEvents {
    /// `{"eventType":"INVOKE","deadlineMs":…,"requestId":…,"invokedFunctionArn":…,"tracing":{…}}` or
    /// `{"eventType":"SHUTDOWN","deadlineMs":…,"shutdownReason":"spindown|timeout|failure"}`.
    package static func json(_ event: ExtensionEvent) -> String {
        switch event {
        case .invoke(let requestID, let invokedFunctionARN, let traceID, let deadlineEpochMilliseconds):
            var members: [(String, JSONValue)] = [
                ("eventType", .string("INVOKE")),
                ("deadlineMs", .number(String(deadlineEpochMilliseconds))),
                ("requestId", .string(requestID)),
                ("invokedFunctionArn", .string(invokedFunctionARN)),
            ]
            if !traceID.isEmpty {
                members.append(
                    ("tracing", .object([("type", .string("X-Amzn-Trace-Id")), ("value", .string(traceID))])))
            }
            return JSONValue.object(members).serialized
        case .shutdown(let reason, let deadlineEpochMilliseconds):
            return JSONValue.object([
                ("eventType", .string("SHUTDOWN")),
                ("deadlineMs", .number(String(deadlineEpochMilliseconds))),
                ("shutdownReason", .string(reason.rawValue)),
            ]).serialized
        }
    }
}
