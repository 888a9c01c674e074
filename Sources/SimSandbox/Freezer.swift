import SimCore
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// Freeze and thaw counts and latency of one sandbox (request to confirmation, per direction).
///
/// Every freeze carried out is eventually thawed, so `frozen` equals `thawed` plus one while the sandbox is
/// frozen; a latency is recorded only for a confirmed transition, and a transition superseded before its
/// confirmation (a thaw requested while the freeze was still being confirmed) is counted instead.
package struct FreezeStatistics: Sendable, Equatable {
    /// Latency of confirmed freezes.
    package var freezes = LatencyHistogram()
    /// Latency of confirmed thaws.
    package var thaws = LatencyHistogram()
    /// Freezes carried out (signals sent or the freezer written).
    package var frozen = 0
    /// Thaws carried out.
    package var thawed = 0
    /// Freezes never confirmed (thawed first, or not confirmed within 5 s): no latency recorded.
    package var freezesUnconfirmed = 0
    /// Thaws never confirmed (frozen again first, or not confirmed within 5 s): no latency recorded.
    package var thawsUnconfirmed = 0
    /// Freezes that were due but dropped, because the next invoke had already arrived.
    package var skipped = 0

    package init() {}

    /// Adds another sandbox's figures.
    package mutating func merge(_ other: FreezeStatistics) {
        freezes.merge(other.freezes)
        thaws.merge(other.thaws)
        frozen += other.frozen
        thawed += other.thawed
        freezesUnconfirmed += other.freezesUnconfirmed
        thawsUnconfirmed += other.thawsUnconfirmed
        skipped += other.skipped
    }
}

/// Holds a sandbox's processes still between invokes and releases them, measuring each transition.
///
/// `signal` stops every process group (so children the runtime forked stop too) and confirms through
/// `/proc/<pid>/stat` that every member shows `T`; `cgroup` writes the cgroup freezer and polls its state
/// file (never `cgroup.events`, which the kernel rate-limits). Loop-confined.
package final class Freezer {
    package let mode: FreezeMode
    let loop: EventLoop
    /// The sandbox's cgroup, in `cgroup` mode.
    let cgroup: SandboxCgroup?
    package private(set) var isFrozen = false
    /// What the last freeze stopped, which the thaw releases: processes do not change while stopped.
    private var frozenGroups: [Int32] = []
    private var frozenMembers: [Int32] = []
    package private(set) var statistics = FreezeStatistics()
    private var pollTimer: Timer?

    /// How long one confirmation spins (yielding the CPU) before falling back to a 1 ms timer: short, since
    /// the loop serves every other sandbox meanwhile (most stops are confirmed within tens of µs).
    static let spinNanoseconds: UInt64 = 200_000

    package init(mode: FreezeMode, loop: EventLoop, cgroup: SandboxCgroup?) {
        self.mode = mode
        self.loop = loop
        self.cgroup = cgroup
    }

    /// Freezes `groups` (process-group ids); `members` lists the pids to confirm in `signal` mode.
    package func freeze(groups: [Int32], members: [Int32]) {
        guard mode != .none, !isFrozen, !groups.isEmpty else { return }
        isFrozen = true
        statistics.frozen += 1
        if let pending = pollTimer {
            // The last thaw is still being confirmed: it ends unconfirmed.
            pending.close()
            pollTimer = nil
            statistics.thawsUnconfirmed += 1
        }
        frozenGroups = groups
        let start = EventLoop.nanoseconds()
        switch mode {
        case .none:
            return
        case .signal:
            for group in groups { kill(-group, SIGSTOP) }
            let groupSet = Set(groups)
            frozenMembers = members
            confirm(start: start, thawing: false) {
                members.allSatisfy { pid in
                    guard let state = ProcessState.read(pid) else { return true }
                    return !groupSet.contains(state.processGroup) || state.isStopped || state.state == "Z"
                }
            }
        case .cgroup:
            guard let cgroup else { return }
            cgroup.setFrozen(true)
            confirm(start: start, thawing: false) { cgroup.freezerState() == "FROZEN" }
        }
    }

    /// Thaws everything frozen by `freeze`.
    package func thaw() {
        guard isFrozen else { return }
        let groups = frozenGroups
        let members = frozenMembers
        isFrozen = false
        statistics.thawed += 1
        if let pending = pollTimer {
            // The freeze is still being confirmed: it ends unconfirmed.
            pending.close()
            pollTimer = nil
            statistics.freezesUnconfirmed += 1
        }
        let start = EventLoop.nanoseconds()
        switch mode {
        case .none:
            return
        case .signal:
            for group in groups { kill(-group, SIGCONT) }
            confirm(start: start, thawing: true) {
                members.allSatisfy { pid in
                    guard let state = ProcessState.read(pid) else { return true }
                    return !state.isStopped
                }
            }
        case .cgroup:
            guard let cgroup else { return }
            cgroup.setFrozen(false)
            confirm(start: start, thawing: true) { cgroup.freezerState() == "THAWED" }
        }
    }

    /// Polls `done` until true: spinning briefly (the usual case takes microseconds), then every
    /// millisecond so the loop keeps serving other sandboxes.
    private func confirm(start: UInt64, thawing: Bool, _ done: @escaping () -> Bool) {
        // Off the loop (benchmarks drive the freezer directly) there is no timer to fall back to: spin on.
        let spinLimit = loop.inLoop ? Self.spinNanoseconds : 5_000_000_000
        while EventLoop.nanoseconds() - start < spinLimit {
            if done() {
                record(start: start, thawing: thawing)
                return
            }
            sched_yield()
        }
        let timer = Timer(loop: loop)
        pollTimer = timer
        timer.start(afterMilliseconds: 1, repeatMilliseconds: 1) { [weak self, weak timer] in
            guard let self else { return }
            // A thaw (or a freeze) that superseded this one stops the polling.
            guard self.isFrozen != thawing else {
                timer?.close()
                self.pollTimer = nil
                return
            }
            if done() {
                timer?.close()
                self.pollTimer = nil
                self.record(start: start, thawing: thawing)
            } else if EventLoop.nanoseconds() - start > 5_000_000_000 {
                timer?.close()
                self.pollTimer = nil
                if thawing { self.statistics.thawsUnconfirmed += 1 } else { self.statistics.freezesUnconfirmed += 1 }
            }
        }
    }

    private func record(start: UInt64, thawing: Bool) {
        let elapsed = EventLoop.nanoseconds() - start
        if thawing { statistics.thaws.record(elapsed) } else { statistics.freezes.record(elapsed) }
    }

    /// Counts a freeze that was due but dropped because the next invoke had already arrived.
    package func skip() {
        if mode != .none { statistics.skipped += 1 }
    }

    /// Stops any polling.
    package func close() {
        pollTimer?.close()
        pollTimer = nil
    }
}
