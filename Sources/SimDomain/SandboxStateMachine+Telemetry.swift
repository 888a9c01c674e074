import SimCore

// MARK: - Telemetry

extension SandboxStateMachine {
    /// `platform.initRuntimeDone`, one `platform.extension` per extension, then `platform.initReport`.
    /// The events are the invoke's (`requestID`) when the init runs inside one.
    func initTelemetry(phase: InitPhase, outcome: EventOutcome, durationMs: Double, requestID: String?) -> [Action] {
        let telemetryPhase: SimDomain.InitPhase = phase == .initial ? .initial : .invoke
        var actions: [Action] = [
            .publish(
                .platform(
                    .initRuntimeDone(
                        .init(initializationType: initializationType, phase: telemetryPhase, outcome: outcome))),
                requestID: requestID)
        ]
        for ext in extensions.extensions {
            let state = PlatformEvent.ExtensionState(
                name: ext.name, state: ext.state == .ready ? "Ready" : ext.state.rawValue,
                events: ext.events.map(\.rawValue))
            actions.append(.publish(.platform(.extensionState(state)), requestID: requestID))
        }
        actions.append(
            .publish(
                .platform(
                    .initReport(
                        .init(
                            initializationType: initializationType, phase: telemetryPhase, outcome: outcome,
                            durationMs: durationMs))),
                requestID: requestID))
        return actions
    }

    /// `platform.runtimeDone` with Lambda's three spans.
    func runtimeDoneTelemetry(_ r: Running, outcome: EventOutcome) -> Action {
        let nowEpoch = clock.epochMilliseconds
        let respondedEpoch = r.respondedAtEpoch ?? nowEpoch
        // A streamed response's latency runs to its first byte and its duration from there to its end.
        let firstByte = r.streamStartedAt ?? r.respondedAt
        let firstByteEpoch = r.streamStartedAtEpoch ?? respondedEpoch
        let latency = firstByte.map { Double($0 &- r.startedAt) / 1_000_000 } ?? milliseconds(since: r.startedAt)
        let duration = r.streamStartedAt.flatMap { start in r.respondedAt.map { Double($0 &- start) / 1_000_000 } }
        let overhead = r.respondedAt.map { milliseconds(since: $0) } ?? 0
        let spans = [
            Span(name: "responseLatency", startEpochMilliseconds: r.startedAtEpoch, durationMs: latency),
            Span(name: "responseDuration", startEpochMilliseconds: firstByteEpoch, durationMs: duration ?? 0),
            Span(name: "runtimeOverhead", startEpochMilliseconds: respondedEpoch, durationMs: overhead),
        ]
        return .publish(
            .platform(
                .runtimeDone(
                    .init(
                        requestID: r.invocation.requestID, outcome: outcome,
                        durationMs: milliseconds(since: r.startedAt), producedBytes: r.producedBytes, spans: spans,
                        tracing: TraceContext(value: r.invocation.traceID)))),
            requestID: r.invocation.requestID)
    }

    /// The telemetry status of an invoke's outcome.
    static func eventOutcome(_ outcome: SandboxOutcome?) -> EventOutcome {
        switch outcome {
        case .none, .runtime(.success): return .success
        case .runtime(.functionError(_, _, let type)): return .error(type ?? "Unhandled")
        case .runtime(.platformError(let type, _)): return eventOutcome(errorType: type)
        case .failure(let failure): return eventOutcome(errorType: failure.errorType)
        }
    }

    /// Lambda's mapping: `Sandbox.*` errors are failures, the rest errors.
    package static func eventOutcome(errorType: String) -> EventOutcome {
        errorType.hasPrefix("Sandbox.") ? .failure(errorType) : .error(errorType)
    }
}

extension LambdaLog.ReportStatus {
    /// The telemetry status of a REPORT with this status (`platform.report`'s outcome).
    package var eventOutcome: EventOutcome {
        switch self {
        case .success: return .success
        case .timeout: return .timeout()
        case .error(let type): return SandboxStateMachine.eventOutcome(errorType: type)
        }
    }
}
