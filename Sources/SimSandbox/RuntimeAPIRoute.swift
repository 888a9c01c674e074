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
        var path = path
        self = path.withUTF8 { Self.route(method: method, path: Slice(base: $0, bounds: $0.indices)) }
    }

    /// Matched on the bytes, without splitting or copying: this runs three times per invoke.
    private static func route(method: String, path: Slice<UnsafeBufferPointer<UInt8>>) -> RuntimeAPIRoute {
        func only(_ allowed: String, _ route: RuntimeAPIRoute) -> RuntimeAPIRoute {
            method == allowed ? route : .methodNotAllowed(allow: allowed)
        }
        var rest = path
        if consume("/2018-06-01/", from: &rest) {
            if matches(rest, "runtime/invocation/next") { return only("GET", .next) }
            if consume("runtime/invocation/", from: &rest), let slash = rest.firstIndex(of: UInt8(ascii: "/")) {
                let id = String(decoding: rest[..<slash], as: UTF8.self)
                let action = rest[(slash + 1)...]
                if matches(action, "response") { return only("POST", .response(requestID: id)) }
                if matches(action, "error") { return only("POST", .error(requestID: id)) }
                return .notFound
            }
            if matches(rest, "ping") { return only("GET", .ping) }
            if matches(rest, "runtime/init/error") { return only("POST", .initError) }
            return .notFound
        }
        if consume("/2020-01-01/extension/", from: &rest) {
            if matches(rest, "register") { return only("POST", .extensionRegister) }
            if matches(rest, "event/next") { return only("GET", .extensionNext) }
            if matches(rest, "init/error") { return only("POST", .extensionInitError) }
            if matches(rest, "exit/error") { return only("POST", .extensionExitError) }
            return .notFound
        }
        if matches(path, "/2022-07-01/telemetry") || matches(path, "/2022-07-01/telemetry/") {
            return only("PUT", .telemetrySubscribe)
        }
        if matches(path, "/2020-08-15/logs") || matches(path, "/2020-08-15/logs/") {
            return only("PUT", .logsSubscribe)
        }
        return .notFound
    }

    /// Whether `bytes` are exactly `literal`.
    private static func matches(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, _ literal: StaticString) -> Bool {
        bytes.count == literal.utf8CodeUnitCount && hasPrefix(bytes, literal)
    }

    /// Whether `bytes` begin with `literal`.
    private static func hasPrefix(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let start = bytes.startIndex
        for offset in 0..<count where bytes[start + offset] != literal.utf8Start[offset] { return false }
        return true
    }

    /// Removes `prefix` from the front of `bytes`; false (and `bytes` unchanged) when it is not there.
    private static func consume(_ prefix: StaticString, from bytes: inout Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        guard hasPrefix(bytes, prefix) else { return false }
        bytes = bytes.dropFirst(prefix.utf8CodeUnitCount)
        return true
    }
}
