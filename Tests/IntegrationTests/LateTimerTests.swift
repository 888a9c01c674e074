// A deadline that passes while the simulator cannot run (stopped, or its loop busy) must not time out an invoke
// whose answer already waits in the Runtime API's socket (issue 20, finding 10): libuv runs due timers before it
// polls, so the sandbox looks for unread input before it declares the timeout.

import Foundation
import SimCore
import SimDomain
import SimSandbox
import SimUV
import Testing

@Suite("Late timers")
struct LateTimerTests {
    /// The runtime answers at 600 ms of a 1 s timeout while the loop is held from 300 ms to 1.8 s: the invoke
    /// succeeds with the runtime's answer instead of Sandbox.Timedout.
    @Test(.timeLimit(.minutes(1)))
    func answerWaitingAtTheDeadlineWins() async throws {
        let loop = try EventLoop()
        var spec = FunctionSpec(name: "late", command: [TestPaths.fixtureRuntime], codeDirectory: "/tmp")
        spec.timeoutSeconds = 1
        spec.freezeMode = .none
        spec.inheritedEnvironment = TestPaths.inheritedEnvironment
        let function = spec
        let payload = Array(#"{"sleepMs":600}"#.utf8)
        let sandbox = LoopBox<Sandbox?>(nil)
        async let outcome = withCheckedContinuation { (continuation: CheckedContinuation<InvokeOutcome, Never>) in
            loop.submit {
                let created = try! Sandbox(loop: loop, function: function, bus: EventBus())
                sandbox.value = created
                created.onResult = { continuation.resume(returning: $0.outcome) }
                let accepted = created.offer(
                    Invocation(
                        requestID: UUID().uuidString.lowercased(), payload: payload,
                        invokedFunctionARN: function.functionARN, traceID: "Root=1-00000000-000000000000000000000000"))
                created.begin(accepted!)
            }
        }
        // Once the runtime runs the invoke (its init takes a few milliseconds), hold the loop inside an I/O callback,
        // as a busy or stopped simulator would be, past the deadline while the runtime answers.
        try await Task.sleep(for: .milliseconds(300))
        loop.submit { usleep(1_500_000) }
        let result = await outcome
        #expect(result == .success(body: payload, contentType: "application/json"), "\(result)")

        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.submit {
                sandbox.value?.onTerminated = { _ in continuation.resume() }
                sandbox.value?.shutdown()
            }
        }
        await loop.shutdown()
    }
}

/// Hands a loop-confined value across a Sendable boundary.
private final class LoopBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
