import SimCore

/// The extensions of one sandbox as the Extensions API 2020-01-01 sees them: registration, per-extension
/// state and the 403 catalogue of Lambda's agent. Pure logic; `SandboxStateMachine` owns one.
///
/// An extension's states (Lambda's names, which appear in 403 messages):
/// ```
/// Registered ──/event/next──► Ready ──event delivered──► Running ──/event/next──► Ready …
/// Registered ──/init/error──► InitError        Registered|Ready|Running ──/exit/error──► ExitError
/// any ──process exit──► Exited
/// ```
package struct ExtensionRegistry: Sendable {
    /// Lambda's limit on extensions per function.
    package static let maxExtensions = 10

    /// The events an extension may subscribe to.
    package enum EventType: String, Sendable, CaseIterable {
        case invoke = "INVOKE"
        case shutdown = "SHUTDOWN"
    }

    /// An extension's state; the raw values are Lambda's.
    package enum State: String, Sendable {
        case registered = "Registered"
        case ready = "Ready"
        case running = "Running"
        case initError = "InitError"
        case exitError = "ExitError"
        case exited = "Exited"
    }

    /// One registered extension.
    package struct Extension: Sendable, Equatable {
        package var id: String
        package var name: String
        /// External extensions are processes launched from the extensions directory; internal ones are
        /// threads of the runtime that registered under another name.
        package var isExternal: Bool
        package var events: [EventType]
        package var state: State
        /// Whether its `/event/next` is being held open now.
        package var waiting = false
        /// An event to hand out at its next `/event/next`, when none was being held.
        package var pendingEvent: ExtensionEvent?

        package func subscribes(_ event: EventType) -> Bool { events.contains(event) }
    }

    /// File names of the external extensions launched, in launch order.
    package private(set) var launched: [String] = []
    package private(set) var extensions: [Extension] = []
    /// Registration closes when the runtime calls `/next` for the first time.
    package var registrationClosed = false
    /// In a managed-instance environment extensions may subscribe to SHUTDOWN only.
    package var managedInstance = false

    package init(managedInstance: Bool = false) { self.managedInstance = managedInstance }

    /// Records the external extensions about to be launched.
    package mutating func launch(names: [String]) {
        launched = names
        extensions = []
        registrationClosed = false
    }

    /// True once every launched external extension has registered.
    package var allLaunchedRegistered: Bool {
        launched.allSatisfy { name in extensions.contains { $0.isExternal && $0.name == name } }
    }

    /// True once every registered extension has called `/event/next` at least once.
    package var allReady: Bool {
        extensions.allSatisfy { $0.state != .registered }
    }

    /// The extension with this identifier.
    package func find(_ id: String) -> Extension? { extensions.first { $0.id == id } }

    package mutating func update(_ id: String, _ change: (inout Extension) -> Void) {
        guard let index = extensions.firstIndex(where: { $0.id == id }) else { return }
        change(&extensions[index])
    }

    /// Validates and records a registration under the identifier `newID`.
    package mutating func register(
        _ registration: ExtensionRegistration, newID: String
    ) -> Result<Extension, ExtensionRejection> {
        guard let name = registration.name, !name.isEmpty else { return .failure(.invalidExtensionName) }
        let events: [EventType]
        switch registration.events {
        case .success(let parsed): events = parsed
        case .failure(let rejection): return .failure(rejection)
        }
        let isExternal = launched.contains(name)
        if managedInstance && !events.isEmpty {
            // Lambda Managed Instances deliver no INVOKE events, and internal extensions subscribe to nothing.
            if !isExternal { return .failure(.eventsForInternalExtension) }
            if events.contains(.invoke) { return .failure(.invokeNotDelivered) }
        }
        if isExternal, let existing = extensions.first(where: { $0.isExternal && $0.name == name }) {
            // Lambda names the extension's current state (Registered, Ready, Running, ...).
            return .failure(.invalidTransition(from: existing.state, to: .registered, id: name))
        }
        if !isExternal {
            if events.contains(.shutdown) { return .failure(.shutdownForInternalExtension) }
            if registrationClosed { return .failure(.registrationClosed) }
            if extensions.contains(where: { $0.name == name }) { return .failure(.nameTaken) }
        }
        if extensions.count >= Self.maxExtensions { return .failure(.tooManyExtensions(limit: Self.maxExtensions)) }
        let registered = Extension(id: newID, name: name, isExternal: isExternal, events: events, state: .registered)
        extensions.append(registered)
        return .success(registered)
    }

    /// Why a `Lambda-Extension-Identifier` header names no extension.
    package enum IdentifierRejection: Error, Equatable, Sendable {
        /// The header is absent or empty.
        case missing
        /// The header is not a UUID.
        case invalid
        /// No extension has this identifier.
        case unknown(String)

        /// The refusal of a call with this header: `/event/next` and subscriptions name an unknown identifier,
        /// error reports (`errorReport`) do not.
        package func rejection(errorReport: Bool = false) -> ExtensionRejection {
            switch self {
            case .missing: return .missingIdentifier
            case .invalid: return .invalidIdentifier
            case .unknown(let header): return errorReport ? .unknownReporter : .unknownExtension(identifier: header)
            }
        }
    }

    /// The extension the `Lambda-Extension-Identifier` header names, or why it names none.
    package func identify(_ header: String?) -> Result<Extension, IdentifierRejection> {
        guard let header, !header.isEmpty else { return .failure(.missing) }
        guard Identifiers.isUUID(header) else { return .failure(.invalid) }
        guard let found = find(header.lowercased()) ?? find(header) else { return .failure(.unknown(header)) }
        return .success(found)
    }
}
