import SimCore
import SimUV
import Testing

@testable import SimDomain
@testable import SimSandbox

#if canImport(Glibc)
    import Glibc
#endif

private let idA = "11111111-1111-4111-8111-111111111111"
private let idB = "22222222-2222-4222-8222-222222222222"

private func makeFunction() -> FunctionSpec {
    var spec = FunctionSpec(name: "fn", command: ["/bin/true"], codeDirectory: "/tmp")
    spec.handler = "app.handler"
    return spec
}

private func invocation(_ id: String = "req-1") -> Invocation {
    Invocation(
        requestID: id, payload: [], invokedFunctionARN: "arn:aws:lambda:us-east-1:1:function:fn", traceID: "Root=1-a")
}

private func body(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A machine whose cold start launched extension `a` (INVOKE+SHUTDOWN); it has registered.
private func launchedMachine(_ clock: ManualClock = ManualClock()) -> SandboxStateMachine {
    var machine = SandboxStateMachine(function: makeFunction(), clock: clock)
    _ = machine.invoke(invocation())
    #expect(machine.extensionsLaunched(names: ["a"]).isEmpty)
    let (reply, actions) = machine.extensionRegister(
        ExtensionRegistration(name: "a", body: body("{\"events\":[\"INVOKE\",\"SHUTDOWN\"]}")), newID: idA)
    if case .registered(let ext) = reply {
        #expect(ext.isExternal && ext.events == [.invoke, .shutdown])
    } else {
        Issue.record("registration failed: \(reply)")
    }
    #expect(actions == [.spawnRuntime])
    return machine
}

/// The 403 a refused Extensions API call gets, as the handler renders it.
private func refusal(_ reply: SandboxStateMachine.ExtensionReply) -> RuntimeAPIError? {
    if case .error(let rejection) = reply { return RuntimeAPIError(rejection) }
    return nil
}

@Suite struct ExtensionStateMachineTests {
    /// The runtime starts only after every launched extension registered.
    @Test func runtimeWaitsForRegistrations() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        _ = machine.invoke(invocation())
        _ = machine.extensionsLaunched(names: ["a", "b"])
        #expect(machine.extensionRegister(ExtensionRegistration(name: "a", body: []), newID: idA).1.isEmpty)
        #expect(machine.extensionRegister(ExtensionRegistration(name: "b", body: []), newID: idB).1 == [.spawnRuntime])
    }

    /// A runtime that cannot be started while a launched extension runs fails the init, and the retry inside the
    /// invoke waits for the extension's exit: SHUTDOWN `failure` goes out first, the new init only at
    /// `processesGone`.
    @Test func spawnFailureWaitsForLaunchedExtensions() {
        var machine = launchedMachine()
        #expect(machine.extensionNext(identifier: idA).0 == .hold)
        let failed = machine.spawnFailed(.exec(program: "m", cause: .notFound))
        #expect(!failed.contains(.launchExtensions(phase: .invoke)))
        #expect(failed.last == .kill(.failure, deadlineMilliseconds: 2_000))
        let released = machine.releaseShutdownEvents()
        #expect(
            released.contains {
                if case .extensionEvent(idA, .shutdown(reason: .failure, _)) = $0 { return true } else { return false }
            })
        #expect(machine.processesGone() == [.launchExtensions(phase: .invoke), .startTimer(milliseconds: 3000)])
    }

    /// Ten extensions are launched; with eleven the init fails with Extension.LaunchError (TooManyExtensions).
    @Test func atMostTenExtensionsAreLaunched() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        _ = machine.invoke(invocation())
        let names = (0..<11).map { "ext-\($0)" }
        let allowed = machine.extensionsFound(names: Array(names.prefix(10)))
        #expect(allowed == nil)
        let refused = machine.extensionsFound(names: names) ?? []
        let outcomes = refused.compactMap { action -> EventOutcome? in
            if case .publish(.platform(.initReport(let data)), _) = action { return data.outcome }
            return nil
        }
        #expect(outcomes == [.error("Extension.LaunchError")])
        #expect(refused.last == .kill(.failure, deadlineMilliseconds: 0))
    }

    /// SHUTDOWN goes to the external extensions subscribed to it; a Telemetry or Logs API subscription is open to a
    /// known extension during init only, and refused for an unknown identifier.
    @Test func shutdownAudienceAndSubscriptions() {
        var machine = launchedMachine()
        let audience = machine.shutdownAudience
        #expect(audience.subscribed == ["a"] && audience.hasExtensions)
        func open(_ identifier: String?) -> Bool? {
            if case .success(let (_, open)) = machine.subscriber(identifier: identifier) { return open }
            return nil
        }
        #expect(open(idA) == true)
        #expect(open(idB) == nil)
        _ = machine.runtimeNext()
        _ = machine.extensionNext(identifier: idA)
        #expect(open(idA) == false)
    }

    /// Init ends only when the runtime and every extension asked for their first event; then INVOKE goes out.
    @Test func initWaitsForExtensionNext() {
        var machine = launchedMachine()
        let (runtimeReply, runtimeActions) = machine.runtimeNext()
        #expect(runtimeReply == .hold)
        #expect(runtimeActions.isEmpty)
        let (reply, actions) = machine.extensionNext(identifier: idA)
        #expect(reply == .hold)
        #expect(extensionStates(actions) == [.init(name: "a", state: "Ready", events: ["INVOKE", "SHUTDOWN"])])
        let events = actions.compactMap { action -> String? in
            if case .extensionEvent(let id, let event) = action, id == idA { return ExtensionEvents.json(event) }
            return nil
        }
        #expect(events.count == 1)
        #expect(events.first?.contains("\"eventType\":\"INVOKE\"") == true)
        #expect(events.first?.contains("\"requestId\":\"req-1\"") == true)
        #expect(events.first?.contains("\"tracing\":{\"type\":\"X-Amzn-Trace-Id\",\"value\":\"Root=1-a\"}") == true)
        #expect(actions.contains { if case .dispatch = $0 { return true } else { return false } })
        var deadline: Int64?
        for case .dispatch(_, let due, _) in actions { deadline = due }
        #expect(
            actions.contains(
                .extensionEvent(
                    id: idA,
                    event: .invoke(
                        requestID: "req-1", invokedFunctionARN: "arn:aws:lambda:us-east-1:1:function:fn",
                        traceID: "Root=1-a", deadlineEpochMilliseconds: deadline ?? 0))))
    }

    /// The invoker gets the response at once; END and REPORT wait for the extension's next /event/next.
    @Test func invokeEndsAfterExtensions() {
        let clock = ManualClock()
        var machine = launchedMachine(clock)
        _ = machine.runtimeNext()
        _ = machine.extensionNext(identifier: idA)
        let (_, result) = machine.runtimeResult(
            requestID: "req-1", isError: false, outcome: .success(body: [1], contentType: nil))
        #expect(result.contains { if case .complete = $0 { return true } else { return false } })
        let (_, runtimeDone) = machine.runtimeNext()
        #expect(withoutEvents(runtimeDone).isEmpty)
        clock.advance(milliseconds: 25)
        let (_, end) = machine.extensionNext(identifier: idA)
        #expect(report(end)?.postRuntimeExtensionsMs == 25)
        #expect(Array(end.suffix(2)) == [.available(.ready(inFlight: 0)), .freeze(epoch: 0)])
    }

    /// Shutdown sends SHUTDOWN with the reason and kills with a 2,000 ms budget.
    @Test func shutdownEvent() {
        var machine = launchedMachine()
        _ = machine.runtimeNext()
        _ = machine.extensionNext(identifier: idA)
        _ = machine.runtimeResult(requestID: "req-1", isError: false, outcome: .success(body: [], contentType: nil))
        _ = machine.runtimeNext()
        _ = machine.extensionNext(identifier: idA)
        let stop = machine.shutdown()
        #expect(stop.last == .kill(.spindown, deadlineMilliseconds: 2000))
        // SHUTDOWN waits until the runtime has stopped.
        #expect(!stop.contains { if case .extensionEvent = $0 { return true } else { return false } })
        let actions = machine.releaseShutdownEvents()
        let shutdown = actions.compactMap { action -> String? in
            if case .extensionEvent(_, let event) = action { return ExtensionEvents.json(event) }
            return nil
        }
        #expect(shutdown.first?.hasPrefix("{\"eventType\":\"SHUTDOWN\",\"deadlineMs\":") == true)
        #expect(shutdown.first?.hasSuffix(",\"shutdownReason\":\"spindown\"}") == true)
    }

    /// A timeout sends SHUTDOWN `timeout` to an extension even if it was busy (delivered at its next call).
    @Test func timeoutShutdownIsQueued() {
        var machine = launchedMachine()
        _ = machine.runtimeNext()
        _ = machine.extensionNext(identifier: idA)
        let actions = machine.timerFired()
        #expect(actions.last == .kill(.timeout, deadlineMilliseconds: 2000))
        #expect(machine.releaseShutdownEvents().isEmpty)
        let (reply, _) = machine.extensionNext(identifier: idA)
        if case .event(let event) = reply {
            #expect(ExtensionEvents.json(event).contains("\"shutdownReason\":\"timeout\""))
        } else {
            Issue.record("expected the SHUTDOWN event, got \(reply)")
        }
    }

    /// An extension that exits during init fails the init with Extension.Crash; during an invoke it resets.
    @Test func crashes() {
        var machine = launchedMachine()
        let during = machine.extensionExited(name: "a", status: .exited(1))
        #expect(initReports(during).first?.outcome == .error("Extension.Crash"))
        var busy = launchedMachine()
        _ = busy.runtimeNext()
        _ = busy.extensionNext(identifier: idA)
        let actions = busy.extensionExited(name: "a", status: .signaled(SIGKILL))
        let results = actions.compactMap { action -> InvokeOutcome? in
            if case .complete(let id, let outcome) = action { return outcome.rendered(requestID: id) }
            return nil
        }
        #expect(
            results == [
                .platformError(
                    errorType: "Extension.Crash", message: "RequestId: req-1 Error: extension a exited: signal: killed")
            ])
        #expect(actions.last == .kill(.failure, deadlineMilliseconds: 0))
    }

    /// /init/error fails init with Extension.InitError; afterwards /event/next is 403.
    @Test func initError() {
        var machine = launchedMachine()
        let (reply, actions) = machine.extensionInitError(identifier: idA, errorType: "Extension.ConfigInvalid")
        #expect(reply == .accepted)
        #expect(initReports(actions).first?.outcome == .error("Extension.InitError"))
        let (next, _) = machine.extensionNext(identifier: idA)
        #expect(
            refusal(next)
                == RuntimeAPIError.forbidden(
                    "Extension.InvalidExtensionState",
                    "State transition from InitError to Ready failed for extension \(idA). Error: State transition is not allowed"
                ))
    }

    /// Identifier and header errors are 403s with Lambda's types and messages.
    @Test func identifierErrors() {
        var machine = launchedMachine()
        #expect(
            refusal(machine.extensionNext(identifier: nil).0)
                == RuntimeAPIError.forbidden(
                    "Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier header"))
        #expect(
            refusal(machine.extensionNext(identifier: "nope").0)
                == RuntimeAPIError.forbidden(
                    "Extension.InvalidExtensionIdentifier", "Invalid Lambda-Extension-Identifier"))
        #expect(
            refusal(machine.extensionNext(identifier: idB).0)
                == RuntimeAPIError.forbidden("Extension.UnknownExtensionIdentifier", "Unknown extension \(idB)"))
        #expect(
            refusal(machine.extensionExitError(identifier: idB, errorType: "X").0)
                == RuntimeAPIError.forbidden(
                    "Extension.UnknownExtensionIdentifier", "Unknown Lambda-Extension-Identifier"))
        #expect(
            refusal(machine.extensionInitError(identifier: idA, errorType: nil).0)
                == RuntimeAPIError.forbidden(
                    "Extension.MissingHeader", "Lambda-Extension-Function-Error-Type not found"))
        #expect(machine.extensionExitError(identifier: idA, errorType: "E.X").0 == .accepted)
    }
}

@Suite struct ExtensionRegistryTests {
    private func registry() -> ExtensionRegistry {
        var registry = ExtensionRegistry()
        registry.launch(names: ["ext"])
        return registry
    }

    /// The 403 a refused registration gets, as the handler renders it.
    private func error(_ result: Result<ExtensionRegistry.Extension, ExtensionRejection>) -> RuntimeAPIError? {
        if case .failure(let rejection) = result { return RuntimeAPIError(rejection) }
        return nil
    }

    /// Every registration error of Lambda's catalogue is a 403 with its exact type and message.
    @Test func registrationErrors() {
        var r = registry()
        #expect(
            error(r.register(ExtensionRegistration(name: nil, body: []), newID: idA))?.errorType
                == "Extension.InvalidExtensionName")
        #expect(
            error(r.register(ExtensionRegistration(name: "", body: []), newID: idA))?.errorMessage
                == "Empty extension name")
        #expect(
            error(r.register(ExtensionRegistration(name: "ext", body: body("{")), newID: idA))?.errorType
                == "InvalidRequestFormat")
        #expect(
            error(
                r.register(
                    ExtensionRegistration(name: "ext", body: body("{\"configurationKeys\":[\"k\"]}")), newID: idA))?
                .errorMessage
                == "configurationKeys are deprecated; use environment variables instead")
        #expect(
            error(r.register(ExtensionRegistration(name: "ext", body: body("{\"events\":[\"BOGUS\"]}")), newID: idA))?
                .errorMessage
                == "BOGUS: ErrorInvalidEventType")
        #expect(
            error(
                r.register(
                    ExtensionRegistration(name: "internal", body: body("{\"events\":[\"SHUTDOWN\"]}")), newID: idA))?
                .errorMessage
                == "SHUTDOWN: ShutdownEventNotSupportedForInternalExtension")
        #expect(error(r.register(ExtensionRegistration(name: "ext", body: []), newID: idA)) == nil)
        #expect(
            error(r.register(ExtensionRegistration(name: "ext", body: []), newID: idB))?.errorMessage
                == "State transition from Registered to Registered failed for extension ext. Error: State transition is not allowed"
        )
        #expect(error(r.register(ExtensionRegistration(name: "in", body: []), newID: idB)) == nil)
        #expect(
            error(r.register(ExtensionRegistration(name: "in", body: []), newID: idB))?.errorMessage
                == "Extension with this name already registered")
        r.registrationClosed = true
        #expect(
            error(r.register(ExtensionRegistration(name: "late", body: []), newID: idB))?.errorType
                == "Extension.RegistrationClosed")
        #expect(error(r.register(ExtensionRegistration(name: "late", body: []), newID: idB))?.status == 403)
    }

    /// An identifier header is missing, not a UUID, or unknown, each a typed rejection; a known one may differ in
    /// case.
    @Test func identifierRejections() {
        var r = registry()
        _ = r.register(ExtensionRegistration(name: "ext", body: []), newID: idA)
        #expect(r.identify(nil) == .failure(.missing))
        #expect(r.identify("") == .failure(.missing))
        #expect(r.identify("not-a-uuid") == .failure(.invalid))
        #expect(r.identify(idB) == .failure(.unknown(idB)))
        #expect((try? r.identify(idA.uppercased()).get())?.name == "ext")
        #expect(ExtensionRegistry.IdentifierRejection.unknown(idB).rejection() == .unknownExtension(identifier: idB))
        #expect(ExtensionRegistry.IdentifierRejection.unknown(idB).rejection(errorReport: true) == .unknownReporter)
    }

    /// The eleventh extension is refused with Extension.TooManyExtensions.
    @Test func limit() {
        var r = ExtensionRegistry()
        for i in 0..<10 {
            #expect(error(r.register(ExtensionRegistration(name: "internal-\(i)", body: []), newID: "id-\(i)")) == nil)
        }
        let refused = error(r.register(ExtensionRegistration(name: "internal-10", body: []), newID: "id-10"))
        #expect(refused?.errorType == "Extension.TooManyExtensions")
        #expect(refused?.errorMessage == "Extension limit (10) reached")
    }
}
