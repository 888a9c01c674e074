import SimCore
import Synchronization

/// `--out FILE`: one JSON line per invoke, in the order they end:
/// `{"scheduledMs","startMs","endMs","status","outcome","cold","sandbox","latencyMs","requestId"}` (times in
/// milliseconds since the run's start; `startMs` null when the request was never sent, `status` null without an
/// answer, `cold` and `sandbox` null when unknown), and `freeze` with `--compare-freeze`.
///
/// With a simulator it started, whether an invoke was cold and its sandbox come from the simulator's REPORT
/// events, which may arrive before or after the answer: an answered invoke waits for its REPORT (`verdict`) and
/// a REPORT for an invoke not answered yet waits for the answer. Memory: each side holds at most `maxWaiting`
/// entries (beyond them an answer is written without its verdict, a verdict is dropped), and lines are written in
/// blocks of 64 KiB. Safe from any thread.
package final class InvokeLog: Sendable {
    /// The most answers waiting for their REPORT, and REPORTs waiting for their answer.
    package static let maxWaiting = 65_536
    private static let blockBytes = 64 << 10

    private struct Verdict {
        var kind: StartKind
        var sandbox: String?
    }

    private struct State {
        var output: OutputFile
        var buffer: [UInt8] = []
        var waitingAnswers: [String: InvokeAnswer] = [:]
        var waitingVerdicts: [String: Verdict] = [:]
        var failure: LoadPlanError?
        var freeze: String?
    }

    private let awaitsVerdicts: Bool
    private let state: Mutex<State>

    /// Writes to `output`; with `awaitsVerdicts` an answered invoke waits for the simulator's REPORT.
    package init(output: sending OutputFile, awaitsVerdicts: Bool) {
        self.awaitsVerdicts = awaitsVerdicts
        state = Mutex(State(output: output))
    }

    /// The runs that follow are of this freeze mode (`--compare-freeze`): their lines say so in `freeze`. What
    /// still waits for a verdict from the run before is written first.
    package func startRun(freeze: String?) {
        state.withLock { state in
            for (_, answer) in state.waitingAnswers.sorted(by: { $0.value.endNanoseconds < $1.value.endNanoseconds }) {
                write(answer, verdict: nil, into: &state)
            }
            state.waitingAnswers.removeAll()
            state.waitingVerdicts.removeAll()
            state.freeze = freeze
        }
    }

    /// An invoke ended.
    package func answered(_ answer: InvokeAnswer) {
        state.withLock { state in
            guard awaitsVerdicts, answer.start == nil, let id = answer.requestID, answer.status == 200 else {
                write(answer, verdict: answer.start.map { Verdict(kind: $0, sandbox: nil) }, into: &state)
                return
            }
            if let verdict = state.waitingVerdicts.removeValue(forKey: id) {
                write(answer, verdict: verdict, into: &state)
            } else if state.waitingAnswers.count < Self.maxWaiting {
                state.waitingAnswers[id] = answer
            } else {
                write(answer, verdict: nil, into: &state)
            }
        }
    }

    /// The simulator reported `requestID` cold or warm, in `sandbox`.
    package func verdict(_ kind: StartKind, requestID: String, sandbox: String?) {
        state.withLock { state in
            let verdict = Verdict(kind: kind, sandbox: sandbox)
            if let answer = state.waitingAnswers.removeValue(forKey: requestID) {
                write(answer, verdict: verdict, into: &state)
            } else if state.waitingVerdicts.count < Self.maxWaiting {
                state.waitingVerdicts[requestID] = verdict
            }
        }
    }

    /// Writes what still waits (without a verdict) and everything buffered; throws the first write error.
    package func flush() throws(LoadPlanError) {
        let failure = state.withLock { state -> LoadPlanError? in
            for (_, answer) in state.waitingAnswers.sorted(by: { $0.value.endNanoseconds < $1.value.endNanoseconds }) {
                write(answer, verdict: nil, into: &state)
            }
            state.waitingAnswers.removeAll()
            state.waitingVerdicts.removeAll()
            drain(&state)
            return state.failure
        }
        if let failure { throw failure }
    }

    /// Flushes, then finishes the file (a replaced file is renamed over its target).
    package func commit() throws(LoadPlanError) {
        try flush()
        let failure = state.withLock { state -> LoadPlanError? in
            do throws(LoadPlanError) {
                try state.output.commit()
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Gives the file up (an aborted run): a temporary file is removed.
    package func discard() {
        state.withLock { $0.output.discard() }
    }

    private func write(_ answer: InvokeAnswer, verdict: Verdict?, into state: inout State) {
        func ms(_ nanoseconds: UInt64) -> JSONValue { .number(LambdaLog.fixed(Double(nanoseconds) / 1e6, decimals: 3)) }
        let outcome: String
        switch answer.outcome {
        case .succeeded: outcome = "succeeded"
        case .functionError: outcome = "functionError"
        case .throttled: outcome = "throttled"
        case .otherError: outcome = "otherError"
        }
        var members: [(String, JSONValue)] = [
            ("scheduledMs", ms(answer.scheduledNanoseconds)),
            ("startMs", answer.sentNanoseconds.map(ms) ?? .null),
            ("endMs", ms(answer.endNanoseconds)),
            ("status", answer.status.map { .number(String($0)) } ?? .null),
            ("outcome", .string(outcome)),
            ("cold", verdict.map { .bool($0.kind == .cold) } ?? .null),
            ("sandbox", verdict?.sandbox.map { .string($0) } ?? .null),
            ("latencyMs", ms(answer.endNanoseconds - min(answer.endNanoseconds, answer.scheduledNanoseconds))),
            ("requestId", answer.requestID.map { .string($0) } ?? .null),
        ]
        if let freeze = state.freeze { members.append(("freeze", .string(freeze))) }
        state.buffer += Array(JSONValue.object(members).serialized.utf8)
        state.buffer.append(UInt8(ascii: "\n"))
        if state.buffer.count >= Self.blockBytes { drain(&state) }
    }

    private func drain(_ state: inout State) {
        guard !state.buffer.isEmpty else { return }
        if state.failure == nil {
            do throws(LoadPlanError) {
                try state.output.write(state.buffer)
            } catch {
                state.failure = error
            }
        }
        state.buffer.removeAll(keepingCapacity: true)
    }
}
