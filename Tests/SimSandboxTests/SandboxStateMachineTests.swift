import SimCore
import SimTelemetry
import SimUV
import Testing

@testable import SimDomain
@testable import SimSandbox

#if canImport(Glibc)
    import Glibc
#endif

private func makeFunction(timeout: Double = 3) -> FunctionSpec {
    var spec = FunctionSpec(name: "fn", command: ["/bin/true"], codeDirectory: "/tmp")
    spec.timeoutSeconds = timeout
    return spec
}

private func invocation(_ id: String = "req-1", tail: Bool = false) -> Invocation {
    Invocation(
        requestID: id, payload: Array("{}".utf8), invokedFunctionARN: "arn:aws:lambda:us-east-1:1:function:fn",
        traceID: "Root=1-0-0", wantsLogTail: tail)
}

/// The result the invoker gets, as the sandbox renders it.
private func completion(_ actions: [Action]) -> InvokeOutcome? {
    for case .complete(let id, let outcome) in actions { return outcome.rendered(requestID: id) }
    return nil
}

/// Places `invocation` on an idle machine and reports that no extension was launched.
private func coldStart(_ machine: inout SandboxStateMachine, _ invocation: Invocation) {
    #expect(machine.invoke(invocation).first == .launchExtensions(phase: .initial))
    #expect(machine.extensionsLaunched(names: []) == [.spawnRuntime])
}

/// A machine that has served one cold start and is waiting in /next with `req-1` done.
private func warmMachine(_ clock: ManualClock) -> SandboxStateMachine {
    var machine = SandboxStateMachine(function: makeFunction(), clock: clock)
    coldStart(&machine, invocation())
    _ = machine.runtimeNext()
    _ = machine.runtimeResult(requestID: "req-1", isError: false, outcome: .success(body: [1], contentType: nil))
    _ = machine.runtimeNext()
    return machine
}

@Suite struct SandboxStateMachineTests {
    /// The state the status API reports follows the machine: idle, initializing, busy with an invoke, frozen once
    /// ready, resetting after a crash.
    @Test func sandboxStateFollowsTheMachine() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        var seen = [machine.sandboxState]
        coldStart(&machine, invocation())
        seen.append(machine.sandboxState)
        _ = machine.runtimeNext()
        seen.append(machine.sandboxState)
        _ = machine.runtimeResult(requestID: "req-1", isError: false, outcome: .success(body: [], contentType: nil))
        _ = machine.runtimeNext()
        seen.append(machine.sandboxState)
        _ = machine.runtimeExited(.exited(1))
        seen.append(machine.sandboxState)
        #expect(seen == [.idle, .initializing, .busy, .frozen, .resetting])
    }

    /// An offered invoke is taken by a ready sandbox and refused, with nothing changed, by one that left the
    /// accepting state on its own (here its runtime crashed between invokes): the pool learns that from the answer.
    @Test func offerIsTakenWhenReadyAndRefusedWhenResetting() {
        let clock = ManualClock()
        var machine = warmMachine(clock)
        guard case .accepted(let actions) = machine.offer(invocation("req-2")) else {
            Issue.record("a ready sandbox refused an invoke")
            return
        }
        #expect(actions.contains { if case .dispatch = $0 { return true } else { return false } })
        _ = machine.runtimeResult(requestID: "req-2", isError: false, outcome: .success(body: [], contentType: nil))
        _ = machine.runtimeNext()
        _ = machine.runtimeExited(.exited(1))
        let state = machine.sandboxState
        #expect(machine.offer(invocation("req-3")) == .refused)
        #expect(machine.sandboxState == state && state == .resetting)
    }

    /// With freezing off a ready sandbox reports `ready`, never `frozen`: the machine asks for no freeze and no thaw,
    /// and a freeze decided all the same would be neither performed nor counted as skipped.
    @Test func readyWithoutFreezingIsNotFrozen() {
        var function = makeFunction()
        function.freezeMode = .none
        var machine = SandboxStateMachine(function: function, clock: ManualClock())
        coldStart(&machine, invocation())
        _ = machine.runtimeNext()
        _ = machine.runtimeResult(requestID: "req-1", isError: false, outcome: .success(body: [], contentType: nil))
        let (_, ended) = machine.runtimeNext()
        #expect(!ended.contains { if case .freeze = $0 { true } else { false } })
        #expect(machine.sandboxState == .ready)
        let epoch = machine.freezeEpoch
        #expect(machine.freezeDecision(epoch: epoch) == .nothing)
        let started = machine.invoke(invocation("req-2"))
        #expect(!started.contains(.thaw))
        #expect(machine.freezeDecision(epoch: epoch) == .nothing)
    }

    /// The init events carry the initialization type the pool gave the sandbox (here a provisioned one), made by the
    /// machine rather than patched in by the shell.
    @Test func initEventsCarryTheInitializationType() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        machine.initializationType = .provisionedConcurrency
        coldStart(&machine, invocation())
        let (_, actions) = machine.runtimeNext()
        let types: [InitializationType] = platformEvents(actions).compactMap { event -> InitializationType? in
            switch event {
            case .initRuntimeDone(let data): return data.initializationType
            case .initReport(let data): return data.initializationType
            default: return nil
            }
        }
        #expect(types == [.provisionedConcurrency, .provisionedConcurrency])
    }

    /// A cold start spawns the runtime and arms the 10 s init limit.
    @Test func coldStartSpawnsAndArmsInitTimer() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        let actions = machine.invoke(invocation())
        #expect(actions == [.launchExtensions(phase: .initial), .startTimer(milliseconds: 10_000)])
        #expect(machine.extensionsLaunched(names: []) == [.spawnRuntime])
        #expect(machine.runtimeState == .started)
        #expect(!machine.canAcceptInvoke)
    }

    /// The first /next ends init and receives the invoke with a deadline of start + timeout, as its reply only (no
    /// `.dispatch` to hand it out a second time).
    @Test func firstNextDeliversInvoke() {
        let clock = ManualClock()
        var machine = SandboxStateMachine(function: makeFunction(), clock: clock)
        coldStart(&machine, invocation())
        clock.advance(milliseconds: 40)
        let (reply, actions) = machine.runtimeNext()
        let deadline = clock.epochMilliseconds + 3000
        #expect(
            reply
                == .invocation(
                    invocation(), deadlineEpochMilliseconds: deadline,
                    invocationID: machine.invocationID(for: "req-1") ?? "none"))
        #expect(actions.contains(.startTimer(milliseconds: 3000)))
        #expect(startedRequests(actions) == ["req-1"])
        #expect(!actions.contains { if case .dispatch = $0 { return true } else { return false } })
        #expect(machine.runtimeState == .running)
    }

    /// /response hands the result to the invoker at once; the next /next ends the invoke with REPORT.
    @Test func responseThenNextEndsInvoke() {
        let clock = ManualClock()
        var machine = SandboxStateMachine(function: makeFunction(), clock: clock)
        coldStart(&machine, invocation())
        clock.advance(milliseconds: 50)
        _ = machine.runtimeNext()
        clock.advance(milliseconds: 12)
        let (reply, actions) = machine.runtimeResult(
            requestID: "req-1", isError: false, outcome: .success(body: [7], contentType: "text/plain"))
        #expect(reply == .accepted)
        #expect(actions == [.complete(requestID: "req-1", outcome: .success(body: [7], contentType: "text/plain"))])
        #expect(machine.runtimeState == .responseSent)
        let (nextReply, end) = machine.runtimeNext()
        #expect(nextReply == .hold)
        #expect(finishedRuntimes(end) == ["req-1"])
        let figures = report(end)
        #expect(figures?.durationMs == 12)
        #expect(figures?.initDurationMs == 50)
        #expect(figures?.status == .success)
        #expect(Array(end.suffix(2)) == [.available(.ready(inFlight: 0)), .freeze(epoch: 0)])
        #expect(machine.canAcceptInvoke)
        #expect(machine.frozen)
    }

    /// A streamed response: after its start `/error` and a second `/response` are refused (the first byte is
    /// out); its end completes the invoke with the streamed byte count as `producedBytes`, and `platform.runtimeDone`
    /// splits latency (to the first byte) from duration (first byte to the end).
    @Test func streamedResponse() throws {
        let clock = ManualClock()
        var machine = SandboxStateMachine(function: makeFunction(), clock: clock)
        coldStart(&machine, invocation())
        _ = machine.runtimeNext()
        clock.advance(milliseconds: 20)
        #expect(machine.responseStreamStarted(requestID: "other") == .error(.invalidRequestID))
        #expect(machine.responseStreamStarted(requestID: "req-1") == nil)
        #expect(machine.runtimeState == .streaming)
        let (errorReply, _) = machine.runtimeResult(
            requestID: "req-1", isError: true, outcome: .functionError(body: [], contentType: nil, errorType: "X"))
        #expect(
            errorReply
                == .error(.invalidTransition(from: .streaming, to: .invocationErrorResponse)))
        #expect(machine.responseStreamStarted(requestID: "req-1") != nil)
        clock.advance(milliseconds: 30)
        let (reply, actions) = machine.runtimeResult(
            requestID: "req-1", isError: false, outcome: .success(body: [], contentType: "text/plain"),
            streamedBytes: 4096)
        #expect(reply == .accepted)
        #expect(completion(actions) == .success(body: [], contentType: "text/plain"))
        let (_, end) = machine.runtimeNext()
        let done = try #require(
            platformEvents(end).compactMap { event -> PlatformEvent.RuntimeDone? in
                if case .runtimeDone(let data) = event { return data } else { return nil }
            }.first)
        #expect(done.producedBytes == 4096)
        #expect(done.spans.map(\.name) == ["responseLatency", "responseDuration", "runtimeOverhead"])
        #expect(done.spans[0].durationMs == 20 && done.spans[1].durationMs == 30)
    }

    /// Every invoke gets its own `Lambda-Runtime-Invocation-Id`; a reply that echoes another (an earlier invoke's, or
    /// one never handed out) is refused with 410 `InvokeTimeout`, as AWS's emulator answers a cross-wired reply; one
    /// that echoes none or the right one is accepted.
    @Test func invocationIDsGuardReplies() throws {
        let clock = ManualClock()
        var machine = warmMachine(clock)
        _ = machine.invoke(invocation("req-2"))
        let second = try #require(machine.invocationID(for: "req-2"))
        _ = machine.runtimeResult(
            requestID: "req-2", isError: false, outcome: .success(body: [], contentType: nil), invocationID: second)
        _ = machine.runtimeNext()
        _ = machine.invoke(invocation("req-3"))
        let third = try #require(machine.invocationID(for: "req-3"))
        #expect(third != second)
        let ok = InvokeOutcome.success(body: [], contentType: nil)
        #expect(
            machine.runtimeResult(requestID: "req-3", isError: false, outcome: .runtime(ok), invocationID: second).0
                == .error(.invokeTimeout))
        #expect(
            machine.runtimeResult(requestID: "req-3", isError: true, outcome: .runtime(ok), invocationID: "made-up").0
                == .error(.invokeTimeout))
        #expect(
            machine.runtimeResult(requestID: "req-3", isError: false, outcome: .runtime(ok), invocationID: third).0
                == .accepted)
        _ = machine.runtimeNext()
        _ = machine.invoke(invocation("req-4"))
        #expect(machine.runtimeResult(requestID: "req-4", isError: false, outcome: .runtime(ok)).0 == .accepted)
    }

    /// Each invoke's `Lambda-Runtime-Invocation-Id` is the next identifier of the injected source, in order.
    @Test func invocationIDsComeFromTheInjectedSource() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock(), ids: SequentialIDs())
        coldStart(&machine, invocation())
        _ = machine.runtimeNext()
        #expect(machine.invocationID(for: "req-1") == "00000000-0000-4000-8000-000000000001")
        _ = machine.runtimeResult(requestID: "req-1", isError: false, outcome: .success(body: [], contentType: nil))
        _ = machine.runtimeNext()
        _ = machine.invoke(invocation("req-2"))
        #expect(machine.invocationID(for: "req-2") == "00000000-0000-4000-8000-000000000002")
    }

    /// A freeze decided at the end of an invoke is dropped when the next invoke is placed before it runs
    /// (the epoch moved on), and the placement thaws first.
    @Test func freezeEpochRace() {
        let clock = ManualClock()
        var machine = warmMachine(clock)
        let epoch = machine.freezeEpoch
        #expect(machine.frozen)
        // `available` hands out the next invoke before the sandbox performs `.freeze(epoch:)`.
        #expect(machine.freezeDecision(epoch: epoch) == .freeze)
        let placed = machine.invoke(invocation("req-2"))
        #expect(placed.first == .thaw)
        #expect(machine.freezeEpoch != epoch)
        #expect(!machine.frozen)
        #expect(machine.freezeDecision(epoch: epoch) == .skip)
        _ = machine.runtimeResult(requestID: "req-2", isError: false, outcome: .success(body: [], contentType: nil))
        let (_, end) = machine.runtimeNext()
        #expect(end.last == .freeze(epoch: machine.freezeEpoch))
        #expect(machine.freezeDecision(epoch: machine.freezeEpoch) == .freeze)
    }

    /// A thaw always moves the epoch on, even when nothing was frozen; freezes happen only when idle.
    @Test func thawMovesEpoch() {
        var machine = warmMachine(ManualClock())
        let before = machine.freezeEpoch
        #expect(machine.shutdown().contains(.thaw))
        #expect(machine.freezeEpoch == before + 1)
        #expect(!machine.frozen)
    }

    /// A warm invoke has no init duration and is dispatched at once.
    @Test func warmInvokeHasNoInitDuration() {
        let clock = ManualClock()
        var machine = warmMachine(clock)
        let actions = machine.invoke(invocation("req-2"))
        #expect(actions.contains { if case .dispatch = $0 { return true } else { return false } })
        _ = machine.runtimeResult(requestID: "req-2", isError: false, outcome: .success(body: [], contentType: nil))
        let (_, end) = machine.runtimeNext()
        #expect(report(end)?.initDurationMs == nil)
    }

    /// With a log tail requested the invoker is answered after REPORT, so the tail can include it.
    @Test func tailDefersCompletionToInvokeEnd() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&machine, invocation(tail: true))
        _ = machine.runtimeNext()
        let (_, actions) = machine.runtimeResult(
            requestID: "req-1", isError: false, outcome: .success(body: [], contentType: nil))
        #expect(completion(actions) == nil)
        let (_, end) = machine.runtimeNext()
        let reportIndex = end.firstIndex { if case .report = $0 { return true } else { return false } }
        let completeIndex = end.firstIndex { if case .complete = $0 { return true } else { return false } }
        #expect(reportIndex != nil && completeIndex != nil && reportIndex! < completeIndex!)
    }

    /// /next while the invoke runs re-sends the same invoke (Lambda's `Running.Ready` no-op).
    @Test func nextWhileRunningResendsInvoke() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&machine, invocation())
        let (first, _) = machine.runtimeNext()
        let (again, actions) = machine.runtimeNext()
        #expect(again == first)
        #expect(actions.isEmpty)
    }

    /// A response for another id, or with no invoke in flight, is 400 InvalidRequestID.
    @Test func wrongRequestIDIs400() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        #expect(
            machine.runtimeResult(requestID: "x", isError: false, outcome: .success(body: [], contentType: nil)).0
                == .error(.invalidRequestID))
        coldStart(&machine, invocation())
        _ = machine.runtimeNext()
        #expect(
            machine.runtimeResult(requestID: "other", isError: true, outcome: .success(body: [], contentType: nil)).0
                == .error(.invalidRequestID))
    }

    /// A second /response or /error for the same invoke is 403 from RuntimeResponseSentState.
    @Test func secondResultIs403() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&machine, invocation())
        _ = machine.runtimeNext()
        _ = machine.runtimeResult(requestID: "req-1", isError: false, outcome: .success(body: [], contentType: nil))
        let (reply, _) = machine.runtimeResult(
            requestID: "req-1", isError: true, outcome: .success(body: [], contentType: nil))
        #expect(reply == .error(.invalidTransition(from: .responseSent, to: .invocationErrorResponse)))
        let (again, _) = machine.runtimeResult(
            requestID: "req-1", isError: false, outcome: .success(body: [], contentType: nil))
        #expect(again == .error(.invalidTransition(from: .responseSent, to: .invocationResponse)))
        #expect(
            RuntimeAPIError.invalidTransition(from: "Ready", to: "InitError").errorMessage
                == "State transition from Ready to InitError failed for runtime. Error: State transition is not allowed"
        )
    }

    /// A response over the limit is 413 to the runtime and Function.ResponseSizeTooLarge to the invoker.
    @Test func oversizedResponse() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&machine, invocation())
        _ = machine.runtimeNext()
        let (reply, actions) = machine.runtimeResult(
            requestID: "req-1", isError: false, outcome: .success(body: [], contentType: nil), tooLargeBytes: 6_291_557)
        #expect(reply == .error(.payloadTooLarge))
        #expect(
            completion(actions)
                == .platformError(
                    errorType: "Function.ResponseSizeTooLarge",
                    message:
                        "Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes)."))
    }

    /// A response-mode header other than `streaming` is 400 and Runtime.InvalidResponseModeHeader.
    @Test func invalidResponseMode() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&machine, invocation())
        _ = machine.runtimeNext()
        let (reply, actions) = machine.runtimeResult(
            requestID: "req-1", isError: false, outcome: .success(body: [], contentType: nil),
            invalidResponseMode: true)
        #expect(reply == .error(.invalidResponseMode))
        if case .platformError(let type, _)? = completion(actions) {
            #expect(type == "Runtime.InvalidResponseModeHeader")
        } else {
            Issue.record("expected a platform error")
        }
    }

    /// The timer during an invoke answers Sandbox.Timedout, logs Status: timeout and resets with reason timeout.
    @Test func invokeTimeout() {
        let clock = ManualClock()
        var machine = SandboxStateMachine(function: makeFunction(timeout: 1), clock: clock)
        coldStart(&machine, invocation())
        _ = machine.runtimeNext()
        clock.advance(milliseconds: 1000)
        let actions = machine.timerFired()
        #expect(
            completion(actions)
                == .platformError(
                    errorType: "Sandbox.Timedout", message: "RequestId: req-1 Error: Task timed out after 1.00 seconds")
        )
        #expect(report(actions)?.status == .timeout)
        #expect(report(actions)?.durationMs == 1000)
        #expect(report(actions)?.processExited == false)
        #expect(events(actions).contains(.timedOut(seconds: 1)))
        #expect(actions.last == .kill(.timeout, deadlineMilliseconds: 0))
        #expect(machine.processesGone() == [.available(.uninitialized)])
        #expect(machine.canAcceptInvoke)
    }

    /// A runtime that exits mid-invoke fails it with Runtime.ExitError in Go's wording, then resets.
    @Test func exitMidInvoke() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&machine, invocation())
        _ = machine.runtimeNext()
        let actions = machine.runtimeExited(.exited(2))
        #expect(
            completion(actions)
                == .platformError(
                    errorType: "Runtime.ExitError",
                    message: "RequestId: req-1 Error: Runtime exited with error: exit status 2"
                ))
        #expect(report(actions)?.status == .error("Runtime.ExitError"))
        #expect(report(actions)?.processExited == true)
        #expect(actions.last == .kill(.failure, deadlineMilliseconds: 0))
        var zero = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&zero, invocation())
        _ = zero.runtimeNext()
        if case .platformError(_, let message)? = completion(zero.runtimeExited(.exited(0))) {
            #expect(message == "RequestId: req-1 Error: Runtime exited without providing a reason")
        }
    }

    /// A REPORT is a fault (platform.fault precedes it) when the runtime exited or was killed for memory before
    /// completing the invoke, and not when the invoke failed for another reason (a function error, a missing
    /// bootstrap).
    @Test func faultsAreRuntimeExitsOnly() {
        var oom = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&oom, invocation())
        _ = oom.runtimeNext()
        let killed = oom.runtimeExited(.signaled(SIGKILL), outOfMemory: true)
        #expect(report(killed)?.status == .error("Runtime.OutOfMemory"))
        #expect(report(killed)?.processExited == true)

        var failed = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&failed, invocation())
        _ = failed.runtimeNext()
        _ = failed.runtimeResult(
            requestID: "req-1", isError: true,
            outcome: .functionError(body: [], contentType: nil, errorType: "Runtime.ExitError"))
        let (_, end) = failed.runtimeNext()
        #expect(report(end)?.processExited == false)

        var missing = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&missing, invocation())
        _ = missing.spawnFailed(.exec(program: "m", cause: .notFound))
        _ = missing.extensionsLaunched(names: [])
        let second = missing.spawnFailed(.exec(program: "m", cause: .notFound))
        #expect(report(second)?.status == .error("Runtime.InvalidEntrypoint"))
        #expect(report(second)?.processExited == false)
    }

    /// An init failure resets and retries init inside the invoke (phase invoke) under the function timeout.
    @Test func failedInitIsRetriedInsideTheInvoke() {
        let clock = ManualClock()
        var machine = SandboxStateMachine(function: makeFunction(), clock: clock)
        coldStart(&machine, invocation())
        let first = machine.runtimeExited(.exited(1))
        #expect(initReports(first).map(\.phase) == [.initial])
        #expect(initReports(first).first?.outcome == .error("Runtime.ExitError"))
        #expect(completion(first) == nil)
        #expect(first.last == .kill(.failure, deadlineMilliseconds: 0))
        #expect(machine.processesGone() == [.launchExtensions(phase: .invoke), .startTimer(milliseconds: 3000)])
        #expect(machine.extensionsLaunched(names: []) == [.spawnRuntime])
        let second = machine.runtimeExited(.exited(1))
        #expect(initReports(second).map(\.phase) == [.invoke])
        #expect(initReports(second).first?.outcome == .error("Runtime.ExitError"))
        #expect(startedRequests(second) == ["req-1"])
        #expect(
            completion(second)
                == .platformError(
                    errorType: "Runtime.ExitError",
                    message: "RequestId: req-1 Error: Runtime exited with error: exit status 1"
                ))
    }

    /// /init/error is accepted once during init; its body is what the invoker gets if the retry fails too.
    @Test func initErrorIsCachedForTheInvoker() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&machine, invocation())
        let body = InvokeOutcome.functionError(
            body: Array("{\"e\":1}".utf8), contentType: "application/json", errorType: "X.Y")
        let (reply, _) = machine.runtimeInitError(outcome: body, errorType: "X.Y")
        #expect(reply == .accepted)
        let (again, _) = machine.runtimeInitError(outcome: body, errorType: "X.Y")
        #expect(again == .error(.invalidTransition(from: .initError, to: .initError)))
        #expect(machine.runtimeNext().0 == .error(.invalidTransition(from: .initError, to: .ready)))
        _ = machine.runtimeExited(.exited(1))
        _ = machine.processesGone()
        _ = machine.extensionsLaunched(names: [])
        let (_, actions) = machine.runtimeInitError(outcome: body, errorType: "X.Y")
        #expect(completion(actions) == body)
        #expect(machine.runtimeExited(.exited(1)).isEmpty)
    }

    /// /init/error after init is 403 from Ready.
    @Test func initErrorAfterInitIs403() {
        var machine = warmMachine(ManualClock())
        let (reply, _) = machine.runtimeInitError(outcome: .success(body: [], contentType: nil), errorType: "X")
        #expect(reply == .error(.invalidTransition(from: .ready, to: .initError)))
    }

    /// The 10 s init limit logs Status: timeout and retries the init inside the invoke.
    @Test func initTimeout() {
        let clock = ManualClock()
        var machine = SandboxStateMachine(function: makeFunction(), clock: clock)
        coldStart(&machine, invocation())
        clock.advance(milliseconds: 10_000)
        let actions = machine.timerFired()
        let initReport = initReports(actions).first
        #expect(initReport?.phase == .initial && initReport?.durationMs == 10_000)
        #expect(initReport?.outcome == .timeout())
        #expect(actions.last == .kill(.failure, deadlineMilliseconds: 0))
        #expect(machine.processesGone().first == .launchExtensions(phase: .invoke))
    }

    /// A missing bootstrap fails init with Runtime.InvalidEntrypoint without waiting for any process.
    @Test func spawnFailure() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&machine, invocation())
        let first = machine.spawnFailed(.exec(program: "m", cause: .notFound))
        #expect(first.contains(.launchExtensions(phase: .invoke)))
        _ = machine.extensionsLaunched(names: [])
        let second = machine.spawnFailed(.exec(program: "m", cause: .notFound))
        #expect(
            completion(second)
                == .platformError(
                    errorType: "Runtime.InvalidEntrypoint",
                    message: "RequestId: req-1 Error: fork/exec m: no such file or directory"))
        #expect(second.last == .available(.uninitialized))
    }

    /// A spawn error is Lambda's error: a missing, non-executable or non-program bootstrap is
    /// Runtime.InvalidEntrypoint in Go's wording, a bad code directory Runtime.InvalidWorkingDir, and any other
    /// errno the simulator's own Sandbox.Failure, with a notice first; each message names the invoke.
    @Test func spawnErrorsMapToLambdaErrors() {
        func outcome(_ error: SandboxStateMachine.SpawnError) -> (InvokeOutcome?, [SandboxEvent]) {
            var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
            coldStart(&machine, invocation())
            let first = machine.spawnFailed(error)
            _ = machine.extensionsLaunched(names: [])
            return (completion(machine.spawnFailed(error)), events(first))
        }
        let reasons: [(Int32, String)] = [
            (ENOENT, "no such file or directory"), (EACCES, "permission denied"), (ENOEXEC, "exec format error"),
        ]
        for (code, reason) in reasons {
            let (result, notices) = outcome(.exec(program: "/code/bootstrap", cause: .init(errno: code)))
            #expect(
                result
                    == .platformError(
                        errorType: "Runtime.InvalidEntrypoint",
                        message: "RequestId: req-1 Error: fork/exec /code/bootstrap: \(reason)"))
            #expect(!notices.contains { if case .notice = $0 { return true } else { return false } })
        }
        let (tooMany, notices) = outcome(
            .exec(program: "/code/bootstrap", cause: .init(errno: EMFILE)))
        #expect(
            tooMany
                == .platformError(
                    errorType: "Sandbox.Failure",
                    message: "RequestId: req-1 Error: the simulator could not start the runtime: Too many open files"))
        #expect(notices.first == .notice("lambda-sim: cannot start /code/bootstrap: Too many open files"))
        let (directory, _) = outcome(.workingDirectory(path: "/nope", cause: "no such file or directory"))
        #expect(
            directory
                == .platformError(
                    errorType: "Runtime.InvalidWorkingDir",
                    message: "RequestId: req-1 Error: chdir /nope: no such file or directory"))
    }

    /// A runtime that dies while idle is reset; the sandbox becomes available again.
    @Test func exitWhileReady() {
        var machine = warmMachine(ManualClock())
        #expect(
            machine.runtimeExited(.signaled(SIGKILL)) == [.thaw, .kill(.failure, deadlineMilliseconds: 0)])
        #expect(!machine.canAcceptInvoke)
        #expect(machine.processesGone() == [.available(.uninitialized)])
    }

    /// Shutdown of a ready sandbox kills with spindown and ends terminated; an in-flight invoke is answered.
    @Test func shutdown() {
        var machine = warmMachine(ManualClock())
        #expect(machine.shutdown() == [.cancelTimer, .thaw, .kill(.spindown, deadlineMilliseconds: 300)])
        #expect(machine.processesGone() == [.terminated])
        var busy = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&busy, invocation())
        _ = busy.runtimeNext()
        let actions = busy.shutdown()
        #expect(completion(actions) != nil)
        #expect(actions.last == .kill(.spindown, deadlineMilliseconds: 300))
        var idle = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        #expect(idle.shutdown() == [.terminated])
    }

    /// The exit of a runtime being stopped (a timeout's reset) decides nothing: the reset ends when every process is
    /// gone, as it would without the exit.
    @Test func exitWhileResettingChangesNothing() {
        var machine = SandboxStateMachine(function: makeFunction(timeout: 1), clock: ManualClock())
        coldStart(&machine, invocation())
        _ = machine.runtimeNext()
        _ = machine.timerFired()
        #expect(machine.runtimeExited(.signaled(SIGKILL)).isEmpty)
        #expect(machine.extensionExited(name: "gone", status: .signaled(SIGKILL)).isEmpty)
        #expect(machine.processesGone() == [.available(.uninitialized)])
        #expect(machine.runtimeExited(.exited(1)).isEmpty)
    }

    /// A runtime that could not be spawned has no process to wait for: the machine moves on at once, and the end
    /// of the kill it asked for (with nothing held for SHUTDOWN) finds it past the reset and changes nothing.
    @Test func killAfterSpawnFailureEndsQuietly() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        coldStart(&machine, invocation())
        let first = machine.spawnFailed(.exec(program: "m", cause: .notFound))
        #expect(first.contains(.launchExtensions(phase: .invoke)))
        #expect(machine.releaseShutdownEvents().isEmpty)
        #expect(machine.processesGone().isEmpty)
        #expect(machine.extensionsLaunched(names: []) == [.spawnRuntime])
        let second = machine.spawnFailed(.exec(program: "m", cause: .notFound))
        #expect(second.last == .available(.uninitialized))
        #expect(machine.processesGone().isEmpty)
        #expect(machine.canAcceptInvoke)
    }

    /// A failed init ahead of traffic makes the next init a suppressed one (phase invoke, inside the invoke that
    /// needs it) until one succeeds; a reset after that starts with a normal init again.
    @Test func suppressedInitUntilOneSucceeds() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        _ = machine.prewarm()
        _ = machine.extensionsLaunched(names: [])
        _ = machine.runtimeExited(.exited(1))
        #expect(machine.processesGone() == [.available(.uninitialized)])
        #expect(machine.invoke(invocation()).first == .launchExtensions(phase: .invoke))
        _ = machine.extensionsLaunched(names: [])
        _ = machine.runtimeExited(.exited(1))
        _ = machine.processesGone()
        #expect(machine.invoke(invocation("req-2")).first == .launchExtensions(phase: .invoke))
        _ = machine.extensionsLaunched(names: [])
        #expect(
            machine.runtimeNext().0
                == .invocation(
                    invocation("req-2"), deadlineEpochMilliseconds: 1_700_000_003_000,
                    invocationID: machine.invocationID(for: "req-2") ?? "none"))
        _ = machine.runtimeExited(.exited(1))
        _ = machine.processesGone()
        #expect(machine.invoke(invocation("req-3")).first == .launchExtensions(phase: .initial))
    }

    /// A prewarmed sandbox holds the first /next until an invoke arrives.
    @Test func prewarm() {
        var machine = SandboxStateMachine(function: makeFunction(), clock: ManualClock())
        #expect(machine.prewarm() == [.launchExtensions(phase: .initial), .startTimer(milliseconds: 10_000)])
        #expect(machine.extensionsLaunched(names: []) == [.spawnRuntime])
        let (reply, actions) = machine.runtimeNext()
        #expect(reply == .hold)
        #expect(withoutEvents(actions) == [.cancelTimer, .available(.ready(inFlight: 0)), .freeze(epoch: 0)])
        #expect(machine.canAcceptInvoke)
    }
}
