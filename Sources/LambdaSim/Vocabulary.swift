import SimCore
import SimDomain
import SimOrchestrator
import SimSandbox
import SimTelemetry
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// The `type` of an event of the Telemetry API (and, for `end` and `logsSubscription`, of the Logs API), as an
/// extension receives it.
public enum TelemetryEventType: String, Sendable, CaseIterable {
    /// `platform.initStart`: an init began.
    case initStart = "platform.initStart"
    /// `platform.initRuntimeDone`: the runtime's part of the init ended.
    case initRuntimeDone = "platform.initRuntimeDone"
    /// `platform.initReport`: the init phase ended, extensions included.
    case initReport = "platform.initReport"
    /// `platform.start`: an invoke was handed to the runtime.
    case start = "platform.start"
    /// `platform.runtimeDone`: the runtime's part of an invoke ended.
    case runtimeDone = "platform.runtimeDone"
    /// `platform.report`: the invoke phase ended (the REPORT line).
    case report = "platform.report"
    /// `platform.extension`: an extension's state at the end of init.
    case `extension` = "platform.extension"
    /// `platform.fault`: a platform fault line.
    case fault = "platform.fault"
    /// `platform.telemetrySubscription`: an extension subscribed to the Telemetry API.
    case telemetrySubscription = "platform.telemetrySubscription"
    /// `platform.logsSubscription`: an extension subscribed to the Logs API.
    case logsSubscription = "platform.logsSubscription"
    /// `platform.logsDropped`: a subscriber fell behind and events were dropped.
    case logsDropped = "platform.logsDropped"
    /// `platform.end`: the Logs API's end of an invoke.
    case end = "platform.end"
    /// `function`: a line the runtime wrote.
    case function
    /// `extension`: a line an external extension wrote.
    case extensionOutput = "extension"
}

/// What a sandbox is doing, as `/_sim/sandboxes` says.
public typealias SandboxState = SimDomain.SandboxState

extension SimulatorEvent {
    /// How an init was started (`initializationType` of `platform.initStart`).
    public enum InitializationType: String, Sendable, CaseIterable {
        /// For an invoke that found no free sandbox.
        case onDemand = "on-demand"
        /// Ahead of traffic, for provisioned concurrency.
        case provisionedConcurrency = "provisioned-concurrency"
        /// From a SnapStart snapshot.
        case snapStart = "snap-start"
        /// For a Lambda Managed Instances environment.
        case lambdaManagedInstances = "lambda-managed-instances"

        init(_ type: SimDomain.InitializationType) {
            switch type {
            case .onDemand: self = .onDemand
            case .provisionedConcurrency: self = .provisionedConcurrency
            case .snapStart: self = .snapStart
            case .lambdaManagedInstances: self = .lambdaManagedInstances
            }
        }
    }

    /// Which init it is (`phase` of `platform.initStart`).
    public enum InitPhase: String, Sendable, CaseIterable {
        /// The sandbox's init.
        case initial = "init"
        /// An init retried inside an invoke, after the first one failed (a suppressed init).
        case invoke

        init(_ phase: SimDomain.InitPhase) {
            switch phase {
            case .initial: self = .initial
            case .invoke: self = .invoke
            }
        }
    }
}

/// One event of the Telemetry API (or, for those it does not have, of the Logs API) that a sandbox produced, as
/// `Simulator.telemetryEvents()` keeps it.
public struct TelemetryRecord: Sendable, Equatable {
    /// The event's type.
    public var type: TelemetryEventType
    /// When the platform generated it, as its `time` field (`2022-10-12T00:00:15.064Z`).
    public var time: String
    /// The whole event as a subscriber receives it: the JSON object `{"time","type","record"}`.
    public var json: String

    /// A record (for tests of code that consumes records).
    public init(type: TelemetryEventType, time: String, json: String) {
        self.type = type
        self.time = time
        self.json = json
    }
}

extension Simulator {
    /// How a process ended: the code it exited with, or the signal that killed it.
    public enum ExitStatus: Sendable, Equatable, Hashable, CustomStringConvertible {
        /// It exited with this code (`exit(code)`).
        case exited(code: Int32)
        /// The signal with this number (`SIGTERM`, `SIGKILL`, …) killed it.
        case signaled(Int32)

        /// Lambda's wording (Go's `exec.ExitError`), as in `Runtime exited with error: …`: `exit status 1`,
        /// `signal: killed`.
        public var description: String { SimCore.ExitStatus(self).description }

        /// The status the simulator's process layer reported.
        init(_ status: SimCore.ExitStatus) {
            switch status {
            case .exited(let code): self = .exited(code: code)
            case .signaled(let number): self = .signaled(number)
            }
        }
    }
}

extension SimCore.ExitStatus {
    init(_ status: Simulator.ExitStatus) {
        switch status {
        case .exited(let code): self = .exited(code)
        case .signaled(let number): self = .signaled(number)
        }
    }
}

extension SimulatorEvent {
    /// How an asynchronous invoke ended (the `condition` of its destination record).
    public enum AsyncCondition: String, Sendable, CaseIterable {
        /// The function succeeded.
        case success = "Success"
        /// Every retry failed.
        case retriesExhausted = "RetriesExhausted"
        /// The event grew older than its maximum age before it could run.
        case eventAgeExceeded = "EventAgeExceeded"
        /// lambda-sim's own: the simulator stopped before the event could finish.
        case simulatorStopped = "SimulatorStopped"

        init(_ condition: AsyncRetryPolicy.Condition) {
            switch condition {
            case .success: self = .success
            case .retriesExhausted: self = .retriesExhausted
            case .eventAgeExceeded: self = .eventAgeExceeded
            case .simulatorStopped: self = .simulatorStopped
            }
        }
    }

    /// Why an invoke was throttled (429): Lambda's `Reason`.
    public enum ThrottleReason: String, Sendable, CaseIterable {
        /// The account's concurrency is used up.
        case account = "ConcurrentInvocationLimitExceeded"
        /// The function's reserved concurrency is used up.
        case reserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
        /// The function may not scale out faster (new sandboxes per period).
        case scalingRate = "FunctionInvocationRateLimitExceeded"

        init(_ reason: ConcurrencyLimits.ThrottleReason) {
            switch reason {
            case .account: self = .account
            case .reserved: self = .reserved
            case .scalingRate: self = .scalingRate
            }
        }
    }

    /// An extension's state, by Lambda's names (`platform.extension`'s `state`).
    public enum ExtensionState: String, Sendable, CaseIterable {
        /// Registered, its init not finished.
        case registered = "Registered"
        /// Its init finished: it waits for events.
        case ready = "Ready"
        /// Handling an event.
        case running = "Running"
        /// It reported an init error.
        case initError = "InitError"
        /// It reported an exit error.
        case exitError = "ExitError"
        /// It exited.
        case exited = "Exited"

        init(_ state: String) {
            switch ExtensionRegistry.State(rawValue: state) {
            case .registered: self = .registered
            case .ready: self = .ready
            case .running: self = .running
            case .initError: self = .initError
            case .exitError: self = .exitError
            case .exited: self = .exited
            case nil: preconditionFailure("extension state '\(state)' is not an ExtensionRegistry.State")
            }
        }
    }

    /// An event an extension subscribes to when it registers.
    public enum ExtensionEvent: String, Sendable, CaseIterable {
        /// Each invoke.
        case invoke = "INVOKE"
        /// The environment's shutdown.
        case shutdown = "SHUTDOWN"

        init(_ event: String) {
            switch ExtensionRegistry.EventType(rawValue: event) {
            case .invoke: self = .invoke
            case .shutdown: self = .shutdown
            case nil: preconditionFailure("extension event '\(event)' is not an ExtensionRegistry.EventType")
            }
        }
    }
}
