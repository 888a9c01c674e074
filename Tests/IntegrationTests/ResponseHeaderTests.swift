// The headers the front port sends, as Lambda sends them (lambda-behaviour.md §4.2, captures of real
// responses): `Date` on every answer, `x-amzn-Remapped-Content-Length` and `X-Amzn-Trace-Id` on invokes.

import Foundation
import LambdaSim
import SimCore
import SimHTTP
import Testing

@Suite("Invoke API response headers")
struct ResponseHeaderTests {
    /// Parses an RFC 9110 IMF-fixdate (`Sat, 02 Mar 2024 18:59:37 GMT`) into epoch seconds.
    private func epochSeconds(ofHTTPDate text: String) -> Int? {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let fields = text.split(separator: " ").map(String.init)
        guard fields.count == 6, fields[0].hasSuffix(","), weekdays.contains(String(fields[0].dropLast())),
            fields[1].count == 2, let day = Int(fields[1]), let month = months.firstIndex(of: fields[2]),
            let year = Int(fields[3]), fields[5] == "GMT"
        else { return nil }
        let clock = fields[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, fields[4].count == 8 else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(clock[0])
        parts.tm_min = Int32(clock[1])
        parts.tm_sec = Int32(clock[2])
        let seconds = timegm(&parts)
        // The weekday must be the one of that date.
        return weekdays[Int(parts.tm_wday)] == String(fields[0].dropLast()) ? seconds : nil
    }

    /// Checks `Date` is an IMF-fixdate within a few seconds of now.
    private func expectCurrentDate(_ response: HTTPResponse, _ what: String) {
        expectCurrentDate(date: response.headers["Date"], what)
    }

    private func expectCurrentDate(_ response: InvokeClient.Response, _ what: String) {
        expectCurrentDate(date: response.headers["Date"], what)
    }

    private func expectCurrentDate(date header: String?, _ what: String) {
        let date = header ?? ""
        let seconds = epochSeconds(ofHTTPDate: date)
        #expect(seconds != nil, "\(what): Date '\(date)' is not an IMF-fixdate")
        if let seconds { #expect(abs(seconds - Int(time(nil))) <= 5, "\(what): Date '\(date)'") }
    }

    /// A synchronous invoke: `Date`, `x-amzn-Remapped-Content-Length: 0`, `X-Amz-Executed-Version` and the
    /// invoke's trace header, the one the runtime received as `Lambda-Runtime-Trace-Id`, in Lambda's order.
    @Test(.timeLimit(.minutes(1)))
    func synchronousInvoke() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let response = try await sim.invoke("fn", payload: #"{"headers":true}"#)
            #expect(response.status == 200)
            expectCurrentDate(response, "200")
            #expect(response.headers["x-amzn-Remapped-Content-Length"] == "0")
            let runtimeHeaders = try stringObject(response.body)
            let trace = try #require(runtimeHeaders["lambda-runtime-trace-id"])
            #expect(response.headers["X-Amzn-Trace-Id"] == trace)
            #expect(trace.hasPrefix("Root=1-"))
            let names = response.headers.map(\.name)
            #expect(
                Array(names.prefix(5)) == [
                    "Date", "Content-Type", "x-amzn-RequestId", "x-amzn-Remapped-Content-Length",
                    "X-Amz-Executed-Version",
                ], "\(names)")
        }
    }

    /// A trace header sent by the caller is the one the runtime and the response carry.
    @Test(.timeLimit(.minutes(1)))
    func callerTraceHeader() async throws {
        let trace = "Root=1-65e37719-14c1a9161181b6491db573cd;Parent=26f0f4f799501463;Sampled=1"
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let response = try await sim.invoke(
                "fn", payload: #"{"headers":true}"#, headers: ["X-Amzn-Trace-Id": trace])
            #expect(try stringObject(response.body)["lambda-runtime-trace-id"] == trace)
            #expect(response.headers["X-Amzn-Trace-Id"] == trace)
        }
    }

    /// `Event` (202) carries `Date`, the request id and the trace header but no Content-Type; `DryRun` (204) and
    /// service errors carry `Date` too.
    @Test(.timeLimit(.minutes(1)))
    func otherAnswers() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let event = try await sim.invoke("fn", payload: "{}", headers: ["X-Amz-Invocation-Type": "Event"])
            #expect(event.status == 202)
            expectCurrentDate(event, "202")
            #expect(event.headers["X-Amzn-Trace-Id"]?.hasPrefix("Root=1-") == true)
            #expect(!event.headers.contains("Content-Type"))
            #expect(event.headers["x-amzn-Remapped-Content-Length"] == "0")

            let dryRun = try await sim.invoke("fn", payload: "{}", headers: ["X-Amz-Invocation-Type": "DryRun"])
            #expect(dryRun.status == 204)
            expectCurrentDate(dryRun, "204")

            let missing = try await sim.invoke("nope", payload: "{}")
            #expect(missing.status == 404)
            expectCurrentDate(missing, "404")
            #expect(missing.headers["x-amzn-ErrorType"] == "ResourceNotFoundException")

            let status = try await sim.front(HTTPRequest(method: "GET", target: "/_sim/health"))
            expectCurrentDate(status, "status API")
        }
    }
}
