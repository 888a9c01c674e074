import SimCore
import SimHTTP
import SimUV

/// A small Invoke API client, for `lambda-sim invoke` and for programs embedding the simulator.
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

    /// Invokes `function` at `endpoint` (`http://host:port`) with `payload`.
    public static func invoke(
        endpoint: String, function: String, payload: [UInt8], invocationType: String = "RequestResponse",
        tail: Bool = false
    ) async throws -> Response {
        guard endpoint.hasPrefix("http://") else { throw Failure.badEndpoint(endpoint) }
        let authority = endpoint.dropFirst("http://".count).prefix { $0 != "/" }
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...])
        else { throw Failure.badEndpoint(endpoint) }
        let host = String(authority[..<colon])
        var headers: HTTPHeaders = ["Content-Type": "application/json", "X-Amz-Invocation-Type": invocationType]
        if tail { headers.add("X-Amz-Log-Type", "Tail") }
        let name = function.replacingColons
        let request = HTTPRequest(
            method: "POST", target: "/2015-03-31/functions/\(name)/invocations", headers: headers, body: payload)
        let loop = try EventLoop()
        let response: HTTPResponse
        do {
            response = try await HTTPClient.request(loop: loop, host: host, port: port, request)
        } catch {
            await loop.shutdown()
            throw error
        }
        await loop.shutdown()
        return Response(
            status: response.status, requestID: response.headers["x-amzn-RequestId"],
            functionError: response.headers["X-Amz-Function-Error"], errorType: response.headers["x-amzn-ErrorType"],
            log: response.headers["X-Amz-Log-Result"].flatMap(Base64.decode).map {
                String(decoding: $0, as: UTF8.self)
            },
            body: response.body)
    }
}

extension String {
    /// The name with `:` percent-encoded, as SDKs send ARNs in the path.
    fileprivate var replacingColons: String {
        var out = ""
        for c in self { out += c == ":" ? "%3A" : String(c) }
        return out
    }
}
