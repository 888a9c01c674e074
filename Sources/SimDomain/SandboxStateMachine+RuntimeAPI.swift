import SimCore

/// Runtime API events: `/next`, `/response` and `/error` (streamed or not), `/init/error`.
extension SandboxStateMachine {
    /// `GET /runtime/invocation/next`.
    package mutating func runtimeNext() -> (RuntimeReply, [Action]) {
        switch state {
        case .initializing(var i) where function.isManagedInstance && i.runtime == .ready:
            // Another worker of a managed-instance runtime is ready.
            guard i.idleWorkers < function.slotsPerEnvironment else { return (.error(.tooManyIdleRuntimes), []) }
            i.idleWorkers += 1
            state = .initializing(i)
            return (.hold, [])
        case .serving(var s):
            return serveNext(&s)
        case .initializing(var i):
            guard i.runtime == .started else {
                return (.error(.invalidTransition(from: i.runtime, to: .ready)), [])
            }
            i.runtime = .ready
            i.idleWorkers = 1
            extensions.registrationClosed = true
            state = .initializing(i)
            return Self.replyWithDispatch(finishInitIfReady())
        case .ready:
            return (.hold, [])
        case .running(var r):
            switch r.runtime {
            case .running:
                return (
                    .invocation(
                        r.invocation, deadlineEpochMilliseconds: r.deadlineEpochMilliseconds,
                        invocationID: r.invocationID),
                    []
                )
            case .responseSent:
                // The runtime is done with the invoke; the phase ends once extensions are done too.
                r.runtime = .ready
                r.runtimeDoneAt = now
                state = .running(r)
                let done = runtimeDoneTelemetry(r, outcome: Self.eventOutcome(r.outcome))
                return (.hold, [done] + finishInvokeIfDone())
            default:
                return (.hold, [])
            }
        case .resetting(let r) where r.runtime == .initError:
            return (.error(.invalidTransition(from: r.runtime, to: .ready)), [])
        case .idle, .resetting, .shutDown:
            return (.hold, [])
        }
    }

    /// The reply to the `/next` that ended init: the invoke it dispatches, taken out of the actions (this `/next`
    /// is its delivery), or `hold` when there is none.
    private static func replyWithDispatch(_ actions: [Action]) -> (RuntimeReply, [Action]) {
        var actions = actions
        for (index, action) in actions.enumerated() {
            guard case .dispatch(let invocation, let deadline, let invocationID) = action else { continue }
            actions.remove(at: index)
            return (.invocation(invocation, deadlineEpochMilliseconds: deadline, invocationID: invocationID), actions)
        }
        return (.hold, actions)
    }

    /// `POST /runtime/invocation/{id}/response` or `/error`, after the HTTP layer read the body.
    package mutating func runtimeResult(
        requestID: String, isError: Bool, outcome: SandboxOutcome, tooLargeBytes: Int? = nil,
        invalidResponseMode: Bool = false, streamedBytes: Int? = nil, sizeLimit: Int = Limits.maxResponseBytes,
        invocationID: String? = nil
    ) -> (RuntimeReply, [Action]) {
        if case .serving(var s) = state {
            return serveResult(
                &s, requestID: requestID, isError: isError, outcome: outcome, tooLargeBytes: tooLargeBytes,
                invalidResponseMode: invalidResponseMode, streamedBytes: streamedBytes, sizeLimit: sizeLimit,
                invocationID: invocationID)
        }
        guard case .running(var r) = state, r.invocation.requestID == requestID else {
            return (.error(.invalidRequestID), [])
        }
        if let mismatch = invocationIDMismatch(invocationID, r) { return (mismatch, []) }
        // A streamed response ends in the state its start put the runtime in.
        guard r.runtime == (streamedBytes == nil ? .running : .streaming) else {
            let target: RuntimeRejection.Target = isError ? .invocationErrorResponse : .invocationResponse
            return (.error(.invalidTransition(from: r.runtime, to: target)), [])
        }
        let (reply, final) = Self.replyAndOutcome(
            outcome: outcome, tooLargeBytes: tooLargeBytes,
            invalidResponseMode: invalidResponseMode, sizeLimit: sizeLimit)
        record(final, in: &r, streamedBytes: streamedBytes)
        var actions: [Action] = []
        if !r.invocation.wantsLogTail {
            r.delivered = true
            actions.append(.complete(requestID: requestID, outcome: final))
        }
        state = .running(r)
        return (reply, actions)
    }

    /// A runtime began streaming its response to `requestID` (a `/response` with the streaming mode header, whose
    /// body follows): nil when it may, else the error to answer. The result comes with `runtimeResult(…,
    /// streamedBytes:)` once the body ended.
    package mutating func responseStreamStarted(requestID: String, invocationID: String? = nil) -> RuntimeReply? {
        if case .serving(var s) = state {
            return serveStreamStarted(&s, requestID: requestID, invocationID: invocationID)
        }
        guard case .running(var r) = state, r.invocation.requestID == requestID else {
            return .error(.invalidRequestID)
        }
        if let mismatch = invocationIDMismatch(invocationID, r) { return mismatch }
        guard r.runtime == .running else {
            return .error(.invalidTransition(from: r.runtime, to: .invocationResponse))
        }
        r.runtime = .streaming
        r.streamStartedAt = now
        r.streamStartedAtEpoch = clock.epochMilliseconds
        state = .running(r)
        return nil
    }

    /// What a reply that reached its invoke gets, and the invoke's outcome: the runtime's, or the platform's error
    /// for an invalid response-mode header (400) or a response over `sizeLimit` (413).
    static func replyAndOutcome(
        outcome: SandboxOutcome, tooLargeBytes: Int?, invalidResponseMode: Bool, sizeLimit: Int
    ) -> (RuntimeReply, SandboxOutcome) {
        if invalidResponseMode { return (.error(.invalidResponseMode), .failure(.invalidResponseMode)) }
        if let tooLargeBytes {
            return (.error(.payloadTooLarge), .failure(.responseTooLarge(bytes: tooLargeBytes, limit: sizeLimit)))
        }
        return (.accepted, outcome)
    }

    /// Records the runtime's result in its invoke: the outcome, when it came, and the bytes it produced.
    func record(_ final: SandboxOutcome, in r: inout Running, streamedBytes: Int?) {
        r.runtime = .responseSent
        r.outcome = final
        r.respondedAt = now
        r.respondedAtEpoch = clock.epochMilliseconds
        if case .runtime(.success(let body, _)) = final { r.producedBytes = body.count }
        if let streamedBytes { r.producedBytes = streamedBytes }
    }

    /// `POST /runtime/init/error`.
    package mutating func runtimeInitError(outcome: InvokeOutcome, errorType: String) -> (RuntimeReply, [Action]) {
        guard case .initializing(var i) = state, i.runtime == .started else {
            return (.error(.invalidTransition(from: runtimeState, to: .initError)), [])
        }
        i.runtime = .initError
        state = .initializing(i)
        return (.accepted, failInit(.runtime(outcome, errorType: errorType)))
    }
}
