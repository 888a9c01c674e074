import SimCore

/// Failed inits, failed invokes and timeouts: the log lines, results and kills they lead to.
extension SandboxStateMachine {
    /// Why an init failed.
    enum InitFailure {
        /// The runtime posted `/init/error` with this body, reporting `errorType`.
        case runtime(InvokeOutcome, errorType: String)
        /// The platform failed it (an exit, a spawn or extension failure).
        case platform(PlatformFailure)
        /// It ran past its limit.
        case timedOut

        /// The error type its REPORT and telemetry name.
        func errorType(timeoutSeconds: Double) -> String {
            switch self {
            case .runtime(_, let errorType): return errorType
            case .platform(let failure): return failure.errorType
            case .timedOut: return PlatformFailure.timeout(after: timeoutSeconds).errorType
            }
        }
    }

    /// Init failed (error, crash, spawn failure) or timed out.
    mutating func failInit(_ failure: InitFailure, processesAlive: Bool = true) -> [Action] {
        guard case .initializing(let i) = state else { preconditionFailure("failInit in \(state)") }
        let initMs = milliseconds(since: i.startedAt)
        let errorType = failure.errorType(timeoutSeconds: function.timeoutSeconds)
        let initOutcome: EventOutcome
        if case .timedOut = failure {
            initOutcome = .timeout()
        } else {
            initOutcome = Self.eventOutcome(errorType: errorType)
        }
        var actions: [Action] =
            initTelemetry(
                phase: i.phase, outcome: initOutcome, durationMs: initMs, requestID: i.invocation?.requestID) + [
                .cancelTimer
            ]
        if i.phase == .initial {
            // Lambda resets and retries the init inside the invoke that needs it (suppressed init).
            // A managed instance initialises again ahead of traffic, never inside an invoke.
            let suppress = i.invocation == nil && !function.isManagedInstance
            state = .resetting(
                Resetting(
                    reason: .failure, retry: i.invocation, retryStartedAt: i.invocation != nil ? now : nil,
                    final: false, runtime: i.runtime, nextInit: suppress ? .invoke : .initial))
            actions += stopProcesses(.failure)
            if !processesAlive { actions += processesGone() }
            return actions
        }
        // A suppressed init that failed again leaves the next one suppressed.
        let nextInit: InitPhase = i.suppressed ? .invoke : .initial
        guard let invocation = i.invocation else {
            state = .resetting(
                Resetting(reason: .failure, retry: nil, final: false, runtime: i.runtime, nextInit: nextInit))
            actions += stopProcesses(.failure)
            if !processesAlive { actions += processesGone() }
            return actions
        }
        let outcome: SandboxOutcome
        let processExited: Bool
        switch failure {
        case .runtime(let posted, let reportedType):
            outcome = .runtime(posted)
            processExited = PlatformFailure.isProcessExit(errorType: reportedType)
        case .platform(let platform):
            outcome = .failure(platform)
            processExited = platform.isProcessExit
        case .timedOut:
            outcome = .failure(.unknownInitError)
            processExited = false
        }
        let id = invocation.requestID
        let duration = milliseconds(since: i.invokeStartedAt ?? i.startedAt)
        actions.append(startEvent(invocation))
        if case .failure(let platform) = outcome { actions.append(.publishFailure(platform, requestID: id)) }
        actions += [
            Self.reportAction(
                requestID: id, durationMs: duration, initDurationMs: nil, status: .error(errorType),
                processExited: processExited),
            .complete(requestID: id, outcome: outcome),
        ]
        state = .resetting(
            Resetting(reason: .failure, retry: nil, final: false, runtime: i.runtime, nextInit: nextInit))
        actions += stopProcesses(.failure)
        if !processesAlive { actions += processesGone() }
        return actions
    }

    /// The `.report` action of an invoke that ended with `status`; `processExited` when the runtime exited (or was
    /// killed for memory) before completing it, which makes it a fault.
    static func reportAction(
        requestID: String, durationMs: Double, initDurationMs: Double?, status: LambdaLog.ReportStatus,
        processExited: Bool = false, postRuntimeExtensionsMs: Double? = nil
    ) -> Action {
        .report(
            requestID: requestID, durationMs: durationMs, initDurationMs: initDurationMs, status: status,
            postRuntimeExtensionsMs: postRuntimeExtensionsMs, processExited: processExited)
    }

    /// The invoke in flight failed: the platform's lines, `platform.runtimeDone`, REPORT, the result, the reset.
    mutating func failInvoke(_ r: Running, _ failure: PlatformFailure, reason: ShutdownReason) -> [Action] {
        let id = r.invocation.requestID
        // The platform's lines say why the invoke failed even when the runtime had already answered (a runtime
        // that panics after posting /error, as Go's does, exits like one that never answered).
        var actions: [Action] = [.cancelTimer, .publishFailure(failure, requestID: id)]
        if r.runtime != .ready {
            actions.append(runtimeDoneTelemetry(r, outcome: Self.eventOutcome(errorType: failure.errorType)))
        }
        actions.append(
            Self.reportAction(
                requestID: id, durationMs: milliseconds(since: r.startedAt), initDurationMs: r.initDurationMs,
                status: .error(failure.errorType), processExited: failure.isProcessExit))
        if !r.delivered { actions.append(.complete(requestID: id, outcome: r.outcome ?? .failure(failure))) }
        state = .resetting(Resetting(reason: reason, retry: nil, final: false))
        actions += stopProcesses(reason)
        return actions
    }

    mutating func timeoutInvoke(_ r: Running) -> [Action] {
        let id = r.invocation.requestID
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
            actions.append(
                .complete(requestID: id, outcome: r.outcome ?? .failure(.timeout(after: function.timeoutSeconds))))
        }
        state = .resetting(Resetting(reason: .timeout, retry: nil, final: false))
        actions += stopProcesses(.timeout)
        return actions
    }
}
