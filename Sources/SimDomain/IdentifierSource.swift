/// Where `SandboxStateMachine` takes the identifiers it hands out (each invoke's `Lambda-Runtime-Invocation-Id`):
/// injected like its clock, so tests see the same identifiers on every run.
package protocol IdentifierSource: Sendable {
    /// A new identifier, never handed out before.
    func next() -> String
}
