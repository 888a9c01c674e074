/// Puts a paced `EventLoop`'s thread to sleep to times of its own choosing, so that work due at known instants (a
/// load generator's schedule) and the I/O that arrived meanwhile are taken in one wake instead of one wake each.
///
/// While a pacer sleeps, nothing on the loop runs: sockets fill, timers fall due and submitted work waits until
/// the wake, so a pacer keeps its sleeps short (the load generator's are at most 2 ms) and learns when input
/// arrived from the kernel (`ArrivalTimes`), not from when the loop read it.
package protocol LoopPacer: AnyObject {
    /// Called on the loop thread before each turn: the monotonic time (`EventLoop.nanoseconds()`) to sleep to
    /// without polling I/O, or nil for a turn that waits for I/O and timers as an unpaced loop does.
    func sleepUntil() -> UInt64?
    /// Called on the loop thread when such a sleep ends, before the loop takes the I/O that became ready.
    func woke()
}
