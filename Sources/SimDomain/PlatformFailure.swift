import SimCore

/// Why the platform, not the function, ended an init or an invoke: what `SandboxStateMachine` decides, as data.
///
/// The machine never renders one: `PlatformFailure+Rendering.swift` gives each its Lambda error type and the
/// invoker's message (`RequestId: … Error: …`), and the sandbox renders them where they leave it (the invoke's
/// result, the platform's log lines).
package enum PlatformFailure: Equatable, Sendable {
    /// The invoke ran past the function's timeout of `seconds` (`Sandbox.Timedout`).
    case timeout(after: Double)
    /// The runtime exited before completing the init or invoke (`Runtime.ExitError`).
    case runtimeExit(status: ExitStatus)
    /// The runtime was killed for using more than the function's memory (`Runtime.OutOfMemory`).
    case outOfMemory(status: ExitStatus)
    /// An external extension exited outside a shutdown (`Extension.Crash`).
    case extensionExit(name: String, status: ExitStatus)
    /// An external extension could not be launched (`Extension.LaunchError`); `reason` as the sandbox found it.
    case extensionLaunch(reason: String)
    /// An extension reported its init failed with `/extension/init/error` (`Extension.InitError`).
    case extensionInitError(name: String, reportedType: String)
    /// The runtime could not be started: its bootstrap is missing, cannot be run or is no program
    /// (`Runtime.InvalidEntrypoint`); `reason` in Go's wording (`no such file or directory`).
    case invalidEntrypoint(program: String, reason: String)
    /// The code directory, every process's working directory, is not a directory (`Runtime.InvalidWorkingDir`);
    /// `cause` in Go's wording.
    case invalidWorkingDirectory(path: String, cause: String)
    /// The simulator itself could not start the runtime (out of descriptors, processes or memory:
    /// `Sandbox.Failure`); `systemMessage` is the system's text for the error.
    case runtimeNotStarted(systemMessage: String)
    /// Init failed inside the invoke with no error of its own to report (`Runtime.Unknown`).
    case unknownInitError
    /// The simulator is shutting down with the invoke in flight (`Sandbox.Failure`).
    case shuttingDown
    /// The runtime's `Lambda-Runtime-Function-Response-Mode` was not `streaming` (`Runtime.InvalidResponseModeHeader`).
    case invalidResponseMode
    /// The response was `bytes` long, over the `limit` (`Function.ResponseSizeTooLarge`).
    case responseTooLarge(bytes: Int, limit: Int)
    /// A streamed response did not arrive whole (`Runtime.TruncatedResponse`).
    case truncatedResponse(Truncation)

    /// How a streamed response was cut short.
    package enum Truncation: Equatable, Sendable {
        /// The invoker of `InvokeWithResponseStream` went away before the response ended.
        case invokerGone
        /// The runtime's chunked framing was malformed.
        case malformed
        /// The runtime's upload ended before its last chunk.
        case endedEarly
    }

    /// The failure of a runtime that exited with `status`: `outOfMemory` when the kill was the cgroup's.
    package static func runtimeExited(_ status: ExitStatus, outOfMemory: Bool) -> PlatformFailure {
        outOfMemory ? .outOfMemory(status: status) : .runtimeExit(status: status)
    }

    /// True for a runtime that exited (or was killed for memory) before completing the invoke: its REPORT is a fault.
    package var isProcessExit: Bool {
        switch self {
        case .runtimeExit, .outOfMemory: return true
        default: return false
        }
    }
}

/// How an init or invoke ended, as the machine knows it: what the runtime posted, or the platform's failure.
package enum SandboxOutcome: Equatable, Sendable {
    /// The runtime's `/response`, `/error` or `/init/error` (never `InvokeOutcome.platformError`).
    case runtime(InvokeOutcome)
    /// The platform ended it.
    case failure(PlatformFailure)

    /// The runtime posted `/response` with this body.
    package static func success(body: [UInt8], contentType: String?) -> SandboxOutcome {
        .runtime(.success(body: body, contentType: contentType))
    }

    /// The runtime posted `/error` (or `/init/error`) with this body.
    package static func functionError(body: [UInt8], contentType: String?, errorType: String?) -> SandboxOutcome {
        .runtime(.functionError(body: body, contentType: contentType, errorType: errorType))
    }
}
