import SimCore
import SimHTTP
import SimUV
import Synchronization

/// How an invoke runs: the Invoke API's `X-Amz-Invocation-Type`.
public enum InvocationType: String, Sendable, CaseIterable {
    /// Synchronous: the answer is the function's response (200, also when the function failed).
    case requestResponse = "RequestResponse"
    /// Asynchronous: queued and answered 202 at once; Lambda's retries apply.
    case event = "Event"
    /// Validates the request only: 204.
    case dryRun = "DryRun"
}

/// Whether an invoke's answer carries the last 4 KB of its log: the Invoke API's `X-Amz-Log-Type`.
public enum LogType: String, Sendable, CaseIterable {
    /// No log.
    case none = "None"
    /// The log tail, base64 in `X-Amz-Log-Result` (decoded into `InvokeClient.Response.log`).
    case tail = "Tail"
}

/// A small Invoke API client, for `lambda-sim invoke` and for programs embedding the simulator. Requests go out on
/// one event loop shared by the process (`Simulator.invoke` uses the simulator's own).
public enum InvokeClient {
    /// What an invoke returned.
    public struct Response: Sendable {
        /// HTTP status: 200 for RequestResponse (even on function errors), 202 Event, 204 DryRun.
        public var status: Int
        /// `x-amzn-RequestId`.
        public var requestID: String?
        /// `X-Amz-Function-Error`, set when the function failed.
        public var functionError: String?
        /// `x-amzn-ErrorType` of a service error.
        public var errorType: String?
        /// The decoded `X-Amz-Log-Result`.
        public var log: String?
        /// The response payload.
        public var body: [UInt8]
        /// Every response header (`x-amzn-RequestId`, `X-Amz-Executed-Version`, `X-Amzn-Trace-Id`, …).
        public var headers: Headers
        /// The payload as text (UTF-8, invalid bytes replaced).
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// For a function error: the `errorType` of its error body, when the body is Lambda's JSON error object.
        public var functionErrorType: String? { functionError == nil ? nil : errorField("errorType") }
        /// For a function error: the `errorMessage` of its error body.
        public var functionErrorMessage: String? { functionError == nil ? nil : errorField("errorMessage") }

        private func errorField(_ name: String) -> String? {
            guard case .object(let members)? = try? JSON.parse(body) else { return nil }
            for (key, value) in members where key == name {
                if case .string(let text) = value { return text }
            }
            return nil
        }
    }

    /// Response headers in the order they came, looked up by name without regard to case.
    public struct Headers: Sendable, Sequence {
        fileprivate let fields: HTTPHeaders

        /// The first value of the header `name`, if it came.
        public subscript(name: String) -> String? { fields[name] }

        /// Whether the header `name` came.
        public func contains(_ name: String) -> Bool { fields.contains(name) }

        /// Every value of the header `name`, in order.
        public func values(_ name: String) -> [String] { fields.values(name) }

        /// An iterator over `(name, value)` pairs.
        public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
            fields.map { (name: $0.name, value: $0.value) }.makeIterator()
        }
    }

    /// Why an invoke could not be sent.
    public enum Failure: Error, CustomStringConvertible {
        /// The endpoint is not `http://host:port`.
        case badEndpoint(String)

        /// A one-line explanation.
        public var description: String {
            switch self {
            case .badEndpoint(let text): return "endpoint must look like http://127.0.0.1:9000, got '\(text)'"
            }
        }
    }

    /// Invokes `function` at `endpoint` (`http://host:port`) with `payload`, `type` and `logType`, and a client
    /// context (a JSON object, sent base64 in `X-Amz-Client-Context`).
    /// `qualifier` is a version or alias (`?Qualifier=`); `headers` are further request headers, sent as they are
    /// (they replace the ones these settings make: a raw `X-Amz-Invocation-Type` to see how the API answers it).
    public static func invoke(
        endpoint: String, function: String, payload: [UInt8] = [], type: InvocationType = .requestResponse,
        logType: LogType = .none, clientContext: String? = nil, qualifier: String? = nil,
        headers: [(String, String)] = []
    ) async throws -> Response {
        let (host, port) = try address(of: endpoint)
        return try await send(
            request(
                function: function, payload: payload, type: type.rawValue, logType: logType.rawValue,
                clientContext: clientContext, qualifier: qualifier, extraHeaders: headers),
            loop: sharedLoop(), host: host, port: port)
    }

    /// The Invoke API request for these settings.
    static func request(
        function: String, payload: [UInt8], type: String, logType: String, clientContext: String? = nil,
        qualifier: String? = nil, extraHeaders: [(String, String)] = []
    ) -> HTTPRequest {
        var headers: HTTPHeaders = [
            "Content-Type": "application/json", "X-Amz-Invocation-Type": type, "X-Amz-Log-Type": logType,
        ]
        if let clientContext { headers.add("X-Amz-Client-Context", Base64.encode(Array(clientContext.utf8))) }
        for (name, value) in extraHeaders { headers[name] = value }
        let query = qualifier.map { "?Qualifier=\($0.replacingColons)" } ?? ""
        return HTTPRequest(
            method: "POST", target: "/2015-03-31/functions/\(function.replacingColons)/invocations\(query)",
            headers: headers, body: payload)
    }

    /// Sends `request` on `loop` and reads the answer into a `Response`.
    static func send(_ request: HTTPRequest, loop: EventLoop, host: String, port: Int) async throws -> Response {
        let response = try await HTTPClient.request(loop: loop, host: host, port: port, request)
        return Response(
            status: response.status, requestID: response.headers["x-amzn-RequestId"],
            functionError: response.headers["X-Amz-Function-Error"], errorType: response.headers["x-amzn-ErrorType"],
            log: response.headers["X-Amz-Log-Result"].flatMap(Base64.decode).map {
                String(decoding: $0, as: UTF8.self)
            },
            body: response.body, headers: Headers(fields: response.headers))
    }

    private static func address(of endpoint: String) throws -> (String, Int) {
        guard endpoint.hasPrefix("http://") else { throw Failure.badEndpoint(endpoint) }
        let authority = endpoint.dropFirst("http://".count).prefix { $0 != "/" }
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...])
        else { throw Failure.badEndpoint(endpoint) }
        return (String(authority[..<colon]), port)
    }

    /// The loop every `InvokeClient` request goes out on, started on first use and kept for the process.
    private static func sharedLoop() throws -> EventLoop {
        try clientLoop.withLock { loop in
            if let loop { return loop }
            let created = try EventLoop(name: "invoke-client")
            loop = created
            return created
        }
    }

    private static let clientLoop = Mutex<EventLoop?>(nil)
}

extension String {
    /// The name with `:` percent-encoded, as SDKs send ARNs in the path.
    fileprivate var replacingColons: String {
        var out = ""
        for c in self { out += c == ":" ? "%3A" : String(c) }
        return out
    }
}
