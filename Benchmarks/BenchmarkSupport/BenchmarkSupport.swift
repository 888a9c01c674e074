// Pieces every benchmark target shares: where the fixture runtime is, and a blocking keep-alive client.

#if canImport(Glibc)
    import Glibc
#endif

/// The fixture runtime next to this benchmark (build it first: `swift build -c release --product lambda-sim-fixture`).
public func fixturePath() -> String {
    if let path = getenv("LAMBDA_SIM_FIXTURE") { return String(cString: path) }
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let exe = String(decoding: buffer[0..<max(0, n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)]) + "/lambda-sim-fixture"
}

/// A blocking HTTP/1.1 keep-alive client on a plain socket, the same for the floors and the invokes.
public final class BlockingClient: @unchecked Sendable {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    /// Connects to 127.0.0.1:`port` with `TCP_NODELAY`.
    public init(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(rc == 0, "connect failed: \(errno)")
    }

    /// Sends `request`, reads one response with a Content-Length body and returns its status code.
    @discardableResult
    public func roundTrip(_ request: [UInt8]) -> Int {
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var received = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, $0.count - received, 0) }
            precondition(n > 0, "connection closed")
            received += n
            if let length = Self.completeLength(buffer[0..<received]), received >= length {
                // "HTTP/1.1 200 ..."
                return Int(String(decoding: buffer[9..<12], as: UTF8.self)) ?? 0
            }
        }
    }

    /// The full response length once the head is complete.
    private static func completeLength(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard let end = bytes.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingPrefix(" "))
        else { return end.upperBound - bytes.startIndex }
        return end.upperBound - bytes.startIndex + length
    }

    deinit { close(fd) }
}

/// `POST` of `{"a":1}` to the function named `function`.
public let invokeRequest = Array(
    "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}".utf8)

/// A `lambda-sim` command (the release binary next to the fixture) running as a child process, as a user runs it,
/// so that its own CPU time can be read.
public final class SimulatorProcess: @unchecked Sendable {
    /// The child's pid.
    public let pid: pid_t
    /// The port its Invoke API listens on.
    public let port: Int

    /// Starts `lambda-sim` with `arguments` (`--port` is added after the first, the subcommand) and waits until
    /// it accepts connections.
    public init(arguments: [String]) {
        var exe = fixturePath()
        exe = String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)]) + "/lambda-sim"
        port = Int.random(in: 20_000..<40_000)
        let all = [exe, arguments[0], "--port", String(port)] + arguments.dropFirst()
        var argv: [UnsafeMutablePointer<CChar>?] = all.map { strdup($0) } + [nil]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var child: pid_t = 0
        let rc = posix_spawn(&child, exe, &actions, nil, &argv, environ)
        posix_spawn_file_actions_destroy(&actions)
        for pointer in argv { free(pointer) }
        precondition(rc == 0, "cannot start \(exe): \(rc)")
        pid = child
        for _ in 0..<500 where !Self.accepts(port) { usleep(10_000) }
    }

    private static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// The child's user plus system CPU time so far, in nanoseconds.
    public var cpuNanoseconds: UInt64 { processCPUNanoseconds(pid) }

    /// Sends SIGINT (a graceful stop) and waits for the child.
    public func stop() {
        kill(pid, SIGINT)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// The user plus system CPU time of process `pid` so far (`utime + stime` from `/proc/PID/stat`, its children not
/// included), in nanoseconds; 0 when it cannot be read.
public func processCPUNanoseconds(_ pid: pid_t) -> UInt64 {
    let fd = open("/proc/\(pid)/stat", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 1024)
    let n = read(fd, &buffer, buffer.count)
    guard n > 0, let end = buffer[0..<n].lastIndex(of: UInt8(ascii: ")")) else { return 0 }
    // Fields after the command: state is field 3, utime 14 and stime 15.
    let fields = String(decoding: buffer[(end + 2)..<n], as: UTF8.self).split(separator: " ")
    let ticks = (UInt64(fields[11]) ?? 0) + (UInt64(fields[12]) ?? 0)
    return ticks * 1_000_000_000 / UInt64(sysconf(Int32(_SC_CLK_TCK)))
}
