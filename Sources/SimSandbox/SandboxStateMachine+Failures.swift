import SimCore
import SimDomain
import SimTelemetry

/// Failed inits, failed invokes and timeouts: the log lines, results and kills they lead to.
extension SandboxStateMachine {

    static func errorType(of outcome: InvokeOutcome) -> String? {
        switch outcome {
        case .success: return nil
        case .functionError(_, _, let type): return type
        case .platformError(let type, _): return type
        }
    }

    /// Init failed (error, crash, spawn failure) or timed out.
    mutating func failInit(errorType: String, timedOut: Bool, processesAlive: Bool = true) -> [Action] {
        guard case .initializing(let i) = state else { preconditionFailure("failInit in \(state)") }
        let initMs = milliseconds(since: i.startedAt)
        let initOutcome: EventOutcome = timedOut ? .timeout() : Self.eventOutcome(errorType: errorType)
        var actions: [Action] =
            initTelemetry(
                phase: i.phase, outcome: initOutcome, durationMs: initMs, requestID: i.invocation?.requestID) + [
                .cancelTimer
            ]
        if i.phase == .initial {
            // Lambda resets and retries the init inside the invoke that needs it (suppressed init).
            // A managed instance initialises again ahead of traffic, never inside an invoke.
            nextInitIsSuppressed = i.invocation == nil && !function.isManagedInstance
            state = .resetting(
                Resetting(
                    reason: .failure, retry: i.invocation, retryStartedAt: i.invocation != nil ? now : nil,
                    final: false,
                    runtime: i.runtime))
            actions += stopProcesses(.failure)
            if !processesAlive { actions += processesGone() }
            return actions
        }
        guard let invocation = i.invocation else {
            state = .resetting(Resetting(reason: .failure, retry: nil, final: false, runtime: i.runtime))
            actions += stopProcesses(.failure)
            if !processesAlive { actions += processesGone() }
            return actions
        }
        let outcome =
            i.initError
            ?? .platformError(
                errorType: "Runtime.Unknown", message: "Unknown application error occurred")
        let id = invocation.requestID
        let duration = milliseconds(since: i.invokeStartedAt ?? i.startedAt)
        actions.append(startEvent(invocation))
        actions += errorLines(outcome, requestID: id)
        actions += [
            Self.reportAction(requestID: id, durationMs: duration, initDurationMs: nil, status: .error(errorType)),
            .complete(requestID: id, outcome: outcome),
        ]
        state = .resetting(Resetting(reason: .failure, retry: nil, final: false, runtime: i.runtime))
        actions += stopProcesses(.failure)
        if !processesAlive { actions += processesGone() }
        return actions
    }

    /// The `.report` action of an invoke that ended with `status`. An invoke whose runtime exited
    /// (`Runtime.ExitError`) or was killed for memory (`Runtime.OutOfMemory`) before completing it is a fault.
    static func reportAction(
        requestID: String, durationMs: Double, initDurationMs: Double?, status: LambdaLog.ReportStatus,
        postRuntimeExtensionsMs: Double? = nil
    ) -> Action {
        var processExited = false
        if case .error(let type) = status {
            processExited = type == "Runtime.ExitError" || type == "Runtime.OutOfMemory"
        }
        return .report(
            requestID: requestID, durationMs: durationMs, initDurationMs: initDurationMs, status: status,
            postRuntimeExtensionsMs: postRuntimeExtensionsMs, processExited: processExited)
    }

    /// The platform's own log lines for a failed invoke: the message, then the error type.
    func errorLines(_ outcome: InvokeOutcome, requestID: String) -> [Action] {
        if case .platformError(let type, let message) = outcome {
            return [.publish(.invokeError(errorType: type, message: message), requestID: requestID)]
        }
        return []
    }

    mutating func failInvoke(
        _ r: Running, errorType: String, message: String, reason: ShutdownReason, timedOut: Bool
    ) -> [Action] {
        let id = r.invocation.requestID
        var actions: [Action] = [.cancelTimer]
        let outcome = InvokeOutcome.platformError(errorType: errorType, message: message)
        // The platform's lines say why the invoke failed even when the runtime had already answered (a runtime
        // that panics after posting /error, as Go's does, exits like one that never answered).
        actions += errorLines(outcome, requestID: id)
        if r.runtime != .ready {
            actions.append(runtimeDoneTelemetry(r, outcome: Self.eventOutcome(errorType: errorType)))
        }
        actions.append(
            Self.reportAction(
                requestID: id, durationMs: milliseconds(since: r.startedAt), initDurationMs: r.initDurationMs,
                status: timedOut ? .timeout : .error(errorType)))
        if !r.delivered { actions.append(.complete(requestID: id, outcome: r.outcome ?? outcome)) }
        state = .resetting(Resetting(reason: reason, retry: nil, final: false))
        actions += stopProcesses(reason)
        return actions
    }

    mutating func timeoutInvoke(_ r: Running) -> [Action] {
        let id = r.invocation.requestID
        let seconds = LambdaLog.fixed(function.timeoutSeconds)
        var actions: [Action] = [.cancelTimer]
        if r.runtime == .running || r.runtime == .responseSent {
            actions.append(runtimeDoneTelemetry(r, outcome: .timeout()))
        }
        actions.append(.publish(.timedOut(seconds: function.timeoutSeconds), requestID: id))
        actions.append(
            Self.reportAction(
                requestID: id, durationMs: Double(function.timeoutMilliseconds), initDurationMs: r.initDurationMs,
                status: .timeout))
        if !r.delivered {
            let outcome =
                r.outcome
                ?? .platformError(
                    errorType: "Sandbox.Timedout",
                    message: "RequestId: \(id) Error: Task timed out after \(seconds) seconds")
            actions.append(.complete(requestID: id, outcome: outcome))
        }
        state = .resetting(Resetting(reason: .timeout, retry: nil, final: false))
        actions += stopProcesses(.timeout)
        return actions
    }
}
