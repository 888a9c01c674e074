import Testing

@testable import SimHTTP

/// The ordered, case-insensitive header list.
struct HTTPHeadersTests {
    /// Lookups ignore case; `values` returns duplicates in order; the subscript returns the first.
    @Test func lookups() {
        var headers: HTTPHeaders = ["Set-Cookie": "a", "X-Y": "1"]
        headers.add("set-cookie", "b")
        #expect(headers["SET-COOKIE"] == "a")
        #expect(headers.values("set-cookie") == ["a", "b"])
        #expect(headers.contains("x-y") && !headers.contains("x"))
        #expect(headers.count == 3)
    }

    /// Setting replaces every field of the name in place; setting nil and `remove` delete them.
    @Test func mutation() {
        var headers = HTTPHeaders([("A", "1"), ("B", "2"), ("a", "3")])
        headers["a"] = "9"
        #expect(headers == HTTPHeaders([("A", "9"), ("B", "2")]))
        headers["C"] = "3"
        #expect(Array(headers.map(\.name)) == ["A", "B", "C"])
        headers["b"] = nil
        headers.remove("c")
        #expect(headers == ["A": "9"])
    }

    /// Comma-separated tokens match case-insensitively, ignoring spaces.
    @Test func tokens() {
        let headers: HTTPHeaders = ["Connection": "Keep-Alive, Upgrade", "Transfer-Encoding": "gzip,chunked"]
        #expect(headers.containsToken("upgrade", in: "connection"))
        #expect(headers.containsToken("keep-alive", in: "Connection"))
        #expect(headers.containsToken("chunked", in: "Transfer-Encoding"))
        #expect(!headers.containsToken("close", in: "Connection"))
    }
}
