import SimCore

/// Which init this is (`phase`): the normal one, or one retried inside an invoke (suppressed init).
package enum InitPhase: String, Sendable {
    case initial = "init"
    case invoke
}

/// How a phase ended: `status`, plus `errorType` when it was not a success.
package struct EventOutcome: Equatable, Sendable {
    /// The `status` values of the Telemetry API.
    package enum Status: String, Sendable {
        case success, error, failure, timeout
    }

    package var status: Status
    /// The error type (`Runtime.ExitError`, `Sandbox.Timedout`, …); never written for a success.
    package var errorType: String?

    package init(status: Status, errorType: String? = nil) {
        self.status = status
        self.errorType = status == .success ? nil : errorType
    }

    /// The phase succeeded.
    package static let success = EventOutcome(status: .success)
    /// The function (or runtime) reported an error of `type`.
    package static func error(_ type: String?) -> EventOutcome { EventOutcome(status: .error, errorType: type) }
    /// The platform failed the phase (`Sandbox.*` errors).
    package static func failure(_ type: String?) -> EventOutcome { EventOutcome(status: .failure, errorType: type) }
    /// The phase ran out of time.
    package static func timeout(_ type: String? = "Sandbox.Timedout") -> EventOutcome {
        EventOutcome(status: .timeout, errorType: type)
    }

    /// `status` and `errorType?` as record members.
    var members: [(String, JSONValue)] {
        var members: [(String, JSONValue)] = [("status", .string(status.rawValue))]
        if let errorType { members.append(("errorType", .string(errorType))) }
        return members
    }
}

/// The `tracing` object: `{"spanId"?: …, "type": "X-Amzn-Trace-Id", "value": "Root=…"}`.
package struct TraceContext: Equatable, Sendable {
    package var spanID: String?
    package var type: String
    package var value: String

    package init(value: String, spanID: String? = nil, type: String = "X-Amzn-Trace-Id") {
        self.value = value
        self.spanID = spanID
        self.type = type
    }

    var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if let spanID { members.append(("spanId", .string(spanID))) }
        members.append(("type", .string(type)))
        members.append(("value", .string(value)))
        return .object(members)
    }
}

/// A `Span`: `{"name": "responseLatency", "start": "<ISO time>", "durationMs": 23.02}`.
package struct Span: Equatable, Sendable {
    package var name: String
    /// When the span began, epoch milliseconds.
    package var startEpochMilliseconds: Int64
    package var durationMs: Double

    package init(name: String, startEpochMilliseconds: Int64, durationMs: Double) {
        self.name = name
        self.startEpochMilliseconds = startEpochMilliseconds
        self.durationMs = durationMs
    }

    var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("start", .string(CivilTime(epochMilliseconds: startEpochMilliseconds).iso8601)),
            ("durationMs", TelemetryNumber.milliseconds(durationMs)),
        ])
    }

    /// The three spans of `platform.runtimeDone`, in Lambda's order.
    package static func runtimeDone(
        responseLatency: Span, responseDuration: Span, runtimeOverhead: Span
    ) -> [Span] {
        [responseLatency, responseDuration, runtimeOverhead]
    }
}

/// Builds a record object member by member, skipping absent optionals.
struct RecordBuilder {
    private(set) var members: [(String, JSONValue)] = []

    mutating func add(_ key: String, _ value: JSONValue) { members.append((key, value)) }
    mutating func add(_ key: String, _ value: String) { members.append((key, .string(value))) }
    mutating func add(_ key: String, optional value: String?) {
        if let value { members.append((key, .string(value))) }
    }
    mutating func add(_ key: String, integer value: Int) { members.append((key, TelemetryNumber.integer(value))) }
    mutating func add(_ key: String, milliseconds value: Double) {
        members.append((key, TelemetryNumber.milliseconds(value)))
    }
    mutating func add(_ outcome: EventOutcome) { members.append(contentsOf: outcome.members) }
    mutating func add(tracing: TraceContext?) {
        if let tracing { members.append(("tracing", tracing.json)) }
    }
    mutating func add(spans: [Span]) {
        if !spans.isEmpty { members.append(("spans", .array(spans.map(\.json)))) }
    }
    mutating func add(_ key: String, strings: [String]) { members.append((key, .array(strings.map { .string($0) }))) }

    var object: JSONValue { .object(members) }
}
