import SimUV

/// The bytes of Telemetry API and Logs API events waiting for subscribers, summed over every sandbox on a loop,
/// against one limit.
///
/// Each subscriber's queue is bounded on its own (`SubscriberBuffer`: twice its batch limits); with thousands of
/// sandboxes whose subscribers are all stuck, those bounds add up, so an event that would take the total over
/// `limitBytes` is dropped and counted like one that overflows its own queue (the subscriber learns of it in a
/// `platform.logsDropped`). Loop-confined.
package final class TelemetryBudget {
    /// The most bytes queued at once over all subscribers on the loop.
    package let limitBytes: Int
    /// Bytes queued now.
    package private(set) var usedBytes = 0

    /// The default limit: 256 MiB.
    package static let defaultLimitBytes = 256 * 1024 * 1024

    private init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// The budget of `loop`, created with `limitBytes` by the first caller. Loop thread only.
    package static func of(_ loop: EventLoop, limitBytes: Int = defaultLimitBytes) -> TelemetryBudget {
        loop.assertInLoop()
        if let existing = loop.telemetryBudget as? TelemetryBudget { return existing }
        let created = TelemetryBudget(limitBytes: limitBytes)
        loop.telemetryBudget = created
        return created
    }

    /// True when `bytes` more would go over the limit.
    func wouldExceed(_ bytes: Int) -> Bool { usedBytes + bytes > limitBytes }

    /// Records that a subscriber's queue changed by `delta` bytes.
    func adjust(by delta: Int) { usedBytes += delta }
}
