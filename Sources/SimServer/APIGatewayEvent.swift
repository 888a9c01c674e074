import SimCore

/// An HTTP request as the front end hands it to the event builders: what API Gateway and Function URLs see.
package struct FrontEndRequest: Sendable {
    /// Upper-case method.
    package var method: String
    /// The path as sent (still percent-encoded), without the query.
    package var rawPath: String
    /// The query as sent, without `?` (empty when none).
    package var rawQueryString: String
    /// Header fields in arrival order, names as sent.
    package var headers: [(String, String)]
    /// The body.
    package var body: [UInt8]
    /// The client's address.
    package var sourceIP: String
    /// `HTTP/1.1`.
    package var httpProtocol: String
    /// The request id the event and the response carry.
    package var requestID: String
    /// When the request arrived.
    package var epochMilliseconds: Int64

    package init(
        method: String, rawPath: String, rawQueryString: String, headers: [(String, String)], body: [UInt8],
        sourceIP: String, httpProtocol: String = "HTTP/1.1", requestID: String, epochMilliseconds: Int64
    ) {
        self.method = method
        self.rawPath = rawPath
        self.rawQueryString = rawQueryString
        self.headers = headers
        self.body = body
        self.sourceIP = sourceIP
        self.httpProtocol = httpProtocol
        self.requestID = requestID
        self.epochMilliseconds = epochMilliseconds
    }

    /// The value of the last `name` field (case-insensitive).
    func header(_ name: String) -> String? {
        headers.last { $0.0.lowercased() == name }?.1
    }

    /// Query parameters in order, percent-decoded.
    var queryParameters: [(String, String)] {
        rawQueryString.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            let value = parts.count > 1 ? String(parts[1]) : ""
            return (PercentDecoding.decode(key) ?? key, PercentDecoding.decode(value) ?? value)
        }
    }

    /// Whether the body goes to the function as base64: anything but text (`text/*`, JSON, XML, JavaScript, form
    /// data, YAML), or a body without a content type that is not UTF-8.
    var isBinaryBody: Bool {
        guard let type = header("content-type")?.lowercased() else {
            return String(validating: body, as: UTF8.self) == nil
        }
        let mime = type.split(separator: ";").first.map { String($0).trimmingSpaces } ?? type
        let textual =
            mime.hasPrefix("text/") || mime.hasSuffix("/json") || mime.hasSuffix("+json") || mime.hasSuffix("/xml")
            || mime.hasSuffix("+xml") || mime == "application/javascript" || mime == "application/x-www-form-urlencoded"
            || mime == "application/yaml" || mime == "application/x-yaml"
        return !textual
    }

    /// The body as the event's `body` and `isBase64Encoded`; nil body when there is none.
    var eventBody: (String?, Bool) {
        if body.isEmpty { return (nil, false) }
        if isBinaryBody { return (Base64.encode(body), true) }
        return (String(decoding: body, as: UTF8.self), false)
    }

    /// `12/Mar/2020:19:03:58 +0000`, API Gateway's request time.
    var requestTime: String {
        let time = CivilTime(epochMilliseconds: epochMilliseconds)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(pad(time.day))/\(months[time.month - 1])/\(time.year):\(pad(time.hour)):\(pad(time.minute)):"
            + "\(pad(time.second)) +0000"
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return String(text)
    }
}

/// The events API Gateway and Function URLs send a function: payload format 2.0 (HTTP APIs, Function URLs) and
/// 1.0 (REST APIs, and HTTP APIs so configured), field by field as AWS documents them.
package enum APIGatewayEvent {
    /// Where the request came in, for `requestContext`.
    package struct Context: Sendable {
        /// `apiId` (a Function URL's url-id).
        package var apiID: String
        /// `domainName`, e.g. `<api-id>.execute-api.us-east-1.amazonaws.com`.
        package var domainName: String
        /// `stage`: `$default` for HTTP APIs and Function URLs, `Prod` for SAM's REST API.
        package var stage: String
        /// The account id.
        package var accountID: String
        /// `domainPrefix`: the first label of `domainName`.
        package var domainPrefix: String

        package init(apiID: String, domainName: String, stage: String, accountID: String) {
            self.apiID = apiID
            self.domainName = domainName
            self.stage = stage
            self.accountID = accountID
            domainPrefix = domainName.split(separator: ".").first.map(String.init) ?? apiID
        }
    }

    /// Payload format 2.0: lower-case `headers` (repeated fields joined by commas) without `cookie`, `cookies`,
    /// `queryStringParameters` (repeated keys joined by commas), `pathParameters`, `requestContext.http`, and the
    /// body (base64 for binary content types).
    package static func version2(
        _ request: FrontEndRequest, routeKey: String, pathParameters: [(String, String)], context: Context
    ) -> [UInt8] {
        var json = JSONWriter(capacity: 1024 + request.body.count * 4 / 3)
        json.beginObject()
        json.member("version", "2.0")
        json.member("routeKey", routeKey)
        json.member("rawPath", request.rawPath)
        json.member("rawQueryString", request.rawQueryString)
        var cookies: [String] = []
        var headers: [(String, String)] = []
        for (name, value) in request.headers {
            let lower = name.lowercased()
            if lower == "cookie" {
                cookies += value.split(separator: ";").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
                continue
            }
            if let index = headers.firstIndex(where: { $0.0 == lower }) {
                headers[index].1 += ",\(value)"
            } else {
                headers.append((lower, value))
            }
        }
        if !cookies.isEmpty {
            json.key("cookies")
            json.beginArray()
            for cookie in cookies {
                json.element()
                json.string(cookie)
            }
            json.endArray()
        }
        json.key("headers")
        object(headers, into: &json)
        let query = joined(request.queryParameters)
        if !query.isEmpty {
            json.key("queryStringParameters")
            object(query, into: &json)
        }
        beginRequestContext(context, into: &json)
        json.key("http")
        json.beginObject()
        json.member("method", request.method)
        json.member("path", request.rawPath)
        json.member("protocol", request.httpProtocol)
        json.member("sourceIp", request.sourceIP)
        json.member("userAgent", request.header("user-agent") ?? "")
        json.endObject()
        json.member("requestId", request.requestID)
        json.member("routeKey", routeKey)
        json.member("stage", context.stage)
        json.member("time", request.requestTime)
        json.key("timeEpoch")
        json.literal(String(request.epochMilliseconds))
        json.endObject()
        let (body, base64) = request.eventBody
        if let body { json.member("body", body) }
        if !pathParameters.isEmpty {
            json.key("pathParameters")
            object(pathParameters.map { ($0.0, decoded($0.1)) }, into: &json)
        }
        json.key("isBase64Encoded")
        json.literal(base64 ? "true" : "false")
        json.endObject()
        return json.bytes
    }

    /// Payload format 1.0: `resource`, `path`, `httpMethod`, `headers` and `multiValueHeaders` (names as sent),
    /// `queryStringParameters` and `multiValueQueryStringParameters`, `pathParameters`, `stageVariables`,
    /// `requestContext` with `identity`, and the body; absent parts are `null`. HTTP APIs add `version: "1.0"`.
    package static func version1(
        _ request: FrontEndRequest, resource: String, pathParameters: [(String, String)], context: Context,
        isRESTAPI: Bool
    ) -> [UInt8] {
        var json = JSONWriter(capacity: 2048 + request.body.count * 4 / 3)
        json.beginObject()
        if !isRESTAPI { json.member("version", "1.0") }
        json.member("resource", resource)
        json.member("path", request.rawPath)
        json.member("httpMethod", request.method)
        json.key("headers")
        let headers = grouped(request.headers) { $0.lowercased() }
        object(headers.map { ($0.0, $0.1.last ?? "") }, into: &json)
        json.key("multiValueHeaders")
        lists(headers, into: &json)
        let query = grouped(request.queryParameters) { $0 }
        if query.isEmpty {
            json.member("queryStringParameters", orNull: nil)
            json.member("multiValueQueryStringParameters", orNull: nil)
        } else {
            json.key("queryStringParameters")
            object(query.map { ($0.0, $0.1.last ?? "") }, into: &json)
            json.key("multiValueQueryStringParameters")
            lists(query, into: &json)
        }
        beginRequestContext(context, into: &json)
        json.member("extendedRequestId", request.requestID)
        json.member("httpMethod", request.method)
        json.key("identity")
        json.beginObject()
        for key in [
            "accessKey", "accountId", "caller", "cognitoAuthenticationProvider", "cognitoAuthenticationType",
            "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId",
        ] {
            json.member(key, orNull: nil)
        }
        json.member("sourceIp", request.sourceIP)
        json.member("user", orNull: nil)
        json.member("userAgent", request.header("user-agent") ?? "")
        json.member("userArn", orNull: nil)
        json.endObject()
        json.member("path", isRESTAPI ? "/\(context.stage)\(request.rawPath)" : request.rawPath)
        json.member("protocol", request.httpProtocol)
        json.member("requestId", request.requestID)
        json.member("requestTime", request.requestTime)
        json.key("requestTimeEpoch")
        json.literal(String(request.epochMilliseconds))
        json.member("resourceId", orNull: isRESTAPI ? String(context.apiID.prefix(6)) : nil)
        json.member("resourcePath", resource)
        json.member("stage", context.stage)
        json.endObject()
        json.key("pathParameters")
        if pathParameters.isEmpty {
            json.literal("null")
        } else {
            object(pathParameters.map { ($0.0, decoded($0.1)) }, into: &json)
        }
        json.member("stageVariables", orNull: nil)
        let (body, base64) = request.eventBody
        json.member("body", orNull: body)
        json.key("isBase64Encoded")
        json.literal(base64 ? "true" : "false")
        json.endObject()
        return json.bytes
    }

    /// Opens `requestContext` with the members both payload formats start it with: the account, the API and its
    /// domain.
    private static func beginRequestContext(_ context: Context, into json: inout JSONWriter) {
        json.key("requestContext")
        json.beginObject()
        json.member("accountId", context.accountID)
        json.member("apiId", context.apiID)
        json.member("domainName", context.domainName)
        json.member("domainPrefix", context.domainPrefix)
    }

    /// An object of string members.
    private static func object(_ pairs: [(String, String)], into json: inout JSONWriter) {
        json.beginObject()
        for (key, value) in pairs { json.member(key, value) }
        json.endObject()
    }

    /// An object of string-list members.
    private static func lists(_ pairs: [(String, [String])], into json: inout JSONWriter) {
        json.beginObject()
        for (key, values) in pairs {
            json.key(key)
            json.beginArray()
            for value in values {
                json.element()
                json.string(value)
            }
            json.endArray()
        }
        json.endObject()
    }

    /// Values grouped by key (compared through `normalize`), keys as first seen, in first-seen order.
    private static func grouped(_ pairs: [(String, String)], by normalize: (String) -> String) -> [(String, [String])] {
        var result: [(String, [String])] = []
        var index: [String: Int] = [:]
        for (key, value) in pairs {
            let normal = normalize(key)
            if let at = index[normal] {
                result[at].1.append(value)
            } else {
                index[normal] = result.count
                result.append((key, [value]))
            }
        }
        return result
    }

    /// Repeated keys joined with commas, in first-seen order (2.0's query strings).
    private static func joined(_ pairs: [(String, String)]) -> [(String, String)] {
        var result: [(String, String)] = []
        for (key, value) in pairs {
            if let index = result.firstIndex(where: { $0.0 == key }) {
                result[index].1 += ",\(value)"
            } else {
                result.append((key, value))
            }
        }
        return result
    }

    private static func decoded(_ text: String) -> String { PercentDecoding.decode(text) ?? text }
}
