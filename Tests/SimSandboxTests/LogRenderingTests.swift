import SimCore
import SimDomain
import SimTelemetry
import Testing

@testable import SimSandbox

/// The lines an event writes to the log, with their source (nil for the platform).
private func lines(_ event: SandboxEvent, format: LogFormat = .text, requestID: String? = "req-1") -> [String] {
    let context = EventContext(
        function: "fn", sandboxID: "sb", requestID: requestID, epochMilliseconds: 1_709_405_977_123, logFormat: format)
    var result: [String] = []
    LogRendering.forEachLine(event, context) { text, _ in result.append(text) }
    return result
}

private func report(_ status: EventOutcome, initMs: Double? = nil, extensions: Double? = nil) -> SandboxEvent {
    .platform(
        .report(
            .init(
                requestID: "req-1", outcome: status, durationMs: 12.345, billedDurationMs: 13, memorySizeMB: 128,
                maxMemoryUsedMB: 7, initDurationMs: initMs, postRuntimeExtensionsMs: extensions)))
}

@Suite struct LogRenderingTests {
    /// START, then END and REPORT (with Init Duration and the extensions' extra time when there is some).
    @Test func invokeLines() {
        #expect(
            lines(.platform(.start(.init(requestID: "req-1", version: "$LATEST"))))
                == ["START RequestId: req-1 Version: $LATEST"])
        #expect(
            lines(report(.success, initMs: 40.5, extensions: 25)) == [
                "EXTENSIONS RequestId: req-1\tPostRuntimeExtensionsDuration: 25.00 ms",
                "END RequestId: req-1",
                "REPORT RequestId: req-1\tDuration: 12.35 ms\tBilled Duration: 53 ms\tMemory Size: 128 MB\t"
                    + "Max Memory Used: 7 MB\tInit Duration: 40.50 ms\t",
            ])
        #expect(lines(report(.timeout())).last?.hasSuffix("\tStatus: timeout\t") == true)
        #expect(
            lines(report(.failure("Sandbox.Failure"))).last?.hasSuffix("\tStatus: error\tError Type: Sandbox.Failure\t")
                == true)
    }

    /// INIT_REPORT is written for a failed or timed-out init and for one inside an invoke, not for a normal success.
    @Test func initReportLines() {
        func initReport(_ phase: InitPhase, _ outcome: EventOutcome) -> SandboxEvent {
            .platform(.initReport(.init(phase: phase, outcome: outcome, durationMs: 10_000)))
        }
        #expect(lines(initReport(.initial, .success)).isEmpty)
        #expect(
            lines(initReport(.initial, .timeout())) == [
                "INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: timeout"
            ])
        #expect(
            lines(initReport(.initial, .error("Runtime.ExitError")))
                == ["INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError"]
        )
        #expect(
            lines(initReport(.invoke, .success)) == [
                "INIT_REPORT Init Duration: 10000.00 ms\tPhase: invoke\tStatus: success"
            ])
    }

    /// The platform's error lines, the timeout line and output pass through in text; in JSON the events with a
    /// record become `platform.*` JSON lines and the others stay text.
    @Test func otherLinesAndJSON() {
        #expect(
            lines(.invokeError(errorType: "Runtime.ExitError", message: "RequestId: req-1 Error: boom"))
                == ["RequestId: req-1 Error: boom", "Runtime.ExitError"])
        #expect(
            lines(.timedOut(seconds: 3)) == ["2024-03-02T18:59:37.123Z req-1 Task timed out after 3.00 seconds"])
        #expect(lines(.timedOut(seconds: 1.5)) == ["2024-03-02T18:59:37.123Z req-1 Task timed out after 1.50 seconds"])
        #expect(lines(.output(.extension("ext"), "hello")) == ["hello"])
        #expect(lines(.freeze(.frozen(nanoseconds: 5))).isEmpty)
        let start = lines(.platform(.start(.init(requestID: "req-1", version: "$LATEST"))), format: .json)
        #expect(
            start == [
                #"{"time":"2024-03-02T18:59:37.123Z","type":"platform.start","record":{"requestId":"req-1","version":"$LATEST"}}"#
            ])
        #expect(lines(.platform(.subscription(api: .telemetry, name: "x", types: [.platform])), format: .json).isEmpty)
        #expect(lines(.timedOut(seconds: 3), format: .json).count == 1)
    }
}
