import DequeModule
import SimCore

/// Lambda Managed Instances: one execution environment serving up to N invokes at once (lambda-behaviour.md §1.2,
/// §1.9, §8; the choices follow the managed-instance path of AWS's Runtime Interface Emulator).
///
/// - Init runs ahead of any invoke and ends at the runtime's first `/next`; every further `/next` is one more
///   worker ready for an invoke (at most N are held: beyond that 500, `Runtime.TooManyIdleRuntimes`).
/// - An invoke goes to the oldest held `/next`; with none held it waits for the next one (its timeout runs
///   meanwhile).
/// - `/response` and `/error` are routed by request id; an `/error` during a streamed response ends the invoke with
///   that error (the rest of the stream is dropped). A reply for an invoke that already timed out gets 410
///   `InvokeTimeout` (once; then it is unknown), one for an unknown or finished invoke, or a second `/response`
///   while the first is being read (`InvokeResponseInProgress`, `InvokeResponseWasSent`), 400
///   `InvalidRequestID`: the emulator renders all of these the same way. An echoed `Lambda-Runtime-Invocation-Id`
///   that is not the invoke's gets 410 `InvokeTimeout`.
/// - The invoke ends when its reply has been read: `platform.runtimeDone`, END and REPORT, its result, and its slot
///   is free. Extensions get no INVOKE events here, so nothing else is waited for.
/// - A timeout ends that invoke alone (`Sandbox.Timedout`, Status: timeout); the environment and the other invokes
///   go on, and the worker that was late comes back with its next `/next`.
/// - A runtime or extension exit fails every invoke in flight and ends the environment for good (the pool starts
///   another): a managed instance is replaced rather than reset.
extension SandboxStateMachine {
    /// A managed-instance environment after its init.
    package struct Serving: Sendable {
        /// Invokes in flight, by request id: handed to a worker, or waiting for one.
        package var invokes: [String: Running] = [:]
        /// Invokes waiting for a worker's `/next`, oldest first.
        var undispatched: [String] = []
        /// `/next` calls held open: workers with nothing to do.
        var idleWorkers: Int
        /// Request ids of invokes that timed out, so that a late reply gets 410 `InvokeTimeout` (once) rather than
        /// 400.
        var timedOut = RecentIDs(capacity: 1_000)
    }

    /// Places an invoke on a serving environment with a free slot.
    mutating func serve(_ invocation: Invocation, _ s: inout Serving) -> [Action] {
        let id = invocation.requestID
        let deadline = clock.epochMilliseconds + Int64(function.timeoutMilliseconds)
        var running = Running(
            invocation: invocation, startedAt: now, deadlineEpochMilliseconds: deadline, initDurationMs: nil,
            invocationID: ids.next())
        running.startedAtEpoch = clock.epochMilliseconds
        var actions: [Action] = [
            startEvent(invocation), .startInvokeTimer(requestID: id, milliseconds: function.timeoutMilliseconds),
        ]
        if s.idleWorkers > 0 {
            s.idleWorkers -= 1
            actions.append(
                .dispatch(invocation, deadlineEpochMilliseconds: deadline, invocationID: running.invocationID))
        } else {
            running.dispatched = false
            s.undispatched.append(id)
        }
        s.invokes[id] = running
        state = .serving(s)
        return actions
    }

    /// `/next` on a serving environment: the oldest waiting invoke, else hold (one more idle worker).
    mutating func serveNext(_ s: inout Serving) -> (RuntimeReply, [Action]) {
        while !s.undispatched.isEmpty {
            let id = s.undispatched.removeFirst()
            guard var r = s.invokes[id] else { continue }
            r.dispatched = true
            s.invokes[id] = r
            state = .serving(s)
            return (
                .invocation(
                    r.invocation, deadlineEpochMilliseconds: r.deadlineEpochMilliseconds, invocationID: r.invocationID),
                []
            )
        }
        guard s.idleWorkers < function.slotsPerEnvironment else {
            // Runtime.TooManyIdleRuntimes, which the emulator answers with a plain 500.
            state = .serving(s)
            return (.error(.tooManyIdleRuntimes), [])
        }
        s.idleWorkers += 1
        state = .serving(s)
        return (.hold, [])
    }

    /// A held `/next` went away (its worker closed the connection) before it got an invoke.
    package mutating func runtimeNextAbandoned() {
        switch state {
        case .serving(var s) where s.idleWorkers > 0:
            s.idleWorkers -= 1
            state = .serving(s)
        case .initializing(var i) where function.isManagedInstance && i.idleWorkers > 0:
            i.idleWorkers -= 1
            state = .initializing(i)
        default:
            break
        }
    }

    /// The sandbox had no open `/next` left for a dispatched invoke: it waits for the next `/next`, first in line.
    /// Only as the sandbox performs the `.dispatch` of a serving environment's invoke.
    package mutating func dispatchFailed(requestID: String) {
        guard case .serving(var s) = state, var r = s.invokes[requestID] else {
            preconditionFailure("dispatchFailed(\(requestID)) in \(state): no such invoke in flight")
        }
        r.dispatched = false
        s.invokes[requestID] = r
        s.undispatched.insert(requestID, at: 0)
        s.idleWorkers = 0
        state = .serving(s)
    }

    /// The invoke `requestID` and the reply error when a reply cannot be taken for it (a late reply for an invoke
    /// that timed out is remembered as answered: `s` changes, and the caller stores it).
    private func servedInvoke(
        _ s: inout Serving, requestID: String, invocationID: String?, expecting allowed: [RuntimeState]
    ) -> Result<Running, RuntimeRejection> {
        guard let r = s.invokes[requestID], r.dispatched else {
            return .failure(s.timedOut.consume(requestID) ? .invokeTimeout : .invalidRequestID)
        }
        if case .error(let error) = invocationIDMismatch(invocationID, r) { return .failure(error) }
        // A second reply while the first is read (InvokeResponseInProgress and its kin) renders as 400.
        guard allowed.contains(r.runtime) else { return .failure(.invalidRequestID) }
        return .success(r)
    }

    /// `/response` or `/error` on a serving environment. An `/error` may also come while the invoke's response is
    /// being streamed (AWS's emulator then ends the stream with the error): it ends the invoke with that error.
    mutating func serveResult(
        _ s: inout Serving, requestID: String, isError: Bool, outcome: SandboxOutcome, tooLargeBytes: Int?,
        invalidResponseMode: Bool, streamedBytes: Int?, sizeLimit: Int, invocationID: String?
    ) -> (RuntimeReply, [Action]) {
        var r: Running
        let allowed: [RuntimeState] =
            streamedBytes != nil ? [.streaming] : isError ? [.running, .streaming] : [.running]
        switch servedInvoke(&s, requestID: requestID, invocationID: invocationID, expecting: allowed) {
        case .failure(let error):
            state = .serving(s)
            return (.error(error), [])
        case .success(let found): r = found
        }
        let (reply, final) = Self.replyAndOutcome(
            outcome: outcome, tooLargeBytes: tooLargeBytes,
            invalidResponseMode: invalidResponseMode, sizeLimit: sizeLimit)
        record(final, in: &r, streamedBytes: streamedBytes)
        s.invokes[requestID] = nil
        state = .serving(s)
        return (reply, endServed(r, outcome: final) + [availableAction])
    }

    /// A worker began streaming its response to `requestID`: nil when it may, else the error to answer.
    mutating func serveStreamStarted(_ s: inout Serving, requestID: String, invocationID: String?) -> RuntimeReply? {
        var r: Running
        switch servedInvoke(&s, requestID: requestID, invocationID: invocationID, expecting: [.running]) {
        case .failure(let error):
            state = .serving(s)
            return .error(error)
        case .success(let found): r = found
        }
        r.runtime = .streaming
        r.streamStartedAt = now
        r.streamStartedAtEpoch = clock.epochMilliseconds
        s.invokes[requestID] = r
        state = .serving(s)
        return nil
    }

    /// One served invoke ran out of time: it ends alone, and a late reply for it gets 410 once. Its timer is
    /// cancelled whenever it ends otherwise, so it is in flight.
    mutating func timeoutServed(_ s: inout Serving, requestID: String) -> [Action] {
        guard let r = s.invokes.removeValue(forKey: requestID) else {
            preconditionFailure("invokeTimerFired(\(requestID)) in \(state): no such invoke in flight")
        }
        s.undispatched.removeAll { $0 == requestID }
        if r.dispatched { s.timedOut.insert(requestID) }
        state = .serving(s)
        var actions: [Action] = []
        if r.dispatched { actions.append(runtimeDoneTelemetry(r, outcome: .timeout())) }
        actions.append(.publish(.timedOut(seconds: function.timeoutSeconds), requestID: requestID))
        actions.append(
            Self.reportAction(
                requestID: requestID, durationMs: Double(function.timeoutMilliseconds), initDurationMs: nil,
                status: .timeout))
        actions.append(.complete(requestID: requestID, outcome: .failure(.timeout(after: function.timeoutSeconds))))
        actions.append(availableAction)
        return actions
    }

    /// The end of a served invoke with `outcome`: its timer, `platform.runtimeDone` (if a worker had it), END and
    /// REPORT, and its result.
    func endServed(_ r: Running, outcome: SandboxOutcome) -> [Action] {
        let id = r.invocation.requestID
        var actions: [Action] = [.cancelInvokeTimer(requestID: id)]
        if r.dispatched { actions.append(runtimeDoneTelemetry(r, outcome: Self.eventOutcome(outcome))) }
        var status = LambdaLog.ReportStatus.success
        var processExited = false
        if case .failure(let failure) = outcome, r.runtime != .responseSent {
            status = .error(failure.errorType)
            processExited = failure.isProcessExit
        }
        actions.append(
            Self.reportAction(
                requestID: id, durationMs: milliseconds(since: r.startedAt), initDurationMs: nil, status: status,
                processExited: processExited))
        actions.append(.complete(requestID: id, outcome: outcome))
        return actions
    }

    /// The runtime or an extension exited: every invoke in flight fails, and the environment ends for good.
    mutating func failServing(_ s: Serving, _ failure: PlatformFailure) -> [Action] {
        var actions: [Action] = []
        for r in s.invokes.values.sorted(by: { $0.startedAt < $1.startedAt }) {
            actions.append(.publishFailure(failure, requestID: r.invocation.requestID))
            actions += endServed(r, outcome: .failure(failure))
        }
        state = .resetting(Resetting(reason: .failure, retry: nil, final: true))
        return actions + stopProcesses(.failure)
    }
}

/// The most recent `capacity` distinct ids, each found at most once (`consume` forgets it).
struct RecentIDs: Sendable {
    let capacity: Int
    private var order = Deque<String>()
    private var members: Set<String> = []

    init(capacity: Int) { self.capacity = capacity }

    /// Remembers `id`, forgetting the oldest beyond the capacity.
    mutating func insert(_ id: String) {
        guard members.insert(id).inserted else { return }
        order.append(id)
        while members.count > capacity, let oldest = order.popFirst() {
            members.remove(oldest)
        }
    }

    /// True (once) when `id` is remembered.
    mutating func consume(_ id: String) -> Bool { members.remove(id) != nil }
}

extension SandboxStateMachine {
    /// The invoke in flight whose request id a line of output names, when more than one is in flight (a managed
    /// instance's workers share their stdout): the first UUID in `line` that is the id of an invoke in flight.
    package func requestID(mentionedIn line: [UInt8]) -> String? {
        guard case .serving(let s) = state, s.invokes.count > 1, line.count >= 36 else { return nil }
        var start = 0
        while start + 36 <= line.count {
            if Self.isUUID(line, at: start) {
                let id = String(decoding: line[start..<start + 36], as: UTF8.self)
                if s.invokes[id] != nil { return id }
                start += 36
            } else {
                start += 1
            }
        }
        return nil
    }

    /// Whether `bytes[start..<start+36]` has the shape of a UUID (8-4-4-4-12 hexadecimal digits).
    private static func isUUID(_ bytes: [UInt8], at start: Int) -> Bool {
        for offset in 0..<36 {
            let byte = bytes[start + offset]
            switch offset {
            case 8, 13, 18, 23:
                if byte != 0x2D { return false }
            default:
                let hex = (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x66)
                if !hex { return false }
            }
        }
        return true
    }
}
