// Helpers for the freeze tests: the functions they run, probes of /proc and of the cgroup hierarchy, polling,
// and the built `lambda-sim` binary run as a long-lived child.

import Foundation
import LambdaSim
import SimCore
import SimUV
import Synchronization

/// Paths the freeze tests depend on.
enum FreezePaths {
    /// `Tests/IntegrationTests/Fixtures/freeze`, the Python freeze handlers' folder.
    static let fixtures = TestPaths.fixtures + "/freeze"

    /// The built `lambda-sim` command, next to the test binary like the fixture runtime.
    static let lambdaSim = TestPaths.binDirectory + "/lambda-sim"

    /// The v1 cgroup directory of a sandbox for `controller` (`freezer`, `memory`, `pids`).
    static func cgroup(_ controller: String, name: String) -> String {
        "/sys/fs/cgroup/\(controller)/lambda-sim/\(name)"
    }

    /// The unified (v2) hierarchy beside v1's controllers, where lambda-sim freezes when it can.
    static let unified = "/sys/fs/cgroup/unified"

    /// The freezer cgroup of sandbox cgroup `name`: the v2 one in the unified hierarchy when lambda-sim made one,
    /// else the v1 freezer controller's.
    static func freezer(name: String) -> String {
        let v2 = "\(unified)/lambda-sim/\(name)"
        return access(v2, F_OK) == 0 ? v2 : cgroup("freezer", name: name)
    }

    /// True when the freezer cgroup `directory` (v1 or v2) reports its processes frozen.
    static func isFrozen(_ directory: String) -> Bool {
        if let events = ProcProbe.read(directory + "/cgroup.events") {
            return events.split(separator: "\n").contains("frozen 1")
        }
        return ProcProbe.read(directory + "/freezer.state") == "FROZEN"
    }

    /// The sandbox cgroup name a simulator in this process gives sandbox `id`: `<pid>-<id>`.
    static func cgroupName(sandbox id: String) -> String { "\(getpid())-\(id)" }
}

extension TestFunctions {
    /// A function running awslambdaric with `handler` from `Fixtures/freeze`, frozen with `freeze`.
    static func freezePython(
        _ handler: String, freeze: FreezeMode, memorySizeMB: Int = 128, environment: [(String, String)] = []
    ) -> FunctionOptions {
        FunctionOptions(
            name: "py", command: [TestPaths.python, "-m", "awslambdaric", handler],
            codeDirectory: FreezePaths.fixtures, handler: handler, runtime: "python3.11",
            memorySizeMB: memorySizeMB, timeoutSeconds: 20, environment: EnvironmentVariables(environment),
            inheritedEnvironment: TestPaths.inheritedEnvironment, freezeMode: freeze)
    }

    /// A function running the native fixture runtime, frozen with `freeze`.
    static func freezeFixture(freeze: FreezeMode, memorySizeMB: Int = 128) -> FunctionOptions {
        FunctionOptions(
            name: "fn", command: [TestPaths.fixtureRuntime], codeDirectory: TestPaths.binDirectory,
            runtime: "provided.al2023", memorySizeMB: memorySizeMB, timeoutSeconds: 20,
            inheritedEnvironment: TestPaths.inheritedEnvironment, freezeMode: freeze)
    }
}

/// Reads of `/proc` and of small kernel files.
enum ProcProbe {
    /// A small file's text without trailing newlines, or nil when it cannot be read.
    static func read(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return String(text.reversed().drop { $0 == "\n" }.reversed())
    }

    /// The resident memory of `pid` in bytes (`VmRSS` of `/proc/<pid>/status`), or nil when it is gone.
    static func residentBytes(_ pid: Int32) -> Int? {
        guard let status = read("/proc/\(pid)/status") else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") }.map { $0 * 1024 }
    }

    /// The scheduler state letter of `pid`: field 3 of `/proc/<pid>/stat`, the first after the last `)`.
    static func state(_ pid: Int32) -> Character? {
        guard let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first?.first
    }

    /// True once `pid` no longer exists at all (`kill(pid, 0)` fails with ESRCH; a zombie still exists).
    static func isGone(_ pid: Int32) -> Bool { kill(pid, 0) != 0 && errno == ESRCH }

    /// Children of `pid`, from `/proc/<pid>/task/*/children`.
    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            (read("/proc/\(pid)/task/\(task)/children") ?? "").split(separator: " ").compactMap { Int32($0) }
        }
    }

    /// Every descendant of `pid`, except a simulator's guardian process (`sim-guardian`, see `ProcessGroups`).
    static func descendants(of pid: Int32) -> [Int32] {
        var result: [Int32] = []
        var pending = children(of: pid).filter { read("/proc/\($0)/comm") != "sim-guardian" }
        while let next = pending.popLast() {
            result.append(next)
            pending += children(of: next)
        }
        return result
    }

    /// Waits up to `timeout` for every pid to be gone (pid 1 may reap orphans slowly); returns those left. With
    /// `zombiesAreGone`, an exited process that no one reaped counts as gone (it neither runs nor is stopped; this
    /// machine's pid 1 never reaps orphans).
    static func waitUntilGone(
        _ pids: [Int32], timeout: Duration = .seconds(20), zombiesAreGone: Bool = false
    ) async throws -> [Int32] {
        var alive = pids
        let deadline = ContinuousClock.now + timeout
        while true {
            alive = alive.filter { !isGone($0) && !(zombiesAreGone && state($0) == "Z") }
            if alive.isEmpty || ContinuousClock.now >= deadline { return alive }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// `pid` with its state letter, for failure messages.
    static func describe(_ pid: Int32) -> String { "\(pid) \(state(pid).map(String.init) ?? "gone")" }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// A long-lived helper process (a `lambda-sim` server) on the clients' loop, with its output collected.
final class BackgroundProcess: Sendable {
    private struct Output {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var status: ExitStatus?
    }

    /// What the child printed and how it ended, shared with the loop thread.
    private final class Collected: Sendable {
        let output = Mutex(Output())
    }

    /// Holds the libuv child on the loop thread until it exits.
    private final class Holder: @unchecked Sendable {
        var process: ChildProcess?
    }

    /// The child's pid, also its process-group id.
    let pid: Int32
    private let collected: Collected

    private init(pid: Int32, collected: Collected) {
        self.pid = pid
        self.collected = collected
    }

    /// Starts `arguments` (an absolute program path first) with `environment` (`KEY=value`).
    static func start(_ arguments: [String], environment: [String] = TestPaths.environment()) async throws
        -> BackgroundProcess
    {
        let loop = ClientLoop.shared
        let holder = Holder()
        let collected = Collected()
        let pid = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            loop.submit {
                do {
                    let process = try ChildProcess(
                        loop: loop, spec: ProcessSpec(arguments: arguments, environment: environment))
                    holder.process = process
                    process.onStdout = { bytes in collected.output.withLock { $0.stdout.append(contentsOf: bytes) } }
                    process.onStderr = { bytes in collected.output.withLock { $0.stderr.append(contentsOf: bytes) } }
                    process.onExit = { status in
                        // Let the next poll read what is left in the pipes before reporting the exit.
                        loop.schedule(afterMilliseconds: 0) {
                            loop.schedule(afterMilliseconds: 1) {
                                holder.process?.closePipes()
                                holder.process = nil
                                collected.output.withLock { $0.status = status }
                            }
                        }
                    }
                    continuation.resume(returning: process.pid)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        return BackgroundProcess(pid: pid, collected: collected)
    }

    /// What it printed on stdout so far.
    var stdout: String { collected.output.withLock { String(decoding: $0.stdout, as: UTF8.self) } }

    /// What it printed on stderr so far.
    var stderr: String { collected.output.withLock { String(decoding: $0.stderr, as: UTF8.self) } }

    /// How it ended, once it has.
    var status: ExitStatus? { collected.output.withLock { $0.status } }

    /// Sends `signal` to the process.
    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits up to `timeout` for a stdout line starting with `prefix`; returns that line.
    func waitForLine(prefix: String, timeout: Duration = .seconds(20)) async throws -> String? {
        var found: String?
        _ = try await eventually(timeout: timeout) {
            found = stdout.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
            return found != nil || status != nil
        }
        return found
    }

    /// Waits up to `timeout` for the exit; nil if it is still running.
    func waitForExit(timeout: Duration = .seconds(20)) async throws -> ExitStatus? {
        _ = try await eventually(timeout: timeout) { status != nil }
        return status
    }

    /// Starts `lambda-sim run --port 0 --freeze <mode> [extra] -- <command>` and waits for its Invoke API;
    /// returns the process and the front port.
    static func lambdaSim(freeze: FreezeMode, extra: [String] = [], command: [String]) async throws
        -> (BackgroundProcess, Int)
    {
        let arguments =
            [FreezePaths.lambdaSim, "run", "--port", "0", "--freeze", freeze.rawValue, "--timeout", "20"] + extra
            + ["--"] + command
        let process = try await start(arguments)
        return (process, try await process.frontPort())
    }

    /// Waits for a `lambda-sim run` or `serve` process's banner and returns its Invoke API port; kills it and throws
    /// when it does not start.
    func frontPort() async throws -> Int {
        let prefix = "lambda-sim: Invoke API listening on http://127.0.0.1:"
        guard let line = try await waitForLine(prefix: prefix),
            let port = Int(line.dropFirst(prefix.count).prefix(while: \.isNumber))
        else {
            signal(SIGKILL)
            throw BackgroundProcessError(message: "lambda-sim did not start: \(stdout) \(stderr)")
        }
        return port
    }
}

/// A helper process that did not behave.
struct BackgroundProcessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Like `withSimulator`, but starts of simulators with a cgroup-mode function take turns.
///
/// Every cgroup-mode `Simulator.start` probes the hierarchy with one cgroup named `<pid>-probe`, so concurrent
/// starts in one process remove each other's probe and fail (a simulator bug, shown by
/// `FreezeCgroupTests.concurrentStarts`); this keeps the other freeze tests independent of it.
func withFreezeSimulator(
    _ functions: [FunctionOptions], account: Simulator.AccountOptions? = nil, _ body: (SimHarness) async throws -> Void
) async throws {
    let gated = functions.contains { $0.freezeMode == .cgroup }
    if gated { await CgroupStartGate.shared.acquire() }
    let logs = LogWatcher()
    let started: Simulator
    do {
        started = try await Simulator.start(
            functions: functions, host: "127.0.0.1", port: 0, account: account, console: { logs.append($0) },
            keepHistory: true)
    } catch {
        if gated { await CgroupStartGate.shared.release() }
        throw error
    }
    if gated { await CgroupStartGate.shared.release() }
    do {
        try await body(SimHarness(simulator: started, logs: logs))
    } catch {
        await started.stop()
        throw error
    }
    await started.stop()
}

/// One simulator start at a time, in arrival order.
actor CgroupStartGate {
    static let shared = CgroupStartGate()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Waits for the turn.
    func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Hands the turn to the next waiter.
    func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}
