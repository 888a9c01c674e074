/// Whether a sandbox timer that expired (an init or invoke deadline) fires now or waits one turn of the loop for
/// Runtime API input the loop has not read yet.
///
/// The loop runs due timers before it polls its sockets, so a simulator that was stopped or busy past a deadline
/// would otherwise time out an invoke whose answer is already waiting in the runtime's socket. An expired timer
/// therefore waits a turn (1 ms) while there is unread input, at most `maxDeferrals` times in a row, so that a
/// runtime that keeps sending cannot hold its timeout off.
///
///     expired ── no unread input, or deferred maxDeferrals times ──► fire
///     expired ── unread input ──► wait 1 ms ──► expired again (deferrals + 1)
package enum ExpiredTimer {
    /// Most times in a row an expired timer waits a turn of the loop for unread Runtime API input.
    package static let maxDeferrals = 20
    /// How long a wait lasts: one turn of the loop, whose poll phase reads the input.
    package static let waitMilliseconds: UInt64 = 1

    /// What to do with a timer that expired.
    package enum Decision: Equatable, Sendable {
        /// Carry out what the timer was for.
        case fire
        /// Re-arm it for `waitMilliseconds` and decide again then.
        case wait
    }

    /// The decision for a timer that already waited `deferrals` times, with `unreadInput` on the Runtime API now.
    package static func decide(deferrals: Int, unreadInput: Bool) -> Decision {
        deferrals < maxDeferrals && unreadInput ? .wait : .fire
    }
}
