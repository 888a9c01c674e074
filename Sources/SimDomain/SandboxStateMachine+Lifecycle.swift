import SimCore

/// Process and timer events: a runtime's exit, the end of a kill, the timers, and stopping every process
/// (shutdown, SHUTDOWN to extensions).
extension SandboxStateMachine {
    /// The runtime process exited with `status` (it was reaped); `outOfMemory` when the cgroup killed it for
    /// memory. With no runtime meant to run (`idle`, `resetting`, `shutDown`) it is the end of one being stopped,
    /// and changes nothing.
    package mutating func runtimeExited(_ status: ExitStatus, outOfMemory: Bool = false) -> [Action] {
        processFailed(.runtimeExited(status, outOfMemory: outOfMemory))
    }

    /// A process of the sandbox (the runtime or an extension) ended with `failure`: the init or the invokes in
    /// flight fail with it and the processes are stopped. For a process of a generation being stopped (or already
    /// replaced: `idle`, `resetting`, `shutDown`) its exit decides nothing.
    mutating func processFailed(_ failure: PlatformFailure) -> [Action] {
        switch state {
        case .initializing:
            return failInit(.platform(failure))
        case .ready:
            state = .resetting(Resetting(reason: .failure, retry: nil, final: false))
            return stopProcesses(.failure)
        case .running(let r):
            return failInvoke(r, failure, reason: .failure)
        case .serving(let s):
            return failServing(s, failure)
        case .idle, .resetting, .shutDown:
            return []
        }
    }

    /// Every process of the sandbox is gone after a `kill`.
    ///
    /// A runtime that could not be spawned, with no extension launched, has no process to wait for: `spawnFailed`
    /// moved on at once, so the end of the `kill` it asked for finds the machine past `resetting` and changes nothing.
    package mutating func processesGone() -> [Action] {
        guard case .resetting(let r) = state else {
            // Past a spawn failure's reset (see above): the new init or the idle environment goes on.
            return []
        }
        if r.final {
            state = .shutDown
            return [.terminated]
        }
        if let retry = r.retry {
            let start = r.retryStartedAt ?? now
            state = .initializing(
                Initializing(phase: .invoke, startedAt: now, invocation: retry, invokeStartedAt: start))
            extensions = ExtensionRegistry(managedInstance: function.isManagedInstance)
            return [.launchExtensions(phase: .invoke), .startTimer(milliseconds: function.timeoutMilliseconds)]
        }
        state = .idle(nextInit: r.nextInit)
        return [availableAction]
    }

    /// The armed timer fired: the init limit or the function timeout.
    package mutating func timerFired() -> [Action] {
        switch state {
        case .initializing(let i) where i.phase == .initial:
            return failInit(.timedOut)
        case .initializing(let i):
            // An init inside an invoke arms the invoke's timer; one ahead of traffic (a prewarm retried) arms none.
            guard let invocation = i.invocation else {
                preconditionFailure("timerFired in \(state): an init of phase invoke without an invoke has no timer")
            }
            let initMs = milliseconds(since: i.startedAt)
            // The invoke ends here, never handed to the runtime: it has no invocation id.
            let r = Running(
                invocation: invocation, startedAt: i.invokeStartedAt ?? i.startedAt, deadlineEpochMilliseconds: 0,
                initDurationMs: nil, invocationID: "")
            return initTelemetry(
                phase: .invoke, outcome: .timeout(), durationMs: initMs, requestID: invocation.requestID)
                + [startEvent(invocation)] + timeoutInvoke(r)
        case .running(let r):
            return timeoutInvoke(r)
        case .idle, .ready, .resetting, .serving, .shutDown:
            // Every transition into these states cancels the timer (`.cancelTimer`) or never armed one.
            preconditionFailure("timerFired in \(state): no timer is armed")
        }
    }

    /// A managed-instance invoke's own timer fired.
    package mutating func invokeTimerFired(requestID: String) -> [Action] {
        // Leaving `serving` ends every invoke, which cancels its timer.
        guard case .serving(var s) = state else { preconditionFailure("invokeTimerFired in \(state)") }
        return timeoutServed(&s, requestID: requestID)
    }

    /// Stops the sandbox for good; extensions get SHUTDOWN with `reason` (`spindown` when it is reaped or the
    /// simulator stops).
    package mutating func shutdown(reason: ShutdownReason = .spindown) -> [Action] {
        switch state {
        case .shutDown:
            // `.terminated` took the sandbox out of its pool: nobody holds it to shut it down again.
            preconditionFailure("shutdown in \(state)")
        case .idle:
            state = .shutDown
            return [.terminated]
        case .resetting(var r):
            r.final = true
            if let retry = r.retry {
                r.retry = nil
                state = .resetting(r)
                return [.complete(requestID: retry.requestID, outcome: .failure(.shuttingDown))]
            }
            // Processes already being stopped; `processesGone` now ends in `shutDown`.
            state = .resetting(r)
            return []
        case .initializing(let i):
            var actions: [Action] = [.cancelTimer]
            if let invocation = i.invocation {
                actions.append(.complete(requestID: invocation.requestID, outcome: .failure(.shuttingDown)))
            }
            state = .resetting(Resetting(reason: reason, retry: nil, final: true))
            return actions + stopProcesses(reason)
        case .ready:
            state = .resetting(Resetting(reason: reason, retry: nil, final: true))
            return [.cancelTimer] + stopProcesses(reason)
        case .serving(let s):
            var actions: [Action] = []
            for requestID in s.invokes.keys.sorted() {
                let r = s.invokes[requestID]!
                actions += endServed(r, outcome: .failure(.shuttingDown))
            }
            state = .resetting(Resetting(reason: reason, retry: nil, final: true))
            return actions + stopProcesses(reason)
        case .running(let r):
            // The invoke ends here (the runtime may still be in its post-response work): its END and REPORT are
            // printed like any other's, with the outcome it had, or the shutdown's if it had none.
            let id = r.invocation.requestID
            let outcome = r.outcome ?? .failure(.shuttingDown)
            var actions: [Action] = [.cancelTimer]
            if r.runtime != .ready { actions.append(runtimeDoneTelemetry(r, outcome: Self.eventOutcome(outcome))) }
            let status: LambdaLog.ReportStatus
            if case .failure(let failure) = outcome { status = .error(failure.errorType) } else { status = .success }
            actions.append(
                Self.reportAction(
                    requestID: id, durationMs: milliseconds(since: r.startedAt), initDurationMs: r.initDurationMs,
                    status: status))
            if !r.delivered { actions.append(.complete(requestID: id, outcome: outcome)) }
            state = .resetting(Resetting(reason: reason, retry: nil, final: true))
            return actions + stopProcesses(reason)
        }
    }

    /// Stops every process: SHUTDOWN to subscribed external extensions, then the kill with Lambda's budget:
    /// 2,000 ms with an external extension, 500 ms with only internal ones, otherwise 300 ms of SIGTERM grace
    /// for a spindown and an immediate SIGKILL for a reset.
    mutating func stopProcesses(_ reason: ShutdownReason) -> [Action] {
        // Stopped processes cannot handle SIGTERM or SHUTDOWN: thaw first.
        let thaw = thawIfFrozen()
        let externals = extensions.extensions.filter { $0.isExternal && $0.state != .exited }
        let budget: UInt64
        if !externals.isEmpty {
            budget = 2_000
        } else if extensions.extensions.contains(where: { !$0.isExternal }) {
            budget = 500
        } else {
            budget = reason == .spindown ? Self.runtimeShutdownGraceMilliseconds : 0
        }
        let deadline = clock.epochMilliseconds + Int64(budget)
        let event = ExtensionEvent.shutdown(reason: reason, deadlineEpochMilliseconds: deadline)
        // The runtime stops first: SHUTDOWN waits until the sandbox calls `releaseShutdownEvents`.
        guard case .resetting(var r) = state else { preconditionFailure("stopProcesses in \(state)") }
        r.holdingShutdown = true
        state = .resetting(r)
        for ext in externals where ext.subscribes(.shutdown) {
            extensions.update(ext.id) { $0.pendingEvent = event }
        }
        return thaw + [.kill(reason, deadlineMilliseconds: budget)]
    }

    /// The runtime has stopped (or had its share of the shutdown): SHUTDOWN goes to the extensions now.
    ///
    /// Nothing is held when the machine did not wait for the processes of this `kill` (`processesGone` after a
    /// spawn failure): the extensions being stopped then belong to a registry already replaced.
    package mutating func releaseShutdownEvents() -> [Action] {
        guard case .resetting(var r) = state, r.holdingShutdown else {
            // Past a spawn failure's reset (see above): no SHUTDOWN is owed to the new generation.
            return []
        }
        r.holdingShutdown = false
        state = .resetting(r)
        var actions: [Action] = []
        for ext in extensions.extensions where ext.waiting {
            guard let event = ext.pendingEvent else { continue }
            extensions.update(ext.id) { $0.pendingEvent = nil }
            actions += deliver(event, to: ext.id)
        }
        return actions
    }

    /// How long a runtime without extensions gets between SIGTERM and SIGKILL when its sandbox spins down.
    package static let runtimeShutdownGraceMilliseconds: UInt64 = 300

    /// `platform.start` (the START line) of `invocation`.
    func startEvent(_ invocation: Invocation) -> Action {
        .publish(
            .platform(
                .start(
                    .init(
                        requestID: invocation.requestID, version: function.version,
                        tracing: TraceContext(value: invocation.traceID)))),
            requestID: invocation.requestID)
    }
}
