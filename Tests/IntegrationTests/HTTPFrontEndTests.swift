// The HTTP front end of a template (Fixtures/sam/http.yaml) reached with curl and Python's urllib: API Gateway
// event shapes as the function receives them, response mapping, errors, throttles and a streamed Function URL.

import Foundation
import LambdaSim
import Testing

/// A response as curl printed it: status, headers (lower-case names) and body.
private struct CurlResponse {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> [String] { headers.filter { $0.0 == name }.map(\.1) }
}

/// Runs the template's functions with the HTTP front end on an ephemeral port; `body` gets the harness and the
/// front end's base URL.
private func withFrontEnd(_ body: (SimHarness, String) async throws -> Void) async throws {
    let template = try TemplateConfiguration.load(
        file: TestPaths.fixtures + "/sam/http.yaml", parameterOverrides: [("FixtureRuntime", TestPaths.fixtureRuntime)],
        python: TestPaths.python)
    try await withSimulator(template.configuration.functions, account: template.configuration.account) { sim in
        let port = try await sim.simulator.startHTTPFrontEnd(template.http, port: 0)
        try await body(sim, "http://127.0.0.1:\(port)")
    }
}

/// `curl -i` with `arguments`; the response parsed.
private func curl(_ arguments: [String]) async throws -> CurlResponse {
    let curl = try #require(TestPaths.which("curl"), "curl is not on PATH")
    let result = try await runProcess([curl, "-sS", "-i"] + arguments)
    #expect(result.status == .exited(0), "\(result.stderr)")
    let text = result.stdout
    let split = try #require(text.range(of: "\r\n\r\n"), "no header end in \(text)")
    let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
    let status = Int(lines[0].split(separator: " ")[1]) ?? 0
    let headers = lines.dropFirst().compactMap { line -> (String, String)? in
        guard let colon = line.firstIndex(of: ":") else { return nil }
        return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }
    return CurlResponse(status: status, headers: headers, body: String(text[split.upperBound...]))
}

@Suite("HTTP front end", .serialized)
struct HTTPFrontEndTests {
    /// An HTTP API route gives the function a payload format 2.0 event: lower-case headers with repeats joined by
    /// commas, cookies apart, query parameters joined, path parameters, requestContext.http and the request id the
    /// response carries; a bare object answer is a 200 JSON body.
    @Test(.timeLimit(.minutes(1)))
    func httpAPIEventVersion2() async throws {
        try await withFrontEnd { _, base in
            let before = Int64(Date().timeIntervalSince1970 * 1000)
            let response = try await curl([
                "-H", "Cookie: c1=v1; c2=v2", "-H", "X-Multi: one", "-H", "X-Multi: two", "-A", "curl-test",
                "\(base)/items/42?a=1&a=2&b=x%20y",
            ])
            #expect(response.status == 200)
            #expect(response.header("content-type") == ["application/json"])
            let event = try jsonObject(response.body)
            #expect(event["version"] as? String == "2.0")
            #expect(event["routeKey"] as? String == "GET /items/{id}")
            #expect(event["rawPath"] as? String == "/items/42")
            #expect(event["rawQueryString"] as? String == "a=1&a=2&b=x%20y")
            #expect(event["cookies"] as? [String] == ["c1=v1", "c2=v2"])
            let headers = try #require(event["headers"] as? [String: String])
            #expect(headers["x-multi"] == "one,two" && headers["user-agent"] == "curl-test" && headers["cookie"] == nil)
            #expect(event["queryStringParameters"] as? [String: String] == ["a": "1,2", "b": "x y"])
            #expect(event["pathParameters"] as? [String: String] == ["id": "42"])
            #expect(event["isBase64Encoded"] as? Bool == false)
            #expect(event["body"] == nil)
            let context = try #require(event["requestContext"] as? [String: Any])
            #expect(context["routeKey"] as? String == "GET /items/{id}")
            #expect(context["stage"] as? String == "$default")
            #expect(context["accountId"] as? String == "123456789012")
            #expect(context["requestId"] as? String == response.header("x-amzn-requestid").first)
            let http = try #require(context["http"] as? [String: String])
            #expect(
                http == [
                    "method": "GET", "path": "/items/42", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                    "userAgent": "curl-test",
                ])
            let epoch = try #require(context["timeEpoch"] as? Int64)
            #expect(epoch >= before && epoch <= before + 10_000)
            let time = try #require(context["time"] as? String)
            #expect(
                time.range(of: #"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$"#, options: .regularExpression)
                    != nil)
        }
    }

    /// `sourceIp` is the client's address: curl bound to 127.0.0.3 is reported as such (2.0 and 1.0).
    @Test(.timeLimit(.minutes(1)))
    func sourceIPIsThePeer() async throws {
        try await withFrontEnd { _, base in
            let version2 = try await curl(["--interface", "127.0.0.3", "\(base)/items/1"])
            let http = try #require((try jsonObject(version2.body)["requestContext"] as? [String: Any])?["http"])
            #expect((http as? [String: String])?["sourceIp"] == "127.0.0.3")
            let version1 = try await curl(["--interface", "127.0.0.3", "\(base)/rest/1"])
            let context = try #require(try jsonObject(version1.body)["requestContext"] as? [String: Any])
            #expect((context["identity"] as? [String: Any])?["sourceIp"] as? String == "127.0.0.3")
        }
    }

    /// A greedy `{proxy+}` route captures the rest of the path, for any method; a path no route matches is 404
    /// `{"message":"Not Found"}`.
    @Test(.timeLimit(.minutes(1)))
    func greedyRouteAndNotFound() async throws {
        try await withFrontEnd { _, base in
            let response = try await curl(["-X", "DELETE", "\(base)/files/a/b/c.txt"])
            #expect(response.status == 200)
            let event = try jsonObject(response.body)
            #expect(event["routeKey"] as? String == "ANY /files/{proxy+}")
            #expect(event["pathParameters"] as? [String: String] == ["proxy": "a/b/c.txt"])
            let missing = try await curl(["\(base)/nowhere"])
            #expect(missing.status == 404 && missing.body == #"{"message":"Not Found"}"#)
            let wrongMethod = try await curl(["-X", "POST", "\(base)/items/1"])
            #expect(wrongMethod.status == 404)
        }
    }

    /// A REST API route gives awslambdaric a payload format 1.0 event (headers and multiValueHeaders, query
    /// strings single and multi, requestContext.identity, stage Prod) and maps its proxy response: status,
    /// headers, multiValueHeaders as repeated fields, no cookies member.
    @Test(.timeLimit(.minutes(1)))
    func restAPIEventVersion1() async throws {
        try await withFrontEnd { _, base in
            let response = try await curl([
                "-X", "PUT", "-H", "Content-Type: application/json", "-H", "X-Multi: one", "-H", "X-Multi: two",
                "-d", #"{"k":"v"}"#, "\(base)/rest/7?status=201&q=1&q=2",
            ])
            #expect(response.status == 201)
            #expect(response.header("x-handler") == ["proxy"])
            #expect(response.header("x-multi") == ["a", "b"])
            #expect(response.header("set-cookie").isEmpty)
            let event = try jsonObject(response.body)
            #expect(event["version"] == nil)
            #expect(event["resource"] as? String == "/rest/{id}")
            #expect(event["path"] as? String == "/rest/7")
            #expect(event["httpMethod"] as? String == "PUT")
            #expect((event["headers"] as? [String: String])?["X-Multi"] == "two")
            #expect((event["multiValueHeaders"] as? [String: [String]])?["X-Multi"] == ["one", "two"])
            #expect(event["queryStringParameters"] as? [String: String] == ["status": "201", "q": "2"])
            #expect(
                event["multiValueQueryStringParameters"] as? [String: [String]] == [
                    "status": ["201"], "q": ["1", "2"],
                ])
            #expect(event["pathParameters"] as? [String: String] == ["id": "7"])
            #expect(event["stageVariables"] is NSNull)
            #expect(event["body"] as? String == #"{"k":"v"}"# && event["isBase64Encoded"] as? Bool == false)
            let context = try #require(event["requestContext"] as? [String: Any])
            #expect(context["stage"] as? String == "Prod" && context["path"] as? String == "/Prod/rest/7")
            #expect(context["resourcePath"] as? String == "/rest/{id}" && context["httpMethod"] as? String == "PUT")
            let identity = try #require(context["identity"] as? [String: Any])
            #expect(identity["sourceIp"] as? String == "127.0.0.1")
        }
    }

    /// Payload format 2.0 responses: cookies become Set-Cookie fields, a base64 body is decoded, a bare string is
    /// a 200 JSON body; an HTTP API route configured for 1.0 sends `version: "1.0"`.
    @Test(.timeLimit(.minutes(1)))
    func responseMappingVersion2() async throws {
        try await withFrontEnd { _, base in
            let proxied = try await curl(["\(base)/proxy/1"])
            #expect(proxied.status == 200)
            #expect(proxied.header("set-cookie") == ["s=1; Path=/", "t=2"])
            #expect(proxied.header("x-multi").isEmpty)
            let binary = try await runProcess([
                TestPaths.python, "-c",
                "import sys, urllib.request; r = urllib.request.urlopen(sys.argv[1]); b = r.read();"
                    + " print(r.status, r.headers['content-type'], len(b), b == bytes(range(256)))",
                "\(base)/proxy/1?binary=1",
            ])
            #expect(binary.stdout == "200 application/octet-stream 256 True\n", "\(binary.stderr)")
            let bare = try await curl(["\(base)/bare"])
            #expect(bare.status == 200 && bare.body == #""hello""#)
            #expect(bare.header("content-type") == ["application/json"])
            let version1 = try await curl(["-X", "POST", "-d", "x", "\(base)/v1/3"])
            #expect(try jsonObject(version1.body)["version"] as? String == "1.0")
        }
    }

    /// Errors: a function error is 500 on an HTTP API, 502 on a REST API (`Internal server error`) and 502 on a
    /// Function URL; a REST route to a function answering a bare string (not a proxy response) is 502; a throttle
    /// is 500 through API Gateway and 429 through a Function URL.
    @Test(.timeLimit(.minutes(1)))
    func errorsAndThrottles() async throws {
        try await withFrontEnd { _, base in
            let httpFail = try await curl(["\(base)/fail"])
            #expect(httpFail.status == 500 && httpFail.body == #"{"message":"Internal Server Error"}"#)
            let restFail = try await curl(["\(base)/rest-fail"])
            #expect(restFail.status == 502 && restFail.body == #"{"message": "Internal server error"}"#)
            let urlFail = try await curl(["\(base)/lambda-url/Failing/"])
            #expect(urlFail.status == 502 && urlFail.body == #"{"message":"Internal Server Error"}"#)
            let restBare = try await curl(["\(base)/bare-rest"])
            #expect(restBare.status == 502)
            let httpThrottled = try await curl(["\(base)/throttled"])
            #expect(httpThrottled.status == 500)
            let restThrottled = try await curl(["\(base)/rest-throttled"])
            #expect(restThrottled.status == 500 && restThrottled.body == #"{"message": "Internal server error"}"#)
            let urlThrottled = try await curl(["\(base)/lambda-url/Throttled/"])
            #expect(urlThrottled.status == 429 && urlThrottled.body == #"{"message":"Too Many Requests"}"#)
        }
    }

    /// A Function URL (by path and by Host header) gives a 2.0 event with routeKey `$default` and the path after
    /// the function; a binary body arrives base64-encoded; a function without a URL is 404 and a body larger than
    /// an invoke may carry is 413.
    @Test(.timeLimit(.minutes(1)))
    func functionURLEvents() async throws {
        try await withFrontEnd { _, base in
            let byPath = try await curl(["\(base)/lambda-url/EchoEvent/some/path?x=1"])
            #expect(byPath.status == 200)
            let event = try jsonObject(byPath.body)
            #expect(event["routeKey"] as? String == "$default" && event["rawPath"] as? String == "/some/path")
            let context = try #require(event["requestContext"] as? [String: Any])
            #expect((context["domainName"] as? String)?.hasSuffix(".lambda-url.us-east-1.on.aws") == true)
            let byHost = try await curl(["-H", "Host: EchoEvent.lambda-url.localhost", "\(base)/other"])
            #expect(try jsonObject(byHost.body)["rawPath"] as? String == "/other")
            let binary = try await runProcess([
                TestPaths.python, "-c",
                "import json, sys, urllib.request; req = urllib.request.Request(sys.argv[1], data=bytes([0, 255, 1]),"
                    + " headers={'Content-Type': 'application/octet-stream'}); e = json.load(urllib.request.urlopen(req));"
                    + " print(e['isBase64Encoded'], e['body'])",
                "\(base)/lambda-url/EchoEvent/",
            ])
            #expect(binary.stdout == "True AP8B\n", "\(binary.stderr)")
            let unknown = try await curl(["\(base)/lambda-url/Bare/"])
            #expect(unknown.status == 404)
            let big = NSTemporaryDirectory() + "lambda-sim-big-\(getpid())"
            try Data(count: 7 * 1024 * 1024).write(to: URL(fileURLWithPath: big))
            defer { try? FileManager.default.removeItem(atPath: big) }
            let tooLarge = try await curl([
                "-H", "Expect:", "-H", "Content-Type: application/octet-stream", "--data-binary", "@\(big)",
                "\(base)/lambda-url/EchoEvent/",
            ])
            #expect(tooLarge.status == 413 && tooLarge.body == #"{"message":"Request Entity Too Large"}"#)
        }
    }

    /// A RESPONSE_STREAM Function URL passes the prelude's status and headers, then each chunk as the function
    /// writes it: the first chunk reaches the client well before the last (chunks are 400 ms apart).
    @Test(.timeLimit(.minutes(1)))
    func streamedFunctionURL() async throws {
        try await withFrontEnd { _, base in
            let script = """
                import sys, time, http.client, urllib.parse
                u = urllib.parse.urlparse(sys.argv[1])
                c = http.client.HTTPConnection(u.hostname, u.port)
                c.request("GET", u.path)
                r = c.getresponse()
                start = time.monotonic()
                lines = []
                while True:
                    line = r.readline()
                    if not line:
                        break
                    lines.append((line.decode().strip(), time.monotonic() - start))
                print(r.status, r.getheader("x-fixture"))
                for text, at in lines:
                    print(text, int(at * 1000))
                """
            let result = try await runProcess([TestPaths.python, "-c", script, "\(base)/lambda-url/Streamer/"])
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "201 yes", "\(result.stdout) \(result.stderr)")
            let chunks = lines.dropFirst().map { $0.split(separator: " ") }
            #expect(chunks.map { "\($0[0]) \($0[1])" } == ["chunk 0", "chunk 1", "chunk 2"])
            let first = chunks.first.flatMap { Int($0[2]) } ?? 0
            let last = chunks.last.flatMap { Int($0[2]) } ?? 0
            #expect(last - first >= 600, "chunks arrived at \(chunks)")
        }
    }
}
