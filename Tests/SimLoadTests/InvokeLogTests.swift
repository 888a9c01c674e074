import Foundation
import SimCore
import Testing

@testable import SimLoad

/// `--out`'s lines, with the simulator's verdicts arriving before or after the answers.
@Suite struct InvokeLogTests {
    private func answer(_ id: String, end: UInt64, status: Int? = 200) -> InvokeAnswer {
        InvokeAnswer(
            scheduledNanoseconds: 1_000_000, sentNanoseconds: 1_500_000, endNanoseconds: end, status: status,
            outcome: status == 200 ? .succeeded : .otherError, requestID: status == nil ? nil : id, start: nil)
    }

    /// A verdict joins its answer whichever comes first; an answer whose verdict never comes is written at the end
    /// with `cold` null, and a failure without an answer at once.
    @Test func verdictsJoinAnswers() throws {
        let path = NSTemporaryDirectory() + "invokes-\(UUID().uuidString).ndjson"
        defer { unlink(path) }
        let log = InvokeLog(output: try OutputFile(path, option: "--out"), awaitsVerdicts: true)
        log.verdict(.cold, requestID: "a", sandbox: "s1")
        log.answered(answer("a", end: 3_000_000))
        log.answered(answer("b", end: 4_000_000))
        log.answered(answer("x", end: 5_000_000, status: nil))
        log.verdict(.warm, requestID: "b", sandbox: "s1")
        log.answered(answer("c", end: 6_000_000))
        try log.commit()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSON.parse(Array($0.utf8))
        }
        #expect(lines.map { $0["requestId"]?.stringValue } == ["a", nil, "b", "c"])
        #expect(lines.map { $0["cold"] } == [.bool(true), .null, .bool(false), .null])
        #expect(lines[0]["sandbox"]?.stringValue == "s1" && lines[0]["latencyMs"] == .number("2.000"))
        #expect(lines[1]["status"] == .null && lines[1]["outcome"]?.stringValue == "otherError")
    }
}
