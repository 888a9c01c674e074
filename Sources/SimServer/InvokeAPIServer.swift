import Glibc
import SimCore
import SimDomain
import SimHTTP
import SimOrchestrator
import SimSandbox
import SimUV

/// The front port: Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`) in front of the
/// function pools, plus a health probe. Loop-confined.
package final class InvokeAPIServer {
    private let loop: EventLoop
    private var server: HTTPServer?
    private var pools: [String: FunctionPool] = [:]
    private let clock: any SimClock
    /// The bound port.
    package private(set) var port = 0
    /// The `Date` header of responses sent during `second` (epoch seconds), formatted once per second.
    private var cachedDate: (second: Int64, text: String) = (-1, "")

    /// Listens on `host:port` and routes invokes to `pools` by function name and alias.
    package init(loop: EventLoop, host: String, port: Int, pools: [FunctionPool], clock: any SimClock = SystemClock())
        throws
    {
        loop.assertInLoop()
        self.loop = loop
        self.clock = clock
        distinctPools = pools
        for pool in pools {
            self.pools[pool.function.name] = pool
            for alias in pool.function.aliases { self.pools[alias] = pool }
        }
        var configuration = HTTPServer.Configuration()
        configuration.maxBodyBytes = Limits.maxSyncRequestBytes
        configuration.maxConnections = Self.connectionCap()
        let server = try HTTPServer(loop: loop, host: host, port: port, configuration: configuration) {
            [weak self] request, responder in
            self?.handle(request, responder)
        }
        self.server = server
        self.port = server.port
    }

    /// Every pool once, in no particular order.
    private var distinctPools: [FunctionPool] = []
    /// The function segment of the last invoke and what it names: a client invoking one function over and over
    /// has its name decoded and parsed once.
    private var lastReference: (encodedName: String, reference: FunctionReference)?
    /// Bytes of asynchronous events that may wait at once (`Limits.maxQueuedEventBytes` unless configured).
    package var queuedEventLimitBytes = Limits.maxQueuedEventBytes

    /// Every pool once (aliases map several names to one).
    var uniquePools: [FunctionPool] {
        var seen: Set<ObjectIdentifier> = []
        return pools.values.filter { seen.insert(ObjectIdentifier($0)).inserted }
            .sorted { $0.function.name < $1.function.name }
    }

    /// Stops listening and closes connections.
    package func close() {
        server?.close()
        server = nil
    }

    private func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let requestID = Identifiers.uuid()
        if request.path.hasPrefix("/_sim/") || request.path == "/metrics" {
            var response = StatusAPI.respond(to: request, pools: uniquePools)
            response.headers = HTTPHeaders([("Date", httpDate())] + response.headers.map { ($0.name, $0.value) })
            responder.send(response)
            return
        }
        do {
            guard request.method == "POST", let (encodedName, streaming) = Self.functionSegment(request.path) else {
                throw InvokeAPIError.unknownOperation
            }
            try invoke(request, responder, requestID: requestID, encodedName: encodedName, streaming: streaming)
        } catch let error as InvokeAPIError {
            responder.send(error.response(requestID: requestID, date: httpDate()))
        } catch {
            responder.send(
                InvokeAPIError(status: 500, code: "ServiceException", message: "\(error)").response(
                    requestID: requestID, date: httpDate()))
        }
    }

    /// `{name}` of `/2015-03-31/functions/{name}/invocations` (Invoke) or of
    /// `/2021-11-15/functions/{name}/response-streaming-invocations` (InvokeWithResponseStream, `streaming`), still
    /// percent-encoded.
    static func functionSegment(_ path: String) -> (name: String, streaming: Bool)? {
        func segment(_ prefix: StaticString, _ suffix: StaticString) -> String? {
            let utf8 = path.utf8
            let prefixCount = prefix.utf8CodeUnitCount
            let suffixCount = suffix.utf8CodeUnitCount
            guard utf8.count > prefixCount + suffixCount,
                utf8.starts(with: UnsafeBufferPointer(start: prefix.utf8Start, count: prefixCount)),
                utf8.reversed().starts(
                    with: UnsafeBufferPointer(start: suffix.utf8Start, count: suffixCount).reversed())
            else { return nil }
            let name = utf8.dropFirst(prefixCount).dropLast(suffixCount)
            return name.contains(UInt8(ascii: "/")) ? "" : String(Substring(name))
        }
        if let name = segment("/2015-03-31/functions/", "/invocations") { return name.isEmpty ? nil : (name, false) }
        if let name = segment("/2021-11-15/functions/", "/response-streaming-invocations") {
            return name.isEmpty ? nil : (name, true)
        }
        return nil
    }

    private func invoke(
        _ request: HTTPRequest, _ responder: HTTPResponder, requestID: String, encodedName: String, streaming: Bool
    ) throws(InvokeAPIError) {
        let reference: FunctionReference
        if let last = lastReference, last.encodedName == encodedName {
            reference = last.reference
        } else {
            let decoded = PercentDecoding.decode(encodedName) ?? encodedName
            guard let parsed = FunctionReference(decoded) else {
                throw .invalidParameter(
                    "1 validation error detected: Value '\(decoded)' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
                )
            }
            reference = parsed
            lastReference = (encodedName, parsed)
        }
        let queryQualifier = request.query["Qualifier"].flatMap { $0.isEmpty ? nil : $0 }
        if let a = reference.qualifier, let b = queryQualifier, a != b {
            throw .invalidParameter(
                "The derived qualifier from the function name does not match the specified qualifier.")
        }
        let qualifier = reference.qualifier ?? queryQualifier
        guard let pool = pools[reference.name] else {
            throw .notFound(
                arn: arn(
                    region: reference.region, account: reference.accountID, name: reference.name, qualifier: qualifier))
        }
        // The function's fields are read in place: binding the whole `FunctionSpec` to a local copies (retains)
        // every field of it on each invoke.
        let invokedARN = qualifier.map { "\(pool.functionARN):\($0)" } ?? pool.functionARN
        if let qualifier, qualifier != "$LATEST", qualifier != pool.function.version,
            !pool.function.versionAliases.contains(qualifier)
        {
            throw .notFound(arn: invokedARN)
        }
        if (reference.region.map { $0 != pool.function.region } ?? false)
            || (reference.accountID.map { $0 != pool.function.accountID } ?? false)
        {
            throw .notFound(
                arn: arn(
                    region: reference.region, account: reference.accountID, name: reference.name, qualifier: qualifier))
        }

        let type = request.headers["X-Amz-Invocation-Type"] ?? "RequestResponse"
        guard type == "RequestResponse" || type == "DryRun" || (type == "Event" && !streaming) else {
            let types = streaming ? "RequestResponse, DryRun" : "Event, RequestResponse, DryRun"
            throw .invalidParameter(
                "1 validation error detected: Value '\(type)' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [\(types)]"
            )
        }
        let logType = request.headers["X-Amz-Log-Type"] ?? "None"
        guard logType == "None" || logType == "Tail" else {
            throw .invalidParameter(
                "1 validation error detected: Value '\(logType)' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]"
            )
        }
        if type == "Event" && request.bodyLength > Limits.maxAsyncRequestBytes {
            throw .tooLarge(
                "\(request.bodyLength) byte payload is too large for the Event invocation type (limit \(Limits.maxAsyncRequestBytes) bytes)"
            )
        }
        if request.bodyTooLarge {
            throw .tooLarge(
                "Request must be smaller than \(Limits.maxSyncRequestBytes) bytes for the \(streaming ? "InvokeWithResponseStream" : "InvokeFunction") operation"
            )
        }
        if !request.body.isEmpty, let error = JSON.validate(request.body) { throw .invalidContent(error.reason) }
        var clientContext: String?
        if let encoded = request.headers["X-Amz-Client-Context"], !encoded.isEmpty {
            guard encoded.utf8.count <= Limits.maxClientContextBytes else {
                throw .invalidParameter("Client context must be smaller than \(Limits.maxClientContextBytes) bytes.")
            }
            guard let bytes = Base64.decode(encoded), JSON.isValid(bytes) else {
                throw .invalidParameter("Client context must be a valid Base64-encoded JSON object.")
            }
            clientContext = String(decoding: bytes, as: UTF8.self)
        }
        if type == "DryRun" {
            responder.send(HTTPResponse(status: 204, headers: ["Date": httpDate(), "x-amzn-RequestId": requestID]))
            return
        }
        let traceHeader = request.headers["X-Amzn-Trace-Id"].flatMap { $0.contains("Root=") ? $0 : nil }
        // Lambda hands a function invoked without a payload `{}`, never an empty body (runtime clients fail to
        // decode one), whatever the invocation type.
        let payload = request.body.isEmpty ? Self.emptyPayload : request.body
        let invocation = Invocation(
            requestID: requestID, payload: payload, contentType: request.headers["Content-Type"],
            invokedFunctionARN: invokedARN,
            traceID: traceHeader ?? Identifiers.traceHeader(epochMilliseconds: clock.epochMilliseconds),
            clientContext: type == "Event" ? nil : clientContext,
            tenantID: request.headers["X-Amz-Tenant-Id"], wantsLogTail: logType == "Tail" && type != "Event",
            isAsync: type == "Event")
        if type == "Event" {
            let queued = distinctPools.reduce(0) { $0 + $1.pendingEventBytes }
            if queued + FunctionPool.queuedBytes(of: invocation) > queuedEventLimitBytes {
                // Lambda may throttle the asynchronous API call itself; the event was never accepted.
                throw .throttled(reason: "CallerRateLimitExceeded")
            }
            responder.send(
                HTTPResponse(
                    status: 202,
                    headers: [
                        "Date": httpDate(), "x-amzn-RequestId": requestID, "x-amzn-Remapped-Content-Length": "0",
                        "X-Amzn-Trace-Id": invocation.traceID,
                    ]))
            pool.submitEvent(invocation)
            return
        }
        let version = pool.function.version
        let traceID = invocation.traceID
        if streaming {
            return stream(invocation, to: responder, pool: pool, executedVersion: version)
        }
        pool.submit(
            invocation,
            answer: { [weak self] (answer: PoolAnswer) in
                switch answer {
                case .result(let result):
                    let date =
                        self?.httpDate() ?? CivilTime(epochMilliseconds: SystemClock().epochMilliseconds).httpDate
                    responder.send(Self.render(result, executedVersion: version, date: date, traceID: traceID))
                case .throttled(let reason):
                    self?.sendThrottle(reason, requestID: requestID, to: responder)
                }
            })
    }

    /// Runs an `InvokeWithResponseStream` invoke: the 200 answer starts when the runtime starts its response (or
    /// when the invoke ends, for a function that does not stream), each chunk goes out as a `PayloadChunk` event
    /// as it arrives, and an `InvokeComplete` event ends it, carrying a failure's `ErrorCode` and `ErrorDetails`
    /// and the log tail. Throttles and other errors before the start are the Invoke API's.
    private func stream(
        _ invocation: Invocation, to responder: HTTPResponder, pool: FunctionPool, executedVersion: String
    ) {
        let sink = ResponseStreamSink()
        let requestID = invocation.requestID
        ResponseStreams.register(sink, for: requestID)
        let date = httpDate()
        var started = false
        func start() {
            guard !started else { return }
            started = true
            responder.startStreaming(
                status: 200,
                headers: [
                    "Date": date, "Content-Type": "application/vnd.amazon.eventstream", "x-amzn-RequestId": requestID,
                    "X-Amz-Executed-Version": executedVersion, "X-Amzn-Trace-Id": invocation.traceID,
                ])
        }
        sink.onStart = { _ in start() }
        sink.onChunk = { bytes in responder.writeChunk(ResponseStreamEvents.payloadChunk(bytes)) }
        sink.isBackedUp = { [weak responder] in responder?.hasBackedUpOutput ?? false }
        responder.onConnectionClose = { [weak sink] in sink?.gone() }
        responder.onWritable = { [weak sink] in sink?.writable() }
        pool.submit(
            invocation,
            answer: { [weak self] (answer: PoolAnswer) in
                ResponseStreams.remove(requestID)
                switch answer {
                case .result(let result):
                    start()
                    // A function that does not stream: its whole answer as one chunk.
                    if !sink.started, case .success(let body, _) = result.outcome, !body.isEmpty {
                        for offset in stride(from: 0, to: body.count, by: ResponseStreamEvents.maxChunkBytes) {
                            let end = min(body.count, offset + ResponseStreamEvents.maxChunkBytes)
                            responder.writeChunk(ResponseStreamEvents.payloadChunk(Array(body[offset..<end])))
                        }
                    }
                    responder.writeChunk(ResponseStreamEvents.invokeComplete(result))
                    responder.finish()
                case .throttled(let reason):
                    self?.sendThrottle(reason, requestID: requestID, to: responder)
                }
            })
    }

    /// The 429 of an invoke the limits refused.
    private func sendThrottle(
        _ reason: ConcurrencyLimits.ThrottleReason, requestID: String, to responder: HTTPResponder
    ) {
        responder.send(
            InvokeAPIError.throttled(reason: reason.rawValue).response(requestID: requestID, date: httpDate()))
    }

    /// The `Date` header for a response sent now.
    private func httpDate() -> String {
        let now = clock.epochMilliseconds
        let second = now / 1000
        if second != cachedDate.second { cachedDate = (second, CivilTime(epochMilliseconds: now).httpDate) }
        return cachedDate.text
    }

    /// What the function receives when the invoker sent no payload.
    static let emptyPayload = Array("{}".utf8)

    /// The ARN a 404 names: qualified with `$LATEST` when the invoke named no qualifier, as Lambda's messages
    /// have been since 2025 (`Function not found: arn:…:function:nope:$LATEST`).
    private func arn(region: String?, account: String?, name: String, qualifier: String?) -> String {
        let any = pools.values.first?.function
        let base =
            "arn:aws:lambda:\(region ?? any?.region ?? "us-east-1"):\(account ?? any?.accountID ?? "123456789012"):function:\(name)"
        return "\(base):\(qualifier ?? "$LATEST")"
    }

    /// The 200 answer of a synchronous invoke, with the headers in the order Lambda sends them (`Date`,
    /// `Content-Type`, `x-amzn-RequestId`, `x-amzn-Remapped-Content-Length`, `X-Amz-Executed-Version`, then
    /// `X-Amz-Function-Error` and `X-Amz-Log-Result` when they apply, and `X-Amzn-Trace-Id`; the HTTP layer adds
    /// `Content-Length`).
    static func render(_ result: InvokeResult, executedVersion: String, date: String, traceID: String)
        -> HTTPResponse
    {
        let payload = result.payload
        var headers: HTTPHeaders = [
            "Date": date,
            "Content-Type": payload.contentType,
            "x-amzn-RequestId": result.requestID,
            "x-amzn-Remapped-Content-Length": "0",
            "X-Amz-Executed-Version": executedVersion,
        ]
        if result.outcome.isError { headers.add("X-Amz-Function-Error", "Unhandled") }
        if let tail = result.logTail { headers.add("X-Amz-Log-Result", Base64.encode(tail)) }
        headers.add("X-Amzn-Trace-Id", traceID)
        return HTTPResponse(status: 200, headers: headers, body: payload.body)
    }

    /// Most invoker connections at once: 10,000, or half the descriptors the process may open beyond a reserve
    /// for the loop and the sandboxes, whichever is less. Stalled or idle connections beyond it make way for
    /// new ones (`HTTPServer.Configuration.maxConnections`), so running out of descriptors to them cannot lock
    /// real invokes out.
    static func connectionCap() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else {
            return 10_000
        }
        return min(10_000, max(16, (Int(clamping: limit.rlim_cur) - 64) / 2))
    }
}

/// `%XX` decoding of a path segment.
enum PercentDecoding {
    /// The decoded text, or nil for a malformed escape or invalid UTF-8.
    static func decode(_ text: String) -> String? {
        var out: [UInt8] = []
        var bytes = text.utf8.makeIterator()
        while let c = bytes.next() {
            if c == UInt8(ascii: "%") {
                guard let h = bytes.next(), let l = bytes.next(), let hi = hex(h), let lo = hex(l) else { return nil }
                out.append(hi << 4 | lo)
            } else {
                out.append(c)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}

/// The events of an `InvokeWithResponseStream` answer (`application/vnd.amazon.eventstream`).
enum ResponseStreamEvents {
    /// The largest payload put in one `PayloadChunk` (messages are limited to 16 MiB).
    static let maxChunkBytes = 1024 * 1024

    /// A `PayloadChunk` event carrying `bytes`.
    static func payloadChunk(_ bytes: [UInt8]) -> [UInt8] {
        EventStream.encode(
            headers: [
                (":event-type", "PayloadChunk"), (":content-type", "application/octet-stream"),
                (":message-type", "event"),
            ], payload: bytes)
    }

    /// The final `InvokeComplete` event: `ErrorCode` (the error type) and `ErrorDetails` (the error body) when the
    /// invoke failed, `LogResult` (base64 log tail) when it was asked for.
    static func invokeComplete(_ result: InvokeResult) -> [UInt8] {
        var members: [(String, JSONValue)] = []
        switch result.outcome {
        case .success:
            break
        case .functionError(let body, _, let errorType):
            members.append(("ErrorCode", .string(errorType ?? "Unhandled")))
            members.append(("ErrorDetails", .string(String(decoding: body, as: UTF8.self))))
        case .platformError(let errorType, _):
            members.append(("ErrorCode", .string(errorType)))
            members.append(("ErrorDetails", .string(String(decoding: result.payload.body, as: UTF8.self))))
        }
        if let tail = result.logTail { members.append(("LogResult", .string(Base64.encode(tail)))) }
        return EventStream.encode(
            headers: [
                (":event-type", "InvokeComplete"), (":content-type", "application/json"), (":message-type", "event"),
            ], payload: Array(JSONValue.object(members).serialized.utf8))
    }
}
