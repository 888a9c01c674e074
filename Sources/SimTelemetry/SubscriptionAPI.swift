import SimCore
import SimDomain
import SimHTTP

/// The two subscription APIs' paths, schema versions and error catalogue.
extension SubscriptionAPI {
    /// The Logs API schema version that adds `platform.runtimeDone`.
    package static let logsRuntimeDoneSchemaVersion = "2021-03-18"

    /// The request path (a trailing `/` is accepted too).
    package var path: String {
        switch self {
        case .telemetry: return "/2022-07-01/telemetry"
        case .logs: return "/2020-08-15/logs"
        }
    }

    /// The API's display name, as it appears in messages (`Telemetry`, `Logs`).
    package var displayName: String {
        switch self {
        case .telemetry: return "Telemetry"
        case .logs: return "Logs"
        }
    }

    /// The accepted `schemaVersion` values.
    package var schemaVersions: [String] {
        switch self {
        case .telemetry: return ["2022-07-01", "2022-12-13", "2025-01-29"]
        case .logs: return ["2020-08-15", Self.logsRuntimeDoneSchemaVersion]
        }
    }

    /// The schema version used when the request has none; `nil` when it is required.
    package var defaultSchemaVersion: String? {
        switch self {
        case .telemetry: return nil
        case .logs: return "2020-08-15"
        }
    }

    /// `errorType` of a 400 answer.
    package var validationErrorType: String {
        switch self {
        case .telemetry: return "ValidationError"
        case .logs: return "Logs.ValidationError"
        }
    }

    /// The other API (an extension may subscribe to only one of them).
    package var other: SubscriptionAPI {
        switch self {
        case .telemetry: return .logs
        case .logs: return .telemetry
        }
    }
}

/// The answer to a subscribe request, for the sandbox to send as is (`Content-Type: application/json`).
package struct SubscriptionResponse: Equatable, Sendable {
    /// 200, 400 or 403.
    package var status: Int
    /// A JSON body.
    package var body: [UInt8]

    package init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    /// 200 with the JSON string `"OK"`.
    package static let ok = SubscriptionResponse(status: 200, body: Array(#""OK""#.utf8))

    /// 400 with the API's validation error type; several problems are joined with `; `.
    package static func validation(_ api: SubscriptionAPI, _ messages: [String]) -> SubscriptionResponse {
        let message = messages.joined(separator: "; ")
        return SubscriptionResponse(
            status: 400, body: Array(JSON.errorBody(type: api.validationErrorType, message: message).utf8))
    }

    /// 403 once the Init phase is over: `Telemetry.SubscriptionClosed` / `Logs.SubscriptionClosed`.
    package static func closed(_ api: SubscriptionAPI) -> SubscriptionResponse {
        let body = JSON.errorBody(
            type: "\(api.displayName).SubscriptionClosed", message: "\(api.displayName) API subscription is closed")
        return SubscriptionResponse(status: 403, body: Array(body.utf8))
    }

    /// The response as HTTP.
    package var httpResponse: HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }

    /// The body as text.
    package var bodyString: String { String(decoding: body, as: UTF8.self) }
}
