import SimCore
import SimDomain
import SimHTTP
import SimTelemetry

/// The sandbox's side of the Telemetry and Logs APIs: what only it knows (init type, memory, the log
/// stream) is added to the machine's events, and subscriptions are answered.
extension Sandbox {
    /// `platform.initStart` (INIT_START), at the start of every init (also a retried one inside an invoke).
    func startInitTelemetry(phase: SimDomain.InitPhase) {
        // A new init means new extension processes: old subscriptions end with their extensions.
        telemetry.removeSubscribers()
        let runtimeName = function.runtime ?? "provided:custom"
        let start = PlatformEvent.InitStart(
            initializationType: initializationType, phase: phase,
            runtimeVersion: "\(runtimeName).lambda-sim",
            runtimeVersionARN: "arn:aws:lambda:\(function.region)::runtime:lambda-sim",
            functionName: function.name, functionVersion: function.version, instanceID: logStreamName,
            instanceMaxMemoryBytes: function.memorySizeMB * 1_048_576)
        publish(.platform(.initStart(start)), requestID: nil)
    }

    /// Publishes a machine-made event; at the end of a successful init, first takes a reading of memory.
    func publishFromMachine(_ event: SandboxEvent, requestID: String?) {
        if case .platform(.initReport(let data)) = event, data.outcome.status == .success {
            // A first reading of memory (and of the members a freeze confirms), so a crash in the first invoke
            // still reports what init used.
            supervisor.initEnded()
        }
        publish(event, requestID: requestID)
    }

    /// The invoke phase ended: counts, durations, the measured memory, then `platform.report` (REPORT), preceded
    /// by `platform.fault` when the machine says the runtime exited before completing the invoke (Logs API).
    func report(
        requestID: String, durationMs: Double, initDurationMs: Double?, status: LambdaLog.ReportStatus,
        postRuntimeExtensionsMs: Double?, processExited: Bool
    ) {
        invocationCount += 1
        if let initDurationMs {
            coldStartMilliseconds = initDurationMs
            initDurations.record(UInt64(initDurationMs * 1_000_000))
        }
        invokeDurations.record(UInt64(max(0, durationMs) * 1_000_000))
        lastUsedEpochMilliseconds = clock.epochMilliseconds
        supervisor.measureMemoryIfDue(durationMs: durationMs, failed: status != .success)
        if processExited {
            publish(
                .platform(.fault("RequestId: \(requestID) Process exited before completing request")),
                requestID: requestID)
        }
        let report = PlatformEvent.Report(
            requestID: requestID, outcome: status.eventOutcome, durationMs: durationMs,
            billedDurationMs: LambdaLog.billedMilliseconds(durationMs: durationMs, initDurationMs: initDurationMs),
            memorySizeMB: function.memorySizeMB, maxMemoryUsedMB: (maxMemoryKiB + 1023) / 1024,
            initDurationMs: initDurationMs, postRuntimeExtensionsMs: postRuntimeExtensionsMs)
        publish(.platform(.report(report)), requestID: requestID)
    }

    /// `PUT /2022-07-01/telemetry` or `PUT /2020-08-15/logs`: the extension identifier is checked like every
    /// Extensions API call; subscriptions are open during init only.
    func subscribe(_ request: HTTPRequest, _ responder: HTTPResponder, api: SubscriptionAPI) {
        let identifier = request.headers[ExtensionAPIResponses.identifierHeader]
        switch machine.subscriber(identifier: identifier) {
        case .failure(let rejection):
            responder.send(RuntimeAPIResponses.error(RuntimeAPIError(rejection)))
        case .success(let (ext, open)):
            let time = clock.epochMilliseconds
            let answer = telemetry.subscribe(
                api: api, extensionID: ext.id, extensionName: ext.name, body: request.body, subscriptionOpen: open,
                at: time)
            responder.send(
                HTTPResponse(status: answer.status, headers: ["Content-Type": "application/json"], body: answer.body))
            // The hub delivered the subscription event to its subscribers itself; the other sinks get it here.
            if answer == .ok, let types = telemetry.subscription(ofExtension: ext.id)?.types {
                publish(
                    .platform(.subscription(api: api, name: ext.name, types: types)), requestID: nil,
                    toSubscribers: false, at: time)
            }
        }
    }
}
