import SimCore
import SimTelemetry
import SimUV
import Testing

@testable import SimDomain
@testable import SimSandbox

private func managedFunction(slots: Int = 3, timeout: Double = 2) -> FunctionSpec {
    var spec = FunctionSpec(name: "mi", command: ["/bin/true"], codeDirectory: "/tmp")
    spec.timeoutSeconds = timeout
    spec.environmentMaxConcurrency = slots
    spec.freezeMode = .none
    return spec
}

private func invocation(_ id: String) -> Invocation {
    Invocation(
        requestID: id, payload: Array("{}".utf8), invokedFunctionARN: "arn:aws:lambda:us-east-1:1:function:mi",
        traceID: "Root=1-0-0")
}

/// The results the invokers get, as the sandbox renders them.
private func completions(_ actions: [Action]) -> [String: InvokeOutcome] {
    var found: [String: InvokeOutcome] = [:]
    for case .complete(let id, let outcome) in actions { found[id] = outcome.rendered(requestID: id) }
    return found
}

private let ok = InvokeOutcome.success(body: [1], contentType: nil)

/// A managed instance whose init is done, with `workers` `/next` calls held.
private func servingMachine(_ clock: ManualClock, slots: Int = 3, workers: Int = 3) -> SandboxStateMachine {
    var machine = SandboxStateMachine(function: managedFunction(slots: slots), clock: clock)
    let start = machine.prewarm()
    #expect(start == [.launchExtensions(phase: .initial), .startTimer(milliseconds: 2_000)])
    #expect(machine.extensionsLaunched(names: []) == [.spawnRuntime])
    for _ in 0..<workers { #expect(machine.runtimeNext().0 == .hold) }
    return machine
}

@Suite struct ManagedInstanceStateMachineTests {
    /// Init runs ahead of traffic and ends at the first /next: the environment is available and never frozen;
    /// more workers' /next calls are held, up to N; one more is refused (TooManyIdleRuntimes, a 500).
    @Test func initThenWorkersUpToN() {
        let clock = ManualClock()
        var machine = SandboxStateMachine(function: managedFunction(), clock: clock)
        _ = machine.prewarm()
        _ = machine.extensionsLaunched(names: [])
        let (first, actions) = machine.runtimeNext()
        #expect(first == .hold)
        #expect(withoutEvents(actions) == [.cancelTimer, .available(.ready(inFlight: 0))])
        #expect(!machine.frozen)
        #expect(machine.runtimeNext().0 == .hold)
        #expect(machine.runtimeNext().0 == .hold)
        #expect(machine.runtimeNext().0 == .error(.tooManyIdleRuntimes))
        #expect(machine.canAcceptInvoke && machine.inFlightCount == 0)
    }

    /// N invokes go to N held workers at once, each with its own timer; the N+1th is not accepted.
    @Test func fillsToN() {
        let clock = ManualClock()
        var machine = servingMachine(clock)
        for id in ["a", "b", "c"] {
            let actions = machine.invoke(invocation(id))
            #expect(actions.contains(.startInvokeTimer(requestID: id, milliseconds: 2_000)))
            #expect(
                actions.contains(
                    .dispatch(
                        invocation(id), deadlineEpochMilliseconds: clock.epochMilliseconds + 2_000,
                        invocationID: machine.invocationID(for: id) ?? "none")))
            #expect(startedRequests(actions) == [id])
        }
        #expect(machine.inFlightCount == 3)
        #expect(!machine.canAcceptInvoke)
        #expect(machine.invocationID(for: "a") != machine.invocationID(for: "b"))
    }

    /// An invoke placed while no worker waits goes to the next /next, which gets it at once.
    @Test func waitsForAWorker() {
        let clock = ManualClock()
        var machine = servingMachine(clock, workers: 1)
        _ = machine.invoke(invocation("a"))
        let second = machine.invoke(invocation("b"))
        #expect(!second.contains { if case .dispatch = $0 { return true } else { return false } })
        let (reply, _) = machine.runtimeNext()
        #expect(
            reply
                == .invocation(
                    invocation("b"), deadlineEpochMilliseconds: clock.epochMilliseconds + 2_000,
                    invocationID: machine.invocationID(for: "b") ?? "none"))
    }

    /// Replies are routed by request id: each ends its own invoke (REPORT, result, a free slot) and the others
    /// stay in flight; a reply to a finished or unknown invoke gets 400 InvalidRequestID.
    @Test func routesRepliesByRequestID() {
        let clock = ManualClock()
        var machine = servingMachine(clock)
        for id in ["a", "b", "c"] { _ = machine.invoke(invocation(id)) }
        clock.advance(milliseconds: 30)
        let (reply, actions) = machine.runtimeResult(requestID: "b", isError: false, outcome: .runtime(ok))
        #expect(reply == .accepted)
        #expect(completions(actions) == ["b": ok])
        #expect(actions.contains(.cancelInvokeTimer(requestID: "b")))
        // Two invokes are still in flight as the sandbox reports a free slot.
        #expect(actions.last == .available(.ready(inFlight: 2)))
        #expect(finishedRuntimes(actions) == ["b"])
        #expect(report(actions)?.durationMs == 30)
        #expect(machine.inFlightCount == 2)
        let error = InvokeOutcome.functionError(body: [2], contentType: nil, errorType: "ValueError")
        let (errorReply, errorActions) = machine.runtimeResult(requestID: "a", isError: true, outcome: .runtime(error))
        #expect(errorReply == .accepted)
        #expect(completions(errorActions) == ["a": error])
        #expect(
            machine.runtimeResult(requestID: "b", isError: false, outcome: .runtime(ok)).0 == .error(.invalidRequestID))
        #expect(
            machine.runtimeResult(requestID: "zz", isError: true, outcome: .runtime(ok)).0 == .error(.invalidRequestID))
        #expect(machine.inFlightCount == 1)
    }

    /// A second response while the same invoke's streamed response is being read is refused with 400 (the
    /// emulator's InvokeResponseInProgress renders as InvalidRequestID); one echoing another invoke's
    /// Lambda-Runtime-Invocation-Id gets 410; the stream's end is the invoke's result.
    @Test func replyInProgressAndCrossWired() throws {
        let clock = ManualClock()
        var machine = servingMachine(clock)
        _ = machine.invoke(invocation("a"))
        _ = machine.invoke(invocation("b"))
        let idOfB = try #require(machine.invocationID(for: "b"))
        #expect(
            machine.runtimeResult(requestID: "a", isError: false, outcome: .runtime(ok), invocationID: idOfB).0
                == .error(.invokeTimeout))
        #expect(machine.responseStreamStarted(requestID: "a") == nil)
        #expect(machine.responseStreamStarted(requestID: "a") == .error(.invalidRequestID))
        #expect(
            machine.runtimeResult(requestID: "a", isError: false, outcome: .runtime(ok)).0 == .error(.invalidRequestID))
        let (reply, actions) = machine.runtimeResult(
            requestID: "a", isError: false, outcome: .runtime(ok), streamedBytes: 10)
        #expect(reply == .accepted)
        #expect(completions(actions)["a"] == ok)
    }

    /// An `/error` while the invoke's response is being streamed ends the invoke with that error (AWS's emulator
    /// accepts it and ends the stream with error trailers); the stream's own end then finds no invoke.
    @Test func errorDuringStream() {
        let clock = ManualClock()
        var machine = servingMachine(clock)
        _ = machine.invoke(invocation("a"))
        #expect(machine.responseStreamStarted(requestID: "a") == nil)
        let error = InvokeOutcome.functionError(body: [3], contentType: nil, errorType: "Gave.Up")
        let (reply, actions) = machine.runtimeResult(requestID: "a", isError: true, outcome: .runtime(error))
        #expect(reply == .accepted)
        #expect(completions(actions) == ["a": error])
        #expect(
            machine.runtimeResult(requestID: "a", isError: false, outcome: .runtime(ok), streamedBytes: 5).0
                == .error(.invalidRequestID))
    }

    /// A timeout ends its invoke alone: Sandbox.Timedout, Status: timeout, a free slot, no reset; the late reply
    /// gets 410 InvokeTimeout once, then 400.
    @Test func timeoutEndsOneInvoke() {
        let clock = ManualClock()
        var machine = servingMachine(clock)
        _ = machine.invoke(invocation("a"))
        _ = machine.invoke(invocation("b"))
        clock.advance(milliseconds: 2_000)
        let actions = machine.invokeTimerFired(requestID: "a")
        guard case .platformError(let type, let message) = completions(actions)["a"] else {
            Issue.record("no platform error in \(actions)")
            return
        }
        #expect(type == "Sandbox.Timedout")
        #expect(message == "RequestId: a Error: Task timed out after 2.00 seconds")
        #expect(report(actions)?.status == .timeout)
        #expect(!actions.contains { if case .kill = $0 { return true } else { return false } })
        #expect(actions.last == .available(.ready(inFlight: 1)))
        guard case .serving = machine.state else {
            Issue.record("not serving after a timeout: \(machine.state)")
            return
        }
        #expect(machine.inFlightCount == 1)
        #expect(
            machine.runtimeResult(requestID: "a", isError: false, outcome: .runtime(ok)).0 == .error(.invokeTimeout))
        #expect(
            machine.runtimeResult(requestID: "a", isError: false, outcome: .runtime(ok)).0 == .error(.invalidRequestID))
        #expect(machine.runtimeResult(requestID: "b", isError: false, outcome: .runtime(ok)).0 == .accepted)
    }

    /// An invoke that times out before any worker took it leaves nothing behind: the next /next does not get it.
    @Test func timeoutBeforeDispatch() {
        let clock = ManualClock()
        var machine = servingMachine(clock, workers: 1)
        _ = machine.invoke(invocation("x"))
        _ = machine.invoke(invocation("a"))
        let actions = machine.invokeTimerFired(requestID: "a")
        #expect(finishedRuntimes(actions).isEmpty)
        #expect(machine.runtimeNext().0 == .hold)
        #expect(
            machine.runtimeResult(requestID: "a", isError: false, outcome: .runtime(ok)).0 == .error(.invalidRequestID))
    }

    /// The runtime's exit fails every invoke in flight with Runtime.ExitError and ends the environment for good.
    @Test func crashFailsEveryInvoke() {
        let clock = ManualClock()
        var machine = servingMachine(clock)
        _ = machine.invoke(invocation("a"))
        _ = machine.invoke(invocation("b"))
        let actions = machine.runtimeExited(.exited(1))
        let results = completions(actions)
        #expect(Set(results.keys) == ["a", "b"])
        #expect(
            results["a"]
                == .platformError(
                    errorType: "Runtime.ExitError",
                    message: "RequestId: a Error: Runtime exited with error: exit status 1"))
        #expect(actions.contains(.kill(.failure, deadlineMilliseconds: 0)))
        #expect(machine.processesGone() == [.terminated])
    }

    /// A held /next that went away is no longer counted: its invoke waits for another worker instead.
    @Test func abandonedNextIsForgotten() {
        let clock = ManualClock()
        var machine = servingMachine(clock, workers: 1)
        machine.runtimeNextAbandoned()
        let actions = machine.invoke(invocation("a"))
        #expect(!actions.contains { if case .dispatch = $0 { return true } else { return false } })
        #expect(
            machine.runtimeNext().0
                == .invocation(
                    invocation("a"), deadlineEpochMilliseconds: clock.epochMilliseconds + 2_000,
                    invocationID: machine.invocationID(for: "a") ?? "none"))
    }

    /// Lines on the runtime's shared stdout belong to the invoke in flight whose request id they name (only
    /// needed, and only tried, when several are in flight).
    @Test func attributesSharedOutputByRequestID() {
        let clock = ManualClock()
        var machine = servingMachine(clock)
        let first = "0f8fad5b-d9cb-469f-a165-70867728950e"
        let second = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
        _ = machine.invoke(invocation(first))
        #expect(machine.requestID(mentionedIn: Array("[INFO]\t2026\t\(first)\thello".utf8)) == nil)
        #expect(machine.currentRequestID == first)
        _ = machine.invoke(invocation(second))
        #expect(machine.currentRequestID == nil)
        #expect(machine.requestID(mentionedIn: Array("[INFO]\t2026\t\(second)\thello".utf8)) == second)
        #expect(machine.requestID(mentionedIn: Array(#"{"requestId":"\#(first)","message":"x"}"#.utf8)) == first)
        #expect(machine.requestID(mentionedIn: Array("no id 11111111-2222-3333-4444-555555555555 here".utf8)) == nil)
    }

    /// A failed init is retried ahead of traffic as an init again (phase `init`), not inside an invoke.
    @Test func failedInitIsRetriedAheadOfTraffic() {
        var machine = SandboxStateMachine(function: managedFunction(), clock: ManualClock())
        _ = machine.prewarm()
        _ = machine.extensionsLaunched(names: [])
        let failed = machine.runtimeExited(.exited(1))
        #expect(initReports(failed).map(\.phase) == [.initial])
        #expect(machine.processesGone() == [.available(.uninitialized)])
        #expect(!machine.canAcceptInvoke)
        _ = machine.prewarm()
        _ = machine.extensionsLaunched(names: [])
        let (_, ready) = machine.runtimeNext()
        #expect(initReports(ready).map(\.phase) == [.initial])
        #expect(machine.canAcceptInvoke)
    }

    /// Extensions of a managed instance may subscribe to SHUTDOWN only.
    @Test func noInvokeEventsForExtensions() {
        var machine = SandboxStateMachine(function: managedFunction(), clock: ManualClock())
        _ = machine.prewarm()
        _ = machine.extensionsLaunched(names: ["ext"])
        let (invoke, _) = machine.extensionRegister(
            ExtensionRegistration(name: "ext", body: Array(#"{"events":["INVOKE","SHUTDOWN"]}"#.utf8)), newID: "id-1")
        #expect(invoke == .error(.invokeNotDelivered))
        #expect(
            RuntimeAPIError(.invokeNotDelivered)
                == RuntimeAPIError(
                    status: 403, errorType: "Extension.InvalidEventType", errorMessage: "INVOKE: ErrorInvalidEventType")
        )
        let (shutdown, _) = machine.extensionRegister(
            ExtensionRegistration(name: "ext", body: Array(#"{"events":["SHUTDOWN"]}"#.utf8)), newID: "id-2")
        guard case .registered = shutdown else {
            Issue.record("SHUTDOWN registration refused: \(shutdown)")
            return
        }
    }
}

@Suite struct RecentIDsTests {
    /// Remembers the last `capacity` ids, each found once.
    @Test func boundedAndConsumedOnce() {
        var recent = RecentIDs(capacity: 2)
        recent.insert("a")
        recent.insert("b")
        recent.insert("c")
        let found = ["a", "b", "b", "c"].map { recent.consume($0) }
        #expect(found == [false, true, false, true])
    }
}
