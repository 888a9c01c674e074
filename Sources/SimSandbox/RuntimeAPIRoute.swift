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
        let prefix = "/2018-06-01/"
        guard path.hasPrefix(prefix) else {
            self = .notFound
            return
        }
        let parts = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1 where parts[0] == "ping":
            self = only("GET", .ping)
        case 3 where parts[0] == "runtime" && parts[1] == "invocation" && parts[2] == "next":
            self = only("GET", .next)
        case 3 where parts[0] == "runtime" && parts[1] == "init" && parts[2] == "error":
            self = only("POST", .initError)
        case 4 where parts[0] == "runtime" && parts[1] == "invocation" && parts[3] == "response":
            self = only("POST", .response(requestID: String(parts[2])))
        case 4 where parts[0] == "runtime" && parts[1] == "invocation" && parts[3] == "error":
            self = only("POST", .error(requestID: String(parts[2])))
        default:
            self = .notFound
        }
    }
}
