import SimCore
import SimDomain
import SimHTTP
import SimOrchestrator
import SimSandbox
import SimUV

/// The HTTP front end of `serve --template` (`--http-port`): API Gateway routes (HTTP APIs, REST APIs) and
/// Function URLs (`/lambda-url/<function>/…`, or `Host: <function>.lambda-url.<anything>`) in front of the
/// function pools, turning requests into API Gateway events and results back into HTTP responses. Loop-confined.
package final class HTTPFrontEnd {
    private let loop: EventLoop
    private var server: HTTPServer?
    private let routes: HTTPRouteTable
    /// Pools by function name (and alias).
    private var pools: [String: FunctionPool] = [:]
    /// Functions with a URL → whether it streams (`InvokeMode: RESPONSE_STREAM`).
    private let functionURLs: [String: Bool]
    private let clock: any SimClock
    private let sourceIP: String
    /// The bound port.
    package private(set) var port = 0

    /// Path prefix of Function URLs on the shared port.
    static let urlPrefix = "/lambda-url/"
    /// Most bytes of a streamed response's prelude (the JSON before the 8 NUL bytes).
    static let maxPreludeBytes = 64 * 1024

    /// Listens on `host:port` and serves `routes` and `functionURLs` (function → streaming) with `pools`.
    package init(
        loop: EventLoop, host: String, port: Int, routes: [HTTPRouteTable.Route], functionURLs: [String: Bool],
        pools: [FunctionPool], clock: any SimClock = SystemClock()
    ) throws {
        loop.assertInLoop()
        self.loop = loop
        self.routes = HTTPRouteTable(routes)
        self.functionURLs = functionURLs
        self.clock = clock
        // When the peer's address cannot be read (IPv6): the listening address, or loopback for a wildcard.
        sourceIP = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        for pool in pools {
            self.pools[pool.function.name] = pool
            for alias in pool.function.aliases { self.pools[alias] = pool }
        }
        var configuration = HTTPServer.Configuration()
        configuration.maxBodyBytes = Limits.maxSyncRequestBytes
        configuration.maxConnections = InvokeAPIServer.connectionCap()
        let server = try HTTPServer(loop: loop, host: host, port: port, configuration: configuration) {
            [weak self] request, responder in
            self?.handle(request, responder)
        }
        self.server = server
        self.port = server.port
    }

    /// Stops listening and closes connections.
    package func close() {
        server?.close()
        server = nil
    }

    private func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let requestID = Identifiers.uuid()
        if request.bodyTooLarge {
            // More than an invoke may carry: refused before any function runs.
            return responder.send(APIGatewayResponse.tooLarge(requestID: requestID))
        }
        let (rawPath, rawQuery) = Self.split(request.target)
        var frontRequest = FrontEndRequest(
            method: request.method, rawPath: rawPath, rawQueryString: rawQuery,
            headers: request.headers.map { ($0.name, $0.value) }, body: request.body,
            sourceIP: responder.socket?.peerIPv4Text ?? sourceIP,
            httpProtocol: "HTTP/\(request.versionMajor).\(request.versionMinor)", requestID: requestID,
            epochMilliseconds: clock.epochMilliseconds)
        if let (function, path) = functionURLTarget(request, rawPath: rawPath) {
            guard let streaming = functionURLs[function], let pool = pools[function] else {
                return responder.send(APIGatewayResponse.notFound(requestID: requestID))
            }
            frontRequest.rawPath = path
            let context = self.context(for: pool, api: nil)
            let event = APIGatewayEvent.version2(
                frontRequest, routeKey: "$default", pathParameters: [], context: context)
            return invoke(
                pool, event: event, request: frontRequest, front: .functionURL, streaming: streaming, responder)
        }
        guard let match = routes.match(method: request.method, path: rawPath), let pool = pools[match.route.function]
        else { return responder.send(APIGatewayResponse.notFound(requestID: requestID)) }
        let route = match.route
        let context = self.context(for: pool, api: route.api)
        let front: APIGatewayResponse.Front
        let event: [UInt8]
        if route.payloadFormatVersion == .v2 {
            front = .httpAPI
            event = APIGatewayEvent.version2(
                frontRequest, routeKey: route.routeKey, pathParameters: match.pathParameters, context: context)
        } else {
            front = route.api == .rest ? .restAPI : .httpAPIVersion1
            event = APIGatewayEvent.version1(
                frontRequest, resource: route.path, pathParameters: match.pathParameters, context: context,
                isRESTAPI: route.api == .rest)
        }
        invoke(pool, event: event, request: frontRequest, front: front, streaming: false, responder)
    }

    /// `(function, path)` of a Function URL request: `/lambda-url/<function>/rest`, or a `Host` of
    /// `<function>.lambda-url.<anything>`.
    private func functionURLTarget(_ request: HTTPRequest, rawPath: String) -> (String, String)? {
        if rawPath.hasPrefix(Self.urlPrefix) {
            let rest = rawPath.dropFirst(Self.urlPrefix.count)
            let name = rest.prefix { $0 != "/" }
            let path = rest.dropFirst(name.count)
            return (String(name), path.isEmpty ? "/" : String(path))
        }
        guard let host = request.headers["Host"], let dot = host.firstIndex(of: "."),
            host[host.index(after: dot)...].hasPrefix("lambda-url.")
        else { return nil }
        return (String(host[..<dot]), rawPath)
    }

    private func invoke(
        _ pool: FunctionPool, event: [UInt8], request: FrontEndRequest, front: APIGatewayResponse.Front,
        streaming: Bool, _ responder: HTTPResponder
    ) {
        let invocation = Invocation(
            requestID: request.requestID, payload: event, contentType: "application/json",
            invokedFunctionARN: pool.functionARN,
            traceID: Identifiers.traceHeader(epochMilliseconds: request.epochMilliseconds), clientContext: nil,
            tenantID: nil, wantsLogTail: false, isAsync: false)
        let requestID = request.requestID
        if streaming {
            let relay = StreamRelay(responder: responder, requestID: requestID)
            let sink = ResponseStreamSink()
            sink.onStart = { contentType in relay.start(contentType: contentType) }
            sink.onChunk = { bytes in relay.chunk(bytes) }
            sink.isBackedUp = { [weak responder] in responder?.hasBackedUpOutput ?? false }
            responder.onWritable = { [weak sink] in sink?.writable() }
            ResponseStreams.register(sink, for: requestID)
            pool.submit(
                invocation,
                answer: { (answer: PoolAnswer) in
                    ResponseStreams.remove(requestID)
                    switch answer {
                    case .result(let result): relay.finish(result, streamed: sink.started)
                    case .throttled: responder.send(APIGatewayResponse.throttled(front, requestID: requestID))
                    }
                })
            return
        }
        pool.submit(
            invocation,
            answer: { (answer: PoolAnswer) in
                switch answer {
                case .result(let result): responder.send(APIGatewayResponse.map(result, front: front))
                case .throttled: responder.send(APIGatewayResponse.throttled(front, requestID: requestID))
                }
            })
    }

    /// Request contexts by function and API (`nil`: the function's URL), made once.
    private var contexts: [String: APIGatewayEvent.Context] = [:]

    /// Where a request to `pool`'s function through `api` (nil: its Function URL) came in.
    private func context(for pool: FunctionPool, api: HTTPRouteTable.Route.API?) -> APIGatewayEvent.Context {
        let key = "\(pool.function.name) \(api.map { "\($0)" } ?? "url")"
        if let known = contexts[key] { return known }
        let context: APIGatewayEvent.Context
        switch api {
        case nil:
            let urlID = Self.urlID(pool.function.name)
            context = APIGatewayEvent.Context(
                apiID: urlID, domainName: "\(urlID).lambda-url.\(pool.function.region).on.aws", stage: "$default",
                accountID: pool.function.accountID)
        case .some(let api):
            let apiID = Self.urlID(api == .rest ? "rest-api" : "http-api")
            context = APIGatewayEvent.Context(
                apiID: apiID, domainName: "\(apiID).execute-api.\(pool.function.region).amazonaws.com",
                stage: api == .rest ? "Prod" : "$default", accountID: pool.function.accountID)
        }
        contexts[key] = context
        return context
    }

    /// The path and query of a request target.
    static func split(_ target: String) -> (String, String) {
        guard let mark = target.firstIndex(of: "?") else { return (target, "") }
        return (String(target[..<mark]), String(target[target.index(after: mark)...]))
    }

    /// A stable 10-character lower-case id for `name` (API ids and url-ids look like this).
    static func urlID(_ name: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<10).map { index in alphabet[Int((hash >> (UInt64(index) * 6)) % 36)] })
    }
}
