import SimCore
import SimDomain

/// A validated subscribe request (`PUT /2022-07-01/telemetry` or `PUT /2020-08-15/logs`).
///
/// Validation follows §3.1–3.2 of the behaviour notes and collects every problem, so one 400 names them
/// all (`URI port is not provided; types should not be empty`). Unknown members are ignored, as Lambda's
/// clients send only the documented ones and some add their own.
package struct SubscriptionRequest: Equatable, Sendable {
    package var api: SubscriptionAPI
    /// One of `api.schemaVersions`.
    package var schemaVersion: String
    /// The streams wanted, without duplicates, in request order.
    package var types: [TelemetryCategory]
    package var buffering: BufferingConfiguration
    package var destination: SubscriptionDestination

    package init(
        api: SubscriptionAPI, schemaVersion: String, types: [TelemetryCategory],
        buffering: BufferingConfiguration = .init(), destination: SubscriptionDestination
    ) {
        self.api = api
        self.schemaVersion = schemaVersion
        self.types = types
        self.buffering = buffering
        self.destination = destination
    }

    /// Parses and validates `body` for `api`.
    /// - Throws: `SubscriptionValidationError` listing every problem found.
    package static func parse(
        _ body: [UInt8], api: SubscriptionAPI
    ) throws(SubscriptionValidationError) -> SubscriptionRequest {
        let document: JSONValue
        do {
            document = try JSON.parse(body)
        } catch {
            throw SubscriptionValidationError(["request body is not valid JSON: \(error)"])
        }
        guard case .object = document else {
            throw SubscriptionValidationError(["request body must be a JSON object"])
        }
        var problems: [String] = []
        let schemaVersion = parseSchemaVersion(document["schemaVersion"], api: api, problems: &problems)
        let types = parseTypes(document["types"], problems: &problems)
        let buffering = BufferingConfiguration.parse(document["buffering"], problems: &problems)
        let destination = SubscriptionDestination.parse(document["destination"], problems: &problems)
        guard problems.isEmpty, let schemaVersion, let destination else {
            throw SubscriptionValidationError(problems)
        }
        return SubscriptionRequest(
            api: api, schemaVersion: schemaVersion, types: types, buffering: buffering, destination: destination)
    }

    private static func parseSchemaVersion(
        _ value: JSONValue?, api: SubscriptionAPI, problems: inout [String]
    ) -> String? {
        guard let value, value != .null else {
            if let fallback = api.defaultSchemaVersion { return fallback }
            problems.append("schemaVersion is not provided")
            return nil
        }
        guard let text = value.stringValue, api.schemaVersions.contains(text) else {
            problems.append("schemaVersion must be one of \(api.schemaVersions.joined(separator: ", "))")
            return nil
        }
        return text
    }

    private static func parseTypes(_ value: JSONValue?, problems: inout [String]) -> [TelemetryCategory] {
        guard let value, value != .null else {
            problems.append("types is not provided")
            return []
        }
        guard case .array(let items) = value else {
            problems.append("types must be an array")
            return []
        }
        if items.isEmpty { problems.append("types should not be empty") }
        var types: [TelemetryCategory] = []
        for item in items {
            guard let text = item.stringValue, let type = TelemetryCategory(rawValue: text) else {
                problems.append("types contains \(item.serialized); allowed types are platform, function, extension")
                continue
            }
            if !types.contains(type) { types.append(type) }
        }
        return types
    }
}

/// Why a subscribe request was rejected: every problem, in request order.
package struct SubscriptionValidationError: Error, Equatable, Sendable {
    /// Human-readable problems, e.g. `maxItems must be between 1000 and 10000`.
    package var messages: [String]

    package init(_ messages: [String]) { self.messages = messages }
}

/// When a subscriber's batch is sent (§3.2): `maxItems` or `maxBytes` reached, or `timeoutMs` after its
/// first event, whichever comes first.
package struct BufferingConfiguration: Equatable, Sendable {
    package static let maxItemsRange = 1000...10_000
    package static let maxBytesRange = 262_144...1_048_576
    package static let timeoutMsRange = 25...30_000

    package var maxItems: Int
    package var maxBytes: Int
    package var timeoutMs: Int

    /// Lambda's defaults: 10,000 items, 262,144 bytes, 1,000 ms.
    package init(maxItems: Int = 10_000, maxBytes: Int = 262_144, timeoutMs: Int = 1000) {
        self.maxItems = maxItems
        self.maxBytes = maxBytes
        self.timeoutMs = timeoutMs
    }

    static func parse(_ value: JSONValue?, problems: inout [String]) -> BufferingConfiguration {
        var configuration = BufferingConfiguration()
        guard let value, value != .null else { return configuration }
        guard case .object = value else {
            problems.append("buffering must be an object")
            return configuration
        }
        func field(_ name: String, _ range: ClosedRange<Int>, default fallback: Int) -> Int {
            guard let member = value[name], member != .null else { return fallback }
            guard case .number(let text) = member, let number = Int(text) else {
                problems.append("\(name) must be an integer")
                return fallback
            }
            guard range.contains(number) else {
                problems.append("\(name) must be between \(range.lowerBound) and \(range.upperBound)")
                return fallback
            }
            return number
        }
        configuration.maxItems = field("maxItems", maxItemsRange, default: configuration.maxItems)
        configuration.maxBytes = field("maxBytes", maxBytesRange, default: configuration.maxBytes)
        configuration.timeoutMs = field("timeoutMs", timeoutMsRange, default: configuration.timeoutMs)
        return configuration
    }
}
