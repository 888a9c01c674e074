// The floor of a warm invoke as a child process: `perf-floor relay` (Benchmarks/Floor/relay.c), built by
// `swift build -c release --product perf-floor` next to the fixture (scripts/bench.sh does it).

#if canImport(Glibc)
    import Glibc
#endif

/// `perf-floor`, the C floor tools, next to the fixture (or `LAMBDA_SIM_PERF_FLOOR`).
public func perfFloorPath() -> String {
    if let path = getenv("LAMBDA_SIM_PERF_FLOOR") { return String(cString: path) }
    let fixture = fixturePath()
    return String(fixture[..<(fixture.lastIndex(of: "/") ?? fixture.endIndex)]) + "/perf-floor"
}

/// The C relay floor running `runtimes` copies of a runtime command: what any Lambda simulator must do at least
/// for a warm invoke (hand the invoke to a runtime holding `/next`, answer its `/response` and the invoker), on one
/// epoll thread, keep-alive both ways. Invokes go to any `POST` path, so `invokeRequest` reaches it unchanged.
public final class RelayFloorProcess: @unchecked Sendable {
    /// The relay's pid (its runtimes are its children, not counted in its CPU time).
    public let pid: pid_t
    /// The port both its APIs listen on.
    public let port: Int

    /// Starts the relay on a free port with `runtimes` copies of `command` and waits until each holds a `/next`.
    public init(runtimes: Int, command: [String]) {
        let exe = perfFloorPath()
        let all = [exe, "relay", "0", String(runtimes), "--"] + command
        var argv: [UnsafeMutablePointer<CChar>?] = all.map { strdup($0) } + [nil]
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0, "pipe failed: \(errno)")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_addclose(&actions, ends[0])
        posix_spawn_file_actions_addclose(&actions, ends[1])
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // The benchmark's threads block most signals and a spawned process inherits the mask: start it with none
        // blocked and default handlers, so that SIGTERM stops it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let rc = posix_spawn(&child, exe, &actions, &attributes, &argv, environ)
        posix_spawnattr_destroy(&attributes)
        posix_spawn_file_actions_destroy(&actions)
        for pointer in argv { free(pointer) }
        close(ends[1])
        precondition(rc == 0, "cannot start \(exe) (swift build -c release --product perf-floor): \(rc)")
        pid = child
        // It prints `ready PORT` once every runtime holds a /next; end of file means it failed.
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(ends[0], &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        close(ends[0])
        let words = String(decoding: line, as: UTF8.self).split(separator: " ")
        guard words.count == 2, words[0] == "ready", let port = Int(words[1]) else {
            preconditionFailure("\(exe) relay did not become ready: \(String(decoding: line, as: UTF8.self))")
        }
        self.port = port
    }

    /// The relay's user plus system CPU time so far, in nanoseconds.
    public var cpuNanoseconds: UInt64 { processCPUNanoseconds(pid) }

    /// Sends SIGTERM (the relay stops its runtimes) and waits for it.
    public func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
