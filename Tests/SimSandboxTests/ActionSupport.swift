// Reading a state machine's actions in tests: the typed events it publishes and the rest.

import SimCore
import SimTelemetry

@testable import SimDomain
@testable import SimSandbox

typealias Action = SandboxStateMachine.Action

/// The events the actions publish, in order.
func events(_ actions: [Action]) -> [SandboxEvent] {
    actions.compactMap { if case .publish(let event, _) = $0 { return event } else { return nil } }
}

/// The actions other than published events.
func withoutEvents(_ actions: [Action]) -> [Action] {
    actions.filter { if case .publish = $0 { return false } else { return true } }
}

/// The published events that have a Telemetry API record.
func platformEvents(_ actions: [Action]) -> [PlatformEvent] {
    events(actions).compactMap { if case .platform(let event) = $0 { return event } else { return nil } }
}

/// The `platform.initReport` events published.
func initReports(_ actions: [Action]) -> [PlatformEvent.InitReport] {
    platformEvents(actions).compactMap { if case .initReport(let data) = $0 { return data } else { return nil } }
}

/// The `platform.extension` events published.
func extensionStates(_ actions: [Action]) -> [PlatformEvent.ExtensionState] {
    platformEvents(actions).compactMap { if case .extensionState(let data) = $0 { return data } else { return nil } }
}

/// The request ids of the `platform.start` events (START lines) published.
func startedRequests(_ actions: [Action]) -> [String] {
    platformEvents(actions).compactMap { if case .start(let data) = $0 { return data.requestID } else { return nil } }
}

/// The request ids of the `platform.runtimeDone` events published.
func finishedRuntimes(_ actions: [Action]) -> [String] {
    platformEvents(actions).compactMap {
        if case .runtimeDone(let data) = $0 { return data.requestID } else { return nil }
    }
}

/// The figures of the first `.report` action: duration, init duration, status, post-runtime extension time, and
/// whether it is a fault (the runtime exited before completing the invoke).
func report(_ actions: [Action]) -> (
    durationMs: Double, initDurationMs: Double?, status: LambdaLog.ReportStatus, postRuntimeExtensionsMs: Double?,
    processExited: Bool
)? {
    for case .report(_, let duration, let initDuration, let status, let extensions, let processExited) in actions {
        return (duration, initDuration, status, extensions, processExited)
    }
    return nil
}
