import SimCore
import SimDomain

/// One event as a subscriber receives it: `{"time": "<ISO-8601 ms UTC>", "type": "…", "record": …}`.
package struct TelemetryEvent: Equatable, Sendable {
    /// When the platform generated the event, e.g. `2022-10-12T00:00:15.064Z`.
    package var time: String
    /// The event type, e.g. `platform.start` or `function`.
    package var type: String
    /// The record: an object for platform events, a string (or an object for JSON logs) for log lines.
    package var record: JSONValue
    /// The stream the event belongs to, matched against a subscription's `types`.
    package var category: TelemetryCategory

    /// An event stamped `epochMilliseconds`; the category defaults to the one `type` implies.
    package init(
        epochMilliseconds: Int64, type: String, record: JSONValue, category: TelemetryCategory? = nil
    ) {
        time = CivilTime(epochMilliseconds: epochMilliseconds).iso8601
        self.type = type
        self.record = record
        self.category = category ?? Self.category(ofType: type)
    }

    /// The category an event type belongs to: `function`, `extension`, or `platform` for the rest.
    package static func category(ofType type: String) -> TelemetryCategory {
        switch type {
        case "function": return .function
        case "extension": return .extension
        default: return .platform
        }
    }

    /// The envelope as a JSON object, keys in the order `time`, `type`, `record`.
    package var json: JSONValue {
        .object([("time", .string(time)), ("type", .string(type)), ("record", record)])
    }

    /// The compact JSON serialisation subscribers receive.
    package var serialized: [UInt8] { Array(json.serialized.utf8) }
}

/// JSON numbers as the platform writes them.
package enum TelemetryNumber {
    /// A duration in milliseconds with at most three decimals and at least one (`200.0`, `11.185`).
    package static func milliseconds(_ value: Double) -> JSONValue {
        guard value.isFinite else { return .number("0.0") }
        let scaled = Int64((abs(value) * 1000).rounded())
        let whole = scaled / 1000
        var fraction = String(scaled % 1000)
        fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
        while fraction.count > 1, fraction.hasSuffix("0") { fraction.removeLast() }
        let sign = value < 0 && scaled != 0 ? "-" : ""
        return .number("\(sign)\(whole).\(fraction)")
    }

    /// An integer.
    package static func integer(_ value: Int) -> JSONValue { .number(String(value)) }
}
