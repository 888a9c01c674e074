/// What a sandbox is doing, as `/_sim/sandboxes` says (the raw value is the name it prints).
public enum SandboxState: String, Sendable, CaseIterable {
    /// No processes (not started yet, or between a reset and the next init).
    case idle
    /// Its init is running.
    case initializing
    /// Its runtime waits in `/next`.
    case ready
    /// Ready, and its processes are frozen.
    case frozen
    /// Running an invoke, or its runtime has not asked for the next one yet.
    case busy
    /// Its processes are being stopped after a failure, a timeout or a reload.
    case resetting
    /// Shut down for good.
    case shutdown
}
