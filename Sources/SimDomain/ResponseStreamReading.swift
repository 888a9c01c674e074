/// The reading of one streamed response's body (a runtime's `/response` with the streaming mode header): what each
/// chunk leads to and how the body's end decides the invoke, as pure logic. The sandbox reads the body, pauses and
/// resumes it, sends chunks on to the invoker and answers the runtime; this value decides.
///
/// - The limit: an `InvokeWithResponseStream` invoke (the chunks go to the invoker) may stream up to the function's
///   `maxStreamedResponseBytes`; a plain Invoke gathers up to `Limits.maxResponseBytes`. The byte that takes the
///   body past it ends the invoke at once (`Function.ResponseSizeTooLarge`, 413 to the runtime).
/// - Pacing: an invoker's stream goes at full speed for its first `StreamPacing.burstBytes`, then at most at the
///   function's `streamingBytesPerSecond`; a chunk ahead of that rate holds the reading for the time it is ahead.
/// - The end: complete (a function error when the error trailer is present), malformed framing (ends the invoke at
///   once with `Runtime.TruncatedResponse`, 400 to the runtime), cut short (`Runtime.TruncatedResponse` after
///   `abortGraceMilliseconds`, unless the runtime's exit, held for this stream, decides the invoke), or the invoker
///   gone (`Runtime.TruncatedResponse`, the upload cut off unanswered).
///
/// ```
/// reading ──chunk──► reading (forward | gather | forward then hold)
///    │ ──chunk past the limit──► ended (413)
///    │ ──complete | malformed | invoker gone──► ended
///    └ ──aborted──► ended (truncated after 100 ms, or nothing when a held runtime exit decides)
/// ```
package struct ResponseStreamReading: Sendable {
    /// Where the reading is.
    package enum State: Equatable, Sendable {
        /// The body is being read; `held` while pacing holds the reading back.
        case reading(held: Bool)
        /// The invoke's result is decided (the body ended, or the invoke was ended early); later chunks and ends
        /// change nothing.
        case ended
    }

    /// What a chunk leads to.
    package enum ChunkAction: Equatable, Sendable {
        /// The result is decided: drop the bytes.
        case ignore
        /// Keep the bytes for a plain Invoke's result.
        case gather
        /// Send the bytes on to the invoker.
        case forward
        /// Send the bytes on to the invoker, then stop reading for `milliseconds` (the stream is ahead of its
        /// bandwidth) and call `holdEnded` after them.
        case forwardThenHold(milliseconds: UInt64)
        /// End the invoke now (see `EndAction.endNow`): the body went past its limit.
        case endNow(RuntimeRejection?, SandboxOutcome, tooLargeBytes: Int?)
    }

    /// How the body's reading ended.
    package enum End: Equatable, Sendable {
        /// The last chunk arrived; `body` is what was gathered, `errorType` and `errorBody` the error trailers.
        case complete(body: [UInt8], errorType: String?, errorBody: [UInt8])
        /// The chunked framing was malformed.
        case malformed
        /// The upload was cut short; `runtimeExitHeld` when the runtime's exit waits for this stream
        /// (`RuntimeExitGrace`), and so decides the invoke with its own error.
        case aborted(runtimeExitHeld: Bool)
        /// The invoker of `InvokeWithResponseStream` went away.
        case invokerGone
    }

    /// What an end leads to.
    package enum EndAction: Equatable, Sendable {
        /// Nothing: the result was decided already, or the runtime's exit decides it.
        case ignore
        /// Hand `outcome` to the sandbox machine (`runtimeResult`) and answer the runtime with its reply.
        case deliver(SandboxOutcome, tooLargeBytes: Int?)
        /// End the invoke now with `outcome`: answer the runtime with `rejection` (the machine's reply if it refused
        /// the result) and close its connection, so the rest of its upload is never read; with `rejection` nil the
        /// connection is closed unanswered.
        case endNow(RuntimeRejection?, SandboxOutcome, tooLargeBytes: Int?)
        /// After `milliseconds`, fail the invoke with `Runtime.TruncatedResponse` if it is still in flight.
        case truncateAfter(milliseconds: UInt64)
    }

    /// How long a cut-short upload waits for the runtime's exit to decide the invoke instead: 100 ms.
    package static let abortGraceMilliseconds: UInt64 = 100

    package private(set) var state = State.reading(held: false)
    /// The most bytes the body may have.
    package let limit: Int
    /// Bytes of the body received so far (past the limit included).
    package private(set) var receivedBytes = 0
    /// Whether the chunks go on to an invoker (`InvokeWithResponseStream`) rather than being gathered.
    package let forwards: Bool
    /// The body's `Content-Type`.
    let contentType: String?
    private var pacing: StreamPacing?

    /// The reading of a body for `function`'s invoke, whose chunks go on to an invoker when `forwards`.
    package init(function: FunctionSpec, forwards: Bool, contentType: String?) {
        self.forwards = forwards
        self.contentType = contentType
        limit = forwards ? function.maxStreamedResponseBytes : Limits.maxResponseBytes
        pacing = forwards ? function.streamingBytesPerSecond.map { StreamPacing(bytesPerSecond: $0) } : nil
    }

    /// `count` more bytes arrived at `now` (monotonic nanoseconds).
    package mutating func bytesReceived(_ count: Int, at now: UInt64) -> ChunkAction {
        receivedBytes += count
        guard case .reading(let held) = state else { return .ignore }
        if receivedBytes > limit {
            state = .ended
            return .endNow(
                .payloadTooLarge, .success(body: [], contentType: contentType), tooLargeBytes: receivedBytes)
        }
        guard forwards else { return .gather }
        // The pacing counts every byte sent, held or not.
        guard let wait = pacing?.delay(afterSending: count, at: now), !held else { return .forward }
        state = .reading(held: true)
        return .forwardThenHold(milliseconds: wait)
    }

    /// The hold of a `forwardThenHold` is over.
    package mutating func holdEnded() {
        if case .reading = state { state = .reading(held: false) }
    }

    /// Whether reading may resume, as far as the stream goes: not while pacing holds it, nor while the invoker's
    /// connection is backed up (`invokerBackedUp`).
    package func mayResume(invokerBackedUp: Bool) -> Bool {
        !invokerBackedUp && state != .reading(held: true)
    }

    /// The body's reading ended with `end`.
    package mutating func ended(_ end: End) -> EndAction {
        guard case .reading = state else { return .ignore }
        state = .ended
        switch end {
        case .complete(let body, let errorType, let errorBody):
            guard let errorType else {
                return .deliver(.success(body: body, contentType: contentType), tooLargeBytes: nil)
            }
            return .deliver(
                .functionError(body: errorBody, contentType: "application/json", errorType: errorType),
                tooLargeBytes: nil)
        case .malformed:
            return .endNow(.truncatedRequest, .failure(.truncatedResponse(.malformed)), tooLargeBytes: nil)
        case .aborted(let runtimeExitHeld):
            return runtimeExitHeld ? .ignore : .truncateAfter(milliseconds: Self.abortGraceMilliseconds)
        case .invokerGone:
            return .endNow(nil, .failure(.truncatedResponse(.invokerGone)), tooLargeBytes: nil)
        }
    }
}

/// Lambda's shaping of a streamed response: the first `burstBytes` at full speed, then at most `bytesPerSecond`.
package struct StreamPacing: Sendable {
    /// Bytes a stream sends at full speed before its bandwidth applies (Lambda: the first 6 MiB).
    package static let burstBytes = 6 * 1024 * 1024

    /// The rate after the burst.
    package let bytesPerSecond: Int
    private var sent = 0
    private var shapedSince: UInt64?
    private var shapedBytes = 0

    /// Pacing at `bytesPerSecond` (at least 1) after the burst.
    package init(bytesPerSecond: Int) { self.bytesPerSecond = max(1, bytesPerSecond) }

    /// Milliseconds to wait before reading more, after `count` more bytes went out at `now` (monotonic ns); nil
    /// when the stream is within its rate.
    package mutating func delay(afterSending count: Int, at now: UInt64) -> UInt64? {
        sent += count
        guard sent > Self.burstBytes else { return nil }
        guard let since = shapedSince else {
            shapedSince = now
            shapedBytes = sent - Self.burstBytes
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
