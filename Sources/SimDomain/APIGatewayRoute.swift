/// One API Gateway route of the HTTP front end: which API serves it, the method and path pattern it answers, the
/// payload format and the function it invokes. The library's `HTTPFrontEndOptions.Route` is this type, and the
/// front end's route table matches requests against it.
public struct APIGatewayRoute: Sendable, Equatable {
    /// Which kind of API serves a route, and so the event's and the response's format.
    public enum API: Sendable, Equatable {
        /// An HTTP API (`HttpApi` event): payload format 2.0, or 1.0 when so configured.
        case http
        /// A REST API (`Api` event): payload format 1.0 with REST's request context.
        case rest
    }

    /// HTTP API or REST API.
    public var api: API
    /// Upper-case method or `ANY`.
    public var method: String
    /// Path pattern (`/items/{id}`, `/{proxy+}`) or `$default`.
    public var path: String
    /// `2.0` or `1.0`: the event and response format.
    public var payloadFormatVersion: String
    /// The function invoked.
    public var function: String

    /// A route of `api` invoking `function`.
    public init(api: API, method: String, path: String, payloadFormatVersion: String, function: String) {
        self.api = api
        self.method = method
        self.path = path
        self.payloadFormatVersion = payloadFormatVersion
        self.function = function
    }

    /// The route key API Gateway reports: `GET /items/{id}`, or `$default`.
    public var routeKey: String { path == "$default" ? "$default" : "\(method) \(path)" }
}
