// Subscribing (lambda-behaviour.md §3.1, §3.2, §3.6): validation of Telemetry API and Logs API requests sent
// by a real extension during init, the window closing with init, and the Logs API's own event set.

import Foundation
import LambdaSim
import SimHTTP
import Testing

@Suite("Telemetry API: subscriptions and the Logs API")
struct TelemetrySubscriptionTests {
    /// What a probe must get back: status, errorType and errorMessage.
    private struct Expected {
        var status: Int
        var errorType: String
        var errorMessage: String
    }

    /// A Telemetry API request body; `types` nil leaves the member out, `schema` nil too.
    private static func telemetryBody(
        buffering: [String: Any] = ["timeoutMs": 25], types: [String]? = ["platform"],
        uri: String = "http://sandbox.localdomain:__PORT__", schema: String? = "2022-12-13"
    ) -> [String: Any] {
        var body: [String: Any] = ["buffering": buffering, "destination": ["protocol": "HTTP", "URI": uri]]
        if let types { body["types"] = types }
        if let schema { body["schemaVersion"] = schema }
        return body
    }

    /// A Logs API request body.
    private static func logsBody(buffering: [String: Any] = ["timeoutMs": 25], types: [String]? = ["platform"])
        -> [String: Any]
    {
        var body = telemetryBody(buffering: buffering, types: types, schema: nil)
        body["schemaVersion"] = "2020-08-15"
        return body
    }

    /// TEL_PROBES text for `probes` given as (name, api, body, without identifier).
    private static func probes(_ probes: [(String, String?, [String: Any], Bool)]) throws -> String {
        let list: [[String: Any]] = probes.map { name, api, body, noIdentifier in
            var probe: [String: Any] = ["name": name, "body": body, "noIdentifier": noIdentifier]
            if let api { probe["api"] = api }
            return probe
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self)
    }

    private static let validation = "ValidationError"
    private static let logsValidation = "Logs.ValidationError"
    private static let maxItems = "maxItems must be between 1000 and 10000"
    private static let maxBytes = "maxBytes must be between 262144 and 1048576"
    private static let timeoutMs = "timeoutMs must be between 25 and 30000"

    /// Out-of-range maxItems/maxBytes/timeoutMs, missing or empty types and a missing schemaVersion get 400
    /// `ValidationError` (`Logs.ValidationError` on the Logs API) naming the problem; the range bounds themselves
    /// are accepted (200 `"OK"`); a missing identifier gets 403; subscribing to the other API afterwards gets 400;
    /// after init both APIs answer 403 `<API>.SubscriptionClosed`. Logs API subscribers get platform.logsSubscription,
    /// platform.extension, platform.start/end/report with the Logs API's lean records (2021-03-18 adds
    /// platform.runtimeDone) and never the Telemetry API's init or subscription events.
    @Test(.timeLimit(.minutes(1)))
    func validationWindowAndLogsAPI() async throws {
        let folder = try ExtensionFolder()
        defer { folder.remove() }
        let telemetryProbes = try Self.probes([
            ("maxItems-low", nil, Self.telemetryBody(buffering: ["maxItems": 999]), false),
            ("maxItems-high", nil, Self.telemetryBody(buffering: ["maxItems": 10_001]), false),
            ("maxBytes-low", nil, Self.telemetryBody(buffering: ["maxBytes": 262_143]), false),
            ("maxBytes-high", nil, Self.telemetryBody(buffering: ["maxBytes": 1_048_577]), false),
            ("timeoutMs-low", nil, Self.telemetryBody(buffering: ["timeoutMs": 24]), false),
            ("timeoutMs-high", nil, Self.telemetryBody(buffering: ["timeoutMs": 30_001]), false),
            ("types-missing", nil, Self.telemetryBody(types: nil), false),
            ("types-empty", nil, Self.telemetryBody(types: []), false),
            ("schema-missing", nil, Self.telemetryBody(schema: nil), false),
            ("port-and-types", nil, Self.telemetryBody(types: [], uri: "http://sandbox.localdomain/telemetry"), false),
            ("no-identifier", nil, Self.telemetryBody(), true),
        ])
        try folder.addTelemetry(
            "tel-probe",
            [
                ("TEL_PROBES", telemetryProbes),
                ("TEL_BUFFERING", #"{"maxItems":1000,"maxBytes":262144,"timeoutMs":25}"#),
                ("TEL_PROBES_AFTER", try Self.probes([("other-api", "logs", Self.logsBody(), false)])),
                ("TEL_LATE_SUBSCRIBE", "1"),
            ])
        let logsProbes = try Self.probes([
            ("logs-maxItems-low", nil, Self.logsBody(buffering: ["maxItems": 999]), false),
            ("logs-timeoutMs-high", nil, Self.logsBody(buffering: ["timeoutMs": 30_001]), false),
            ("logs-types-missing", nil, Self.logsBody(types: nil), false),
        ])
        try folder.addTelemetry(
            "logs-v1",
            [
                ("TEL_API", "logs"), ("TEL_TYPES", "platform,function"), ("TEL_URI_PATH", "/lambda_logs"),
                ("TEL_BUFFERING", #"{"maxItems":10000,"maxBytes":1048576,"timeoutMs":25}"#),
                ("TEL_PROBES", logsProbes), ("TEL_LATE_SUBSCRIBE", "1"),
            ])
        try folder.addTelemetry(
            "logs-v2", [("TEL_API", "logs"), ("TEL_SCHEMA", "2021-03-18"), ("TEL_TYPES", "platform")])
        let function = TestFunctions.fixture(extensions: folder, name: "tel-fx")
        var requestID = ""

        try await withExtensionSimulator([function], folders: [folder]) { sim in
            let response = try await sim.invoke("tel-fx", payload: #"{"print":"to logs"}"#)
            #expect(response.status == 200, "\(text(response))")
            requestID = try #require(response.headers["x-amzn-RequestId"])
            _ = try #require(await sim.logs.report(for: requestID))
        }

        try Self.checkProbes(folder)
        for ext in ["tel-probe", "logs-v1", "logs-v2"] {
            let subscribe = try #require(try folder.telemetryRecords(of: ext, kind: "subscribe").first, "\(ext)")
            #expect(subscribe.fields["status"] as? Int == 200, "\(ext): \(subscribe.fields)")
            #expect(subscribe.fields["body"] as? String == #""OK""#)
        }
        let closed = try folder.completeRecords().filter { $0.kind == "late-subscribe" }
        #expect(Set(closed.map(\.ext)) == ["tel-probe", "logs-v1"])
        for late in closed {
            let api = late.ext == "tel-probe" ? "Telemetry" : "Logs"
            try expectForbidden(Self.response(late), "\(api).SubscriptionClosed", "\(api) API subscription is closed")
        }
        try Self.checkLogsEvents(folder, requestID: requestID)
    }

    /// The probes' answers, one by one.
    private static func checkProbes(_ folder: ExtensionFolder) throws {
        let expected: [String: Expected] = [
            "maxItems-low": .init(status: 400, errorType: validation, errorMessage: maxItems),
            "maxItems-high": .init(status: 400, errorType: validation, errorMessage: maxItems),
            "maxBytes-low": .init(status: 400, errorType: validation, errorMessage: maxBytes),
            "maxBytes-high": .init(status: 400, errorType: validation, errorMessage: maxBytes),
            "timeoutMs-low": .init(status: 400, errorType: validation, errorMessage: timeoutMs),
            "timeoutMs-high": .init(status: 400, errorType: validation, errorMessage: timeoutMs),
            "types-missing": .init(status: 400, errorType: validation, errorMessage: "types is not provided"),
            "types-empty": .init(status: 400, errorType: validation, errorMessage: "types should not be empty"),
            "schema-missing": .init(status: 400, errorType: validation, errorMessage: "schemaVersion is not provided"),
            "no-identifier": .init(
                status: 403, errorType: "Extension.MissingExtensionIdentifier",
                errorMessage: "Missing Lambda-Extension-Identifier header"),
            "other-api": .init(
                status: 400, errorType: logsValidation,
                errorMessage: "extension already subscribed to the Telemetry API"),
            "logs-maxItems-low": .init(status: 400, errorType: logsValidation, errorMessage: maxItems),
            "logs-timeoutMs-high": .init(status: 400, errorType: logsValidation, errorMessage: timeoutMs),
            "logs-types-missing": .init(status: 400, errorType: logsValidation, errorMessage: "types is not provided"),
        ]
        let probes = try folder.completeRecords().filter { $0.kind == "probe" }
        let names = probes.compactMap { $0.fields["name"] as? String }
        #expect(Set(names) == Set(expected.keys).union(["port-and-types"]), "\(names)")
        for probe in probes {
            let name = probe.fields["name"] as? String ?? ""
            #expect(probe.fields["contentType"] as? String == "application/json", "\(name)")
            let body = try stringObject(Array((probe.fields["body"] as? String ?? "").utf8))
            if name == "port-and-types" {
                // Both problems in one answer (§3.1's example reads "URI port is not provided; types should not be
                // empty"; the simulator lists them in request order).
                #expect(probe.fields["status"] as? Int == 400)
                #expect(body["errorType"] == validation)
                let parts = Set((body["errorMessage"] ?? "").components(separatedBy: "; "))
                #expect(parts == ["URI port is not provided", "types should not be empty"], "\(body)")
                continue
            }
            guard let want = expected[name] else { continue }
            #expect(probe.fields["status"] as? Int == want.status, "\(name): \(body)")
            #expect(body == ["errorType": want.errorType, "errorMessage": want.errorMessage], "\(name)")
        }
    }

    /// A recorded answer as an HTTP response, for `expectForbidden`.
    private static func response(_ record: ExtensionRecord) -> HTTPResponse {
        var headers = HTTPHeaders()
        if let type = record.fields["contentType"] as? String { headers.add("Content-Type", type) }
        let body = record.fields["body"] as? String ?? ""
        return HTTPResponse(status: record.fields["status"] as? Int ?? 0, headers: headers, body: Array(body.utf8))
    }

    /// The Logs API subscribers' events: their own set, their lean records, schema 2021-03-18's runtimeDone.
    private static func checkLogsEvents(_ folder: ExtensionFolder, requestID: String) throws {
        let telemetryOnly: Set = [
            "platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.telemetrySubscription",
        ]
        let v1 = try folder.receivedEvents(of: "logs-v1")
        let v1Types = v1.map(\.type)
        #expect(telemetryOnly.isDisjoint(with: v1Types), "\(v1Types)")
        #expect(!v1Types.contains("platform.runtimeDone") && !v1Types.contains("extension"), "\(v1Types)")
        let subscription = try #require(
            v1.first { $0.type == "platform.logsSubscription" && $0.record["name"] as? String == "logs-v1" })
        #expect(subscription.record["state"] as? String == "Subscribed")
        #expect(subscription.record["types"] as? [String] == ["platform", "function"])
        let extensions = v1.filter { $0.type == "platform.extension" }.compactMap { $0.record["name"] as? String }
        #expect(Set(extensions) == ["tel-probe", "logs-v1", "logs-v2"])
        // From the invoke's start to its report (the runtime may print more while it is stopped).
        let startIndex = try #require(v1.firstIndex { $0.type == "platform.start" })
        let reportIndex = try #require(v1.firstIndex { $0.type == "platform.report" })
        let invoke = v1[startIndex...max(startIndex, reportIndex)]
        #expect(
            invoke.map(\.type) == ["platform.start", "function", "platform.end", "platform.report"],
            "\(invoke.map(\.type))")
        #expect(invoke.first { $0.type == "function" }?.line == "to logs", "\(invoke.map(\.fields))")
        for event in invoke where event.type == "platform.start" || event.type == "platform.end" {
            #expect(Set(event.record.keys) == ["requestId"] && event.requestID == requestID, "\(event.fields)")
        }
        let report = try #require(invoke.last)
        #expect(Set(report.record.keys) == ["requestId", "metrics"], "no status on the Logs API: \(report.record)")
        #expect(
            Set(report.metrics.keys) == [
                "durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs",
            ])
        for batch in try folder.telemetryRecords(of: "logs-v1", kind: "batch") {
            #expect(batch.fields["path"] as? String == "/lambda_logs")
        }

        let v2 = try folder.receivedEvents(of: "logs-v2").filter { $0.requestID != nil }
        #expect(
            v2.map(\.type) == ["platform.start", "platform.runtimeDone", "platform.end", "platform.report"],
            "\(v2.map(\.type))")
        let runtimeDone = try #require(v2.first { $0.type == "platform.runtimeDone" })
        #expect(Set(runtimeDone.record.keys) == ["requestId", "status"])
        #expect(runtimeDone.status == "success")

        let telemetry = try folder.receivedEvents(of: "tel-probe").map(\.type)
        #expect(telemetry.contains("platform.telemetrySubscription") && telemetry.contains("platform.initStart"))
        #expect(!telemetry.contains("platform.logsSubscription") && !telemetry.contains("platform.end"))
    }
}
