import Testing

@testable import SimDomain

/// The order of a shutdown, as a pure machine: what is signalled when, and when SHUTDOWN goes out.
@Suite struct ShutdownSequenceTests {
    private func processes(
        runtime: Bool = true, extensions: Bool = true, subscribed: [String] = [], unsubscribed: [String] = []
    ) -> ShutdownSequence.Processes {
        .init(runtimeAlive: runtime, hasExtensions: extensions, subscribed: subscribed, unsubscribed: unsubscribed)
    }

    /// With extensions: SIGTERM and a 300 ms share for the runtime, unsubscribed extensions killed, the deadline
    /// armed; SHUTDOWN waits for both the runtime's exit and the telemetry flush.
    @Test func shutdownWaitsForRuntimeAndTelemetry() {
        var sequence = ShutdownSequence()
        let begun = sequence.begin(
            processes(subscribed: ["ext-a"], unsubscribed: ["ext-b"]), deadlineMilliseconds: 2_000)
        #expect(
            begun == [
                .flushTelemetry(deadlineMilliseconds: 500), .signalRuntime(.terminate),
                .startTimer(.runtimeShare, milliseconds: 300), .killExtensions(["ext-b"]),
                .startTimer(.deadline, milliseconds: 2_000),
            ])
        #expect(sequence.isStopping)
        #expect(sequence.runtimeExited() == [])
        #expect(sequence.telemetryFlushed() == [.releaseShutdownEvents])
        // Released once only.
        #expect(sequence.timerFired(.runtimeShare) == [.signalRuntime(.kill)])
        #expect(sequence.allExited() == [.finish])
        #expect(!sequence.isStopping)
        #expect(sequence.telemetryFlushed() == [])
    }

    /// A runtime that ignores SIGTERM is killed when its share is over, and the extensions get SHUTDOWN then.
    @Test func runtimeShareEndsTheRuntimesTurn() {
        var sequence = ShutdownSequence()
        _ = sequence.begin(processes(subscribed: ["ext"]), deadlineMilliseconds: 2_000)
        #expect(sequence.telemetryFlushed() == [])
        #expect(sequence.timerFired(.runtimeShare) == [.signalRuntime(.kill), .releaseShutdownEvents])
        #expect(sequence.timerFired(.deadline) == [.killEverything])
        #expect(sequence.allExited() == [.finish])
    }

    /// Without extensions the runtime has the whole deadline; with a zero deadline everything dies at once.
    @Test func deadlines() {
        var alone = ShutdownSequence()
        #expect(
            alone.begin(processes(extensions: false), deadlineMilliseconds: 500) == [
                .flushTelemetry(deadlineMilliseconds: 500), .signalRuntime(.terminate),
                .startTimer(.runtimeShare, milliseconds: 500), .startTimer(.deadline, milliseconds: 500),
            ])
        var now = ShutdownSequence()
        #expect(
            now.begin(processes(subscribed: ["a"], unsubscribed: ["b"]), deadlineMilliseconds: 0) == [
                .flushTelemetry(deadlineMilliseconds: 0), .signalRuntime(.kill), .killExtensions(["b", "a"]),
            ])
    }

    /// Nothing alive: the shutdown finishes at once and releases no SHUTDOWN; a second begin while stopping does
    /// nothing.
    @Test func nothingAlive() {
        var sequence = ShutdownSequence()
        #expect(
            sequence.begin(processes(runtime: false), deadlineMilliseconds: 2_000) == [
                .flushTelemetry(deadlineMilliseconds: 500), .finish,
            ])
        #expect(!sequence.isStopping)
        #expect(sequence.telemetryFlushed() == [])
        var twice = ShutdownSequence()
        _ = twice.begin(processes(), deadlineMilliseconds: 2_000)
        #expect(twice.begin(processes(), deadlineMilliseconds: 2_000) == [])
    }

    /// A runtime already gone when the shutdown starts: SHUTDOWN waits only for the telemetry flush.
    @Test func runtimeAlreadyGone() {
        var sequence = ShutdownSequence()
        _ = sequence.begin(processes(runtime: false, subscribed: ["ext"]), deadlineMilliseconds: 2_000)
        #expect(sequence.telemetryFlushed() == [.releaseShutdownEvents])
    }
}
