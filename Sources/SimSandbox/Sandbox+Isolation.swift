import SimCore
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
/// name the socket at its other end, and it is admitted when one of the sandbox's processes (runtime, extensions
/// and their descendants, read again from `/proc` when the last reading does not have it) holds that socket.
/// Runtimes keep their connection open across invokes, so the check costs a warm invoke nothing; a runtime that
/// connects per request (the bash and curl tutorial runtime) pays it per connection.
extension Sandbox {
    /// Whether `connection` comes from one of the sandbox's processes.
    func admits(_ connection: TCPConnection) -> Bool {
        let inode: UInt64
        switch PeerSockets.peer(of: connection) {
        case .inode(let found):
            inode = found
        case .notFound:
            // No process holds the other end any more. The sandbox's runtime that has just died (a zombie not yet
            // reaped, or reaped) leaves such connections: what it sent before dying (a streamed response's last
            // chunks) is still read. Otherwise there is nothing to serve.
            if runtimeHasDied { return true }
            return refuse("its other end could not be found")
        case .unavailable(let code):
            // Without socket diagnostics there is no way to tell; serve, and say once that isolation is off.
            if Self.diagnosticsUnavailableReported.exchange(true, ordering: .relaxed) == false {
                publish(
                    .notice(
                        "lambda-sim: Runtime API isolation is off: socket diagnostics are unavailable"
                            + " (\(String(cString: strerror(code)))); any local process can use the Runtime API"),
                    requestID: nil)
            }
            return true
        }
        guard let pid = process(holdingSocket: inode) else {
            return refuse("it is not from one of the sandbox's processes")
        }
        connection.peerProcessID = pid
        return true
    }

    /// The sandbox's process that holds socket `inode`: the runtime, an extension, or a descendant (the tree is read
    /// again when the last reading does not have it).
    func process(holdingSocket inode: UInt64) -> Int32? {
        var checked = processRoots
        for pid in checked where PeerSockets.process(pid, holdsSocket: inode) { return pid }
        for pid in processTree.pids where !checked.contains(pid) {
            if PeerSockets.process(pid, holdsSocket: inode) { return pid }
            checked.append(pid)
        }
        // A process started since the tree was last read.
        _ = processTree.measure(roots: processRoots)
        for pid in processTree.pids where !checked.contains(pid) {
            if PeerSockets.process(pid, holdsSocket: inode) { return pid }
        }
        return nil
    }

    /// The sandbox's process on the other end of `connection`, looked up once per connection; nil if none is.
    func peerProcess(of connection: TCPConnection) -> Int32? {
        if connection.peerProcessID == 0 {
            connection.peerProcessID = -1
            if case .inode(let inode) = PeerSockets.peer(of: connection), let pid = process(holdingSocket: inode) {
                connection.peerProcessID = pid
            }
        }
        return connection.peerProcessID > 0 ? connection.peerProcessID : nil
    }

    /// True when the runtime process has exited (reaped, or a zombie not yet reaped).
    private var runtimeHasDied: Bool {
        guard let runtime else { return true }
        guard runtime.exitStatus == nil, let state = ProcessState.read(runtime.pid) else { return true }
        return state.state == "Z" || state.state == "X"
    }

    /// Counts a refused connection and logs the first few; returns false.
    private func refuse(_ reason: String) -> Bool {
        refusedConnections += 1
        if refusedConnections <= Self.refusalsLogged {
            let last = refusedConnections == Self.refusalsLogged ? " (further refusals are not logged)" : ""
            publish(.notice("lambda-sim: refused a Runtime API connection: \(reason)\(last)"), requestID: nil)
        }
        return false
    }

    /// Refusals logged per sandbox.
    static let refusalsLogged = 5

    /// The notice that socket diagnostics are unavailable is printed once per process.
    static let diagnosticsUnavailableReported = Atomic<Bool>(false)
}
