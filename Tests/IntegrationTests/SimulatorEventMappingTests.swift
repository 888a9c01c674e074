import SimDomain
import Testing

@testable import LambdaSim

/// The public `SimulatorEvent` mirrors the simulator's typed events one to one.
@Suite struct SimulatorEventMappingTests {
    private let context = EventContext(
        function: "fn", sandboxID: "-", requestID: "r1", epochMilliseconds: 1, logFormat: .text)

    /// An extension's line published as a platform event keeps the extension's name in the public event.
    @Test func extensionLogKeepsTheExtensionName() {
        let event = SimulatorEvent(.platform(.extensionLog(name: "watcher", line: "hello")), context)
        #expect(event?.kind == .output(source: .extension("watcher"), line: "hello"))
        #expect(event?.sandboxID == nil && event?.requestID == "r1")
    }

    /// Throttles and asynchronous results, typed inside, show Lambda's words in the public event.
    @Test func poolEventsShowLambdasWords() {
        #expect(
            SimulatorEvent(.throttled(reason: .scalingRate), context)?.kind
                == .throttled(reason: "FunctionInvocationRateLimitExceeded"))
        #expect(
            SimulatorEvent(.asyncResult(condition: .retriesExhausted, attempts: 3), context)?.kind
                == .asyncResult(condition: "RetriesExhausted", attempts: 3))
    }
}
