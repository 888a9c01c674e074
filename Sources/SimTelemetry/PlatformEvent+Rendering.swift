import SimDomain

/// The record shapes a subscriber asked for: its API and schema version.
package enum RecordFormat: Equatable, Sendable {
    /// Telemetry API; every accepted schema version gets the superset of fields.
    case telemetry(schemaVersion: String)
    /// Logs API; `2021-03-18` adds `platform.runtimeDone`.
    case logs(schemaVersion: String)

    /// The format of a subscription request.
    package init(_ request: SubscriptionRequest) {
        switch request.api {
        case .telemetry: self = .telemetry(schemaVersion: request.schemaVersion)
        case .logs: self = .logs(schemaVersion: request.schemaVersion)
        }
    }
}

extension PlatformEvent {
    /// The events a subscriber in `format` receives for this one, stamped `epochMilliseconds` (possibly
    /// none: the Logs API has no init events, the Telemetry API no `platform.fault`).
    /// - Parameter jsonFunctionLogs: the function logs in JSON format, so a `function` line that is a JSON
    ///   object becomes an object record (Telemetry API).
    package func rendered(
        as format: RecordFormat, epochMilliseconds time: Int64, jsonFunctionLogs: Bool = false
    ) -> [TelemetryEvent] {
        switch format {
        case .telemetry: return renderedForTelemetry(time, jsonFunctionLogs: jsonFunctionLogs)
        case .logs(let schemaVersion): return renderedForLogs(time, schemaVersion: schemaVersion)
        }
    }

    private func renderedForTelemetry(_ time: Int64, jsonFunctionLogs: Bool) -> [TelemetryEvent] {
        switch self {
        case .initStart(let data): return [TelemetryRecords.initStart(data, at: time)]
        case .initRuntimeDone(let data): return [TelemetryRecords.initRuntimeDone(data, at: time)]
        case .initReport(let data): return [TelemetryRecords.initReport(data, at: time)]
        case .start(let data): return [TelemetryRecords.start(data, at: time)]
        case .runtimeDone(let data): return [TelemetryRecords.runtimeDone(data, at: time)]
        case .report(let data): return [TelemetryRecords.report(data, at: time)]
        case .extensionState(let data): return [TelemetryRecords.extensionState(data, at: time)]
        case .subscription(let api, let name, let types):
            guard api == .telemetry else { return [] }
            return [TelemetryRecords.telemetrySubscription(name: name, types: types, at: time)]
        case .fault: return []
        case .functionLog(let line): return [TelemetryRecords.function(line, json: jsonFunctionLogs, at: time)]
        case .extensionLog(_, let line): return [TelemetryRecords.extensionLine(line, at: time)]
        }
    }

    private func renderedForLogs(_ time: Int64, schemaVersion: String) -> [TelemetryEvent] {
        switch self {
        case .initStart, .initRuntimeDone, .initReport: return []
        case .start(let data): return [LogsRecords.start(requestID: data.requestID, at: time)]
        case .runtimeDone(let data):
            var events: [TelemetryEvent] = []
            if schemaVersion == SubscriptionAPI.logsRuntimeDoneSchemaVersion {
                events.append(LogsRecords.runtimeDone(requestID: data.requestID, outcome: data.outcome, at: time))
            }
            events.append(LogsRecords.end(requestID: data.requestID, at: time))
            return events
        case .report(let data): return [LogsRecords.report(data, at: time)]
        case .extensionState(let data): return [LogsRecords.extensionState(data, at: time)]
        case .subscription(let api, let name, let types):
            guard api == .logs else { return [] }
            return [LogsRecords.logsSubscription(name: name, types: types, at: time)]
        case .fault(let text): return [LogsRecords.fault(text, at: time)]
        case .functionLog(let line): return [LogsRecords.function(line, at: time)]
        case .extensionLog(_, let line): return [LogsRecords.extensionLine(line, at: time)]
        }
    }
}

extension PlatformEvent {
    /// The `types` category a subscription must include to receive this event.
    package var category: TelemetryCategory {
        switch self {
        case .functionLog: return .function
        case .extensionLog: return .extension
        default: return .platform
        }
    }

    /// Roughly how many bytes the event takes once rendered, to bound what is kept for replay.
    var approximateSize: Int {
        switch self {
        case .functionLog(let text), .extensionLog(_, let text), .fault(let text): return text.utf8.count + 80
        default: return 400
        }
    }
}
