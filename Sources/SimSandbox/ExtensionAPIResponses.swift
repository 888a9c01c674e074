import SimCore
import SimDomain
import SimHTTP

/// Renders Extensions API responses.
package enum ExtensionAPIResponses {
    package static let nameHeader = "Lambda-Extension-Name"
    package static let identifierHeader = "Lambda-Extension-Identifier"
    package static let acceptFeatureHeader = "Lambda-Extension-Accept-Feature"
    package static let eventIdentifierHeader = "Lambda-Extension-Event-Identifier"
    package static let errorTypeHeader = "Lambda-Extension-Function-Error-Type"

    /// 200 for a registration: the identifier header and the function's metadata (plus `accountId` when
    /// the extension accepts that feature).
    package static func registered(
        _ ext: ExtensionRegistry.Extension, function: FunctionSpec, acceptFeature: String?
    ) -> HTTPResponse {
        var members: [(String, JSONValue)] = [
            ("functionName", .string(function.name)),
            ("functionVersion", .string(function.version)),
            ("handler", .string(function.handler ?? "")),
        ]
        let features = (acceptFeature ?? "").split(separator: ",").map { $0.trimmingCharacters(in: " ") }
        if features.contains("accountId") { members.append(("accountId", .string(function.accountID))) }
        return HTTPResponse(
            status: 200, headers: ["Content-Type": "application/json", identifierHeader: ext.id],
            body: Array(JSONValue.object(members).serialized.utf8))
    }

    /// 200 with one event from `/event/next`, serialised.
    package static func event(_ event: ExtensionEvent) -> HTTPResponse {
        HTTPResponse(
            status: 200,
            headers: ["Content-Type": "application/json", eventIdentifierHeader: Identifiers.uuid()],
            body: Array(ExtensionEvents.json(event).utf8))
    }
}

extension RuntimeAPIError {
    /// The 403 Lambda's agent answers `rejection` with.
    package init(_ rejection: ExtensionRejection) {
        switch rejection {
        case .invalidRequest(let reason):
            self = .forbidden("InvalidRequestFormat", reason)
        case .invalidEventType(let shown):
            self = .forbidden("Extension.InvalidEventType", "\(shown): ErrorInvalidEventType")
        case .invalidExtensionName:
            self = .forbidden("Extension.InvalidExtensionName", "Empty extension name")
        case .eventsForInternalExtension:
            self = .forbidden("Extension.InvalidEventType", "No events allowed for internal extensions")
        case .invokeNotDelivered:
            self = .forbidden("Extension.InvalidEventType", "INVOKE: ErrorInvalidEventType")
        case .shutdownForInternalExtension:
            self = .forbidden("Extension.InvalidEventType", "SHUTDOWN: ShutdownEventNotSupportedForInternalExtension")
        case .registrationClosed:
            self = .forbidden("Extension.RegistrationClosed", "Extension registration closed already")
        case .nameTaken:
            self = .forbidden("Extension.InvalidExtensionState", "Extension with this name already registered")
        case .tooManyExtensions(let limit):
            self = .forbidden("Extension.TooManyExtensions", "Extension limit (\(limit)) reached")
        case .invalidTransition(let from, let to, let id):
            self = .forbidden(
                "Extension.InvalidExtensionState",
                "State transition from \(from.rawValue) to \(to.rawValue) failed for extension \(id). Error: State transition is not allowed"
            )
        case .missingIdentifier:
            self = .forbidden("Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier header")
        case .invalidIdentifier:
            self = .forbidden("Extension.InvalidExtensionIdentifier", "Invalid Lambda-Extension-Identifier")
        case .unknownExtension(let identifier):
            self = .forbidden("Extension.UnknownExtensionIdentifier", "Unknown extension \(identifier)")
        case .unknownReporter:
            self = .forbidden("Extension.UnknownExtensionIdentifier", "Unknown Lambda-Extension-Identifier")
        case .missingErrorType:
            self = .forbidden("Extension.MissingHeader", "Lambda-Extension-Function-Error-Type not found")
        }
    }

    /// Every Extensions API client error is a 403.
    package static func forbidden(_ type: String, _ message: String) -> RuntimeAPIError {
        RuntimeAPIError(status: 403, errorType: type, errorMessage: message)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
