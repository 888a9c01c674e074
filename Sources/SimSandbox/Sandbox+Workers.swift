import SimCore
import SimHTTP
import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// Managed instances: the workers of a multi-concurrent runtime and their logs.
///
/// Lambda Managed Instances give the runtime a Unix socket (`_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET`) to which
/// each worker connects for its own log stream (awslambdaric's workers connect twice and put the connections on
/// their stdout and stderr). A line from such a stream belongs to the invoke that worker is running: the worker is
/// the process that connected (`SO_PEERCRED`), and the sandbox notes which invoke each worker took from the process
/// on the other end of the `/next` connection it answered. Lines on the runtime's shared stdout are attributed by
/// the request id they name, when several invokes are in flight.
extension Sandbox {
    /// Opens the managed-instance log socket (its path goes into the runtime's environment).
    func openLogSocket() {
        guard let path = ProcessGroups.socketPath(sandbox: id) else {
            publish(.notice("lambda-sim: no per-worker log socket: no private state directory"), requestID: nil)
            return
        }
        do {
            logSocket = try UnixSocketServer(loop: loop, path: path) { [weak self] connection in
                self?.adoptLogConnection(connection)
            }
        } catch {
            publish(.notice("lambda-sim: no per-worker log socket: \(error)"), requestID: nil)
        }
    }

    /// Reads a worker's log stream: its lines are the runtime's, attributed to the invoke the worker runs.
    private func adoptLogConnection(_ connection: UnixSocketConnection) {
        // Only the sandbox's own processes may log here (the socket is in a private directory with mode 0600, and
        // its peer is checked as the Runtime API's are): two streams per worker (stdout, stderr), and a few to
        // spare; each buffers at most one line.
        guard connection.peerUserID == geteuid(), api.ownsProcess(connection.peerProcessID),
            logConnections.count < 2 * function.slotsPerEnvironment + 8
        else {
            connection.close()
            return
        }
        let key = ObjectIdentifier(connection)
        logConnections[key] = (connection, LineSplitter())
        let worker = connection.peerProcessID
        connection.onData = { [weak self] bytes in
            guard let self else { return }
            logConnections[key]?.1.feed(bytes) { line in self.publishWorkerLine(line, worker: worker) }
        }
        connection.onEnd = { [weak self] in
            guard let self, var entry = logConnections.removeValue(forKey: key) else { return }
            entry.1.flush { line in self.publishWorkerLine(line, worker: worker) }
        }
        connection.startReading()
    }

    private func publishWorkerLine(_ line: [UInt8], worker: Int32) {
        publish(
            .output(.runtime, String(decoding: line, as: UTF8.self)),
            requestID: machine.requestID(ofWorkerLine: line, lastTaken: workerRequests[worker]))
    }

    /// Notes which worker took `requestID`: the process on the other end of the `/next` it was answered on. Only
    /// looked up when workers have log streams of their own to attribute.
    func noteWorker(of responder: HTTPResponder, running requestID: String) {
        guard !logConnections.isEmpty, let socket = responder.socket, let pid = api.peerProcess(of: socket) else {
            return
        }
        workerRequests[pid] = requestID
    }

    /// Closes the log socket and its streams (the sandbox is gone).
    func closeLogSocket() {
        logSocket?.close()
        logSocket = nil
        for (connection, _) in logConnections.values { connection.close() }
        logConnections = [:]
        workerRequests = [:]
    }
}
