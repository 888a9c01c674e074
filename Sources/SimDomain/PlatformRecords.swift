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

    /// The three spans of `platform.runtimeDone`, in Lambda's order.
    package static func runtimeDone(
        responseLatency: Span, responseDuration: Span, runtimeOverhead: Span
    ) -> [Span] {
        [responseLatency, responseDuration, runtimeOverhead]
    }
}
