// Response streaming end to end (issue 13): the fixture runtime streams, boto3's invoke_with_response_stream and
// `lambda-sim invoke --stream` read, and every failure arrives in InvokeComplete as Lambda reports it.

import Foundation
import LambdaSim
import SimHTTP
import SimUV
import Testing

@Suite("Response streaming", .serialized)
struct StreamingTests {
    /// Runs `Fixtures/python/stream_boto3.py` and returns its JSON lines.
    private func boto3(_ sim: SimHarness, _ function: String, _ payload: String, _ extra: [String] = []) async throws
        -> [[String: Any]]
    {
        try await boto3(endpoint: sim.simulator.endpoint, function, payload, extra)
    }

    private func boto3(endpoint: String, _ function: String, _ payload: String, _ extra: [String] = []) async throws
        -> [[String: Any]]
    {
        let script = TestPaths.pythonFixtures + "/stream_boto3.py"
        let result = try await runProcess([TestPaths.python, script, endpoint, function, payload] + extra)
        #expect(result.status == .exited(0), "\(result.stderr)")
        return try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    private func events(_ lines: [[String: Any]], _ kind: String) -> [[String: Any]] {
        lines.filter { $0["kind"] as? String == kind }
    }

    /// A managed instance with two workers of `Fixtures/managed/stream-workers` (bash + curl), each streaming.
    private func streamWorkers() -> FunctionOptions {
        var function = FunctionOptions(
            name: "mi", command: [TestPaths.fixtures + "/managed/stream-workers"], codeDirectory: "/tmp",
            timeoutSeconds: 10, inheritedEnvironment: TestPaths.inheritedEnvironment)
        function.environmentMaxConcurrency = 2
        return function
    }

    private func streaming(timeoutSeconds: Double = 10) -> FunctionOptions {
        TestFunctions.fixture(timeoutSeconds: timeoutSeconds)
    }

    /// Managed instances stream too, several invokes at once in one environment (issue 14): two boto3 callers of a
    /// bash runtime with two workers each get their own three chunks, progressively, in about one stream's time.
    @Test(.timeLimit(.minutes(1)))
    func managedInstanceStreamsAtOnce() async throws {
        try await withSimulator([streamWorkers()]) { sim in
            _ = try await sim.sandboxes(atLeast: 1)
            async let first = boto3(sim, "mi", "{}")
            async let second = boto3(sim, "mi", "{}")
            let streams = [try await first, try await second]
            var workers: Set<String> = []
            for lines in streams {
                let chunks = events(lines, "chunk").compactMap { $0["text"] as? String }
                #expect(chunks.count == 3, "\(lines)")
                let ids = Set(chunks.compactMap { $0.split(separator: " ").dropFirst(3).first.map(String.init) })
                #expect(ids.count == 1, "\(chunks)")
                for (index, chunk) in chunks.enumerated() { #expect(chunk.hasPrefix("chunk \(index + 1) of ")) }
                let times = events(lines, "chunk").compactMap { $0["t"] as? Double }
                #expect(times.count == 3 && times[2] - times[0] > 0.4, "not progressive: \(times)")
                if let worker = chunks.first?.split(separator: " ").last { workers.insert(String(worker)) }
                let complete = try #require(events(lines, "complete").first)
                #expect(complete["ErrorCode"] is NSNull)
                // One after the other, the second would end after 1.8 s.
                #expect(try #require(complete["t"] as? Double) < 1.5, "\(lines)")
            }
            #expect(workers.count == 2)
            #expect(try await sim.simulator.sandboxes().count == 1)
        }
    }

    /// On a managed instance an `/error` while the invoke's response is streaming is accepted (202) and ends the
    /// invoke with that error: boto3 gets the chunk written before it, then InvokeComplete with the error.
    @Test(.timeLimit(.minutes(1)))
    func managedInstanceErrorWhileStreaming() async throws {
        try await withSimulator([streamWorkers()]) { sim in
            _ = try await sim.sandboxes(atLeast: 1)
            let lines = try await boto3(sim, "mi", #"{"errorMidway":true}"#)
            let chunks = events(lines, "chunk").compactMap { $0["text"] as? String }
            #expect(chunks.count == 1 && chunks.first?.hasPrefix("chunk 1 of ") == true, "\(lines)")
            let complete = try #require(events(lines, "complete").first)
            #expect(complete["ErrorCode"] as? String == "Midway.Error", "\(complete)")
            #expect((complete["ErrorDetails"] as? String)?.contains("gave up midway") == true, "\(complete)")
            #expect(await sim.logs.first { $0.text == "error midway: 202" } != nil)
        }
    }

    /// boto3 gets a 200 event stream whose chunks arrive while the function is still writing (250 ms apart),
    /// byte for byte, then one InvokeComplete without an error.
    @Test(.timeLimit(.minutes(1)))
    func chunksArriveProgressively() async throws {
        try await withSimulator([streaming()]) { sim in
            let lines = try await boto3(sim, "fn", #"{"streamChunks":4,"streamIntervalMs":250}"#)
            let response = try #require(events(lines, "response").first)
            #expect(response["StatusCode"] as? Int == 200)
            #expect(response["ResponseStreamContentType"] as? String == "application/vnd.amazon.eventstream")
            let chunks = events(lines, "chunk")
            #expect(chunks.map { $0["text"] as? String } == (0..<4).map { "chunk \($0)\n" })
            let times = chunks.compactMap { $0["t"] as? Double }
            #expect(times.count == 4)
            for index in 1..<times.count {
                #expect(
                    times[index] - times[index - 1] > 0.15, "chunk \(index) did not wait for the function: \(times)")
            }
            let complete = try #require(events(lines, "complete").first)
            #expect(complete["ErrorCode"] is NSNull && complete["ErrorDetails"] is NSNull)
            #expect(try #require(complete["t"] as? Double) - times[0] > 0.6)
            #expect(events(lines, "complete").count == 1 && lines.last?["kind"] as? String == "complete")
        }
    }

    /// Failures inside the stream keep status 200 and arrive in InvokeComplete: error trailers, a timeout and a
    /// crash after some chunks, and /error before the first byte.
    @Test(.timeLimit(.minutes(1)))
    func failuresArriveInInvokeComplete() async throws {
        try await withSimulator([streaming(timeoutSeconds: 1)]) { sim in
            let cases: [(String, Int, String, String)] = [
                (#"{"streamChunks":2,"streamErrorType":"Custom.Boom"}"#, 2, "Custom.Boom", "failed mid-stream"),
                (
                    #"{"streamChunks":2,"streamSleepMs":3000}"#, 2, "Sandbox.Timedout",
                    "Task timed out after 1.00 seconds"
                ),
                (#"{"streamChunks":3,"streamExitAfter":2}"#, 2, "Runtime.ExitError", "exit status 1"),
                (#"{"error":"Early.Failure"}"#, 0, "Early.Failure", "fixture error"),
            ]
            for (payload, chunkCount, code, detail) in cases {
                let lines = try await boto3(sim, "fn", payload)
                #expect(events(lines, "response").first?["StatusCode"] as? Int == 200, "\(payload)")
                #expect(events(lines, "chunk").count == chunkCount, "\(payload): \(lines)")
                let complete = try #require(events(lines, "complete").first, "\(payload): \(lines)")
                #expect(complete["ErrorCode"] as? String == code, "\(payload): \(complete)")
                #expect((complete["ErrorDetails"] as? String)?.contains(detail) == true, "\(payload): \(complete)")
            }
        }
    }

    /// Errors before the stream are the Invoke API's: an unknown function (404), `Event` (400), a throttle (429
    /// with its reason); `Tail` puts the log in InvokeComplete's LogResult; `DryRun` is 204.
    @Test(.timeLimit(.minutes(1)))
    func serviceErrorsAndTail() async throws {
        var zero = TestFunctions.fixture(name: "zero")
        zero.reservedConcurrency = 0
        try await withSimulator([streaming(), zero], account: .init(concurrency: 10)) { sim in
            let unknown = try #require(try await boto3(sim, "nope", "{}").first)
            #expect(unknown["code"] as? String == "ResourceNotFoundException" && unknown["status"] as? Int == 404)
            let event = try #require(try await boto3(sim, "fn", "{}", ["--type", "Event"]).first)
            #expect(event["code"] as? String == "InvalidParameterValueException" && event["status"] as? Int == 400)
            let throttled = try #require(try await boto3(sim, "zero", "{}").first)
            #expect(throttled["code"] as? String == "TooManyRequestsException" && throttled["status"] as? Int == 429)
            let dryRun = try await boto3(sim, "fn", "{}", ["--type", "DryRun"])
            #expect(events(dryRun, "response").first?["StatusCode"] as? Int == 204)

            let tail = try await boto3(sim, "fn", #"{"streamChunks":1,"print":"hello from the stream"}"#, ["--tail"])
            let log = try #require(events(tail, "complete").first?["LogResult"] as? String)
            #expect(log.contains("hello from the stream") && log.contains("REPORT RequestId: "), "\(log)")
        }
    }

    /// A plain Invoke of a streaming function gets the whole body; a function that does not stream, invoked
    /// through the streaming API, yields its body as a chunk; a Function URL prelude passes through untouched.
    @Test(.timeLimit(.minutes(1)))
    func bufferedAndUnstreamedShapes() async throws {
        try await withSimulator([streaming()]) { sim in
            let plain = try await sim.invoke("fn", payload: #"{"streamChunks":3}"#)
            #expect(plain.status == 200 && text(plain) == "chunk 0\nchunk 1\nchunk 2\n")
            let echoed = try await boto3(sim, "fn", #"{"a":1}"#)
            #expect(events(echoed, "chunk").map { $0["text"] as? String } == [#"{"a":1}"#])
            let url = try await boto3(sim, "fn", #"{"streamChunks":1,"streamFunctionURL":true}"#)
            let prelude = try #require(events(url, "chunk").first?["text"] as? String)
            #expect(
                prelude == #"{"statusCode":201,"headers":{"x-fixture":"yes"}}"# + String(repeating: "\u{0}", count: 8))
        }
    }

    /// Over its size limit a streamed response ends with Function.ResponseSizeTooLarge; with Lambda's bandwidth
    /// shaping, 10 MiB take at least the 2 s that 4 MiB past the 6 MiB burst need at 2 MiB/s.
    @Test(.timeLimit(.minutes(1)))
    func sizeLimitAndBandwidth() async throws {
        var small = TestFunctions.fixture(name: "small", timeoutSeconds: 10)
        small.maxStreamedResponseBytes = 100_000
        var shaped = TestFunctions.fixture(name: "shaped", timeoutSeconds: 30)
        shaped.streamingBytesPerSecond = 2 * 1024 * 1024
        try await withSimulator([small, shaped]) { sim in
            let over = try await boto3(sim, "small", #"{"streamChunks":5,"streamChunkBytes":65536}"#)
            let complete = try #require(events(over, "complete").first)
            #expect(complete["ErrorCode"] as? String == "Function.ResponseSizeTooLarge", "\(complete)")
            #expect(events(over, "chunk").reduce(0) { $0 + ($1["bytes"] as? Int ?? 0) } <= 100_000)

            let clock = ContinuousClock()
            let start = clock.now
            let lines = try await boto3(sim, "shaped", #"{"streamChunks":160,"streamChunkBytes":65536}"#)
            let elapsed = clock.now - start
            #expect(events(lines, "chunk").reduce(0) { $0 + ($1["bytes"] as? Int ?? 0) } == 160 * 65_536)
            #expect(events(lines, "complete").first?["ErrorCode"] is NSNull)
            #expect(elapsed >= .milliseconds(1900), "10 MiB streamed in \(elapsed)")
        }
    }

    /// A stream that would go on forever ends the moment it passes its limit: boto3 gets InvokeComplete with
    /// Function.ResponseSizeTooLarge and Lambda's message within a few seconds (not at the 20 s timeout), no more
    /// than the limit in chunks, a REPORT is written, and the function answers the next invoke.
    @Test(.timeLimit(.minutes(1)))
    func endlessStreamEndsAtTheLimit() async throws {
        var small = TestFunctions.fixture(name: "small", timeoutSeconds: 20)
        small.maxStreamedResponseBytes = 100_000
        try await withSimulator([small]) { sim in
            let clock = ContinuousClock()
            let start = clock.now
            let over = try await boto3(sim, "small", #"{"streamChunks":1000000000,"streamChunkBytes":65536}"#)
            let elapsed = clock.now - start
            #expect(elapsed < .seconds(8), "the oversized stream ended after \(elapsed)")
            let complete = try #require(events(over, "complete").first)
            #expect(complete["ErrorCode"] as? String == "Function.ResponseSizeTooLarge", "\(complete)")
            let details = complete["ErrorDetails"] as? String ?? ""
            #expect(details.contains("exceeded maximum allowed payload size (100000 bytes)"), "\(details)")
            #expect(events(over, "chunk").reduce(0) { $0 + ($1["bytes"] as? Int ?? 0) } <= 100_000)
            let report = await sim.logs.first { $0.isPlatform && $0.text.hasPrefix("REPORT RequestId: ") }
            #expect(report != nil)
            let next = try await sim.invoke("small", payload: #"{"after":1}"#)
            #expect(next.status == 200 && text(next) == #"{"after":1}"#, "\(text(next))")
        }
    }

    /// A runtime's streamed upload with a bad chunk size, or chunk data not followed by CRLF, is answered at once
    /// with 400 TruncatedHTTPRequest and its connection closed, and the invoke fails at once with
    /// Runtime.TruncatedResponse (not at the 10 s timeout).
    @Test(.timeLimit(.minutes(1)))
    func malformedUploadFailsAtOnce() async throws {
        let function = FunctionOptions(name: "att", command: [], codeDirectory: "/tmp", timeoutSeconds: 10)
        try await withSimulator([function]) { sim in
            let api = try #require(try await sim.simulator.sandboxes().first?.runtimeAPI)
            let host = String(api.split(separator: ":")[0])
            let port = try #require(Int(api.split(separator: ":")[1]))
            for body in ["zz\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXY0\r\n\r\n"] {
                async let invoke = sim.invoke("att", payload: "{}")
                let next = try await sim.runtimeAPI(
                    api, HTTPRequest(method: "GET", target: "/2018-06-01/runtime/invocation/next"))
                let id = try #require(next.headers["Lambda-Runtime-Aws-Request-Id"])
                let clock = ContinuousClock()
                let start = clock.now
                let upload =
                    "POST /2018-06-01/runtime/invocation/\(id)/response HTTP/1.1\r\nHost: \(api)\r\n"
                    + "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\r\n" + body
                let answer = String(
                    decoding: try await rawExchange(host: host, port: port, Array(upload.utf8)), as: UTF8.self)
                #expect(answer.hasPrefix("HTTP/1.1 400 "), "\(answer)")
                #expect(
                    answer.hasSuffix(
                        #"{"errorMessage":"HTTP request detected as truncated","errorType":"TruncatedHTTPRequest"}"#
                            + "\n"), "\(answer)")
                let response = try await invoke
                #expect(clock.now - start < .seconds(3))
                #expect(response.headers["X-Amz-Function-Error"] == "Unhandled")
                #expect(
                    try stringObject(response.body)["errorType"] == "Runtime.TruncatedResponse", "\(text(response))")
            }
        }
    }

    /// An invoker that disconnects mid-stream breaks the copy: the invoke ends at once (REPORT `Status: error`, the
    /// runtime's upload cut off), long before the 20 s timeout of a stream that would go on forever, rather than the
    /// simulator reading and framing the rest of the runtime's upload; the next invoke works.
    @Test(.timeLimit(.minutes(1)))
    func invokerLeavingEndsTheStream() async throws {
        let function = TestFunctions.fixture(name: "endless", timeoutSeconds: 20)
        try await withSimulator([function]) { sim in
            let payload = #"{"streamChunks":1000000000,"streamChunkBytes":65536}"#
            let request =
                "POST /2021-11-15/functions/endless/response-streaming-invocations HTTP/1.1\r\nHost: x\r\n"
                + "Content-Length: \(payload.utf8.count)\r\n\r\n\(payload)"
            let clock = ContinuousClock()
            let start = clock.now
            // Read until the first chunks arrived, then hang up.
            try await readThenHangUp(port: sim.simulator.port, Array(request.utf8), atLeast: 200_000)
            let report = await sim.logs.first(timeout: .seconds(15)) {
                $0.isPlatform && $0.text.hasPrefix("REPORT RequestId: ")
            }
            let line = try #require(report?.text)
            // The fixture dies of the broken pipe (a runtime whose write fails), so its exit is what REPORT names.
            #expect(line.contains("\tStatus: error\tError Type: "), "\(line)")
            #expect(clock.now - start < .seconds(8))
            let next = try await sim.invoke("endless", payload: #"{"after":1}"#)
            #expect(next.status == 200 && next.text == #"{"after":1}"#)
        }
    }

    /// A slow reader slows the runtime instead of filling the simulator: 48 MiB streamed to a reader that sleeps
    /// after every chunk leave the simulator's resident memory within 24 MiB of where it started, and every byte
    /// arrives.
    @Test(.timeLimit(.minutes(2)))
    func slowReaderKeepsMemoryBounded() async throws {
        let (process, port) = try await BackgroundProcess.lambdaSim(
            freeze: .none, command: [TestPaths.fixtureRuntime])
        defer { process.signal(SIGTERM) }
        let before = try #require(ProcProbe.residentBytes(process.pid))
        let peak = PeakSampler(pid: process.pid)
        let sampler = Task { await peak.run() }
        let lines = try await boto3(
            endpoint: "http://127.0.0.1:\(port)", "function", #"{"streamChunks":768,"streamChunkBytes":65536}"#,
            ["--read-delay", "0.004"])
        sampler.cancel()
        _ = await sampler.value
        #expect(events(lines, "chunk").reduce(0) { $0 + ($1["bytes"] as? Int ?? 0) } == 768 * 65_536)
        #expect(events(lines, "complete").first?["ErrorCode"] is NSNull)
        let grown = await peak.peak - before
        #expect(grown < 24 * 1024 * 1024, "the simulator grew by \(grown >> 20) MiB under a slow reader")
    }

    /// `lambda-sim invoke --stream` prints each chunk as it arrives and exits 0; a streamed error goes to stderr
    /// with exit status 1.
    @Test(.timeLimit(.minutes(1)))
    func invokeCommandStreams() async throws {
        try await withSimulator([streaming()]) { sim in
            let cli = TestPaths.binDirectory + "/lambda-sim"
            let process = try await BackgroundProcess.start([
                cli, "invoke", "fn", "--endpoint", sim.simulator.endpoint, "--stream", "--payload",
                #"{"streamChunks":3,"streamIntervalMs":500}"#,
            ])
            #expect(try await process.waitForLine(prefix: "chunk 0") != nil)
            #expect(!process.stdout.contains("chunk 2"), "printed only at the end: \(process.stdout)")
            #expect(try await process.waitForExit() == .exited(0))
            #expect(process.stdout == "chunk 0\nchunk 1\nchunk 2\n")

            let failed = try await runProcess([
                cli, "invoke", "fn", "--endpoint", sim.simulator.endpoint, "--stream", "--payload",
                #"{"streamChunks":1,"streamErrorType":"X.Y"}"#,
            ])
            #expect(failed.status == .exited(1) && failed.stdout == "chunk 0\n")
            #expect(failed.stderr.contains("lambda-sim: X.Y: "), "\(failed.stderr)")
        }
    }
}

/// Samples a process's resident memory every 20 ms and keeps the largest value.
private actor PeakSampler {
    let pid: Int32
    private(set) var peak = 0

    init(pid: Int32) { self.pid = pid }

    func run() async {
        while !Task.isCancelled {
            if let bytes = ProcProbe.residentBytes(pid) { peak = max(peak, bytes) }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Connects to the Invoke API on `port`, sends `request`, reads until `atLeast` bytes arrived, then closes.
private func readThenHangUp(port: Int, _ request: [UInt8], atLeast: Int) async throws {
    final class State: @unchecked Sendable {
        var received = 0
        var done = false
    }
    let loop = ClientLoop.shared
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        loop.submit {
            TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port) { result in
                switch result {
                case .failure(let error):
                    continuation.resume(throwing: error)
                case .success(let connection):
                    let state = State()
                    func finish() {
                        guard !state.done else { return }
                        state.done = true
                        connection.close()
                        continuation.resume()
                    }
                    connection.onData = { bytes in
                        state.received += bytes.count
                        if state.received >= atLeast { finish() }
                    }
                    connection.onReadEnd = { _ in finish() }
                    connection.startReading()
                    connection.write(request)
                }
            }
        }
    }
}
