import SimCore

/// A `POST /2020-01-01/extension/register` as the Extensions API handler read it: the `Lambda-Extension-Name` header,
/// and the events its JSON body subscribes to or why the body is refused. `ExtensionRegistry` decides the rest.
package struct ExtensionRegistration: Equatable, Sendable {
    /// The extension's name (the header), if any.
    package var name: String?
    /// The events subscribed to, or the 403 for a body that is not a valid registration.
    package var events: Result<[ExtensionRegistry.EventType], ExtensionRejection>

    /// A registration named `name` with `events` as read.
    package init(name: String?, events: Result<[ExtensionRegistry.EventType], ExtensionRejection>) {
        self.name = name
        self.events = events
    }

    /// Reads a registration: the name header and the raw request body.
    package init(name: String?, body: [UInt8]) {
        self.init(name: name, events: Self.parseEvents(body))
    }

    /// The events of a register body: `{"events":[...]}` (an empty or absent list is allowed).
    static func parseEvents(_ body: [UInt8]) -> Result<[ExtensionRegistry.EventType], ExtensionRejection> {
        guard !body.isEmpty else { return .success([]) }
        let document: JSONValue
        do {
            document = try JSON.parse(body)
        } catch {
            return .failure(.invalidRequest(reason: "invalid JSON: \(error)"))
        }
        guard case .object = document else {
            return .failure(.invalidRequest(reason: "the body must be a JSON object"))
        }
        if case .array(let keys)? = document["configurationKeys"], !keys.isEmpty {
            return .failure(
                .invalidRequest(reason: "configurationKeys are deprecated; use environment variables instead"))
        }
        guard let value = document["events"], value != .null else { return .success([]) }
        guard case .array(let items) = value else {
            return .failure(.invalidRequest(reason: "events must be an array of strings"))
        }
        var events: [ExtensionRegistry.EventType] = []
        for item in items {
            guard let text = item.stringValue, let event = ExtensionRegistry.EventType(rawValue: text) else {
                let shown = item.stringValue ?? item.serialized
                return .failure(.invalidEventType(shown: shown))
            }
            if !events.contains(event) { events.append(event) }
        }
        return .success(events)
    }
}
