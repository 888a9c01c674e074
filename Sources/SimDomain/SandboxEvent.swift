import SimCore

/// One thing that happened in a sandbox, as data: never a rendered string or JSON.
///
/// The state machine and the sandbox emit these; the sinks that exist render them as they need: the
/// console (CloudWatch's text lines or JSON records), each Telemetry/Logs API subscriber (its own schema), the
/// log tail of an invoke that asked for `Tail`, the metrics and the public event stream. No sink, no work.
package enum SandboxEvent: Sendable, Equatable {
    /// An event with a Telemetry API record: init phases, `platform.start`, `runtimeDone`, `report`,
    /// `extension`, subscriptions, faults.
    case platform(PlatformEvent)
    /// One line a process of the sandbox wrote (without its newline).
    case output(OutputSource, String)
    /// The platform's lines for a failed invoke: the message, then the error type.
    case invokeError(errorType: String, message: String)
    /// An invoke ran out of time after the function's timeout, in seconds: `<ISO time> <request id> Task timed
    /// out after <seconds, 2 decimals> seconds`.
    case timedOut(seconds: Double)
    /// An extension reported `/extension/exit/error`.
    case extensionExitError(name: String, errorType: String)
    /// The sandbox's processes were frozen or thawed, or a due freeze was skipped.
    case freeze(FreezeTransition)
    /// An asynchronous invoke ended (`Condition` of its invocation record, attempts made).
    case asyncResult(condition: AsyncRetryPolicy.Condition, attempts: Int)
    /// A diagnostic of the simulator's own, e.g. a cgroup limit it could not apply.
    case notice(String)
    /// An invoke of the function was refused for want of concurrency (429 `TooManyRequestsException`), with
    /// Lambda's `Reason`, e.g. `ReservedFunctionConcurrentInvocationLimitExceeded`.
    case throttled(reason: ConcurrencyLimits.ThrottleReason)
    /// The sandbox shut down for good; its processes are gone.
    case terminated
}

extension SandboxEvent {
    /// What Telemetry/Logs API subscribers receive of the event, if anything.
    package var telemetryEvent: PlatformEvent? {
        switch self {
        case .platform(let event): return event
        case .output(.runtime, let line): return .functionLog(line)
        case .output(.extension(let name), let line): return .extensionLog(name: name, line: line)
        default: return nil
        }
    }
}

/// Which process wrote an output line.
package enum OutputSource: Sendable, Hashable {
    /// The runtime (and the processes it started).
    case runtime
    /// An external extension, by file name.
    case `extension`(String)
}

/// A freeze or thaw of a sandbox's processes.
package enum FreezeTransition: Sendable, Equatable {
    /// Every process stopped, confirmed after `nanoseconds` (nil: thawed before it was confirmed).
    case frozen(nanoseconds: UInt64?)
    /// Every process runs again, confirmed after `nanoseconds` (nil: frozen again before it was confirmed).
    case thawed(nanoseconds: UInt64?)
    /// A freeze was due but the next invoke had already arrived.
    case skipped
}

/// Where and when an event happened.
package struct EventContext: Sendable {
    /// The function's name.
    package var function: String
    /// The sandbox's id (`-` for events of the function as a whole, like asynchronous results).
    package var sandboxID: String
    /// The invoke the event belongs to, if one was in flight.
    package var requestID: String?
    /// When the event happened.
    package var epochMilliseconds: Int64
    /// How the function's platform lines are written.
    package var logFormat: LogFormat

    package init(
        function: String, sandboxID: String, requestID: String?, epochMilliseconds: Int64, logFormat: LogFormat
    ) {
        self.function = function
        self.sandboxID = sandboxID
        self.requestID = requestID
        self.epochMilliseconds = epochMilliseconds
        self.logFormat = logFormat
    }
}

/// Receives every event it is registered for, on the loop thread, in the order they happened.
package protocol SandboxEventSink: AnyObject {
    func receive(_ event: SandboxEvent, _ context: EventContext)
}

/// The simulator-wide fan-out: hands each event to every registered sink. Loop-confined.
package final class EventBus {
    private var sinks: [any SandboxEventSink] = []

    package init() {}

    /// Adds a sink; it receives every event published from now on.
    package func add(_ sink: any SandboxEventSink) { sinks.append(sink) }

    /// Removes a sink added earlier.
    package func remove(_ sink: any SandboxEventSink) { sinks.removeAll { $0 === sink } }

    /// True when no sink listens: publishers may skip building events.
    package var isEmpty: Bool { sinks.isEmpty }

    /// Hands `event` to every sink.
    package func publish(_ event: SandboxEvent, _ context: EventContext) {
        for sink in sinks { sink.receive(event, context) }
    }
}
