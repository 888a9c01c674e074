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

    /// The format of the event a route sends and of the response it expects (`PayloadFormatVersion`).
    public enum PayloadFormatVersion: String, Sendable, CaseIterable {
        /// `1.0`: REST API's event (`resource`, `httpMethod`, multi-value headers), as every REST API and an HTTP
        /// API configured for it send.
        case v1 = "1.0"
        /// `2.0`: HTTP API's event (`routeKey`, `rawPath`, `cookies`), an HTTP API's default.
        case v2 = "2.0"
    }

    /// HTTP API or REST API.
    public var api: API
    /// Upper-case method or `ANY`.
    public var method: String
    /// Path pattern (`/items/{id}`, `/{proxy+}`) or `$default`.
    public var path: String
    /// The event and response format: `v2` or `v1`.
    public var payloadFormatVersion: PayloadFormatVersion
    /// The function invoked.
    public var function: String

    /// A route of `api` invoking `function`.
    public init(api: API, method: String, path: String, payloadFormatVersion: PayloadFormatVersion, function: String) {
        self.api = api
        self.method = method
        self.path = path
        self.payloadFormatVersion = payloadFormatVersion
        self.function = function
    }

    /// The route key API Gateway reports: `GET /items/{id}`, or `$default`.
    public var routeKey: String { path == "$default" ? "$default" : "\(method) \(path)" }
}
