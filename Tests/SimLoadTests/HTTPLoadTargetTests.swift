import Testing

@testable import SimLoad

/// `load --url`: the URL, header and status rules (issue 24).
struct HTTPLoadTargetTests {
    /// A full URL gives host, port and target; a path gives only the target; anything else is refused.
    @Test func urls() throws {
        let full = try HTTPLoadTarget.parse(url: "http://127.0.0.1:3000/items/7?x=1")
        #expect(full.host == "127.0.0.1" && full.port == 3000 && full.target == "/items/7?x=1")
        let bare = try HTTPLoadTarget.parse(url: "http://localhost")
        #expect(bare.host == "localhost" && bare.port == 80 && bare.target == "/")
        let query = try HTTPLoadTarget.parse(url: "http://h:81?q=2")
        #expect(query.target == "/?q=2")
        let path = try HTTPLoadTarget.parse(url: "/lambda-url/fn/")
        #expect(path.host == nil && path.port == nil && path.target == "/lambda-url/fn/")
        #expect(throws: LoadPlanError.self) { try HTTPLoadTarget.parse(url: "https://h/") }
        #expect(throws: LoadPlanError.self) { try HTTPLoadTarget.parse(url: "http://h:0/") }
    }

    /// Headers are `Name: value`, trimmed.
    @Test func headers() throws {
        let header = try HTTPLoadTarget.header("X-Test:  a b ")
        #expect(header.0 == "X-Test" && header.1 == "a b")
        #expect(throws: LoadPlanError.self) { try HTTPLoadTarget.header("no colon") }
        #expect(throws: LoadPlanError.self) { try HTTPLoadTarget.header(": v") }
    }

    /// Only the status speaks for an HTTP answer: 429 throttled, 500/502/504 function errors, other 5xx other
    /// errors, the rest (the function's own 4xx included) succeeded.
    @Test func statuses() {
        #expect(LoadOutcome.classifyHTTP(status: 200) == .succeeded)
        #expect(LoadOutcome.classifyHTTP(status: 404) == .succeeded)
        #expect(LoadOutcome.classifyHTTP(status: 429) == .throttled)
        #expect(LoadOutcome.classifyHTTP(status: 502) == .functionError)
        #expect(LoadOutcome.classifyHTTP(status: 504) == .functionError)
        #expect(LoadOutcome.classifyHTTP(status: 503) == .otherError)
    }
}
