import SimCore
import SimDomain

/// Builders for every Telemetry API (2022-07-01 … 2025-01-29) event: exact field names, JSON types and
/// member order of Lambda's records. Durations are numbers with at most three decimals; counts, bytes and
/// billed milliseconds are integers.
package enum TelemetryRecords {
    /// The reason `platform.logsDropped` gives when a subscriber fell behind.
    package static let fellBehindReason =
        "Consumer seems to have fallen behind as it has not acknowledged receipt of logs."

    /// `platform.initStart`.
    package static func initStart(_ data: PlatformEvent.InitStart, at time: Int64) -> TelemetryEvent {
        var record = RecordBuilder()
        record.add("initializationType", data.initializationType.rawValue)
        record.add("phase", data.phase.rawValue)
        record.add("runtimeVersion", optional: data.runtimeVersion)
        record.add("runtimeVersionArn", optional: data.runtimeVersionARN)
        record.add("functionName", data.functionName)
        record.add("functionVersion", data.functionVersion)
        record.add("instanceId", data.instanceID)
        record.add("instanceMaxMemory", integer: data.instanceMaxMemoryBytes)
        record.add(tracing: data.tracing)
        return TelemetryEvent(epochMilliseconds: time, type: "platform.initStart", record: record.object)
    }

    /// `platform.initRuntimeDone`.
    package static func initRuntimeDone(_ data: PlatformEvent.InitRuntimeDone, at time: Int64) -> TelemetryEvent {
        var record = RecordBuilder()
        record.add("initializationType", data.initializationType.rawValue)
        record.add("phase", data.phase.rawValue)
        record.add(data.outcome)
        record.add(spans: data.spans)
        record.add(tracing: data.tracing)
        return TelemetryEvent(epochMilliseconds: time, type: "platform.initRuntimeDone", record: record.object)
    }

    /// `platform.initReport`.
    package static func initReport(_ data: PlatformEvent.InitReport, at time: Int64) -> TelemetryEvent {
        var record = RecordBuilder()
        record.add("initializationType", data.initializationType.rawValue)
        record.add("phase", data.phase.rawValue)
        record.add(data.outcome)
        record.add("metrics", .object([("durationMs", TelemetryNumber.milliseconds(data.durationMs))]))
        record.add(spans: data.spans)
        record.add(tracing: data.tracing)
        return TelemetryEvent(epochMilliseconds: time, type: "platform.initReport", record: record.object)
    }

    /// `platform.start`.
    package static func start(_ data: PlatformEvent.Start, at time: Int64) -> TelemetryEvent {
        var record = RecordBuilder()
        record.add("requestId", data.requestID)
        record.add("version", optional: data.version)
        record.add(tracing: data.tracing)
        return TelemetryEvent(epochMilliseconds: time, type: "platform.start", record: record.object)
    }

    /// `platform.runtimeDone`.
    package static func runtimeDone(_ data: PlatformEvent.RuntimeDone, at time: Int64) -> TelemetryEvent {
        var record = RecordBuilder()
        record.add("requestId", data.requestID)
        record.add(data.outcome)
        var metrics = RecordBuilder()
        metrics.add("durationMs", milliseconds: data.durationMs)
        if let producedBytes = data.producedBytes { metrics.add("producedBytes", integer: producedBytes) }
        record.add("metrics", metrics.object)
        record.add(spans: data.spans)
        record.add(tracing: data.tracing)
        return TelemetryEvent(epochMilliseconds: time, type: "platform.runtimeDone", record: record.object)
    }

    /// `platform.report`.
    package static func report(_ data: PlatformEvent.Report, at time: Int64) -> TelemetryEvent {
        var record = RecordBuilder()
        record.add("requestId", data.requestID)
        record.add(data.outcome)
        record.add("metrics", reportMetrics(data))
        record.add(spans: data.spans)
        record.add(tracing: data.tracing)
        return TelemetryEvent(epochMilliseconds: time, type: "platform.report", record: record.object)
    }

    /// `{"durationMs","billedDurationMs","memorySizeMB","maxMemoryUsedMB","initDurationMs"?}`, shared with
    /// the Logs API.
    static func reportMetrics(_ data: PlatformEvent.Report) -> JSONValue {
        var metrics = RecordBuilder()
        metrics.add("durationMs", milliseconds: data.durationMs)
        metrics.add("billedDurationMs", integer: data.billedDurationMs)
        metrics.add("memorySizeMB", integer: data.memorySizeMB)
        metrics.add("maxMemoryUsedMB", integer: data.maxMemoryUsedMB)
        if let initDurationMs = data.initDurationMs { metrics.add("initDurationMs", milliseconds: initDurationMs) }
        return metrics.object
    }

    /// `platform.extension`.
    package static func extensionState(_ data: PlatformEvent.ExtensionState, at time: Int64) -> TelemetryEvent {
        TelemetryEvent(epochMilliseconds: time, type: "platform.extension", record: extensionRecord(data))
    }

    /// `{"name","state","events","errorType"?}`, shared with the Logs API.
    static func extensionRecord(_ data: PlatformEvent.ExtensionState) -> JSONValue {
        var record = RecordBuilder()
        record.add("name", data.name)
        record.add("state", data.state)
        record.add("events", strings: data.events)
        record.add("errorType", optional: data.errorType)
        return record.object
    }

    /// `platform.telemetrySubscription` `{"name","state":"Subscribed","types"}`.
    package static func telemetrySubscription(
        name: String, types: [TelemetryCategory], at time: Int64
    ) -> TelemetryEvent {
        TelemetryEvent(
            epochMilliseconds: time, type: "platform.telemetrySubscription",
            record: subscriptionRecord(name: name, types: types))
    }

    static func subscriptionRecord(name: String, types: [TelemetryCategory]) -> JSONValue {
        var record = RecordBuilder()
        record.add("name", name)
        record.add("state", "Subscribed")
        record.add("types", strings: types.map(\.rawValue))
        return record.object
    }

    /// `platform.logsDropped` `{"reason","droppedRecords","droppedBytes"}` (both APIs).
    package static func logsDropped(
        droppedRecords: Int, droppedBytes: Int, reason: String = fellBehindReason, at time: Int64
    ) -> TelemetryEvent {
        var record = RecordBuilder()
        record.add("reason", reason)
        record.add("droppedRecords", integer: droppedRecords)
        record.add("droppedBytes", integer: droppedBytes)
        return TelemetryEvent(epochMilliseconds: time, type: "platform.logsDropped", record: record.object)
    }

    /// `function`: the line as a string, or, when the function logs in JSON and the line is a JSON
    /// object, that object.
    package static func function(_ line: String, json: Bool = false, at time: Int64) -> TelemetryEvent {
        var record = JSONValue.string(line)
        if json, line.utf8.first == UInt8(ascii: "{"), let object = try? JSON.parse(Array(line.utf8)) {
            record = object
        }
        return TelemetryEvent(epochMilliseconds: time, type: "function", record: record)
    }

    /// `extension`: the line as a string.
    package static func extensionLine(_ line: String, at time: Int64) -> TelemetryEvent {
        TelemetryEvent(epochMilliseconds: time, type: "extension", record: .string(line))
    }
}
