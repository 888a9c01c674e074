/// A request to a sandbox's Runtime API, decoded from method and path.
package enum RuntimeAPIRoute: Equatable, Sendable {
    /// `GET /2018-06-01/runtime/invocation/next`
    case next
    /// `POST /2018-06-01/runtime/invocation/{id}/response`
    case response(requestID: String)
    /// `POST /2018-06-01/runtime/invocation/{id}/error`
    case error(requestID: String)
    /// `POST /2018-06-01/runtime/init/error`
    case initError
    /// `GET /2018-06-01/ping`, Lambda's legacy health check.
    case ping
    /// `POST /2020-01-01/extension/register`
    case extensionRegister
    /// `GET /2020-01-01/extension/event/next`
    case extensionNext
    /// `POST /2020-01-01/extension/init/error`
    case extensionInitError
    /// `POST /2020-01-01/extension/exit/error`
    case extensionExitError
    /// `PUT /2022-07-01/telemetry` (a trailing `/` allowed)
    case telemetrySubscribe
    /// `PUT /2020-08-15/logs` (a trailing `/` allowed)
    case logsSubscribe
    /// No such path: 404.
    case notFound
    /// The path exists but not for this method: 405 with `Allow`.
    case methodNotAllowed(allow: String)

    /// Decodes `method` and `path` (the query already removed).
    package init(method: String, path: String) {
        func only(_ allowed: String, _ route: RuntimeAPIRoute) -> RuntimeAPIRoute {
            method == allowed ? route : .methodNotAllowed(allow: allowed)
        }
        switch path {
        case "/2020-01-01/extension/register":
            self = only("POST", .extensionRegister)
            return
        case "/2020-01-01/extension/event/next":
            self = only("GET", .extensionNext)
            return
        case "/2020-01-01/extension/init/error":
            self = only("POST", .extensionInitError)
            return
        case "/2020-01-01/extension/exit/error":
            self = only("POST", .extensionExitError)
            return
        case "/2022-07-01/telemetry", "/2022-07-01/telemetry/":
            self = only("PUT", .telemetrySubscribe)
            return
        case "/2020-08-15/logs", "/2020-08-15/logs/":
            self = only("PUT", .logsSubscribe)
            return
        default:
            break
        }
        // Matched on the bytes, without splitting: this runs three times per invoke.
        var rest = Substring(path).utf8
        guard Self.consume("/2018-06-01/", from: &rest) else {
            self = .notFound
            return
        }
        if rest.elementsEqual("ping".utf8) {
            self = only("GET", .ping)
        } else if rest.elementsEqual("runtime/invocation/next".utf8) {
            self = only("GET", .next)
        } else if rest.elementsEqual("runtime/init/error".utf8) {
            self = only("POST", .initError)
        } else if Self.consume("runtime/invocation/", from: &rest), let slash = rest.firstIndex(of: UInt8(ascii: "/")) {
            let id = rest[..<slash]
            let action = rest[rest.index(after: slash)...]
            if action.elementsEqual("response".utf8) {
                self = only("POST", .response(requestID: String(Substring(id))))
            } else if action.elementsEqual("error".utf8) {
                self = only("POST", .error(requestID: String(Substring(id))))
            } else {
                self = .notFound
            }
        } else {
            self = .notFound
        }
    }

    /// Removes `prefix` from the front of `bytes`; false (and `bytes` unchanged) when it is not there.
    private static func consume(_ prefix: StaticString, from bytes: inout Substring.UTF8View) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        var index = bytes.startIndex
        for offset in 0..<count {
            guard bytes[index] == prefix.utf8Start[offset] else { return false }
            index = bytes.index(after: index)
        }
        bytes = bytes[index...]
        return true
    }
}
