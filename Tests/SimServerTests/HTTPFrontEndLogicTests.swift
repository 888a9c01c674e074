import SimCore
import SimHTTP
import Testing

@testable import SimServer

private func route(_ method: String, _ path: String, _ function: String = "f") -> HTTPRouteTable.Route {
    HTTPRouteTable.Route(api: .http, method: method, path: path, payloadFormatVersion: .v2, function: function)
}

@Suite struct HTTPRouteTableTests {
    /// The most specific route wins whatever the order: literal over `{param}` over `{proxy+}`, a named method
    /// over ANY; `$default` takes the rest.
    @Test func specificity() {
        let table = HTTPRouteTable([
            route("ANY", "/{proxy+}", "greedy"), route("GET", "/items/{id}", "param"),
            route("GET", "/items/special", "literal"), route("ANY", "/items/{id}", "any"),
            route("ANY", "$default", "fallback"),
        ])
        #expect(table.match(method: "GET", path: "/items/special")?.route.function == "literal")
        #expect(table.match(method: "GET", path: "/items/7")?.route.function == "param")
        #expect(table.match(method: "PUT", path: "/items/7")?.route.function == "any")
        let greedy = table.match(method: "GET", path: "/a/b/c")
        #expect(greedy?.route.function == "greedy")
        #expect(greedy?.pathParameters.map { "\($0.0)=\($0.1)" } == ["proxy=a/b/c"])
        #expect(table.match(method: "GET", path: "/")?.route.function == "fallback")
    }

    /// Without `$default` nothing matches a path no route fits, and `{param}` needs a non-empty segment.
    @Test func noMatch() {
        let table = HTTPRouteTable([route("GET", "/items/{id}")])
        #expect(table.match(method: "GET", path: "/items/") == nil)
        #expect(table.match(method: "GET", path: "/items/1/2") == nil)
        #expect(table.match(method: "POST", path: "/items/1") == nil)
    }
}

@Suite struct APIGatewayResponseTests {
    private func map(_ payload: String, _ front: APIGatewayResponse.Front) -> HTTPResponse? {
        APIGatewayResponse.map(payload: Array(payload.utf8), front: front, requestID: "r")
    }

    /// Payload format 1.0 needs an object with statusCode; 2.0 takes any JSON as a 200 body; neither takes text
    /// that is not JSON.
    @Test func shapes() {
        #expect(map(#"{"ok":true}"#, .restAPI) == nil)
        #expect(map(#"{"ok":true}"#, .httpAPI)?.status == 200)
        #expect(map(#"{"ok":true}"#, .httpAPI)?.body == Array(#"{"ok":true}"#.utf8))
        #expect(map("not json", .httpAPI) == nil)
        #expect(map(#"{"statusCode":"204"}"#, .restAPI)?.status == 204)
        #expect(map(#"{"statusCode":99}"#, .httpAPI) == nil)
        #expect(map(#"{"statusCode":200,"body":"x","isBase64Encoded":true}"#, .httpAPI) == nil)
    }

    /// A function error maps to each front's error; a throttle too.
    @Test func errors() {
        let failed = InvokeResult(
            requestID: "r", outcome: .functionError(body: [], contentType: nil, errorType: "E"), logTail: nil)
        #expect(APIGatewayResponse.map(failed, front: .restAPI).status == 502)
        #expect(APIGatewayResponse.map(failed, front: .httpAPI).status == 500)
        #expect(APIGatewayResponse.map(failed, front: .functionURL).status == 502)
        #expect(APIGatewayResponse.throttled(.functionURL, requestID: "r").status == 429)
        #expect(APIGatewayResponse.throttled(.restAPI, requestID: "r").status == 500)
    }
}

@Suite struct StreamRelayTests {
    /// The prelude ends at the first run of 8 NUL bytes; 7 are not enough.
    @Test func nulRun() {
        #expect(StreamRelay.nulRun(in: Array("{}".utf8) + [UInt8](repeating: 0, count: 8) + [65]) == 2)
        #expect(StreamRelay.nulRun(in: [1] + [UInt8](repeating: 0, count: 7) + [1]) == nil)
    }

    /// A prelude gives the status, headers and one Set-Cookie per cookie; an empty one is a plain 200.
    @Test func prelude() throws {
        let (status, headers) = try #require(
            StreamRelay.prelude(Array(#"{"statusCode":201,"headers":{"a":"b"},"cookies":["c=1","d=2"]}"#.utf8)))
        #expect(status == 201 && headers["a"] == "b" && headers.values("Set-Cookie") == ["c=1", "d=2"])
        #expect(StreamRelay.prelude([])?.0 == 200)
        #expect(StreamRelay.prelude(Array("nope".utf8)) == nil)
    }
}

@Suite struct JSONWriterTests {
    /// Strings are escaped so that the result parses back to the same text, control bytes included.
    @Test func escaping() throws {
        let text = "a\"b\\c\nd\te\u{01}é🙂"
        var json = JSONWriter(capacity: 64)
        json.beginObject()
        json.member("k", text)
        json.member("n", orNull: nil)
        json.key("list")
        json.beginArray()
        json.element()
        json.string("x")
        json.element()
        json.literal("1")
        json.endArray()
        json.endObject()
        let value = try JSON.parse(json.bytes)
        #expect(value["k"] == .string(text))
        #expect(value["n"] == .null)
        #expect(value["list"] == .array([.string("x"), .number("1")]))
    }
}

@Suite struct APIGatewayResponseFastPathTests {
    /// A statusCode key spelled with a \u escape is still found; a body merely without one is 200 as it is.
    @Test func escapedStatusCodeKey() {
        let escaped = APIGatewayResponse.map(
            payload: Array(#"{"status\u0043ode":201,"body":"x"}"#.utf8), front: .httpAPI, requestID: "r")
        #expect(escaped?.status == 201 && escaped?.body == Array("x".utf8))
        #expect(
            APIGatewayResponse.map(payload: Array(#"{"a":"statusCode"}"#.utf8), front: .httpAPI, requestID: "r")?.status
                == 200)
        #expect(APIGatewayResponse.map(payload: Array(#"{"a":1"#.utf8), front: .httpAPI, requestID: "r") == nil)
    }
}
