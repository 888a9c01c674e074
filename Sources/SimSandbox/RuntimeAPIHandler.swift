import SimCore
import SimDomain
import SimHTTP
import SimUV

/// The sandbox's Runtime API (2018-06-01) and Extensions API (2020-01-01): its HTTP server on the sandbox's own
/// loopback address, the runtime's and extensions' held long-polls, the streamed responses being read, and the
/// check that a connection comes from one of the sandbox's processes.
///
/// Loop-confined and owned by its `Sandbox`: each request becomes an event for the sandbox's machine (reached
/// through a weak reference), and the machine's answer is sent; it decides nothing about the sandbox's lifecycle.
final class RuntimeAPIHandler {
    let loop: EventLoop
    let clock: any SimClock
    /// The processes whose connections are admitted (`RuntimeAPIHandler+Isolation`).
    let supervisor: ProcessSupervisor
    /// The sandbox whose machine the requests feed.
    weak var sandbox: Sandbox?
    var server: HTTPServer?
    /// `host:port` of the Runtime API.
    private(set) var address = ""
    /// The runtime's held `/next` calls, oldest first.
    var runtimeWaiters: [HTTPResponder] = []
    /// The extensions' held `/event/next` calls, by extension id.
    var extensionWaiters: [String: HTTPResponder] = [:]
    /// The bodies of streamed responses being read, by request id, while they are.
    var activeResponseStreams: [String: HTTPBodyStream] = [:]
    /// Runtime API connections refused because they did not come from the sandbox's processes.
    var refusedConnections = 0
    /// Connections of the simulator's user waiting, unread, for the next walk of the processes' descriptors
    /// (`RuntimeAPIHandler+Isolation`), the walks' budget, and the timer of the next walk.
    var pendingPeerChecks: [(connection: TCPConnection, inode: UInt64)] = []
    var peerScanBudget = PeerScanBudget()
    var peerCheckTimer: Timer?
    /// Connections no process holds, waiting for the running runtime's exit (`RuntimeAPIHandler+Isolation`).
    var pendingOwnerless: [TCPConnection] = []
    var ownerlessTimer: Timer?
    /// When the last runtime's exit was seen (monotonic nanoseconds), for the moment after it in which connections
    /// no process holds are still read.
    var runtimeExitedAt: UInt64?

    /// Starts the Runtime API for `function` on the loop's shared listener (the sandbox's own loopback address, no
    /// descriptor of its own).
    init(loop: EventLoop, function: FunctionSpec, clock: any SimClock, supervisor: ProcessSupervisor) throws {
        self.loop = loop
        self.clock = clock
        self.supervisor = supervisor
        var configuration = HTTPServer.Configuration()
        configuration.maxBodyBytes = Limits.maxResponseBytes
        // Runtimes keep one connection across long handler runs and frozen periods: never idle it out.
        configuration.idleTimeoutMilliseconds = 24 * 3600 * 1000
        // A response body may take as long as the function may (its timeout resets the sandbox); headers may not.
        configuration.bodyStallTimeoutMilliseconds = 24 * 3600 * 1000
        configuration.requestTimeoutMilliseconds = 24 * 3600 * 1000
        // The runtime's and extensions' connections (at most 10 extensions, each with a few).
        configuration.maxConnections = max(128, 4 * function.slotsPerEnvironment + 64)
        // A streamed response is read as it arrives, and passed on (or gathered) as it is.
        configuration.streamsRequestBody = { method, target, headers in
            method == "POST" && headers[RuntimeAPIResponses.responseModeHeader] == "streaming"
                && target.hasSuffix("/response")
        }
        let server = try HTTPServer(loopbackOn: loop, configuration: configuration) { [weak self] request, responder in
            self?.handle(request, responder)
        }
        self.server = server
        self.address = "\(server.host):\(server.port)"
        if function.runtimeAPIAccess == .sandbox {
            server.acceptFilter = { [weak self] connection in self?.admits(connection) ?? .refuse }
        }
    }

    /// Whether a streamed response's body is still being read.
    var streamBeingRead: Bool { activeResponseStreams.values.contains { !$0.isEnded } }

    /// Whether the Runtime API has input the loop has not read yet.
    var hasUnreadInput: Bool { server?.hasUnreadInput == true }

    /// Answers the first held `/next` still open with `invocation`; false when no runtime is waiting. A managed
    /// instance's closed waiters are reported to the machine as they are passed over.
    func dispatch(_ invocation: Invocation, deadline: Int64, invocationID: String, _ sandbox: Sandbox) -> Bool {
        let managed = sandbox.function.isManagedInstance
        while !runtimeWaiters.isEmpty {
            let waiter = runtimeWaiters.removeFirst()
            if waiter.isConnectionOpen && !waiter.isCompleted {
                RuntimeAPIResponses.sendNext(
                    invocation, deadlineEpochMilliseconds: deadline, invocationID: invocationID, to: waiter)
                if managed { sandbox.noteWorker(of: waiter, running: invocation.requestID) }
                return true
            }
            if managed { sandbox.machine.runtimeNextAbandoned() }
        }
        return false
    }

    /// Answers the extension `id`'s held `/event/next` with `event`.
    func sendExtensionEvent(_ event: ExtensionEvent, to id: String) {
        if let waiter = extensionWaiters.removeValue(forKey: id), !waiter.isCompleted {
            waiter.send(ExtensionAPIResponses.event(event))
        }
    }

    /// A shutdown begins: a runtime blocked in `/next` is left blocked, as Lambda leaves it (it learns of the
    /// shutdown from SIGTERM; answering its `/next` with a 500 made runtimes exit on their own and race their own
    /// SIGTERM handling). Its connection closes when the process dies.
    func forgetRuntimeWaiters() { runtimeWaiters.removeAll() }

    /// The processes are gone: held `/event/next` calls get a 500.
    func failExtensionWaiters() {
        for waiter in extensionWaiters.values where !waiter.isCompleted {
            waiter.send(RuntimeAPIResponses.error(.internalError))
        }
        extensionWaiters.removeAll()
    }

    /// Closes the server and the connections waiting for a decision (the sandbox is gone).
    func close() {
        dropPendingPeerChecks()
        server?.close()
        server = nil
    }
}
