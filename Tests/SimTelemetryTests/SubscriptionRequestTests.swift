import SimCore
import SimDomain
import Testing

@testable import SimTelemetry

/// Parses `body` for `api` and renders the answer the sandbox would send.
private func answer(_ api: SubscriptionAPI, _ body: String) -> SubscriptionResponse {
    do {
        _ = try SubscriptionRequest.parse(Array(body.utf8), api: api)
        return .ok
    } catch {
        return .validation(api, error.messages)
    }
}

/// A Telemetry API body with `destination` and the other members replaceable.
private func telemetryBody(
    schema: String = #""schemaVersion":"2022-12-13","#, types: String = #""types":["platform","function"],"#,
    buffering: String = "", destination: String = #"{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080/t"}"#
) -> String {
    "{\(schema)\(types)\(buffering)\"destination\":\(destination)}"
}

/// One row of the validation table: the API, the body, and the exact `errorMessage` (nil = accepted).
struct ValidationCase: CustomTestStringConvertible, Sendable {
    var api: SubscriptionAPI
    var body: String
    var message: String?
    var testDescription: String { "\(api) \(message ?? "OK")" }
}

private let telemetryCases: [ValidationCase] = [
    .init(api: .telemetry, body: telemetryBody(), message: nil),
    .init(api: .telemetry, body: telemetryBody(schema: #""schemaVersion":"2022-07-01","#), message: nil),
    .init(api: .telemetry, body: telemetryBody(schema: #""schemaVersion":"2025-01-29","#), message: nil),
    .init(api: .telemetry, body: telemetryBody(schema: ""), message: "schemaVersion is not provided"),
    .init(
        api: .telemetry, body: telemetryBody(schema: #""schemaVersion":"2020-08-15","#),
        message: "schemaVersion must be one of 2022-07-01, 2022-12-13, 2025-01-29"),
    .init(
        api: .telemetry, body: telemetryBody(schema: #""schemaVersion":20221213,"#),
        message: "schemaVersion must be one of 2022-07-01, 2022-12-13, 2025-01-29"),
    .init(api: .telemetry, body: telemetryBody(types: ""), message: "types is not provided"),
    .init(api: .telemetry, body: telemetryBody(types: #""types":[],"#), message: "types should not be empty"),
    .init(api: .telemetry, body: telemetryBody(types: #""types":"platform","#), message: "types must be an array"),
    .init(
        api: .telemetry, body: telemetryBody(types: #""types":["platform","logs"],"#),
        message: #"types contains "logs"; allowed types are platform, function, extension"#),
    .init(api: .telemetry, body: telemetryBody(types: #""types":["extension","extension"],"#), message: nil),
    .init(
        api: .telemetry,
        body: telemetryBody(buffering: #""buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":25},"#),
        message: nil),
    .init(
        api: .telemetry,
        body: telemetryBody(buffering: #""buffering":{"maxItems":10000,"maxBytes":1048576,"timeoutMs":30000},"#),
        message: nil),
    .init(
        api: .telemetry, body: telemetryBody(buffering: #""buffering":{"maxItems":999},"#),
        message: "maxItems must be between 1000 and 10000"),
    .init(
        api: .telemetry, body: telemetryBody(buffering: #""buffering":{"maxItems":10001},"#),
        message: "maxItems must be between 1000 and 10000"),
    .init(
        api: .telemetry, body: telemetryBody(buffering: #""buffering":{"maxBytes":262143},"#),
        message: "maxBytes must be between 262144 and 1048576"),
    .init(
        api: .telemetry, body: telemetryBody(buffering: #""buffering":{"maxBytes":1048577},"#),
        message: "maxBytes must be between 262144 and 1048576"),
    .init(
        api: .telemetry, body: telemetryBody(buffering: #""buffering":{"timeoutMs":24},"#),
        message: "timeoutMs must be between 25 and 30000"),
    .init(
        api: .telemetry, body: telemetryBody(buffering: #""buffering":{"timeoutMs":30001},"#),
        message: "timeoutMs must be between 25 and 30000"),
    .init(
        api: .telemetry, body: telemetryBody(buffering: #""buffering":{"maxItems":"1000"},"#),
        message: "maxItems must be an integer"),
    .init(
        api: .telemetry, body: telemetryBody(buffering: #""buffering":{"timeoutMs":100.5},"#),
        message: "timeoutMs must be an integer"),
    .init(
        api: .telemetry, body: telemetryBody(buffering: #""buffering":[],"#), message: "buffering must be an object"),
    .init(
        api: .telemetry, body: #"{"schemaVersion":"2022-12-13","types":["platform"]}"#,
        message: "destination is not provided"),
    .init(api: .telemetry, body: telemetryBody(destination: #""http""#), message: "destination must be an object"),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"URI":"http://sandbox:1/"}"#),
        message: "destination protocol is not provided"),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"protocol":"HTTPS","URI":"http://sandbox:1/"}"#),
        message: "destination protocol must be HTTP or TCP"),
    .init(api: .telemetry, body: telemetryBody(destination: #"{"protocol":"HTTP"}"#), message: "URI is not provided"),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"protocol":"HTTP","URI":"https://sandbox:8080/"}"#),
        message: "URI scheme must be http, not https"),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"protocol":"HTTP","URI":"sandbox:8080"}"#),
        message: "URI must be absolute, e.g. http://sandbox.localdomain:8080/telemetry"),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"protocol":"HTTP","URI":"http://localhost:8080/"}"#),
        message: "URI host must be sandbox.localdomain (the listener runs inside the sandbox), not localhost"),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"protocol":"HTTP","URI":"http://sandbox.localdomain/"}"#),
        message: "URI port is not provided"),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"protocol":"HTTP","URI":"http://sandbox:9001/"}"#),
        message: "URI port 9001 is reserved for the Runtime API"),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"protocol":"HTTP","URI":"http://sandbox:70000/"}"#),
        message: "URI port must be between 1 and 65535"),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"protocol":"HTTP","URI":"http://sandbox:+80/"}"#),
        message: "URI port must be between 1 and 65535"),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"protocol":"HTTP","URI":"http://u@sandbox:80/"}"#),
        message: "URI must not contain user information"),
    .init(api: .telemetry, body: telemetryBody(destination: #"{"protocol":"TCP","port":4243}"#), message: nil),
    .init(
        api: .telemetry,
        body: telemetryBody(destination: #"{"protocol":"TCP","URI":"tcp://sandbox.localdomain:4243"}"#),
        message: nil),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"protocol":"TCP","port":9001}"#),
        message: "port 9001 is reserved for the Runtime API"),
    .init(
        api: .telemetry, body: telemetryBody(destination: #"{"protocol":"TCP","port":0}"#),
        message: "port must be an integer between 1 and 65535"),
    .init(api: .telemetry, body: telemetryBody(destination: #"{"protocol":"TCP"}"#), message: "port is not provided"),
    .init(
        api: .telemetry,
        body: telemetryBody(
            types: #""types":[],"#, destination: #"{"protocol":"HTTP","URI":"http://sandbox.localdomain/x"}"#),
        message: "types should not be empty; URI port is not provided"),
    .init(api: .telemetry, body: "not json", message: "request body is not valid JSON: invalid literal at offset 0"),
    .init(api: .telemetry, body: "[]", message: "request body must be a JSON object"),
]

private let logsCases: [ValidationCase] = [
    .init(
        api: .logs,
        body: #"{"types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080/l"}}"#,
        message: nil),
    .init(api: .logs, body: telemetryBody(schema: #""schemaVersion":"2020-08-15","#), message: nil),
    .init(api: .logs, body: telemetryBody(schema: #""schemaVersion":"2021-03-18","#), message: nil),
    .init(
        api: .logs, body: telemetryBody(schema: #""schemaVersion":"2022-12-13","#),
        message: "schemaVersion must be one of 2020-08-15, 2021-03-18"),
    .init(api: .logs, body: telemetryBody(schema: "", types: #""types":[],"#), message: "types should not be empty"),
    .init(
        api: .logs, body: telemetryBody(schema: "", buffering: #""buffering":{"timeoutMs":10},"#),
        message: "timeoutMs must be between 25 and 30000"),
    .init(
        api: .logs,
        body: telemetryBody(schema: "", destination: #"{"protocol":"HTTP","URI":"http://sandbox.localdomain/"}"#),
        message: "URI port is not provided"),
    .init(api: .logs, body: telemetryBody(schema: "", destination: #"{"protocol":"TCP","port":4243}"#), message: nil),
]

/// Every validation rule of both APIs, with exact status and body.
@Suite struct SubscriptionValidationTests {
    /// Each body gets 200 `"OK"`, or 400 with the API's error type and exactly the expected message.
    @Test(arguments: telemetryCases + logsCases)
    func validationTable(_ row: ValidationCase) {
        let response = answer(row.api, row.body)
        if let message = row.message {
            #expect(response.status == 400)
            #expect(response.bodyString == JSON.errorBody(type: row.api.validationErrorType, message: message))
        } else {
            #expect(response == .ok)
            #expect(response.bodyString == #""OK""#)
        }
    }

    /// A full request parses into its members; missing buffering takes Lambda's defaults.
    @Test func parsesMembersAndDefaults() throws {
        let request = try SubscriptionRequest.parse(
            Array(telemetryBody(types: #""types":["function","platform","function"],"#).utf8), api: .telemetry)
        #expect(request.schemaVersion == "2022-12-13")
        #expect(request.types == [.function, .platform])
        #expect(request.buffering == BufferingConfiguration(maxItems: 10_000, maxBytes: 262_144, timeoutMs: 1000))
        #expect(request.destination == .http(host: "sandbox.localdomain", port: 8080, path: "/t"))
    }

    /// The Logs API defaults its schema version to 2020-08-15.
    @Test func logsSchemaDefaults() throws {
        let body = #"{"types":["platform"],"destination":{"protocol":"TCP","port":4000}}"#
        let request = try SubscriptionRequest.parse(Array(body.utf8), api: .logs)
        #expect(request.schemaVersion == "2020-08-15")
        #expect(request.destination == .tcp(port: 4000))
    }

    /// `sandbox` is accepted as host, the path defaults to `/`, a query is kept and the buffering is read.
    @Test func uriVariants() throws {
        let body = telemetryBody(
            buffering: #""buffering":{"maxItems":2000,"maxBytes":300000,"timeoutMs":100},"#,
            destination: #"{"protocol":"HTTP","URI":"HTTP://SANDBOX:4243?x=1"}"#)
        let request = try SubscriptionRequest.parse(Array(body.utf8), api: .telemetry)
        #expect(request.destination == .http(host: "sandbox", port: 4243, path: "/?x=1"))
        #expect(request.buffering == BufferingConfiguration(maxItems: 2000, maxBytes: 300_000, timeoutMs: 100))
    }

    /// 403 bodies name the API that is closed.
    @Test func closedBodies() {
        #expect(
            SubscriptionResponse.closed(.telemetry).bodyString
                == #"{"errorMessage":"Telemetry API subscription is closed","errorType":"Telemetry.SubscriptionClosed"}"#
        )
        #expect(
            SubscriptionResponse.closed(.logs).bodyString
                == #"{"errorMessage":"Logs API subscription is closed","errorType":"Logs.SubscriptionClosed"}"#)
        #expect(SubscriptionResponse.closed(.logs).status == 403)
        #expect(SubscriptionResponse.ok.httpResponse.headers["Content-Type"] == "application/json")
    }
}
