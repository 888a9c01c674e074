import SimCore
import SimDomain
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

/// Holds a sandbox's processes still between invokes and releases them, measuring each transition without
/// ever waiting on the loop thread.
///
/// `signal` stops (continues) every process group, so children the runtime forked stop too, and every process that
/// left the groups with `setsid`. The transition is
/// confirmed when every member is stopped (running): the simulator's own children report it to `waitid`, other
/// members (the runtime's children) are read from `/proc/<pid>/stat`. `cgroup` writes the cgroup freezer and
/// reads its state file (never `cgroup.events`, which the kernel rate-limits). A thaw is checked at once (the
/// kernel resumes stopped tasks, and thaws a cgroup, within the system call); a freeze needs every task to be
/// scheduled, so it is checked on the loop's microsecond timers at 20, 40, 80 … 640 µs and then every
/// millisecond: a latency is the time to the first check that saw the transition done. Nothing here listens to
/// `SIGCHLD`, so a freeze costs the simulator no signal delivery. Loop-confined.
package final class Freezer {
    package let mode: FreezeMode
    let loop: EventLoop
    /// The sandbox's cgroup, in `cgroup` mode.
    let cgroup: SandboxCgroup?
    package private(set) var isFrozen = false
    package private(set) var statistics = FreezeStatistics()
    /// Called with every confirmed (or abandoned) transition.
    package var onTransition: ((FreezeTransition) -> Void)?
    /// What the last freeze stopped, which the thaw releases: processes do not change while stopped.
    private var frozenGroups: [Int32] = []
    private var frozenSingles: [Int32] = []
    private var frozenMembers: [Int32] = []
    /// Members that are the simulator's own children, whose state changes `waitid` reports.
    private var directChildren: [Int32] = []
    private var pending: Pending?

    /// A transition being confirmed.
    private struct Pending {
        var thawing: Bool
        var start: UInt64
        /// Members not yet seen in the target state (`signal` mode).
        var unconfirmed: [Int32]
        /// Checks scheduled so far, for the backoff.
        var checks = 0
        var timerToken: Int?
    }

    /// Give up confirming after this long.
    static let confirmationLimitNanoseconds: UInt64 = 5_000_000_000

    package init(mode: FreezeMode, loop: EventLoop, cgroup: SandboxCgroup?) {
        self.mode = mode
        self.loop = loop
        self.cgroup = cgroup
    }

    /// Freezes `groups` (process-group ids) and `singles` (processes outside them, which called `setsid`);
    /// `members` are the pids to confirm in `signal` mode, of which `directChildren` were started by the simulator.
    package func freeze(groups: [Int32], singles: [Int32] = [], members: [Int32], directChildren: [Int32] = []) {
        guard mode != .none, !isFrozen, !groups.isEmpty else { return }
        abandonPending()
        isFrozen = true
        statistics.frozen += 1
        frozenGroups = groups
        frozenSingles = singles
        frozenMembers = members
        self.directChildren = directChildren
        let start = EventLoop.nanoseconds()
        switch mode {
        case .none: return
        case .signal:
            for group in groups { kill(-group, SIGSTOP) }
            for pid in singles { kill(pid, SIGSTOP) }
        case .cgroup: cgroup?.setFrozen(true)
        }
        begin(Pending(thawing: false, start: start, unconfirmed: members))
    }

    /// Thaws everything frozen by `freeze`.
    package func thaw() {
        guard isFrozen else { return }
        abandonPending()
        isFrozen = false
        statistics.thawed += 1
        let start = EventLoop.nanoseconds()
        switch mode {
        case .none: return
        case .signal:
            for group in frozenGroups { kill(-group, SIGCONT) }
            for pid in frozenSingles { kill(pid, SIGCONT) }
        case .cgroup: cgroup?.setFrozen(false)
        }
        begin(Pending(thawing: true, start: start, unconfirmed: frozenMembers))
    }

    /// Counts a freeze that was due but dropped because the next invoke had already arrived.
    package func skip() {
        if mode != .none { statistics.skipped += 1 }
    }

    /// Stops any confirmation in progress.
    package func close() {
        guard var pending else { return }
        cancelWatches(&pending)
        self.pending = nil
    }

    // MARK: - Confirmation

    private func begin(_ transition: Pending) {
        pending = transition
        if transition.thawing { check() } else { scheduleCheck() }
    }

    /// 20, 40, 80, 160, 320, 640 µs, then every millisecond.
    private func scheduleCheck() {
        guard let checks = pending?.checks else { return }
        let delay: UInt64 = checks < 6 ? 20_000 << UInt64(checks) : 1_000_000
        pending?.checks += 1
        if let timers = FineTimers.of(loop) {
            pending?.timerToken = timers.schedule(afterNanoseconds: delay) { [weak self] in
                self?.pending?.timerToken = nil
                self?.check()
            }
        } else {
            loop.schedule(afterMilliseconds: max(1, delay / 1_000_000)) { [weak self] in self?.check() }
        }
    }

    private func check() {
        guard var current = pending else { return }
        let done: Bool
        switch mode {
        case .none:
            done = true
        case .signal:
            current.unconfirmed.removeAll { pid in
                reached(pid, stopped: !current.thawing)
            }
            done = current.unconfirmed.isEmpty
        case .cgroup:
            let state = cgroup?.freezerState() ?? .thawed
            done = current.thawing ? state == .thawed : state == .frozen
        }
        pending = current
        if done {
            finish(confirmed: true)
        } else if EventLoop.nanoseconds() - current.start > Self.confirmationLimitNanoseconds {
            finish(confirmed: false)
        } else if current.timerToken == nil {
            scheduleCheck()
        }
    }

    /// Whether `pid` is stopped (or running again), or gone.
    private func reached(_ pid: Int32, stopped: Bool) -> Bool {
        if directChildren.contains(pid) {
            var info = siginfo_t()
            let flags = (stopped ? WSTOPPED : WCONTINUED) | WNOHANG
            if waitid(P_PID, id_t(pid), &info, flags) == 0 {
                // A reported change is the one asked for; none yet means not yet.
                if info._sifields._sigchld.si_pid == pid { return true }
                return Self.procState(pid, stopped: stopped)
            }
        }
        return Self.procState(pid, stopped: stopped)
    }

    private static func procState(_ pid: Int32, stopped: Bool) -> Bool {
        guard let state = ProcessState.read(pid) else { return true }
        if state.state == "Z" || state.state == "X" { return true }
        return stopped ? state.isStopped : !state.isStopped
    }

    private func finish(confirmed: Bool) {
        guard var current = pending else { return }
        cancelWatches(&current)
        pending = nil
        let elapsed = EventLoop.nanoseconds() - current.start
        if confirmed {
            if current.thawing { statistics.thaws.record(elapsed) } else { statistics.freezes.record(elapsed) }
        } else if current.thawing {
            statistics.thawsUnconfirmed += 1
        } else {
            statistics.freezesUnconfirmed += 1
        }
        let latency: UInt64? = confirmed ? elapsed : nil
        onTransition?(current.thawing ? .thawed(nanoseconds: latency) : .frozen(nanoseconds: latency))
    }

    /// A new transition supersedes the one being confirmed: that one ends unconfirmed.
    private func abandonPending() {
        guard pending != nil else { return }
        finish(confirmed: false)
    }

    private func cancelWatches(_ transition: inout Pending) {
        if let token = transition.timerToken { FineTimers.of(loop)?.cancel(token) }
        transition.timerToken = nil
    }
}
