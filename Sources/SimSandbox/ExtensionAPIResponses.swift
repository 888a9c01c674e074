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

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
