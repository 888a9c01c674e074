import SimCore
import SimDomain
import SimSandbox
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// An asynchronous invoke between attempts.
struct PendingEvent {
    var invocation: Invocation
    var receivedAt: UInt64
    var attempts = 0
    var functionErrors = 0
    var throttles = 0
    var timer: Timer?
}

/// Asynchronous (`Event`) invokes: attempts, Lambda's retries, and invocation records for destinations.
/// Every accepted event ends in exactly one record or log line: success, retries exhausted, too old, or
/// the simulator stopping.
extension FunctionPool {
    /// What one waiting event counts against `Limits.maxQueuedEventBytes`: its payload and a fixed allowance for
    /// its ids, headers and timer.
    package static func queuedBytes(of invocation: Invocation) -> Int { invocation.payload.count + 1024 }

    /// Accepts an `Event` invoke (already answered 202) and runs it until it succeeds or gives up.
    package func submitEvent(_ invocation: Invocation) {
        loop.assertInLoop()
        guard !stopping else {
            record(.simulatorStopped, event: PendingEvent(invocation: invocation, receivedAt: 0), result: nil)
            return
        }
        events[invocation.requestID] = PendingEvent(invocation: invocation, receivedAt: clock.monotonicNanoseconds)
        pendingEventBytes += Self.queuedBytes(of: invocation)
        attempt(invocation.requestID)
    }

    private func attempt(_ id: String) {
        guard !stopping, var event = events[id] else { return }
        event.attempts += 1
        event.timer = nil
        events[id] = event
        submit(event.invocation, answer: { [weak self] answer in self?.attemptEnded(id, answer) })
    }

    private func attemptEnded(_ id: String, _ answer: PoolAnswer) {
        guard !stopping, var event = events[id] else { return }
        let outcome: AsyncRetryPolicy.AttemptOutcome
        var result: InvokeResult?
        switch answer {
        case .result(let invokeResult):
            result = invokeResult
            if invokeResult.outcome.isError {
                outcome = .functionError
                event.functionErrors += 1
            } else {
                outcome = .success
            }
        case .throttled:
            outcome = .throttled
            event.throttles += 1
        }
        // Ages are compared in Lambda's time: the scale shrinks delays, so it stretches measured time back.
        let elapsed = Double(clock.monotonicNanoseconds &- event.receivedAt) / 1_000_000
        let age = UInt64(elapsed / max(policy.asyncRetry.timeScale, 1e-9))
        let decision = policy.asyncRetry.decide(
            outcome: outcome, functionErrors: event.functionErrors, throttles: event.throttles, ageMilliseconds: age)
        switch decision {
        case .done(let condition):
            events[id] = nil
            pendingEventBytes -= Self.queuedBytes(of: event.invocation)
            record(condition, event: event, result: result)
        case .retry(let delay):
            event.timer = loop.schedule(afterMilliseconds: delay) { [weak self] in self?.attempt(id) }
            events[id] = event
        }
    }

    /// At shutdown every waiting event is recorded as stopped, so none is lost silently.
    func stopEvents() {
        for (_, event) in events {
            event.timer?.close()
            record(.simulatorStopped, event: event, result: nil)
        }
        events.removeAll()
        pendingEventBytes = 0
    }

    /// Writes the invocation record to the destination (JSON lines) and logs the outcome.
    private func record(_ condition: AsyncRetryPolicy.Condition, event: PendingEvent, result: InvokeResult?) {
        let id = event.invocation.requestID
        // Lambda counts the times the function ran, not the throttled attempts (lambda-behaviour.md §4.6).
        let executions = event.attempts - event.throttles
        bus.publish(
            .asyncResult(condition: condition, attempts: executions),
            EventContext(
                function: function.name, sandboxID: "-", requestID: id, epochMilliseconds: clock.epochMilliseconds,
                logFormat: function.logFormat))
        let destination = condition == .success ? policy.onSuccessDestination : policy.onFailureDestination
        guard let destination else { return }
        let line = AsyncRecord.json(
            condition: condition, invocation: event.invocation, attempts: executions, result: result,
            function: function, epochMilliseconds: clock.epochMilliseconds)
        AsyncRecord.append(line + "\n", to: destination)
    }
}

/// Lambda's invocation record for destinations (lambda-behaviour.md §4.6).
enum AsyncRecord {
    static func json(
        condition: AsyncRetryPolicy.Condition, invocation: Invocation, attempts: Int, result: InvokeResult?,
        function: FunctionSpec, epochMilliseconds: Int64
    ) -> String {
        func payload(_ bytes: [UInt8]) -> JSONValue {
            (try? JSON.parse(bytes)) ?? .string(String(decoding: bytes, as: UTF8.self))
        }
        var response: [(String, JSONValue)] = [
            ("statusCode", .number(result == nil ? "429" : "200")),
            ("executedVersion", .string(function.version)),
        ]
        if let result, result.outcome.isError { response.append(("functionError", .string("Unhandled"))) }
        var members: [(String, JSONValue)] = [
            ("version", .string("1.0")),
            ("timestamp", .string(CivilTime(epochMilliseconds: epochMilliseconds).iso8601)),
            (
                "requestContext",
                .object([
                    ("requestId", .string(invocation.requestID)),
                    ("functionArn", .string("\(function.functionARN):\(function.version)")),
                    ("condition", .string(condition.rawValue)),
                    ("approximateInvokeCount", .number(String(attempts))),
                ])
            ),
            ("requestPayload", payload(invocation.payload)),
            ("responseContext", .object(response)),
        ]
        if let result { members.append(("responsePayload", payload(result.payload.body))) }
        return JSONValue.object(members).serialized
    }

    /// Appends `line` to `path` (created if missing).
    static func append(_ line: String, to path: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = line.withCString { write(fd, $0, strlen($0)) }
    }
}
