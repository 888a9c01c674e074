// The fixture runtime proper: start-up controls from the environment, then the invoke loop, with
// the behaviour of every invoke chosen by a few top-level keys of its JSON payload.

import Glibc

/// Memory written at start (`FIXTURE_TOUCH_MB_AT_INIT`), kept reachable so that the writes are not optimised
/// away.
nonisolated(unsafe) var touchedMemory: UnsafeMutableRawPointer?

/// Runtime API path prefix.
private let apiPrefix = "/2018-06-01/runtime"

/// One event received from `GET /runtime/invocation/next`.
struct Invocation {
    var requestID: String
    /// Absolute deadline in Unix epoch milliseconds, when the header was present and numeric.
    var deadlineMs: Int?
    /// The /next response headers (lower-cased names, arrival order).
    var headers: [(name: String, value: String)]
    var payload: [UInt8]
}

/// Lambda Runtime API client whose behaviour is steered by the invoke payload.
struct Fixture {
    let client: RuntimeAPIClient

    /// Entry point: never returns; any I/O failure ends the process with status 1.
    static func run() -> Never {
        guard let authority = environment("AWS_LAMBDA_RUNTIME_API"), !authority.isEmpty else {
            die("AWS_LAMBDA_RUNTIME_API is not set")
        }
        let client = RuntimeAPIClient(authority: authority)
        client.connectionPerRequest = environment("FIXTURE_NEW_CONNECTION") == "1"
        let fixture = Fixture(client: client)
        do {
            try fixture.initialise()
            while true {
                try fixture.processNextInvocation()
            }
        } catch let error as FixtureError {
            die(error.message)
        } catch {
            die("unexpected error: \(error)")
        }
    }

    /// Applies the FIXTURE_* start-up controls before the first `/next`.
    func initialise() throws {
        if let megabytes = environment("FIXTURE_TOUCH_MB_AT_INIT").flatMap({ Int($0) }), megabytes > 0 {
            touchMemory(megabytes: megabytes)
        }
        if let text = environment("FIXTURE_PRINT_AT_INIT") {
            writeLine(1, text)
        }
        if let count = environment("FIXTURE_OPEN_FILES").flatMap({ Int($0) }) {
            // Descriptors held for the process's life: what a runtime with many open files costs a walk of them.
            for _ in 0..<count where open("/dev/null", O_RDONLY) < 0 { break }
        }
        if let milliseconds = environment("FIXTURE_INIT_SLEEP_MS").flatMap({ Int($0) }) {
            sleepMilliseconds(milliseconds)
        }
        if let code = environment("FIXTURE_EXIT_AT_INIT").flatMap({ Int32($0) }) {
            exit(code)
        }
        if let errorType = environment("FIXTURE_INIT_ERROR"), !errorType.isEmpty {
            let body = "{\"errorMessage\":\"fixture init error\",\"errorType\":\(jsonQuoted(errorType))}"
            _ = try client.request(
                "POST",
                "\(apiPrefix)/init/error",
                headers: [("Lambda-Runtime-Function-Error-Type", errorType), ("Content-Type", "application/json")],
                body: Array(body.utf8)
            )
            exit(1)
        }
    }

    /// Waits for the next event and handles it completely.
    func processNextInvocation() throws {
        reapChildren()
        let next = try client.request("GET", "\(apiPrefix)/invocation/next")
        guard next.status == 200 else {
            die("GET /invocation/next returned HTTP \(next.status): \(String(decoding: next.body, as: UTF8.self))")
        }
        guard let requestID = next.header("lambda-runtime-aws-request-id"), !requestID.isEmpty else {
            die("GET /invocation/next response lacks Lambda-Runtime-Aws-Request-Id")
        }
        // Like real runtimes, expose the X-Ray trace header to the "function" through the environment.
        if let traceID = next.header("lambda-runtime-trace-id") {
            setenv("_X_AMZN_TRACE_ID", traceID, 1)
        } else {
            unsetenv("_X_AMZN_TRACE_ID")
        }
        let invocation = Invocation(
            requestID: requestID,
            deadlineMs: next.header("lambda-runtime-deadline-ms").flatMap { Int($0) },
            headers: next.headers,
            payload: next.body
        )
        try handle(invocation)
    }

    /// Runs the payload-selected behaviours in a fixed order: output, fork, sleep, exit/signal, answer.
    /// `FIXTURE_DEFAULTS` (a JSON object) supplies behaviours the payload does not name, for events the test does
    /// not write itself (an API Gateway event).
    func handle(_ invocation: Invocation) throws {
        var members = scanTopLevelMembers(invocation.payload)
        if let defaults = environment("FIXTURE_DEFAULTS") {
            members.merge(scanTopLevelMembers(Array(defaults.utf8))) { own, _ in own }
        }
        func integer(_ key: String) -> Int? {
            if case .int(let value)? = members[key] { return value }
            return nil
        }
        func text(_ key: String) -> String? {
            if case .string(let value)? = members[key] { return value }
            return nil
        }

        if let line = text("print") { writeLine(1, line) }
        if let line = text("stderr") { writeLine(2, line) }
        if let milliseconds = integer("forkSleep") { forkSleeper(milliseconds) }
        if let milliseconds = integer("setsidSleep") { forkSleeper(milliseconds, newSession: true) }
        if let milliseconds = integer("sleepMs") { sleepMilliseconds(milliseconds) }
        if let megabytes = integer("touchMB") { touchMemory(megabytes: megabytes, keep: false) }
        if let code = integer("exit") { _exit(Int32(truncatingIfNeeded: code)) }
        if let signalNumber = integer("signal") { raise(Int32(truncatingIfNeeded: signalNumber)) }

        let invocationPath = "\(apiPrefix)/invocation/\(invocation.requestID)"
        if let errorType = text("error") {
            let body = "{\"errorMessage\":\"fixture error\",\"errorType\":\(jsonQuoted(errorType))}"
            let reply = try client.request(
                "POST",
                "\(invocationPath)/error",
                headers: [("Lambda-Runtime-Function-Error-Type", errorType), ("Content-Type", "application/json")],
                body: Array(body.utf8)
            )
            warnUnlessAccepted(reply, "/error")
            // Like Go's runtime, which re-panics after reporting a panic.
            if let code = integer("exitAfterError") { _exit(Int32(truncatingIfNeeded: code)) }
            return
        }

        if let chunks = integer("streamChunks") {
            try stream(chunks: chunks, to: "\(invocationPath)/response", members: members)
            return
        }

        let (contentType, body) = responseBody(for: invocation, members: members)
        let headers = [("Content-Type", contentType)]
        let reply = try client.request("POST", "\(invocationPath)/response", headers: headers, body: body)
        warnUnlessAccepted(reply, "/response")
        // Work after the response, before asking for the next event.
        if let milliseconds = integer("sleepAfterResponseMs") { sleepMilliseconds(milliseconds) }
        if members["twice"] == .bool(true) {
            let second = try client.request("POST", "\(invocationPath)/response", headers: headers, body: body)
            writeLine(1, "second-response-status: \(second.status)")
        }
    }

    /// Streams `chunks` chunks (`chunk 0`… or `streamChunkBytes` bytes each), `streamIntervalMs` apart; then
    /// `streamSleepMs` before the end; `streamExitAfter` exits after that many chunks; `streamErrorType` ends with
    /// the error trailers; `streamFunctionURL` sends a Function URL prelude and 8 NUL bytes first.
    private func stream(chunks: Int, to path: String, members: [String: JSONScalar]) throws {
        func integer(_ key: String) -> Int? {
            if case .int(let value)? = members[key] { return value }
            return nil
        }
        let errorType: String? = if case .string(let value)? = members["streamErrorType"] { value } else { nil }
        let functionURL = members["streamFunctionURL"] == .bool(true)
        var headers = [("Lambda-Runtime-Function-Response-Mode", "streaming")]
        headers.append(
            ("Content-Type", functionURL ? "application/vnd.awslambda.http-integration-response" : "text/plain"))
        if errorType != nil {
            headers.append(("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"))
        }
        let reply = try client.streamingRequest(
            path, headers: headers,
            trailers: {
                guard let errorType else { return [] }
                let body = "{\"errorMessage\":\"failed mid-stream\",\"errorType\":\(jsonQuoted(errorType))}"
                return [
                    ("Lambda-Runtime-Function-Error-Type", errorType),
                    ("Lambda-Runtime-Function-Error-Body", base64(Array(body.utf8))),
                ]
            },
            write: { send in
                if functionURL {
                    try send(
                        Array(#"{"statusCode":201,"headers":{"x-fixture":"yes"}}"#.utf8)
                            + [UInt8](repeating: 0, count: 8))
                }
                for index in 0..<chunks {
                    if index > 0, let interval = integer("streamIntervalMs") { sleepMilliseconds(interval) }
                    if let size = integer("streamChunkBytes") {
                        try send([UInt8](repeating: UInt8(ascii: "a") + UInt8(index % 26), count: size))
                    } else {
                        try send(Array("chunk \(index)\n".utf8))
                    }
                    if let after = integer("streamExitAfter"), index + 1 == after { _exit(1) }
                }
                if let milliseconds = integer("streamSleepMs") { sleepMilliseconds(milliseconds) }
            })
        warnUnlessAccepted(reply, "/response (streamed)")
    }

    /// Chooses the success response: `bytes`, `headers`, `env` or `remaining`, else the payload echoed back.
    private func responseBody(
        for invocation: Invocation,
        members: [String: JSONScalar]
    ) -> (contentType: String, body: [UInt8]) {
        if case .int(let count)? = members["bytes"] {
            return ("application/octet-stream", [UInt8](repeating: UInt8(ascii: "a"), count: max(0, count)))
        }
        if members["headers"] == .bool(true) {
            return ("application/json", Array(headersObject(invocation.headers).utf8))
        }
        if case .string(let name)? = members["env"] {
            let value = environment(name).map(jsonQuoted) ?? "null"
            return ("application/json", Array("{\(jsonQuoted(name)):\(value)}".utf8))
        }
        if members["remaining"] == .bool(true) {
            let remaining = invocation.deadlineMs.map { String($0 - epochMilliseconds()) } ?? "null"
            return ("application/json", Array("{\"remainingMs\":\(remaining)}".utf8))
        }
        return ("application/json", invocation.payload)
    }

    /// Renders headers as a JSON object; repeated names are joined with ", " as HTTP allows.
    private func headersObject(_ headers: [(name: String, value: String)]) -> String {
        var names: [String] = []
        var values: [String: String] = [:]
        for (name, value) in headers {
            if let existing = values[name] {
                values[name] = existing + ", " + value
            } else {
                names.append(name)
                values[name] = value
            }
        }
        let members = names.map { "\(jsonQuoted($0)):\(jsonQuoted(values[$0] ?? ""))" }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// Allocates `megabytes` MiB and writes every page, so that it is resident; kept for good, or freed at once
    /// (a block this large is its own mapping, so freeing it returns it to the kernel and only the peak remains).
    private func touchMemory(megabytes: Int, keep: Bool = true) {
        let size = megabytes * 1_048_576
        guard let block = malloc(size) else { die("cannot allocate \(megabytes) MiB") }
        memset(block, 1, size)
        if keep { touchedMemory = block } else { free(block) }
    }

    /// Forks a child that sleeps and exits; it lives in our process group for process-group tests.
    private func forkSleeper(_ milliseconds: Int, newSession: Bool = false) {
        hasForked = true
        let pid = fork()
        if pid == 0 {
            client.closeInChild()  // the child must not hold the Runtime API connection
            if newSession { _ = setsid() }
            sleepMilliseconds(milliseconds)
            _exit(0)
        }
        if pid < 0 {
            writeLine(2, "lambda-sim-fixture: fork failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Logs on stderr when the Runtime API did not answer a POST with 202 Accepted.
    private func warnUnlessAccepted(_ reply: HTTPResponse, _ endpoint: String) {
        if reply.status != 202 {
            writeLine(2, "lambda-sim-fixture: \(endpoint) returned HTTP \(reply.status)")
        }
    }
}
