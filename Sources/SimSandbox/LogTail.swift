import SimCore
import SimDomain

/// The log of one invoke that asked for it (`X-Amz-Log-Type: Tail`), as CloudWatch lines: its last 4 KB become
/// `X-Amz-Log-Result`. Keeps at most twice that, so a chatty invoke costs no more.
struct LogTail {
    /// The invoke whose lines are kept.
    let requestID: String
    private var bytes: [UInt8] = []

    init(requestID: String) { self.requestID = requestID }

    /// Adds the lines `event` writes to the log, when it belongs to this invoke.
    mutating func append(_ event: SandboxEvent, _ context: EventContext) {
        guard context.requestID == requestID else { return }
        var scratch: [UInt8] = []
        LogRendering.forEachLine(event, context, scratch: &scratch) { line, _ in
            bytes.append(contentsOf: line)
            bytes.append(0x0A)
            if bytes.count > 2 * Limits.logTailBytes { bytes.removeFirst(bytes.count - Limits.logTailBytes) }
        }
    }

    /// The last 4 KB.
    var lines: [UInt8] { Array(bytes.suffix(Limits.logTailBytes)) }
}
