/// What the sandbox's performers ask the machine rather than decide themselves: how the sandbox stands for status
/// output, whether a freeze is still due, which invoke a line of output belongs to, who gets SHUTDOWN, and whether a
/// subscription may still be made.
extension SandboxStateMachine {
    /// What the sandbox is doing, as the status API and the library report it.
    package var sandboxState: SandboxState {
        switch state {
        case .idle: return .idle
        case .initializing: return .initializing
        case .ready: return frozen ? .frozen : .ready
        case .running: return .busy
        case .serving(let s): return s.invokes.isEmpty ? .ready : .busy
        case .resetting: return .resetting
        case .shutDown: return .shutdown
        }
    }

    /// What the sandbox does with a `.freeze(epoch:)` it is about to perform.
    package enum FreezeDecision: Equatable, Sendable {
        /// Freeze every process.
        case freeze
        /// Drop it and count it as skipped: a thaw was decided since (the `.available` before it in the same
        /// batch handed out the next invoke at once).
        case skip
        /// Nothing: freezing is off (`none`).
        case nothing
    }

    /// Whether the freeze decided at `epoch` is still due, skipped (a thaw came after it) or moot (freezing off).
    ///
    /// `mutating` though it changes nothing: the sandbox asks as it performs each `.freeze`, and a non-mutating call
    /// on the machine it stores copies the whole machine first (every field retained, then released), where a
    /// mutating one works in place.
    package mutating func freezeDecision(epoch: UInt64) -> FreezeDecision {
        guard function.freezeMode != .none else { return .nothing }
        return epoch == freezeEpoch ? .freeze : .skip
    }

    /// The invoke a line printed by `source` belongs to, when it is not the one in flight: a managed instance's
    /// workers share the runtime's stdout, so a runtime line that names an invoke in flight is that invoke's.
    package func requestID(ofLine line: [UInt8], from source: OutputSource) -> String? {
        function.isManagedInstance && source == .runtime ? requestID(mentionedIn: line) : nil
    }

    /// The invoke a line of a managed-instance worker's own log stream belongs to: the one the worker took last
    /// (`lastTaken`) while it is in flight, else the one the line names.
    package func requestID(ofWorkerLine line: [UInt8], lastTaken: String?) -> String? {
        if let lastTaken, invocation(for: lastTaken) != nil { return lastTaken }
        return requestID(mentionedIn: line)
    }

    /// The external extensions (file names) subscribed to SHUTDOWN, and whether the sandbox has any extension
    /// (internal ones included, which shortens the runtime's share of a shutdown).
    package var shutdownAudience: (subscribed: Set<String>, hasExtensions: Bool) {
        let all = extensions.extensions
        return (Set(all.filter { $0.isExternal && $0.subscribes(.shutdown) }.map(\.name)), !all.isEmpty)
    }

    /// The extension that asks for a Telemetry or Logs API subscription with the identifier header `identifier`,
    /// and whether subscriptions are still open (during init only); else the refusal, as every Extensions API call
    /// checks the identifier.
    package func subscriber(
        identifier: String?
    ) -> Result<(ExtensionRegistry.Extension, open: Bool), ExtensionRejection> {
        switch extensions.identify(identifier) {
        case .failure(let rejection): return .failure(rejection.rejection())
        case .success(let ext):
            if case .initializing = state { return .success((ext, open: true)) }
            return .success((ext, open: false))
        }
    }
}
