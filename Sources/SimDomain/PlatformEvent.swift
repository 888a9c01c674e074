/// One thing the sandbox reports, independent of how each API renders it.
///
/// The sandbox emits one `PlatformEvent`; the hub renders it per subscriber (`rendered(as:…)`): Telemetry
/// API subscribers get the rich `platform.*` records, Logs API subscribers the 2020-08-15 / 2021-03-18
/// shapes (`platform.end`, `platform.fault`, …), and events one API does not have render to nothing.
package enum PlatformEvent: Equatable, Sendable {
    /// Init (or a suppressed init inside an invoke) began: `platform.initStart`.
    case initStart(InitStart)
    /// The runtime finished init (first `/next`) or init failed: `platform.initRuntimeDone`.
    case initRuntimeDone(InitRuntimeDone)
    /// The Init phase is over, extensions included: `platform.initReport`.
    case initReport(InitReport)
    /// An invoke was dispatched: `platform.start`.
    case start(Start)
    /// The runtime's part of an invoke is over: `platform.runtimeDone` (Logs API: `platform.end`).
    case runtimeDone(RuntimeDone)
    /// The Invoke phase is over (every extension called `/next`): `platform.report`.
    case report(Report)
    /// An extension's state at the end of Init: `platform.extension`.
    case extensionState(ExtensionState)
    /// An extension subscribed: `platform.telemetrySubscription` to Telemetry API subscribers for a Telemetry
    /// API subscription, `platform.logsSubscription` to Logs API subscribers for a Logs API subscription.
    case subscription(api: SubscriptionAPI, name: String, types: [TelemetryCategory])
    /// A platform fault line, e.g. `RequestId: … Process exited before completing request` (Logs API only).
    case fault(String)
    /// One line the runtime wrote (no trailing newline): `function`.
    case functionLog(String)
    /// One line the extension `name` (its file name) wrote (no trailing newline): `extension`. The record
    /// carries only the line; the name stays with the event for the sinks that show it.
    case extensionLog(name: String, line: String)
}

extension PlatformEvent {
    /// The data of `platform.initStart`.
    package struct InitStart: Equatable, Sendable {
        package var initializationType: InitializationType
        package var phase: InitPhase
        package var runtimeVersion: String?
        package var runtimeVersionARN: String?
        package var functionName: String
        package var functionVersion: String
        /// The environment's log stream name.
        package var instanceID: String
        /// The function's memory in bytes (`memorySizeMB * 1_048_576`).
        package var instanceMaxMemoryBytes: Int
        package var tracing: TraceContext?

        package init(
            initializationType: InitializationType = .onDemand, phase: InitPhase, runtimeVersion: String? = nil,
            runtimeVersionARN: String? = nil, functionName: String, functionVersion: String, instanceID: String,
            instanceMaxMemoryBytes: Int, tracing: TraceContext? = nil
        ) {
            self.initializationType = initializationType
            self.phase = phase
            self.runtimeVersion = runtimeVersion
            self.runtimeVersionARN = runtimeVersionARN
            self.functionName = functionName
            self.functionVersion = functionVersion
            self.instanceID = instanceID
            self.instanceMaxMemoryBytes = instanceMaxMemoryBytes
            self.tracing = tracing
        }
    }

    /// The data of `platform.initRuntimeDone`.
    package struct InitRuntimeDone: Equatable, Sendable {
        package var initializationType: InitializationType
        package var phase: InitPhase
        package var outcome: EventOutcome
        package var spans: [Span]
        package var tracing: TraceContext?

        package init(
            initializationType: InitializationType = .onDemand, phase: InitPhase, outcome: EventOutcome,
            spans: [Span] = [], tracing: TraceContext? = nil
        ) {
            self.initializationType = initializationType
            self.phase = phase
            self.outcome = outcome
            self.spans = spans
            self.tracing = tracing
        }
    }

    /// The data of `platform.initReport`.
    package struct InitReport: Equatable, Sendable {
        package var initializationType: InitializationType
        package var phase: InitPhase
        package var outcome: EventOutcome
        package var durationMs: Double
        package var spans: [Span]
        package var tracing: TraceContext?

        package init(
            initializationType: InitializationType = .onDemand, phase: InitPhase, outcome: EventOutcome,
            durationMs: Double, spans: [Span] = [], tracing: TraceContext? = nil
        ) {
            self.initializationType = initializationType
            self.phase = phase
            self.outcome = outcome
            self.durationMs = durationMs
            self.spans = spans
            self.tracing = tracing
        }
    }

    /// The data of `platform.start`.
    package struct Start: Equatable, Sendable {
        package var requestID: String
        /// `$LATEST` or a version number.
        package var version: String?
        package var tracing: TraceContext?

        package init(requestID: String, version: String? = nil, tracing: TraceContext? = nil) {
            self.requestID = requestID
            self.version = version
            self.tracing = tracing
        }
    }

    /// The data of `platform.extension`.
    package struct ExtensionState: Equatable, Sendable {
        package var name: String
        /// Lambda's state name, e.g. `Ready`.
        package var state: String
        /// The events it subscribed to, e.g. `["INVOKE", "SHUTDOWN"]`.
        package var events: [String]
        package var errorType: String?

        package init(name: String, state: String, events: [String], errorType: String? = nil) {
            self.name = name
            self.state = state
            self.events = events
            self.errorType = errorType
        }
    }
}
