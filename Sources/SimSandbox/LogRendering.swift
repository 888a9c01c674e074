import SimCore
import SimDomain
import SimTelemetry

/// How events read in the function's log, as CloudWatch shows it: the lines the console prints and an invoke's
/// log tail (`X-Amz-Log-Result`) holds.
///
/// In the text format the platform writes its tab-separated lines (`INIT_START`, `START`, `END`, `REPORT`, …); in
/// the JSON format (`--log-format json`) the events that have a Telemetry API record are written as that record
/// (`{"time","type":"platform.*","record"}`) instead, and the other platform lines stay text. Process output is
/// passed through as written.
package enum LogRendering {
    /// The Telemetry API schema whose records the JSON log format writes.
    static let jsonSchema = RecordFormat.telemetry(schemaVersion: "2022-12-13")

    /// Calls `line` with each line `event` adds to the log, in order, and the process that wrote it (nil for the
    /// platform's own lines).
    package static func forEachLine(
        _ event: SandboxEvent, _ context: EventContext, _ line: (String, OutputSource?) -> Void
    ) {
        var scratch: [UInt8] = []
        forEachLine(event, context, scratch: &scratch) { bytes, source in
            line(String(decoding: bytes, as: UTF8.self), source)
        }
    }

    /// The same, as bytes: the warm path's lines (START, END, REPORT) are written into `scratch`, which the
    /// caller keeps between calls so that rendering allocates nothing. `line`'s bytes are valid during the call.
    package static func forEachLine(
        _ event: SandboxEvent, _ context: EventContext, scratch: inout [UInt8],
        _ line: (UnsafeRawBufferPointer, OutputSource?) -> Void
    ) {
        func text(_ string: String, _ source: OutputSource? = nil) {
            var string = string
            string.withUTF8 { line(UnsafeRawBufferPointer($0), source) }
        }
        switch event {
        case .platform(let platform):
            if context.logFormat == .json {
                guard platform.isPlatformRecord else { return }
                for record in platform.rendered(as: jsonSchema, epochMilliseconds: context.epochMilliseconds) {
                    record.serialized.withUnsafeBytes { line($0, nil) }
                }
                return
            }
            forEachTextLine(platform, scratch: &scratch) { line($0, nil) }
        case .output(let source, let output):
            text(output, source)
        case .invokeError(let errorType, let message):
            text(message)
            text(errorType)
        case .timedOut(let seconds):
            let time = CivilTime(epochMilliseconds: context.epochMilliseconds).iso8601
            text("\(time) \(context.requestID ?? "") Task timed out after \(LambdaLog.fixed(seconds)) seconds")
        case .extensionExitError(let name, let errorType):
            text("EXTENSION\tName: \(name)\tState: ExitError\tError Type: \(errorType)")
        case .asyncResult(let condition, let attempts):
            text("ASYNC RequestId: \(context.requestID ?? "")\tCondition: \(condition.rawValue)\tAttempts: \(attempts)")
        case .notice(let notice):
            text(notice)
        case .freeze, .throttled, .terminated:
            // Lambda logs none of these.
            return
        }
    }

    /// The text-format lines of a platform event.
    private static func forEachTextLine(
        _ event: PlatformEvent, scratch: inout [UInt8], _ line: (UnsafeRawBufferPointer) -> Void
    ) {
        func text(_ string: String) {
            var string = string
            string.withUTF8 { line(UnsafeRawBufferPointer($0)) }
        }
        func written(_ write: (inout [UInt8]) -> Void) {
            scratch.removeAll(keepingCapacity: true)
            write(&scratch)
            scratch.withUnsafeBytes(line)
        }
        switch event {
        case .initStart(let data):
            text(
                LambdaLog.initStart(
                    runtimeVersion: data.runtimeVersion ?? "", runtimeVersionARN: data.runtimeVersionARN ?? ""))
        case .extensionState(let data):
            let events = data.events.joined(separator: ",")
            text("EXTENSION\tName: \(data.name)\tState: \(data.state)\tEvents: [\(events)]")
        case .initReport(let data):
            // A successful init shows as REPORT's Init Duration; INIT_REPORT is written when it failed or ran
            // inside an invoke.
            let status: String
            switch data.outcome.status {
            case .success:
                guard data.phase == .invoke else { return }
                status = "success"
            case .timeout: status = "timeout"
            case .error, .failure: status = "error"
            }
            text(
                LambdaLog.initReport(
                    durationMs: data.durationMs, phase: data.phase.rawValue, status: status,
                    errorType: status == "error" ? data.outcome.errorType : nil))
        case .start(let data):
            written { LambdaLog.appendStart(&$0, requestID: data.requestID, version: data.version ?? "$LATEST") }
        case .report(let data):
            if let overhead = data.postRuntimeExtensionsMs {
                text(
                    "EXTENSIONS RequestId: \(data.requestID)\tPostRuntimeExtensionsDuration: \(LambdaLog.fixed(overhead)) ms"
                )
            }
            written { LambdaLog.appendEnd(&$0, requestID: data.requestID) }
            written {
                LambdaLog.appendReport(
                    &$0, requestID: data.requestID, durationMs: data.durationMs, memorySizeMB: data.memorySizeMB,
                    maxMemoryUsedMB: data.maxMemoryUsedMB, initDurationMs: data.initDurationMs,
                    status: data.reportStatus)
            }
        case .initRuntimeDone, .runtimeDone, .subscription, .fault, .functionLog, .extensionLog:
            return
        }
    }
}

extension PlatformEvent {
    /// True for the events the JSON log format writes as `platform.*` records.
    var isPlatformRecord: Bool {
        switch self {
        case .initStart, .initRuntimeDone, .extensionState, .initReport, .start, .runtimeDone, .report: return true
        case .subscription, .fault, .functionLog, .extensionLog: return false
        }
    }
}

extension PlatformEvent.Report {
    /// The `Status` part of the REPORT line.
    package var reportStatus: LambdaLog.ReportStatus {
        switch outcome.status {
        case .success: return .success
        case .timeout: return .timeout
        case .error, .failure: return .error(outcome.errorType ?? "Runtime.Unknown")
        }
    }
}
