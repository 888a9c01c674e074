import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// Timers with microsecond resolution for one loop: a single timerfd, polled by the loop, armed for the
/// earliest of the scheduled deadlines (libuv's own timers have millisecond resolution). For checks that
/// usually succeed within tens of microseconds, like confirming that a process stopped, without spinning.
/// Loop thread only.
package final class FineTimers: HandleOwner {
    let handleBox = HandleBox(type: UV_POLL)
    private let timerFD: Int32
    private var entries: [(deadline: UInt64, token: Int, body: () -> Void)] = []
    private var nextToken = 0
    private var armedFor: UInt64 = .max
    /// The bodies due at one expiry, kept between expiries so that running them allocates nothing.
    private var dueScratch: [() -> Void] = []

    private init?(loop: EventLoop) {
        let fd = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        guard fd >= 0 else {
            handleBox.discardUnopened()
            return nil
        }
        guard uv_poll_init(loop.uvLoop, handleBox.typed(uv_poll_t.self), fd) == 0 else {
            Glibc.close(fd)
            handleBox.discardUnopened()
            return nil
        }
        timerFD = fd
        handleBox.open(owner: self)
        uv_poll_start(handleBox.typed(uv_poll_t.self), Int32(UV_READABLE.rawValue)) { handle, _, _ in
            guard let owner = HandleBox.owner(of: handle, as: FineTimers.self) else { return }
            owner.fired()
        }
        // The poll handle must not keep the loop alive on its own.
        uv_unref(handleBox.handle)
    }

    /// The timers of `loop`, created on first use; nil when the kernel has no timerfd.
    package static func of(_ loop: EventLoop) -> FineTimers? {
        loop.assertInLoop()
        if let existing = loop.fineTimers as? FineTimers { return existing }
        guard let created = FineTimers(loop: loop) else { return nil }
        loop.fineTimers = created
        return created
    }

    /// Runs `body` once, `nanoseconds` from now; returns a token for `cancel`.
    @discardableResult
    package func schedule(afterNanoseconds nanoseconds: UInt64, _ body: @escaping () -> Void) -> Int {
        nextToken += 1
        let deadline = EventLoop.nanoseconds() + nanoseconds
        entries.append((deadline, nextToken, body))
        if deadline < armedFor { arm(deadline) }
        return nextToken
    }

    /// Drops the timer `token`, if it has not run yet. When it was the earliest, the timerfd is re-armed for the
    /// next one (or disarmed), so a cancelled timer costs the loop no wake.
    package func cancel(_ token: Int) {
        guard let index = entries.firstIndex(where: { $0.token == token }) else { return }
        let deadline = entries.remove(at: index).deadline
        guard deadline <= armedFor else { return }
        arm(earliestDeadline() ?? 0)
    }

    /// Whether the timerfd is armed (a wake is coming), for tests.
    package var isArmed: Bool {
        var current = itimerspec()
        timerfd_gettime(timerFD, &current)
        return current.it_value.tv_sec != 0 || current.it_value.tv_nsec != 0
    }

    private func earliestDeadline() -> UInt64? {
        var earliest: UInt64?
        for entry in entries where entry.deadline < earliest ?? .max { earliest = entry.deadline }
        return earliest
    }

    /// Arms the timerfd for `deadline` (monotonic ns), or disarms it for 0.
    private func arm(_ deadline: UInt64) {
        armedFor = deadline == 0 ? .max : deadline
        var spec = itimerspec()
        spec.it_value.tv_sec = Int(deadline / 1_000_000_000)
        spec.it_value.tv_nsec = Int(deadline % 1_000_000_000)
        timerfd_settime(timerFD, Int32(TFD_TIMER_ABSTIME), &spec, nil)
    }

    private func fired() {
        var expirations: UInt64 = 0
        _ = read(timerFD, &expirations, MemoryLayout<UInt64>.size)
        armedFor = .max
        let now = EventLoop.nanoseconds()
        // The due bodies, in a reused buffer (a body may schedule or cancel timers while they run).
        var due = dueScratch
        dueScratch = []
        due.removeAll(keepingCapacity: true)
        entries.removeAll { entry in
            guard entry.deadline <= now else { return false }
            due.append(entry.body)
            return true
        }
        if let next = earliestDeadline() { arm(next) }
        for body in due { body() }
        due.removeAll(keepingCapacity: true)
        dueScratch = due
    }
}
