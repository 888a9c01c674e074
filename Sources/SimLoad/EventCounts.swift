import SimCore
import Synchronization

/// What became of a run's `Event` invokes: accepted (answered 202) is split into ran (the function completed
/// them, successfully or after its retries), still queued when the run ended, and dropped or expired; with the
/// function errors, retries and internal throttles the simulator made on the way. A figure the target cannot
/// tell is nil (`null` in the JSON, "—" in the summary).
package struct EventCounts: Equatable, Sendable {
    package var accepted = 0
    package var ran: Int?
    package var queued: Int?
    package var dropped: Int?
    /// Attempts that ended in a function error.
    package var functionErrors: Int?
    /// Attempts beyond each event's first.
    package var retries: Int?
    /// Attempts the simulator throttled (and retried) internally.
    package var throttles: Int?

    package init(accepted: Int = 0) { self.accepted = accepted }

    /// The `events` object of the JSON result.
    package var json: JSONValue {
        func number(_ value: Int?) -> JSONValue { value.map { .number(String($0)) } ?? .null }
        return .object([
            ("accepted", number(accepted)), ("ran", number(ran)), ("queued", number(queued)),
            ("dropped", number(dropped)), ("functionErrors", number(functionErrors)), ("retries", number(retries)),
            ("throttles", number(throttles)),
        ])
    }

    /// The summary's lines.
    package var summary: String {
        func text(_ value: Int?) -> String { value.map(String.init) ?? "—" }
        return "  events ................ \(accepted) accepted: \(text(ran)) ran, \(text(queued)) still queued, "
            + "\(text(dropped)) dropped or expired\n"
            + "  event attempts ........ \(text(functionErrors)) function errors, \(text(retries)) retries, "
            + "\(text(throttles)) throttled inside\n"
    }
}

/// Counts a run's `Event` invokes as the simulator's events report them (`asyncResult`, REPORT, throttles); safe
/// from any thread.
package final class EventTally: Sendable {
    private struct Counts {
        var counts = EventCounts()
        var stopped = 0
    }

    private let state = Mutex<Counts>(Counts())

    package init() {}

    /// One more event accepted (202).
    package func accepted() { state.withLock { $0.counts.accepted += 1 } }

    /// An event finished with `condition` (`Success`, `RetriesExhausted`, `EventAgeExceeded`, `SimulatorStopped`)
    /// after the function ran `attempts` times.
    package func finished(condition: String, attempts: Int) {
        state.withLock { state in
            switch condition {
            case "Success", "RetriesExhausted":
                state.counts.ran = (state.counts.ran ?? 0) + 1
                state.counts.retries = (state.counts.retries ?? 0) + max(0, attempts - 1)
            case "SimulatorStopped":
                state.stopped += 1
            default:
                state.counts.dropped = (state.counts.dropped ?? 0) + 1
            }
        }
    }

    /// An attempt ended in a function error, or was throttled inside the simulator.
    package func functionError() { state.withLock { $0.counts.functionErrors = ($0.counts.functionErrors ?? 0) + 1 } }
    package func throttled() { state.withLock { $0.counts.throttles = ($0.counts.throttles ?? 0) + 1 } }

    /// Whether every accepted event has finished (ran or dropped), so stopping the simulator loses none.
    package var settled: Bool {
        state.withLock { ($0.counts.ran ?? 0) + ($0.counts.dropped ?? 0) >= $0.counts.accepted }
    }

    /// The counts: the events the simulator stopped before they finished are the ones still queued.
    package var counts: EventCounts {
        state.withLock { state in
            var counts = state.counts
            counts.ran = counts.ran ?? 0
            counts.dropped = counts.dropped ?? 0
            counts.functionErrors = counts.functionErrors ?? 0
            counts.retries = counts.retries ?? 0
            counts.throttles = counts.throttles ?? 0
            counts.queued = max(state.stopped, counts.accepted - counts.ran! - counts.dropped!)
            return counts
        }
    }
}
