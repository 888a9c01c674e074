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
extension RuntimeAPIHandler {
    func handleStreamedResponse(
        _ request: HTTPRequest, _ stream: HTTPBodyStream, _ responder: HTTPResponder, requestID: String,
        _ sandbox: Sandbox
    ) {
        let invocationID = request.headers[RuntimeAPIResponses.invocationIDHeader]
        if let error = sandbox.machine.responseStreamStarted(requestID: requestID, invocationID: invocationID) {
            // The body is read and dropped once this answer is out.
            responder.send(RuntimeAPIResponses.reply(error))
            return
        }
        activeResponseStreams[requestID] = stream
        let sink = ResponseStreams.sink(for: requestID)
        let contentType = request.headers["Content-Type"]
        var reading = ResponseStreamReading(function: sandbox.function, forwards: sink != nil, contentType: contentType)
        var gathered: [UInt8] = []
        sink?.start(contentType: contentType)
        let resumeIfFree: () -> Void = { [weak stream] in
            guard let stream, reading.mayResume(invokerBackedUp: sink?.isBackedUp() ?? false) else { return }
            stream.resume()
        }
        sink?.onWritable = resumeIfFree
        /// Ends the invoke with `outcome` now: answers the runtime with `error` (or the machine's refusal) and closes
        /// its connection, so the rest of its upload is never read; with `error` nil the connection is closed
        /// unanswered.
        let endNow: (RuntimeRejection?, SandboxOutcome, Int?) -> Void = {
            [weak self, weak stream] error, outcome, tooLarge in
            guard let self, let sandbox = self.sandbox else { return }
            activeResponseStreams[requestID] = nil
            stream?.onData = nil
            stream?.onEnd = nil
            sink?.onGone = nil
            let (reply, actions) = sandbox.machine.runtimeResult(
                requestID: requestID, isError: false, outcome: outcome, tooLargeBytes: tooLarge,
                streamedBytes: reading.receivedBytes, sizeLimit: reading.limit)
            if let error {
                var response = RuntimeAPIResponses.reply(reply == .accepted ? .error(error) : reply)
                response.headers["Connection"] = "close"
                responder.send(response)
            } else {
                responder.abort()
            }
            sandbox.perform(actions)
            sandbox.runtimeStreamEnded()
        }
        sink?.onGone = {
            if case .endNow(let error, let outcome, let tooLarge) = reading.ended(.invokerGone) {
                endNow(error, outcome, tooLarge)
            }
        }
        stream.onData = { [weak self, weak stream] bytes in
            guard let self, let stream else { return }
            switch reading.bytesReceived(bytes.count, at: EventLoop.nanoseconds()) {
            case .ignore:
                return
            case .gather:
                gathered += bytes
                return
            case .endNow(let error, let outcome, let tooLarge):
                gathered = []
                endNow(error, outcome, tooLarge)
                return
            case .forward:
                sink?.send(bytes, contentType: contentType)
            case .forwardThenHold(let wait):
                sink?.send(bytes, contentType: contentType)
                stream.pause()
                loop.schedule(afterMilliseconds: wait) {
                    reading.holdEnded()
                    resumeIfFree()
                }
            }
            if sink?.isBackedUp() == true { stream.pause() }
        }
        stream.onEnd = { [weak self] end in
            guard let self, let sandbox = self.sandbox else { return }
            activeResponseStreams[requestID] = nil
            defer { sandbox.runtimeStreamEnded() }
            let readingEnd: ResponseStreamReading.End
            switch end {
            case .complete(let trailers):
                let errorBody = trailers[RuntimeAPIResponses.errorBodyTrailer].flatMap { Base64.decode($0) } ?? []
                readingEnd = .complete(
                    body: gathered, errorType: trailers[RuntimeAPIResponses.errorTypeHeader], errorBody: errorBody)
            case .malformed: readingEnd = .malformed
            case .aborted: readingEnd = .aborted(runtimeExitHeld: sandbox.exitGrace.isHoldingExit)
            }
            switch reading.ended(readingEnd) {
            case .ignore:
                break
            case .endNow(let error, let outcome, let tooLarge):
                endNow(error, outcome, tooLarge)
            case .deliver(let outcome, let tooLarge):
                let (reply, actions) = sandbox.machine.runtimeResult(
                    requestID: requestID, isError: false, outcome: outcome, tooLargeBytes: tooLarge,
                    streamedBytes: reading.receivedBytes, sizeLimit: reading.limit)
                if case .accepted = reply {
                    responder.send(RuntimeAPIResponses.accepted)
                } else {
                    responder.send(RuntimeAPIResponses.reply(reply))
                }
                sandbox.perform(actions)
            case .truncateAfter(let milliseconds):
                // An invoke no longer in flight refuses the result, with no action.
                let streamed = reading.receivedBytes
                loop.schedule(afterMilliseconds: milliseconds) { [weak self] in
                    guard let sandbox = self?.sandbox else { return }
                    let (_, actions) = sandbox.machine.runtimeResult(
                        requestID: requestID, isError: false, outcome: .failure(.truncatedResponse(.endedEarly)),
                        streamedBytes: streamed)
                    sandbox.perform(actions)
                }
            }
        }
        // An invoker that left before the runtime started streaming is gone already.
        if sink?.isGone == true { sink?.onGone?() }
    }
}
