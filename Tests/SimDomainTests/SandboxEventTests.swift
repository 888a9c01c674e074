import Testing

@testable import SimDomain

@Suite struct SandboxEventTests {
    /// An extension's output line reaches Telemetry API subscribers as an `extension` event that still names the
    /// extension; a runtime's as a `function` event.
    @Test func outputKeepsItsSource() {
        #expect(
            SandboxEvent.output(.extension("watcher"), "hello").telemetryEvent
                == .extensionLog(name: "watcher", line: "hello"))
        #expect(SandboxEvent.output(.runtime, "hi").telemetryEvent == .functionLog("hi"))
        #expect(SandboxEvent.throttled(reason: .reserved).telemetryEvent == nil)
    }
}
