import SimDomain

/// Builders for the Logs API (2020-08-15, 2021-03-18) events. Their records are leaner than the
/// Telemetry API's: `platform.start`/`platform.end` carry only `requestId`, `platform.report` has no
/// status, and `platform.fault` is a plain string.
package enum LogsRecords {
    /// `platform.start` `{"requestId"}`.
    package static func start(requestID: String, at time: Int64) -> TelemetryEvent {
        TelemetryEvent(
            epochMilliseconds: time, type: "platform.start", record: .object([("requestId", .string(requestID))]))
    }

    /// `platform.end` `{"requestId"}`.
    package static func end(requestID: String, at time: Int64) -> TelemetryEvent {
        TelemetryEvent(
            epochMilliseconds: time, type: "platform.end", record: .object([("requestId", .string(requestID))]))
    }

    /// `platform.report` `{"requestId","metrics":{…}}`.
    package static func report(_ data: PlatformEvent.Report, at time: Int64) -> TelemetryEvent {
        var record = RecordBuilder()
        record.add("requestId", data.requestID)
        record.add("metrics", TelemetryRecords.reportMetrics(data))
        return TelemetryEvent(epochMilliseconds: time, type: "platform.report", record: record.object)
    }

    /// `platform.fault`: a string record.
    package static func fault(_ text: String, at time: Int64) -> TelemetryEvent {
        TelemetryEvent(epochMilliseconds: time, type: "platform.fault", record: .string(text))
    }

    /// `platform.extension` `{"name","state","events"}`.
    package static func extensionState(_ data: PlatformEvent.ExtensionState, at time: Int64) -> TelemetryEvent {
        TelemetryEvent(
            epochMilliseconds: time, type: "platform.extension", record: TelemetryRecords.extensionRecord(data))
    }

    /// `platform.logsSubscription` `{"name","state":"Subscribed","types"}`.
    package static func logsSubscription(name: String, types: [TelemetryCategory], at time: Int64) -> TelemetryEvent {
        TelemetryEvent(
            epochMilliseconds: time, type: "platform.logsSubscription",
            record: TelemetryRecords.subscriptionRecord(name: name, types: types))
    }

    /// `platform.runtimeDone` `{"requestId","status"}` (schema 2021-03-18 only). The Logs API knows
    /// `success`, `failure` and `timeout`; a function error is a `failure`.
    package static func runtimeDone(requestID: String, outcome: EventOutcome, at time: Int64) -> TelemetryEvent {
        let status: String
        switch outcome.status {
        case .success: status = "success"
        case .timeout: status = "timeout"
        case .error, .failure: status = "failure"
        }
        return TelemetryEvent(
            epochMilliseconds: time, type: "platform.runtimeDone",
            record: .object([("requestId", .string(requestID)), ("status", .string(status))]))
    }

    /// `function`: always a string record.
    package static func function(_ line: String, at time: Int64) -> TelemetryEvent {
        TelemetryEvent(epochMilliseconds: time, type: "function", record: .string(line))
    }

    /// `extension`: a string record.
    package static func extensionLine(_ line: String, at time: Int64) -> TelemetryEvent {
        TelemetryEvent(epochMilliseconds: time, type: "extension", record: .string(line))
    }
}
