import SimSandbox

#if canImport(Glibc)
    import Glibc
#endif

/// A process `Simulator.spawn` started in a sandbox: its pid, a wait for its exit and a way to signal it.
///
/// The process belongs to its sandbox (its output is logged, its exit ends the init or invoke as a crash does, and
/// it is stopped with the simulator); the handle only observes it. It is told apart from a later process that
/// reuses its pid by its start time.
public struct SpawnedProcess: Sendable, Hashable {
    /// The process id.
    public let pid: Int32
    /// Its start time (clock ticks after boot, `/proc/PID/stat` field 22), to tell it from a reuse of its pid.
    let startTime: UInt64?
    /// The simulator whose loop reaps it: signals are sent there, so that it cannot be reaped in between.
    let simulator: SimulatorLoop

    init(pid: Int32, simulator: SimulatorLoop) {
        self.pid = pid
        self.startTime = Self.startTime(of: pid)
        self.simulator = simulator
    }

    /// Whether it has not exited yet.
    public var isRunning: Bool {
        guard let stat = Self.stat(of: pid), stat.startTime == startTime else { return false }
        return stat.state != "Z" && stat.state != "X"
    }

    /// Sends `signal` (`SIGTERM`, `SIGSTOP`, …) to it; returns false when it has already exited (and sends nothing).
    @discardableResult
    public func signal(_ signal: Int32) async -> Bool {
        // Exited (which every process of a stopped simulator has): nothing to send, and no hop to a loop that may
        // have ended.
        guard isRunning else { return false }
        let pid = pid
        let startTime = startTime
        let simulator = simulator
        // A stopped simulator's loop takes no more work (its processes have all exited anyway).
        let sent = try? await simulator.gate.pass("signal") {
            await simulator.run {
                // On the loop thread, which alone reaps the sandbox's children: a process seen here with its start
                // time is this one (alive or a zombie) until the loop reaps it, so the pid cannot be reused meanwhile.
                guard let stat = Self.stat(of: pid), stat.startTime == startTime, stat.state != "Z", stat.state != "X"
                else { return false }
                return kill(pid, signal) == 0
            }
        }
        return sent ?? false
    }

    /// Waits until it has exited, looking every `pollInterval`. Throws `SimulatorEventStream.WaitError.timedOut`
    /// when `timeout` passes first, and `CancellationError` when the waiting task is cancelled.
    public func waitForExit(timeout: Duration = .seconds(30), pollInterval: Duration = .milliseconds(10))
        async throws
    {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            guard ContinuousClock.now < deadline else {
                throw SimulatorEventStream.WaitError.timedOut(waitingFor: "exit of process \(pid)", after: timeout)
            }
            try await Task.sleep(for: pollInterval)
        }
    }

    /// Equal when they are the same process.
    public static func == (lhs: SpawnedProcess, rhs: SpawnedProcess) -> Bool {
        lhs.pid == rhs.pid && lhs.startTime == rhs.startTime
    }

    /// Hashes the process's identity.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(pid)
        hasher.combine(startTime)
    }

    private static func startTime(of pid: Int32) -> UInt64? { stat(of: pid)?.startTime }

    /// The state letter and start time of `/proc/PID/stat`; nil when there is no such process.
    private static func stat(of pid: Int32) -> (state: Character, startTime: UInt64)? {
        guard let text = SmallFiles.readSmallFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else {
            return nil
        }
        // After the command's closing parenthesis: field 3 (state) onwards; the start time is field 22.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return (state, start)
    }
}
