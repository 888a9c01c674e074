import SimCore
import SimDomain

extension EventOutcome {
    /// `status` and `errorType?` as record members.
    var members: [(String, JSONValue)] {
        var members: [(String, JSONValue)] = [("status", .string(status.rawValue))]
        if let errorType { members.append(("errorType", .string(errorType))) }
        return members
    }
}

extension TraceContext {
    var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if let spanID { members.append(("spanId", .string(spanID))) }
        members.append(("type", .string(type)))
        members.append(("value", .string(value)))
        return .object(members)
    }
}

extension Span {
    var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("start", .string(CivilTime(epochMilliseconds: startEpochMilliseconds).iso8601)),
            ("durationMs", TelemetryNumber.milliseconds(durationMs)),
        ])
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
