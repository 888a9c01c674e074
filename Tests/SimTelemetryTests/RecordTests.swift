import SimCore
import SimDomain
import Testing

@testable import SimTelemetry

/// 2023-11-14T22:13:20.000Z.
private let t0: Int64 = 1_700_000_000_000

/// The event's compact JSON as text.
private func text(_ event: TelemetryEvent) -> String { String(decoding: event.serialized, as: UTF8.self) }

/// Every Telemetry API and Logs API record, byte for byte.
@Suite struct TelemetryRecordTests {
    /// `platform.initStart` carries every field, memory in bytes as an integer.
    @Test func initStart() {
        let data = PlatformEvent.InitStart(
            phase: .initial, runtimeVersion: "python:3.12.v18", runtimeVersionARN: "arn:aws:lambda:::runtime:abc",
            functionName: "f", functionVersion: "$LATEST", instanceID: "2023/11/14/[$LATEST]abc",
            instanceMaxMemoryBytes: 268_435_456)
        #expect(
            text(TelemetryRecords.initStart(data, at: t0 + 64))
                == #"{"time":"2023-11-14T22:13:20.064Z","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"python:3.12.v18","runtimeVersionArn":"arn:aws:lambda:::runtime:abc","functionName":"f","functionVersion":"$LATEST","instanceId":"2023/11/14/[$LATEST]abc","instanceMaxMemory":268435456}}"#
        )
        let bare = PlatformEvent.InitStart(
            phase: .invoke, functionName: "f", functionVersion: "1", instanceID: "i", instanceMaxMemoryBytes: 1,
            tracing: TraceContext(value: "Root=1-a;Sampled=0"))
        #expect(
            TelemetryRecords.initStart(bare, at: t0).record.serialized
                == #"{"initializationType":"on-demand","phase":"invoke","functionName":"f","functionVersion":"1","instanceId":"i","instanceMaxMemory":1,"tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-a;Sampled=0"}}"#
        )
    }

    /// `platform.initRuntimeDone` with and without an error; success never carries `errorType`.
    @Test func initRuntimeDone() {
        let ok = PlatformEvent.InitRuntimeDone(phase: .initial, outcome: EventOutcome(status: .success, errorType: "x"))
        #expect(
            TelemetryRecords.initRuntimeDone(ok, at: t0).record.serialized
                == #"{"initializationType":"on-demand","phase":"init","status":"success"}"#)
        let failed = PlatformEvent.InitRuntimeDone(
            initializationType: .provisionedConcurrency, phase: .invoke, outcome: .error("Runtime.ExitError"),
            spans: [Span(name: "x", startEpochMilliseconds: t0, durationMs: 1.5)])
        #expect(
            TelemetryRecords.initRuntimeDone(failed, at: t0).record.serialized
                == #"{"initializationType":"provisioned-concurrency","phase":"invoke","status":"error","errorType":"Runtime.ExitError","spans":[{"name":"x","start":"2023-11-14T22:13:20.000Z","durationMs":1.5}]}"#
        )
    }

    /// `platform.initReport` has `metrics.durationMs` with at most three decimals.
    @Test func initReport() {
        let data = PlatformEvent.InitReport(phase: .initial, outcome: .timeout(), durationMs: 10_000.00049)
        #expect(
            text(TelemetryRecords.initReport(data, at: t0))
                == #"{"time":"2023-11-14T22:13:20.000Z","type":"platform.initReport","record":{"initializationType":"on-demand","phase":"init","status":"timeout","errorType":"Sandbox.Timedout","metrics":{"durationMs":10000.0}}}"#
        )
    }

    /// `platform.start` with version and tracing.
    @Test func start() {
        let data = PlatformEvent.Start(
            requestID: "r1", version: "$LATEST", tracing: TraceContext(value: "Root=1-x", spanID: "54565fb41ac79632"))
        #expect(
            TelemetryRecords.start(data, at: t0).record.serialized
                == #"{"requestId":"r1","version":"$LATEST","tracing":{"spanId":"54565fb41ac79632","type":"X-Amzn-Trace-Id","value":"Root=1-x"}}"#
        )
    }

    /// `platform.runtimeDone` with metrics and the three spans in order.
    @Test func runtimeDone() {
        let spans = Span.runtimeDone(
            responseLatency: Span(name: "responseLatency", startEpochMilliseconds: t0 + 8, durationMs: 2.2149),
            responseDuration: Span(name: "responseDuration", startEpochMilliseconds: t0 + 10, durationMs: 0.056),
            runtimeOverhead: Span(name: "runtimeOverhead", startEpochMilliseconds: t0 + 10, durationMs: 8.686))
        let data = PlatformEvent.RuntimeDone(
            requestID: "r1", outcome: .success, durationMs: 11.185, producedBytes: 40, spans: spans)
        #expect(
            TelemetryRecords.runtimeDone(data, at: t0 + 19).record.serialized
                == #"{"requestId":"r1","status":"success","metrics":{"durationMs":11.185,"producedBytes":40},"spans":[{"name":"responseLatency","start":"2023-11-14T22:13:20.008Z","durationMs":2.215},{"name":"responseDuration","start":"2023-11-14T22:13:20.010Z","durationMs":0.056},{"name":"runtimeOverhead","start":"2023-11-14T22:13:20.010Z","durationMs":8.686}]}"#
        )
        let failed = PlatformEvent.RuntimeDone(requestID: "r2", outcome: .failure("Runtime.ExitError"), durationMs: 3)
        #expect(
            TelemetryRecords.runtimeDone(failed, at: t0).record.serialized
                == #"{"requestId":"r2","status":"failure","errorType":"Runtime.ExitError","metrics":{"durationMs":3.0}}"#
        )
    }

    /// `platform.report` has integer billing and memory fields and an optional init duration.
    @Test func report() {
        let data = PlatformEvent.Report(
            requestID: "r1", outcome: .success, durationMs: 11.642, billedDurationMs: 186, memorySizeMB: 128,
            maxMemoryUsedMB: 67, initDurationMs: 174.055)
        #expect(
            TelemetryRecords.report(data, at: t0).record.serialized
                == #"{"requestId":"r1","status":"success","metrics":{"durationMs":11.642,"billedDurationMs":186,"memorySizeMB":128,"maxMemoryUsedMB":67,"initDurationMs":174.055}}"#
        )
    }

    /// `platform.extension`, `platform.telemetrySubscription` and `platform.logsDropped`.
    @Test func extensionSubscriptionAndDrops() {
        let ext = PlatformEvent.ExtensionState(name: "ext", state: "Ready", events: ["INVOKE", "SHUTDOWN"])
        #expect(
            text(TelemetryRecords.extensionState(ext, at: t0))
                == #"{"time":"2023-11-14T22:13:20.000Z","type":"platform.extension","record":{"name":"ext","state":"Ready","events":["INVOKE","SHUTDOWN"]}}"#
        )
        let failed = PlatformEvent.ExtensionState(
            name: "e", state: "InitError", events: [], errorType: "Extension.Crash")
        #expect(
            TelemetryRecords.extensionState(failed, at: t0).record.serialized
                == #"{"name":"e","state":"InitError","events":[],"errorType":"Extension.Crash"}"#)
        #expect(
            TelemetryRecords.telemetrySubscription(name: "ext", types: [.platform, .function], at: t0).record
                .serialized == #"{"name":"ext","state":"Subscribed","types":["platform","function"]}"#)
        #expect(
            TelemetryRecords.logsDropped(droppedRecords: 123, droppedBytes: 12_345, at: t0).record.serialized
                == #"{"reason":"Consumer seems to have fallen behind as it has not acknowledged receipt of logs.","droppedRecords":123,"droppedBytes":12345}"#
        )
    }

    /// `function` records are strings, or the object itself for JSON-format logs that parse as an object.
    @Test func functionAndExtensionLines() {
        #expect(
            text(TelemetryRecords.function("hello \"x\"", at: t0))
                == #"{"time":"2023-11-14T22:13:20.000Z","type":"function","record":"hello \"x\""}"#)
        let json = #"{"timestamp":"t","level":"INFO","message":"m"}"#
        #expect(TelemetryRecords.function(json, json: false, at: t0).record == .string(json))
        #expect(TelemetryRecords.function(json, json: true, at: t0).record.serialized == json)
        #expect(TelemetryRecords.function("{broken", json: true, at: t0).record == .string("{broken"))
        #expect(TelemetryRecords.function("[1]", json: true, at: t0).record == .string("[1]"))
        let line = TelemetryRecords.extensionLine("ext says hi", at: t0)
        #expect(line.category == .extension && line.record == .string("ext says hi"))
        #expect(TelemetryRecords.function("x", at: t0).category == .function)
        #expect(TelemetryRecords.logsDropped(droppedRecords: 1, droppedBytes: 1, at: t0).category == .platform)
    }

    /// Durations keep at most three decimals and at least one.
    @Test func durationFormatting() {
        #expect(TelemetryNumber.milliseconds(200) == .number("200.0"))
        #expect(TelemetryNumber.milliseconds(0.0004) == .number("0.0"))
        #expect(TelemetryNumber.milliseconds(1.23456) == .number("1.235"))
        #expect(TelemetryNumber.milliseconds(2.5) == .number("2.5"))
        #expect(TelemetryNumber.milliseconds(-1.5) == .number("-1.5"))
        #expect(TelemetryNumber.milliseconds(.nan) == .number("0.0"))
    }
}

/// The Logs API shapes, and how one `PlatformEvent` renders per API and schema.
@Suite struct LogsRecordTests {
    private let report = PlatformEvent.Report(
        requestID: "r1", outcome: .error("Runtime.ExitError"), durationMs: 5.5, billedDurationMs: 6,
        memorySizeMB: 128, maxMemoryUsedMB: 40)

    /// Logs API records: lean `start`/`end`/`report`, string `fault`, `logsSubscription`, `runtimeDone`.
    @Test func logsShapes() {
        #expect(
            text(LogsRecords.start(requestID: "r1", at: t0))
                == #"{"time":"2023-11-14T22:13:20.000Z","type":"platform.start","record":{"requestId":"r1"}}"#)
        #expect(LogsRecords.end(requestID: "r1", at: t0).record.serialized == #"{"requestId":"r1"}"#)
        #expect(
            LogsRecords.report(report, at: t0).record.serialized
                == #"{"requestId":"r1","metrics":{"durationMs":5.5,"billedDurationMs":6,"memorySizeMB":128,"maxMemoryUsedMB":40}}"#
        )
        #expect(
            text(LogsRecords.fault("RequestId: r1 Process exited before completing request", at: t0))
                == #"{"time":"2023-11-14T22:13:20.000Z","type":"platform.fault","record":"RequestId: r1 Process exited before completing request"}"#
        )
        #expect(
            LogsRecords.logsSubscription(name: "e", types: [.platform], at: t0).type == "platform.logsSubscription")
        #expect(
            LogsRecords.runtimeDone(requestID: "r1", outcome: .error("X"), at: t0).record.serialized
                == #"{"requestId":"r1","status":"failure"}"#)
        #expect(
            LogsRecords.runtimeDone(requestID: "r1", outcome: .timeout(), at: t0).record.serialized
                == #"{"requestId":"r1","status":"timeout"}"#)
        #expect(
            LogsRecords.function(#"{"a":1}"#, at: t0).record == .string(#"{"a":1}"#))
    }

    /// One logical event renders to the right types per API; 2021-03-18 adds `platform.runtimeDone`.
    @Test func renderingPerAPI() {
        let telemetry = RecordFormat.telemetry(schemaVersion: "2022-12-13")
        let logs2020 = RecordFormat.logs(schemaVersion: "2020-08-15")
        let logs2021 = RecordFormat.logs(schemaVersion: "2021-03-18")
        let done = PlatformEvent.runtimeDone(.init(requestID: "r1", outcome: .success, durationMs: 1))
        func types(_ event: PlatformEvent, _ format: RecordFormat) -> [String] {
            event.rendered(as: format, epochMilliseconds: t0).map(\.type)
        }
        #expect(types(done, telemetry) == ["platform.runtimeDone"])
        #expect(types(done, logs2020) == ["platform.end"])
        #expect(types(done, logs2021) == ["platform.runtimeDone", "platform.end"])
        let initStart = PlatformEvent.initStart(
            .init(phase: .initial, functionName: "f", functionVersion: "1", instanceID: "i", instanceMaxMemoryBytes: 1))
        #expect(types(initStart, telemetry) == ["platform.initStart"])
        #expect(types(initStart, logs2021).isEmpty)
        #expect(types(.fault("x"), telemetry).isEmpty)
        #expect(types(.fault("x"), logs2020) == ["platform.fault"])
        let telemetrySubscription = PlatformEvent.subscription(api: .telemetry, name: "e", types: [.platform])
        #expect(types(telemetrySubscription, telemetry) == ["platform.telemetrySubscription"])
        #expect(types(telemetrySubscription, logs2020).isEmpty)
        let logsSubscription = PlatformEvent.subscription(api: .logs, name: "e", types: [.platform])
        #expect(types(logsSubscription, logs2020) == ["platform.logsSubscription"])
        #expect(types(logsSubscription, telemetry).isEmpty)
        #expect(types(.report(report), logs2020) == ["platform.report"])
        #expect(
            PlatformEvent.report(report).rendered(as: telemetry, epochMilliseconds: t0)[0].record["status"]
                == .string("error"))
        let line = PlatformEvent.functionLog(#"{"level":"INFO"}"#)
        #expect(line.rendered(as: telemetry, epochMilliseconds: t0, jsonFunctionLogs: true)[0].record["level"] != nil)
        #expect(line.rendered(as: logs2020, epochMilliseconds: t0, jsonFunctionLogs: true)[0].record.stringValue != nil)
    }
}
