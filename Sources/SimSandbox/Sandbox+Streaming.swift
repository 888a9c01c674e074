import SimCore
import SimDomain
import SimHTTP
import SimUV

/// Streamed responses: a runtime posts `/response` with `Lambda-Runtime-Function-Response-Mode: streaming` and a
/// chunked body, which the sandbox reads as it arrives (`HTTPBodyStream`).
///
/// For an `InvokeWithResponseStream` invoke each chunk goes on to the invoker at once (`ResponseStreamSink`); while
/// the invoker's connection is backed up, or the stream is ahead of its bandwidth after the first 6 MiB, the
/// sandbox stops reading the runtime's upload, so a slow reader slows the runtime rather than filling memory. For a
/// plain Invoke the chunks are gathered up to the 6 MB response limit. The error trailers
/// (`Lambda-Runtime-Function-Error-Type`, base64 `-Body`) turn the result into a function error; an upload cut
/// short into `Runtime.TruncatedResponse` (unless the runtime's exit or the timeout decides the invoke first).
/// Two faults end the invoke the moment they are seen, and the runtime's upload with it (answered, then its
/// connection closed, so nothing more is read): the byte that takes a stream past its limit
/// (`Function.ResponseSizeTooLarge`, 413 to the runtime) and malformed chunked framing
/// (`Runtime.TruncatedResponse`, 400 `TruncatedHTTPRequest`). An invoker of `InvokeWithResponseStream` that goes
/// away mid-stream breaks the copy, which ends the invoke with `Runtime.TruncatedResponse` as AWS's emulator ends a
/// broken copy, and the runtime's upload is cut off unanswered (nothing more is read or framed).
extension Sandbox {
    /// Bytes a stream sends at full speed before its bandwidth applies (Lambda: the first 6 MiB).
    static let streamingBurstBytes = 6 * 1024 * 1024

    func handleStreamedResponse(
        _ request: HTTPRequest, _ stream: HTTPBodyStream, _ responder: HTTPResponder, requestID: String
    ) {
        let invocationID = request.headers[RuntimeAPIResponses.invocationIDHeader]
        if let error = machine.responseStreamStarted(requestID: requestID, invocationID: invocationID) {
            // The body is read and dropped once this answer is out.
            responder.send(RuntimeAPIResponses.reply(error))
            return
        }
        activeResponseStreams[requestID] = stream
        let sink = ResponseStreams.sink(for: requestID)
        let contentType = request.headers["Content-Type"]
        let limit = sink == nil ? Limits.maxResponseBytes : function.maxStreamedResponseBytes
        var gathered: [UInt8] = []
        var received = 0
        var tooLarge = false
        var pacing = sink == nil ? nil : function.streamingBytesPerSecond.map { StreamPacing(bytesPerSecond: $0) }
        sink?.start(contentType: contentType)
        // Reading resumes only when neither the invoker's backlog nor the bandwidth holds it.
        var held = false
        let resumeIfFree: () -> Void = { [weak stream] in
            guard let stream, !(sink?.isBackedUp() ?? false), !held else { return }
            stream.resume()
        }
        sink?.onWritable = resumeIfFree
        /// Ends the invoke with `outcome` (a platform error) now: answers the runtime with `reply` and closes its
        /// connection, so the rest of its upload is never read.
        // Set once the invoke's result is decided (the body ended, or `endNow` ended it early).
        var ended = false
        /// With `error` nil the connection is closed without an answer.
        let endNow: (RuntimeRejection?, SandboxOutcome, Int?) -> Void = {
            [weak self, weak stream] error, outcome, tooLarge in
            guard let self, !ended else { return }
            ended = true
            activeResponseStreams[requestID] = nil
            stream?.onData = nil
            stream?.onEnd = nil
            sink?.onGone = nil
            let (reply, actions) = machine.runtimeResult(
                requestID: requestID, isError: false, outcome: outcome, tooLargeBytes: tooLarge,
                streamedBytes: received, sizeLimit: limit)
            if let error {
                var response = RuntimeAPIResponses.reply(reply == .accepted ? .error(error) : reply)
                response.headers["Connection"] = "close"
                responder.send(response)
            } else {
                responder.abort()
            }
            perform(actions)
            runtimeStreamEnded()
        }
        sink?.onGone = {
            endNow(nil, .failure(.truncatedResponse(.invokerGone)), nil)
        }
        stream.onData = { [weak self, weak stream] bytes in
            guard let self, let stream else { return }
            received += bytes.count
            guard !tooLarge else { return }
            if received > limit {
                tooLarge = true
                gathered = []
                endNow(.payloadTooLarge, .success(body: [], contentType: contentType), received)
                return
            }
            guard let sink else {
                gathered += bytes
                return
            }
            sink.send(bytes, contentType: contentType)
            if let wait = pacing?.delay(afterSending: bytes.count, at: EventLoop.nanoseconds()), !held {
                held = true
                stream.pause()
                loop.schedule(afterMilliseconds: wait) {
                    held = false
                    resumeIfFree()
                }
            }
            if sink.isBackedUp() { stream.pause() }
        }
        stream.onEnd = { [weak self] end in
            guard let self else { return }
            activeResponseStreams[requestID] = nil
            defer { runtimeStreamEnded() }
            if case .malformed = end {
                endNow(.truncatedRequest, .failure(.truncatedResponse(.malformed)), nil)
                return
            }
            guard !ended else { return }
            ended = true
            switch end {
            case .complete(let trailers):
                var outcome = SandboxOutcome.success(body: gathered, contentType: contentType)
                if let errorType = trailers[RuntimeAPIResponses.errorTypeHeader] {
                    let body = trailers[RuntimeAPIResponses.errorBodyTrailer].flatMap { Base64.decode($0) } ?? []
                    outcome = .functionError(body: body, contentType: "application/json", errorType: errorType)
                }
                let (reply, actions) = machine.runtimeResult(
                    requestID: requestID, isError: false, outcome: outcome, tooLargeBytes: tooLarge ? received : nil,
                    streamedBytes: received, sizeLimit: limit)
                if case .accepted = reply {
                    responder.send(RuntimeAPIResponses.accepted)
                } else {
                    responder.send(RuntimeAPIResponses.reply(reply))
                }
                perform(actions)
            case .malformed:
                break
            case .aborted:
                // The runtime's exit, if that is what cut the upload, comes with its own error (now, if it came
                // first; else give it a moment).
                if exitGrace.isHoldingExit { return }
                loop.schedule(afterMilliseconds: 100) { [weak self] in
                    guard let self, machine.invocation(for: requestID) != nil else { return }
                    let (_, actions) = machine.runtimeResult(
                        requestID: requestID, isError: false,
                        outcome: .failure(.truncatedResponse(.endedEarly)),
                        streamedBytes: received)
                    perform(actions)
                }
            }
        }
        // An invoker that left before the runtime started streaming is gone already.
        if sink?.isGone == true { sink?.onGone?() }
    }
}

/// Lambda's shaping of a streamed response: the first 6 MiB at full speed, then at most `bytesPerSecond`.
struct StreamPacing {
    let bytesPerSecond: Int
    private var sent = 0
    private var shapedSince: UInt64?
    private var shapedBytes = 0

    init(bytesPerSecond: Int) { self.bytesPerSecond = max(1, bytesPerSecond) }

    /// Milliseconds to wait before reading more, after `count` more bytes went out at `now` (monotonic ns); nil
    /// when the stream is within its rate.
    mutating func delay(afterSending count: Int, at now: UInt64) -> UInt64? {
        sent += count
        guard sent > Sandbox.streamingBurstBytes else { return nil }
        guard let since = shapedSince else {
            shapedSince = now
            shapedBytes = sent - Sandbox.streamingBurstBytes
            return delay(now: now, since: now)
        }
        shapedBytes += count
        return delay(now: now, since: since)
    }

    private func delay(now: UInt64, since: UInt64) -> UInt64? {
        let due = since + UInt64(Double(shapedBytes) / Double(bytesPerSecond) * 1e9)
        guard due > now else { return nil }
        return max(1, (due - now) / 1_000_000)
    }
}
