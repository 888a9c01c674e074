/// Lambda's platform log lines in CloudWatch's text format (tab-separated, trailing tab on REPORT).
///
/// Each line is written into a byte buffer (`append…`, no allocation once the buffer has grown), which is how
/// the console and the log tail use them; the `String` forms are for everything else.
package enum LambdaLog {
    /// `START RequestId: <id> Version: <version>`.
    package static func start(requestID: String, version: String) -> String {
        line { appendStart(&$0, requestID: requestID, version: version) }
    }

    /// Appends the START line.
    package static func appendStart(_ out: inout [UInt8], requestID: String, version: String) {
        out.append(text: "START RequestId: ")
        out.append(text: requestID)
        out.append(text: " Version: ")
        out.append(text: version)
    }

    /// `END RequestId: <id>`.
    package static func end(requestID: String) -> String { line { appendEnd(&$0, requestID: requestID) } }

    /// Appends the END line.
    package static func appendEnd(_ out: inout [UInt8], requestID: String) {
        out.append(text: "END RequestId: ")
        out.append(text: requestID)
    }

    /// `INIT_START Runtime Version: <v>\tRuntime Version ARN: <arn>`.
    package static func initStart(runtimeVersion: String, runtimeVersionARN: String) -> String {
        "INIT_START Runtime Version: \(runtimeVersion)\tRuntime Version ARN: \(runtimeVersionARN)"
    }

    /// `INIT_REPORT Init Duration: x ms\tPhase: init\tStatus: error\tError Type: T`.
    package static func initReport(durationMs: Double, phase: String, status: String, errorType: String?) -> String {
        var line = "INIT_REPORT Init Duration: \(fixed(durationMs)) ms\tPhase: \(phase)\tStatus: \(status)"
        if let errorType { line += "\tError Type: \(errorType)" }
        return line
    }

    /// How an invoke ended, as REPORT shows it.
    package enum ReportStatus: Equatable, Sendable {
        case success
        case timeout
        case error(String)
    }

    /// The REPORT line. Billed duration includes the init duration on cold starts (Lambda since 2025).
    package static func report(
        requestID: String, durationMs: Double, memorySizeMB: Int, maxMemoryUsedMB: Int, initDurationMs: Double?,
        status: ReportStatus
    ) -> String {
        line {
            appendReport(
                &$0, requestID: requestID, durationMs: durationMs, memorySizeMB: memorySizeMB,
                maxMemoryUsedMB: maxMemoryUsedMB, initDurationMs: initDurationMs, status: status)
        }
    }

    /// Appends the REPORT line.
    package static func appendReport(
        _ out: inout [UInt8], requestID: String, durationMs: Double, memorySizeMB: Int, maxMemoryUsedMB: Int,
        initDurationMs: Double?, status: ReportStatus
    ) {
        out.append(text: "REPORT RequestId: ")
        out.append(text: requestID)
        out.append(text: "\tDuration: ")
        out.append(fixed: durationMs, decimals: 2)
        out.append(text: " ms\tBilled Duration: ")
        out.append(decimal: billedMilliseconds(durationMs: durationMs, initDurationMs: initDurationMs))
        out.append(text: " ms\tMemory Size: ")
        out.append(decimal: memorySizeMB)
        out.append(text: " MB\tMax Memory Used: ")
        out.append(decimal: maxMemoryUsedMB)
        out.append(text: " MB\t")
        if let initDurationMs {
            out.append(text: "Init Duration: ")
            out.append(fixed: initDurationMs, decimals: 2)
            out.append(text: " ms\t")
        }
        switch status {
        case .success: break
        case .timeout: out.append(text: "Status: timeout\t")
        case .error(let type):
            out.append(text: "Status: error\tError Type: ")
            out.append(text: type)
            out.append(text: "\t")
        }
    }

    /// Billed milliseconds: the duration (plus init on a cold start) rounded up to 1 ms.
    package static func billedMilliseconds(durationMs: Double, initDurationMs: Double?) -> Int {
        let total = durationMs + (initDurationMs ?? 0)
        return max(1, Int(total.rounded(.up)))
    }

    /// `value` with exactly `decimals` digits after the point, rounded half up.
    package static func fixed(_ value: Double, decimals: Int = 2) -> String {
        line { $0.append(fixed: value, decimals: decimals) }
    }

    private static func line(_ body: (inout [UInt8]) -> Void) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        body(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Appends the UTF-8 bytes of `text`.
    @inline(__always)
    package mutating func append(text: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends the UTF-8 bytes of `text`.
    @inline(__always)
    package mutating func append(text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }

    /// Appends `value` in decimal.
    package mutating func append(decimal value: Int) {
        if value < 0 { append(UInt8(ascii: "-")) }
        append(unsigned: value.magnitude)
    }

    /// Appends `value` in decimal, without a sign.
    package mutating func append(unsigned value: UInt) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &digits) { digits in
            var rest = value
            var count = 0
            repeat {
                digits[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            for index in stride(from: count - 1, through: 0, by: -1) { append(digits[index]) }
        }
    }

    /// Appends `value` with exactly `decimals` digits after the point, rounded half up (`12.35`).
    package mutating func append(fixed value: Double, decimals: Int) {
        guard value.isFinite else {
            append(text: "0")
            return
        }
        var scale: UInt = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = UInt((abs(value) * Double(scale)).rounded())
        if value < 0 && scaled != 0 { append(UInt8(ascii: "-")) }
        append(unsigned: scaled / scale)
        guard decimals > 0 else { return }
        append(UInt8(ascii: "."))
        var fraction = scaled % scale
        var divisor = scale / 10
        for _ in 0..<decimals {
            append(UInt8(ascii: "0") + UInt8(fraction / divisor))
            fraction %= divisor
            divisor = Swift.max(1, divisor / 10)
        }
    }
}
