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
    var eventBody: (JSONValue, Bool) {
        if body.isEmpty { return (.null, false) }
        if isBinaryBody { return (.string(Base64.encode(body)), true) }
        return (.string(String(decoding: body, as: UTF8.self)), false)
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

        package init(apiID: String, domainName: String, stage: String, accountID: String) {
            self.apiID = apiID
            self.domainName = domainName
            self.stage = stage
            self.accountID = accountID
        }
    }

    /// Payload format 2.0: lower-case `headers` (repeated fields joined by commas) without `cookie`, `cookies`,
    /// `queryStringParameters` (repeated keys joined by commas), `pathParameters`, `requestContext.http`, and the
    /// body (base64 for binary content types).
    package static func version2(
        _ request: FrontEndRequest, routeKey: String, pathParameters: [(String, String)], context: Context
    ) -> [UInt8] {
        var members: [(String, JSONValue)] = [
            ("version", .string("2.0")), ("routeKey", .string(routeKey)), ("rawPath", .string(request.rawPath)),
            ("rawQueryString", .string(request.rawQueryString)),
        ]
        var cookies: [JSONValue] = []
        var headers: [(String, String)] = []
        for (name, value) in request.headers {
            let lower = name.lowercased()
            if lower == "cookie" {
                cookies += value.split(separator: ";").map { .string(String($0).trimmingSpaces) }
                    .filter { $0 != .string("") }
                continue
            }
            if let index = headers.firstIndex(where: { $0.0 == lower }) {
                headers[index].1 += ",\(value)"
            } else {
                headers.append((lower, value))
            }
        }
        if !cookies.isEmpty { members.append(("cookies", .array(cookies))) }
        members.append(("headers", .object(headers.map { ($0.0, .string($0.1)) })))
        let query = joined(request.queryParameters)
        if !query.isEmpty { members.append(("queryStringParameters", .object(query.map { ($0.0, .string($0.1)) }))) }
        let prefix = context.domainName.split(separator: ".").first.map(String.init) ?? context.apiID
        let http: [(String, JSONValue)] = [
            ("method", .string(request.method)), ("path", .string(request.rawPath)),
            ("protocol", .string(request.httpProtocol)), ("sourceIp", .string(request.sourceIP)),
            ("userAgent", .string(request.header("user-agent") ?? "")),
        ]
        members.append(
            (
                "requestContext",
                .object([
                    ("accountId", .string(context.accountID)), ("apiId", .string(context.apiID)),
                    ("domainName", .string(context.domainName)), ("domainPrefix", .string(prefix)),
                    ("http", .object(http)), ("requestId", .string(request.requestID)),
                    ("routeKey", .string(routeKey)), ("stage", .string(context.stage)),
                    ("time", .string(request.requestTime)),
                    ("timeEpoch", .number(String(request.epochMilliseconds))),
                ])
            ))
        let (body, base64) = request.eventBody
        if body != .null { members.append(("body", body)) }
        if !pathParameters.isEmpty {
            members.append(("pathParameters", .object(pathParameters.map { ($0.0, .string(decoded($0.1))) })))
        }
        members.append(("isBase64Encoded", .bool(base64)))
        return Array(JSONValue.object(members).serialized.utf8)
    }

    /// Payload format 1.0: `resource`, `path`, `httpMethod`, `headers` and `multiValueHeaders` (names as sent),
    /// `queryStringParameters` and `multiValueQueryStringParameters`, `pathParameters`, `stageVariables`,
    /// `requestContext` with `identity`, and the body; absent parts are `null`. HTTP APIs add `version: "1.0"`.
    package static func version1(
        _ request: FrontEndRequest, resource: String, pathParameters: [(String, String)], context: Context,
        isRESTAPI: Bool
    ) -> [UInt8] {
        var members: [(String, JSONValue)] = []
        if !isRESTAPI { members.append(("version", .string("1.0"))) }
        members += [
            ("resource", .string(resource)), ("path", .string(request.rawPath)),
            ("httpMethod", .string(request.method)),
        ]
        var single: [(String, String)] = []
        var multi: [(String, [String])] = []
        for (name, value) in request.headers {
            if let index = single.firstIndex(where: { $0.0.lowercased() == name.lowercased() }) {
                single[index].1 = value
                multi[index].1.append(value)
            } else {
                single.append((name, value))
                multi.append((name, [value]))
            }
        }
        members.append(("headers", .object(single.map { ($0.0, .string($0.1)) })))
        members.append(("multiValueHeaders", .object(multi.map { ($0.0, .array($0.1.map(JSONValue.string))) })))
        let query = request.queryParameters
        if query.isEmpty {
            members += [("queryStringParameters", .null), ("multiValueQueryStringParameters", .null)]
        } else {
            var lastValues: [(String, String)] = []
            var allValues: [(String, [String])] = []
            for (key, value) in query {
                if let index = lastValues.firstIndex(where: { $0.0 == key }) {
                    lastValues[index].1 = value
                    allValues[index].1.append(value)
                } else {
                    lastValues.append((key, value))
                    allValues.append((key, [value]))
                }
            }
            members.append(("queryStringParameters", .object(lastValues.map { ($0.0, .string($0.1)) })))
            members.append(
                (
                    "multiValueQueryStringParameters",
                    .object(allValues.map { ($0.0, .array($0.1.map(JSONValue.string))) })
                ))
        }
        let identity: [(String, JSONValue)] = [
            ("accessKey", .null), ("accountId", .null), ("caller", .null), ("cognitoAuthenticationProvider", .null),
            ("cognitoAuthenticationType", .null), ("cognitoIdentityId", .null), ("cognitoIdentityPoolId", .null),
            ("principalOrgId", .null), ("sourceIp", .string(request.sourceIP)), ("user", .null),
            ("userAgent", .string(request.header("user-agent") ?? "")), ("userArn", .null),
        ]
        let prefix = context.domainName.split(separator: ".").first.map(String.init) ?? context.apiID
        let contextPath = isRESTAPI ? "/\(context.stage)\(request.rawPath)" : request.rawPath
        members.append(
            (
                "requestContext",
                .object([
                    ("accountId", .string(context.accountID)), ("apiId", .string(context.apiID)),
                    ("domainName", .string(context.domainName)), ("domainPrefix", .string(prefix)),
                    ("extendedRequestId", .string(request.requestID)), ("httpMethod", .string(request.method)),
                    ("identity", .object(identity)), ("path", .string(contextPath)),
                    ("protocol", .string(request.httpProtocol)), ("requestId", .string(request.requestID)),
                    ("requestTime", .string(request.requestTime)),
                    ("requestTimeEpoch", .number(String(request.epochMilliseconds))),
                    ("resourceId", isRESTAPI ? .string(String(context.apiID.prefix(6))) : .null),
                    ("resourcePath", .string(resource)), ("stage", .string(context.stage)),
                ])
            ))
        members.append(
            (
                "pathParameters",
                pathParameters.isEmpty ? .null : .object(pathParameters.map { ($0.0, .string(decoded($0.1))) })
            ))
        members.append(("stageVariables", .null))
        let (body, base64) = request.eventBody
        members.append(("body", body))
        members.append(("isBase64Encoded", .bool(base64)))
        return Array(JSONValue.object(members).serialized.utf8)
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
