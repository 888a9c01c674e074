import SimCore

/// Where a subscriber's batches go: a listener of the extension, inside the sandbox.
package enum SubscriptionDestination: Equatable, Sendable {
    /// `POST` JSON arrays to `http://<host>:<port><path>`; `host` as written in the URI (`sandbox.localdomain`
    /// or `sandbox`), which the simulator maps to the loopback address.
    case http(host: String, port: Int, path: String)
    /// Newline-delimited JSON over a TCP stream to `port`.
    case tcp(port: Int)

    /// The host names that mean "inside the sandbox".
    package static let sandboxHosts = ["sandbox.localdomain", "sandbox"]
    /// The Runtime API's port, which no subscriber may use.
    package static let reservedPort = 9001

    /// The destination port.
    package var port: Int {
        switch self {
        case .http(_, let port, _), .tcp(let port): return port
        }
    }

    static func parse(_ value: JSONValue?, problems: inout [String]) -> SubscriptionDestination? {
        guard let value, value != .null else {
            problems.append("destination is not provided")
            return nil
        }
        guard case .object = value else {
            problems.append("destination must be an object")
            return nil
        }
        guard let protocolValue = value["protocol"], protocolValue != .null else {
            problems.append("destination protocol is not provided")
            return nil
        }
        switch protocolValue.stringValue {
        case "HTTP":
            guard let uri = value["URI"], uri != .null else {
                problems.append("URI is not provided")
                return nil
            }
            guard let parsed = parseURI(uri, schemes: ["http"], problems: &problems) else { return nil }
            return .http(host: parsed.host, port: parsed.port, path: parsed.path)
        case "TCP":
            if let port = value["port"], port != .null {
                guard case .number(let text) = port, let number = Int(text), (1...65_535).contains(number) else {
                    problems.append("port must be an integer between 1 and 65535")
                    return nil
                }
                guard number != reservedPort else {
                    problems.append("port \(reservedPort) is reserved for the Runtime API")
                    return nil
                }
                return .tcp(port: number)
            }
            guard let uri = value["URI"], uri != .null else {
                problems.append("port is not provided")
                return nil
            }
            return parseURI(uri, schemes: ["tcp", "http"], problems: &problems).map { .tcp(port: $0.port) }
        default:
            problems.append("destination protocol must be HTTP or TCP")
            return nil
        }
    }

    /// Splits `scheme://host:port/path`, checking the scheme, that the host is the sandbox and the port.
    private static func parseURI(
        _ value: JSONValue, schemes: [String], problems: inout [String]
    ) -> (host: String, port: Int, path: String)? {
        guard let uri = value.stringValue, !uri.isEmpty else {
            problems.append("URI must be a non-empty string")
            return nil
        }
        guard let separator = uri.firstRange(of: "://") else {
            problems.append("URI must be absolute, e.g. http://sandbox.localdomain:8080/telemetry")
            return nil
        }
        let scheme = uri[..<separator.lowerBound].lowercased()
        guard schemes.contains(scheme) else {
            problems.append("URI scheme must be \(schemes.joined(separator: " or ")), not \(scheme)")
            return nil
        }
        let rest = uri[separator.upperBound...]
        let authorityEnd = rest.firstIndex(where: { (c: Character) in "/?#".contains(c) }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if let fragment = path.firstIndex(of: "#") { path = String(path[..<fragment]) }
        if !path.hasPrefix("/") { path = "/" + path }
        guard !authority.contains("@") else {
            problems.append("URI must not contain user information")
            return nil
        }
        let colon = authority.lastIndex(of: ":")
        let host = String(authority[..<(colon ?? authority.endIndex)]).lowercased()
        var result: (host: String, port: Int, path: String)? = nil
        var port = 0
        if let colon, !authority[authority.index(after: colon)...].isEmpty {
            let text = authority[authority.index(after: colon)...]
            if let number = Int(text), (1...65_535).contains(number), text.allSatisfy({ $0 >= "0" && $0 <= "9" }) {
                port = number
            } else {
                problems.append("URI port must be between 1 and 65535")
            }
        } else {
            problems.append("URI port is not provided")
        }
        if host.isEmpty {
            problems.append("URI host is not provided")
        } else if !sandboxHosts.contains(host) {
            problems.append("URI host must be sandbox.localdomain (the listener runs inside the sandbox), not \(host)")
        }
        if port == reservedPort {
            problems.append("URI port \(reservedPort) is reserved for the Runtime API")
        } else if port != 0, sandboxHosts.contains(host) {
            result = (host, port, path)
        }
        return result
    }
}
