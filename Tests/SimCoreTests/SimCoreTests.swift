import Testing

@testable import SimCore

@Suite struct JSONTests {
    /// Valid documents parse and re-serialise compactly with keys in their original order.
    @Test(arguments: [
        ("{\"b\":1,\"a\":[true,false,null,\"x\\ny\"]}", "{\"b\":1,\"a\":[true,false,null,\"x\\ny\"]}"),
        (" [ 1.5e3 , -0 ] ", "[1.5e3,-0]"),
        ("\"\\u00e9\\ud83d\\ude00\"", "\"é😀\""),
    ])
    func roundTrip(input: String, output: String) throws {
        #expect(try JSON.parse(Array(input.utf8)).serialized == output)
    }

    /// Anything that is not one JSON document is rejected, by `validate` with the same error `parse` throws.
    @Test(arguments: [
        "", "{", "{\"a\":}", "[1,]", "01", "tru", "{} {}", "\"\u{01}\"", "abc", "\"\\x\"", "\"\\u12g4\"", "[1e]",
        String(repeating: "[", count: 600),
    ])
    func rejects(input: String) throws {
        let bytes = Array(input.utf8)
        #expect(!JSON.isValid(bytes))
        let validation = try #require(JSON.validate(bytes))
        #expect(throws: validation) { try JSON.parse(bytes) }
    }

    /// `validate` accepts what `parse` accepts.
    @Test(arguments: ["{}", " [1, 2.5e-3, \"a\\n\\u00e9\", {\"k\": [null, true, false]}] ", "\"x\"", "-0"])
    func validates(input: String) throws {
        #expect(JSON.validate(Array(input.utf8)) == nil)
        _ = try JSON.parse(Array(input.utf8))
    }

    /// Lambda's error body has errorMessage then errorType, escaped.
    @Test func errorBody() {
        #expect(
            JSON.errorBody(type: "T", message: "a \"b\"") == "{\"errorMessage\":\"a \\\"b\\\"\",\"errorType\":\"T\"}")
    }
}

@Suite struct EncodingTests {
    /// Base64 round-trips every padding case and rejects invalid input.
    @Test func base64() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let encoded = Base64.encode(Array(text.utf8))
            #expect(Base64.decode(encoded) == Array(text.utf8))
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.decode("Zm9v YmFy") == nil)
        #expect(Base64.decode("Zm9=") == nil || Base64.decode("Zm9=") == Array("fo".utf8))
        #expect(Base64.decode("abc") == nil)
    }

    /// Request ids are v4 UUIDs; trace headers and log stream names have Lambda's shapes.
    @Test func identifiers() {
        let id = Identifiers.uuid()
        #expect(Identifiers.isUUID(id))
        #expect(Array(id.utf8)[14] == UInt8(ascii: "4"))
        #expect(Identifiers.uuid() != id)
        let trace = Identifiers.traceHeader(epochMilliseconds: 1_700_000_000_000)
        #expect(trace.hasPrefix("Root=1-6553f100-"))
        #expect(trace.contains(";Parent=") && trace.hasSuffix(";Sampled=0"))
        #expect(
            trace.wholeMatch(of: #/Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0/#) != nil, "\(trace)")
        let stream = Identifiers.logStreamName(version: "$LATEST", epochMilliseconds: 1_700_000_000_000)
        #expect(stream.hasPrefix("2023/11/14/[$LATEST]"))
        #expect(stream.count == "2023/11/14/[$LATEST]".count + 32)
        #expect(CivilTime(epochMilliseconds: 1_700_000_000_064).iso8601 == "2023-11-14T22:13:20.064Z")
    }
}

@Suite struct LambdaLogTests {
    /// REPORT is tab-separated with a trailing tab, init billed on cold starts, status last.
    @Test func report() {
        let cold = LambdaLog.report(
            requestID: "r", durationMs: 38.664, memorySizeMB: 128, maxMemoryUsedMB: 54, initDurationMs: 203.69,
            status: .success)
        #expect(
            cold
                == "REPORT RequestId: r\tDuration: 38.66 ms\tBilled Duration: 243 ms\tMemory Size: 128 MB\tMax Memory Used: 54 MB\tInit Duration: 203.69 ms\t"
        )
        let timeout = LambdaLog.report(
            requestID: "r", durationMs: 3000, memorySizeMB: 1024, maxMemoryUsedMB: 64, initDurationMs: nil,
            status: .timeout)
        #expect(
            timeout.hasSuffix(
                "Duration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 1024 MB\tMax Memory Used: 64 MB\tStatus: timeout\t"
            ))
        let error = LambdaLog.report(
            requestID: "r", durationMs: 1.001, memorySizeMB: 128, maxMemoryUsedMB: 1, initDurationMs: nil,
            status: .error("Runtime.ExitError"))
        #expect(
            error.hasSuffix(
                "Billed Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB\tStatus: error\tError Type: Runtime.ExitError\t"
            ))
    }

    /// START, END and INIT_REPORT match CloudWatch's text format.
    @Test func otherLines() {
        #expect(LambdaLog.start(requestID: "r", version: "$LATEST") == "START RequestId: r Version: $LATEST")
        #expect(LambdaLog.end(requestID: "r") == "END RequestId: r")
        #expect(
            LambdaLog.initReport(durationMs: 10007.333, phase: "init", status: "timeout", errorType: nil)
                == "INIT_REPORT Init Duration: 10007.33 ms\tPhase: init\tStatus: timeout")
        #expect(LambdaLog.fixed(0.005) == "0.01")
        #expect(LambdaLog.fixed(2) == "2.00")
    }
}

@Suite struct LatencyHistogramTests {
    /// Percentiles land within the 2 % bucket width and never above the maximum.
    @Test func percentiles() {
        var histogram = LatencyHistogram()
        for value in 1...1000 { histogram.record(UInt64(value) * 1000) }
        #expect(histogram.count == 1000)
        let p50 = Double(histogram.percentile(0.5))
        #expect(p50 >= 500_000 && p50 <= 500_000 * 1.03)
        #expect(histogram.percentile(0.99) <= 1_000_000)
        #expect(histogram.percentile(1.0) == 1_000_000)
        var other = LatencyHistogram()
        other.record(5_000_000)
        histogram.merge(other)
        #expect(histogram.max == 5_000_000 && histogram.count == 1001)
        #expect(LatencyHistogram().percentile(0.5) == 0)
    }

    /// Every bucket is at most 2 % wide (HDR-style), and holds the values between its bounds.
    @Test func bucketsAreAtMostTwoPercentWide() {
        for index in [300, 500, 700, 1000, 1200] {
            let (lower, upper) = LatencyHistogram.bounds(ofBucket: index)
            #expect(upper / lower <= 1.02, "bucket \(index): \(lower)..<\(upper)")
        }
        for value: UInt64 in [1_000, 123_456, 40_000_000, 987_654_321] {
            let (lower, upper) = LatencyHistogram.bounds(ofBucket: LatencyHistogram.bucket(for: value))
            #expect(Double(value) >= lower * 0.999_999 && Double(value) < upper, "\(value)")
        }
        var histogram = LatencyHistogram()
        for value: UInt64 in [40_000_000, 40_200_000, 41_000_000, 41_000_000] { histogram.record(value) }
        // 40.0 and 40.2 ms are 0.5 % apart: one bucket; 41 ms is 2.5 % above 40: another.
        #expect(histogram.occupiedBuckets.map(\.count) == [2, 2])
    }
}

@Suite struct HTTPDateTests {
    /// `httpDate` is RFC 9110's IMF-fixdate, weekday and month by name, in UTC.
    @Test func imfFixdate() {
        #expect(CivilTime(epochMilliseconds: 1_709_405_977_000).httpDate == "Sat, 02 Mar 2024 18:59:37 GMT")
        #expect(CivilTime(epochMilliseconds: 0).httpDate == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}
