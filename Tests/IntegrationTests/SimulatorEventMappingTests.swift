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

    /// Throttles and asynchronous results, typed inside, stay typed in the public event, with Lambda's words as
    /// their raw values.
    @Test func poolEventsKeepTheirTypes() {
        #expect(
            SimulatorEvent(.throttled(reason: .scalingRate), context)?.kind == .throttled(reason: .scalingRate))
        #expect(SimulatorEvent.ThrottleReason.scalingRate.rawValue == "FunctionInvocationRateLimitExceeded")
        #expect(
            SimulatorEvent(.asyncResult(condition: .retriesExhausted, attempts: 3), context)?.kind
                == .asyncResult(condition: .retriesExhausted, attempts: 3))
        #expect(SimulatorEvent.AsyncCondition.retriesExhausted.rawValue == "RetriesExhausted")
    }
}
