import SimCore
import SimDomain
import SimHTTP
import SimUV
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Only the sandbox's own processes may use its Runtime API (`RuntimeAPIAccess.sandbox`): as in Lambda, where the
/// API is reachable only from inside the execution environment, another local process (another function's runtime
/// above all) can neither take an invoke's payload nor post its response.
///
/// A connection is checked once, when it is accepted and before anything is read: the kernel's socket diagnostics
/// name the socket at its other end and the user that created it.
/// - A socket of another user is refused at once: the sandbox's processes run as the simulator's user.
/// - A socket of the simulator's user is admitted when one of the sandbox's processes (runtime, extensions and
///   their descendants, read again from `/proc` when the last reading does not have it) holds it. Such a walk of
///   the processes' descriptors can be long (a runtime with many descriptors or children), so walks that end in a
///   refusal are rationed (`PeerScanBudget`: at most a tenth of the time); a connection that arrives while the
///   budget is spent waits, unread, and the next walk decides every waiting connection at once.
/// - A socket no process holds any more is admitted only in the moment after the sandbox's runtime died (what it
///   sent just before dying is still read); never during init, nor in an idle sandbox.
/// Runtimes keep their connection open across invokes, so the check costs a warm invoke nothing; a runtime that
/// connects per request (the bash and curl tutorial runtime) pays it per connection.
extension RuntimeAPIHandler {
    /// Decides whether `connection` comes from one of the sandbox's processes (`.later` when the decision waits
    /// for the next walk of the processes).
    func admits(_ connection: TCPConnection) -> HTTPServer.AcceptDecision {
        switch PeerSockets.peer(of: connection) {
        case .socket(let inode, let uid):
            guard uid == geteuid() else { return refuse("it is from user \(uid)") }
            pendingPeerChecks.append((connection, inode))
            guard peerScanBudget.allows(at: clock.monotonicNanoseconds) else {
                schedulePeerChecks()
                return .later
            }
            // Decided now, with any that were waiting.
            return decidePendingPeerChecks(deciding: connection) ?? .later
        case .notFound:
            // No process holds the other end any more. The sandbox's runtime that has just died (a zombie not yet
            // reaped, or reaped a moment ago) leaves such connections: what it sent before dying (a streamed
            // response's last chunks) is still read. A runtime caught between closing its descriptors and becoming
            // a zombie looks alive: its connection waits, unread, for its exit (or is refused after
            // `ownerlessWaitMilliseconds`). Otherwise there is nothing to serve.
            if runtimeDiedJustNow { return .serve }
            guard supervisor.runtimeAlive, pendingOwnerless.count < Self.ownerlessWaitingLimit else {
                return refuse("its other end could not be found")
            }
            pendingOwnerless.append(connection)
            if ownerlessTimer == nil {
                ownerlessTimer = loop.schedule(afterMilliseconds: Self.ownerlessWaitMilliseconds) { [weak self] in
                    guard let self else { return }
                    ownerlessTimer = nil
                    let refused = pendingOwnerless
                    pendingOwnerless.removeAll()
                    for connection in refused {
                        _ = refuse("its other end could not be found")
                        server?.refuse(connection) ?? connection.close()
                    }
                }
            }
            return .later
        case .unavailable(let code):
            // Without socket diagnostics there is no way to tell; serve, and say once that isolation is off.
            if Self.diagnosticsUnavailableReported.exchange(true, ordering: .relaxed) == false {
                sandbox?.publish(
                    .notice(
                        "lambda-sim: Runtime API isolation is off: socket diagnostics are unavailable"
                            + " (\(String(cString: strerror(code)))); any local process can use the Runtime API"),
                    requestID: nil)
            }
            return .serve
        }
    }

    /// Walks the sandbox's processes once for every waiting connection: admitted ones are served (or, for
    /// `deciding`, returned as `.serve`), the others refused. Returns the decision for `deciding` when it was among
    /// them.
    @discardableResult
    func decidePendingPeerChecks(deciding: TCPConnection? = nil) -> HTTPServer.AcceptDecision? {
        let waiting = pendingPeerChecks
        pendingPeerChecks.removeAll()
        guard !waiting.isEmpty else { return nil }
        let start = clock.monotonicNanoseconds
        let holders = processes(holdingSockets: Set(waiting.map(\.inode)))
        var refused = false
        var decision: HTTPServer.AcceptDecision?
        for (connection, inode) in waiting {
            let verdict: HTTPServer.AcceptDecision
            if let pid = holders[inode] {
                connection.peerProcessID = pid
                verdict = .serve
            } else {
                refused = true
                verdict = refuse("it is not from one of the sandbox's processes")
            }
            if connection === deciding {
                decision = verdict
            } else if verdict == .serve, let server {
                server.serve(connection)
            } else {
                server?.refuse(connection) ?? connection.close()
            }
        }
        if refused { peerScanBudget.refusedAfterScan(from: start, to: clock.monotonicNanoseconds) }
        return decision
    }

    /// Arms the timer that decides the waiting connections once the budget allows another walk.
    private func schedulePeerChecks() {
        guard peerCheckTimer == nil else { return }
        let wait = peerScanBudget.wait(at: clock.monotonicNanoseconds)
        peerCheckTimer = loop.schedule(afterMilliseconds: max(1, (wait + 999_999) / 1_000_000)) { [weak self] in
            guard let self else { return }
            peerCheckTimer = nil
            decidePendingPeerChecks()
        }
    }

    /// Closes the connections still waiting for a decision (the sandbox is going away).
    func dropPendingPeerChecks() {
        peerCheckTimer?.close()
        peerCheckTimer = nil
        for (connection, _) in pendingPeerChecks { connection.close() }
        pendingPeerChecks.removeAll()
        ownerlessTimer?.close()
        ownerlessTimer = nil
        for connection in pendingOwnerless { connection.close() }
        pendingOwnerless.removeAll()
    }

    /// The runtime has exited (seen now): the connections no process held that waited for that are its own, and are
    /// served.
    func runtimeExited() {
        runtimeExitedAt = clock.monotonicNanoseconds
        ownerlessTimer?.close()
        ownerlessTimer = nil
        let admitted = pendingOwnerless
        pendingOwnerless.removeAll()
        for connection in admitted {
            if let server { server.serve(connection) } else { connection.close() }
        }
    }

    /// How long a connection no process holds waits for a running runtime's exit: 100 ms.
    static let ownerlessWaitMilliseconds: UInt64 = 100
    /// How many such connections may wait at once; more are refused at once.
    static let ownerlessWaitingLimit = 16

    /// The sandbox's process that holds socket `inode`: the runtime, an extension, or a descendant (the tree is read
    /// again when the last reading does not have it).
    func process(holdingSocket inode: UInt64) -> Int32? {
        processes(holdingSockets: [inode])[inode]
    }

    /// Which of the sandbox's processes holds each socket of `inodes` (the tree is read again when the last reading
    /// does not place them all).
    private func processes(holdingSockets inodes: Set<UInt64>) -> [UInt64: Int32] {
        let processTree = supervisor.processTree
        let roots = supervisor.processRoots
        var candidates = roots
        for pid in processTree.pids where !roots.contains(pid) { candidates.append(pid) }
        var found = PeerSockets.holders(of: inodes, among: candidates)
        guard found.count < inodes.count else { return found }
        // A process started since the tree was last read.
        _ = processTree.measure(roots: roots)
        let newcomers = processTree.pids.filter { !candidates.contains($0) }
        if !newcomers.isEmpty {
            let rest = inodes.subtracting(found.keys)
            found.merge(PeerSockets.holders(of: rest, among: newcomers)) { first, _ in first }
        }
        return found
    }

    /// Whether `pid` is one of the sandbox's processes: the runtime, an extension, or a descendant (the tree is read
    /// again when the last reading does not have it).
    func ownsProcess(_ pid: Int32) -> Bool {
        guard pid > 1 else { return false }
        let processTree = supervisor.processTree
        if supervisor.processRoots.contains(pid) || processTree.pids.contains(pid) { return true }
        _ = processTree.measure(roots: supervisor.processRoots)
        return processTree.pids.contains(pid)
    }

    /// The sandbox's process on the other end of `connection`, looked up once per connection; nil if none is.
    func peerProcess(of connection: TCPConnection) -> Int32? {
        if connection.peerProcessID == 0 {
            connection.peerProcessID = -1
            if case .socket(let inode, _) = PeerSockets.peer(of: connection), let pid = process(holdingSocket: inode) {
                connection.peerProcessID = pid
            }
        }
        return connection.peerProcessID > 0 ? connection.peerProcessID : nil
    }

    /// True in the moment after the runtime died: it has exited but is not reaped yet, or its exit was seen less
    /// than `ownerlessWindowNanoseconds` ago. False while it runs, before it started and long after it died.
    private var runtimeDiedJustNow: Bool {
        if let runtime = supervisor.runtime, runtime.exitStatus == nil { return runtime.hasExitedUnreaped }
        guard let diedAt = runtimeExitedAt else { return false }
        return clock.monotonicNanoseconds &- diedAt < Self.ownerlessWindowNanoseconds
    }

    /// How long after the runtime's death a connection that no process holds is still served: 500 ms.
    static let ownerlessWindowNanoseconds: UInt64 = 500_000_000

    /// Counts a refused connection and logs the first few; returns `.refuse`.
    private func refuse(_ reason: String) -> HTTPServer.AcceptDecision {
        refusedConnections += 1
        if refusedConnections <= Self.refusalsLogged {
            let last = refusedConnections == Self.refusalsLogged ? " (further refusals are not logged)" : ""
            sandbox?.publish(.notice("lambda-sim: refused a Runtime API connection: \(reason)\(last)"), requestID: nil)
        }
        return .refuse
    }

    /// Refusals logged per sandbox.
    static let refusalsLogged = 5

    /// The notice that socket diagnostics are unavailable is printed once per process.
    static let diagnosticsUnavailableReported = Atomic<Bool>(false)
}

/// How often a sandbox may walk its processes' descriptors for connections it ends up refusing: a walk that refused
/// a connection and took `d` is followed by at least `9 d` without walks, so refusals take at most a tenth of the
/// loop's time however many connections a local process makes. Walks that only admit cost nothing from the budget
/// (they are the sandbox's own traffic).
///
///     open ---- walk refused (took d) at t ----> spent until t + 9 d ---- time passes ----> open
struct PeerScanBudget {
    /// Monotonic nanoseconds before which no walk may run.
    private(set) var nextWalk: UInt64 = 0

    /// The share of time walks that refuse may take: 1 in `share`.
    static let share: UInt64 = 10

    /// Whether a walk may run at `now`.
    func allows(at now: UInt64) -> Bool { now >= nextWalk }

    /// Nanoseconds from `now` until a walk may run (0 when one may now).
    func wait(at now: UInt64) -> UInt64 { nextWalk > now ? nextWalk - now : 0 }

    /// Records a walk from `start` to `end` that refused at least one connection.
    mutating func refusedAfterScan(from start: UInt64, to end: UInt64) {
        nextWalk = end + (end &- start) * (Self.share - 1)
    }
}
