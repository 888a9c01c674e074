// Small POSIX helpers for the fixture runtime. Everything goes straight to file descriptors so that
// nothing is buffered (a crash mid-invoke must never lose output) and no Foundation is needed.

import Glibc

/// Errors raised by the fixture's I/O layer. Any of them ends the process with exit status 1.
enum FixtureError: Error {
    /// A system call failed; carries the call name and `errno`.
    case system(String, Int32)
    /// The peer closed the connection before a complete response was read.
    case closed
    /// The server sent something that is not valid HTTP/1.1.
    case protocolViolation(String)
    /// The Runtime API host name could not be resolved.
    case resolution(String)

    /// Human-readable description for the final stderr message.
    var message: String {
        switch self {
        case .system(let call, let code):
            return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .closed:
            return "connection closed by peer"
        case .protocolViolation(let detail):
            return "protocol error: \(detail)"
        case .resolution(let detail):
            return "cannot resolve \(detail)"
        }
    }
}

/// Writes all of `bytes` to `fd`, retrying on short writes and `EINTR`. Errors are ignored for stdio.
@discardableResult
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw -> Bool in
        var offset = 0
        while offset < raw.count {
            let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

/// Writes `text` followed by a newline to `fd` (1 = stdout, 2 = stderr).
func writeLine(_ fd: Int32, _ text: String) {
    writeAll(fd, Array((text + "\n").utf8))
}

/// Reports a fatal problem on stderr and exits with status 1.
func die(_ text: String) -> Never {
    writeLine(2, "lambda-sim-fixture: \(text)")
    exit(1)
}

/// Returns the value of an environment variable, or `nil` when unset.
func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

/// Sleeps for `milliseconds`, resuming after signal interruptions until the full time has passed.
func sleepMilliseconds(_ milliseconds: Int) {
    guard milliseconds > 0 else { return }
    var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR {
        request = remaining
    }
}

/// Current wall-clock time in Unix epoch milliseconds (the clock `Lambda-Runtime-Deadline-Ms` uses).
func epochMilliseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
}

/// Reaps any exited children (from `forkSleep`) so they do not linger as zombies.
func reapChildren() {
    guard hasForked else { return }
    while waitpid(-1, nil, WNOHANG) > 0 {}
}

/// Set once a child was forked (`forkSleep`): only then are there children to reap before each `/next`.
nonisolated(unsafe) var hasForked = false
