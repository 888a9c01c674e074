import SimCore
import SimDomain
import SimSandbox
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// Asynchronous (`Event`) invokes: the performer of `AsyncInvokeStateMachine`, which decides attempts, Lambda's
/// retries and when an event is over; this extension submits the attempts, arms the retry timers, publishes the
/// results and writes the invocation records for destinations. Every accepted event ends in exactly one record or
/// log line: success, retries exhausted, too old, or the simulator stopping.
extension FunctionPool {
    /// What one waiting event counts against `Limits.maxQueuedEventBytes`: its payload and a fixed allowance for
    /// its ids, headers and timer.
    package static func queuedBytes(of invocation: Invocation) -> Int {
        AsyncInvokeStateMachine.queuedBytes(of: invocation)
    }

    /// Bytes of the asynchronous events waiting between attempts (see `queuedBytes(of:)`).
    package var pendingEventBytes: Int { asyncEvents.pendingBytes }

    /// Accepts an `Event` invoke (already answered 202) and runs it until it succeeds or gives up.
    package func submitEvent(_ invocation: Invocation) {
        loop.assertInLoop()
        perform(asyncEvents.accepted(invocation, now: clock.monotonicNanoseconds))
    }

    private func perform(_ actions: [AsyncInvokeStateMachine.Action]) {
        for action in actions {
            switch action {
            case .attempt(let invocation):
                let id = invocation.requestID
                submit(invocation, answer: { [weak self] answer in self?.attemptEnded(id, answer) })
            case .scheduleRetry(let id, let delay):
                retryTimers[id] = loop.schedule(afterMilliseconds: delay) { [weak self] in
                    guard let self else { return }
                    self.retryTimers[id] = nil
                    self.perform(self.asyncEvents.retryTimerFired(requestID: id))
                }
            case .record(let record):
                self.record(record)
            }
        }
    }

    private func attemptEnded(_ id: String, _ answer: PoolAnswer) {
        let result: AsyncInvokeStateMachine.AttemptResult
        switch answer {
        case .result(let invokeResult): result = .ran(invokeResult)
        case .throttled: result = .throttled
        }
        perform(asyncEvents.attemptEnded(requestID: id, result, now: clock.monotonicNanoseconds))
    }

    /// At shutdown every waiting event is recorded as stopped, so none is lost silently.
    func stopEvents() {
        for timer in retryTimers.values { timer.close() }
        retryTimers.removeAll()
        perform(asyncEvents.shutdown())
    }

    /// Publishes the event's result and writes its invocation record to the destination (JSON lines).
    private func record(_ record: AsyncInvokeStateMachine.Record) {
        bus.publish(
            .asyncResult(condition: record.condition, attempts: record.attempts),
            EventContext(
                function: function.name, sandboxID: "-", requestID: record.invocation.requestID,
                epochMilliseconds: clock.epochMilliseconds, logFormat: function.logFormat))
        let destination = record.condition == .success ? function.onSuccessDestination : function.onFailureDestination
        guard let destination else { return }
        let line = AsyncRecord.json(
            condition: record.condition, invocation: record.invocation, attempts: record.attempts,
            result: record.result, function: function, epochMilliseconds: clock.epochMilliseconds)
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
