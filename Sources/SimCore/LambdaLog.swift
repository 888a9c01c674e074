/// Lambda's platform log lines in CloudWatch's text format (tab-separated, trailing tab on REPORT).
package enum LambdaLog {
    /// `START RequestId: <id> Version: <version>`.
    package static func start(requestID: String, version: String) -> String {
        "START RequestId: \(requestID) Version: \(version)"
    }

    /// `END RequestId: <id>`.
    package static func end(requestID: String) -> String { "END RequestId: \(requestID)" }

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
        var line = "REPORT RequestId: \(requestID)\tDuration: \(fixed(durationMs)) ms"
        line += "\tBilled Duration: \(billedMilliseconds(durationMs: durationMs, initDurationMs: initDurationMs)) ms"
        line += "\tMemory Size: \(memorySizeMB) MB\tMax Memory Used: \(maxMemoryUsedMB) MB\t"
        if let initDurationMs { line += "Init Duration: \(fixed(initDurationMs)) ms\t" }
        switch status {
        case .success: break
        case .timeout: line += "Status: timeout\t"
        case .error(let type): line += "Status: error\tError Type: \(type)\t"
        }
        return line
    }

    /// Billed milliseconds: the duration (plus init on a cold start) rounded up to 1 ms.
    package static func billedMilliseconds(durationMs: Double, initDurationMs: Double?) -> Int {
        let total = durationMs + (initDurationMs ?? 0)
        return max(1, Int(total.rounded(.up)))
    }

    /// `value` with exactly `decimals` digits after the point, rounded half up.
    package static func fixed(_ value: Double, decimals: Int = 2) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        var fraction = String(scaled % Int64(scale))
        fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
        let sign = value < 0 && scaled != 0 ? "-" : ""
        return decimals == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
    }
}
