import SimCore
import Synchronization
import Testing

@testable import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// Output captured in files (a child costs the simulator no descriptor) and exits reaped by `SIGCHLD`.
@Suite(.timeLimit(.minutes(1)), .serialized) struct ChildOutputTests {
    /// Runs `body` on a new loop, waits for the continuation it resumes, and shuts the loop down.
    private func onLoop<T: Sendable>(
        _ body: @escaping @Sendable (EventLoop, CheckedContinuation<T, Never>) -> Void
    ) async throws -> T {
        let loop = try EventLoop()
        let result = await withCheckedContinuation { continuation in loop.submit { body(loop, continuation) } }
        await loop.shutdown()
        return result
    }

    private static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return count
    }

    /// Stdout and stderr arrive through one file, all of it (more than one read's worth), before the exit is
    /// reported; the file is gone after the exit and the directory after the loop stopped.
    @Test func fileCaptureDeliversEverythingBeforeTheExit() async throws {
        let script = "head -c 3000000 /dev/zero | tr '\\\\0' a; echo; echo to-stderr >&2; echo last"
        let result = try await onLoop { (loop, continuation: CheckedContinuation<(Int, String, String, Bool), Never>) in
            let output = Box([UInt8]())
            let spec = ProcessSpec(arguments: ["/bin/sh", "-c", script], environment: [], output: .file)
            let child = try! ChildProcess(loop: loop, spec: spec)
            let directory = LogFiles.of(existing: loop)!.directory
            child.onStdout = { output.value.append(contentsOf: $0) }
            child.onStderr = { _ in output.value.append(contentsOf: Array("unexpected".utf8)) }
            child.onExit = { _ in
                let text = String(decoding: output.value, as: UTF8.self)
                let files = DirectoryList.names(directory)
                continuation.resume(returning: (output.value.count, String(text.suffix(16)), directory, files.isEmpty))
            }
        }
        #expect(result.0 == 3_000_000 + 1 + 10 + 5)
        #expect(result.1 == "\nto-stderr\nlast\n")
        #expect(result.3, "the child's file was not deleted")
        #expect(access(result.2, F_OK) != 0, "\(result.2) left behind")
    }

    /// Output written in one go, larger than what one notification reads, all arrives while the child still runs
    /// (inotify reports the write once; the rest is read on the following turns).
    @Test func oneLargeWriteArrivesWhole() async throws {
        let script = "dd if=/dev/zero bs=1500000 count=1 2>/dev/null; sleep 30"
        let received = try await onLoop { (loop, continuation: CheckedContinuation<(Int, SimCore.ExitStatus), Never>) in
            let count = Box(0)
            let spec = ProcessSpec(arguments: ["/bin/sh", "-c", script], environment: [], output: .file)
            let child = try! ChildProcess(loop: loop, spec: spec)
            child.onStdout = { bytes in
                count.value += bytes.count
                if count.value == 1_500_000 { child.signalGroup(SIGKILL) }
            }
            child.onExit = { continuation.resume(returning: (count.value, $0)) }
        }
        #expect(received.0 == 1_500_000)
        #expect(received.1 == .signaled(SIGKILL), "the output arrived only at the exit")
    }

    /// A child that writes far more than the loop reads (the loop is busy) has the excess dropped and counted,
    /// so the backlog stays bounded; the newest output is kept.
    @Test func backlogIsBounded() async throws {
        let megabytes = LogFiles.maxBacklogBytes / 1_048_576 + 16
        let script = "dd if=/dev/zero bs=1048576 count=\(megabytes) 2>/dev/null; echo; echo newest"
        let result = try await onLoop { (loop, continuation: CheckedContinuation<(Int, Int, String), Never>) in
            let received = Box([UInt8]())
            let dropped = Box(0)
            let spec = ProcessSpec(arguments: ["/bin/sh", "-c", script], environment: [], output: .file)
            let child = try! ChildProcess(loop: loop, spec: spec)
            child.onStdout = { received.value.append(contentsOf: $0) }
            child.onOutputDropped = { dropped.value += $0 }
            child.onExit = { _ in
                let tail = String(decoding: received.value.suffix(8), as: UTF8.self)
                continuation.resume(returning: (received.value.count, dropped.value, tail))
            }
            // Keep the loop busy until the child wrote everything and exited.
            for _ in 0..<2_000 where !Self.isZombie(child.pid) { usleep(10_000) }
        }
        let total = megabytes * 1_048_576 + 8
        #expect(result.1 > 0, "nothing was dropped")
        #expect(result.0 + result.1 == total)
        #expect(result.0 <= LogFiles.maxBacklogBytes)
        #expect(result.2 == "\nnewest\n")
    }

    private static func isZombie(_ pid: pid_t) -> Bool {
        let fd = open("/proc/\(pid)/stat", O_RDONLY)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = read(fd, &buffer, buffer.count)
        // The state follows the command name's closing parenthesis and a space.
        guard count > 0, let end = buffer[0..<count].lastIndex(of: UInt8(ascii: ")")), end + 2 < count else {
            return true
        }
        return buffer[end + 2] == UInt8(ascii: "Z")
    }

    /// Fifty children with file capture cost the simulator no descriptor each; with pipes they cost two.
    @Test func fileCaptureHoldsNoDescriptorPerChild() async throws {
        let counts = try await onLoop { (loop, continuation: CheckedContinuation<(Int, Int, Int), Never>) in
            // Create the loop's helpers first, so that only what each child costs is counted.
            let warmUp = try! ChildProcess(
                loop: loop, spec: ProcessSpec(arguments: ["/bin/true"], environment: [], output: .file))
            warmUp.onExit = { _ in
                let before = Self.openDescriptors()
                var children: [ChildProcess] = []
                for _ in 0..<50 {
                    let spec = ProcessSpec(arguments: ["/bin/sleep", "30"], environment: [], output: .file)
                    children.append(try! ChildProcess(loop: loop, spec: spec))
                }
                let withFiles = Self.openDescriptors()
                for _ in 0..<50 {
                    let spec = ProcessSpec(arguments: ["/bin/sleep", "30"], environment: [], output: .pipes)
                    children.append(try! ChildProcess(loop: loop, spec: spec))
                }
                let withPipes = Self.openDescriptors()
                let remaining = Box(children.count)
                for child in children {
                    child.onExit = { _ in
                        remaining.value -= 1
                        if remaining.value == 0 { continuation.resume(returning: (before, withFiles, withPipes)) }
                    }
                    child.signalGroup(SIGKILL)
                }
            }
        }
        #expect(counts.1 - counts.0 <= 1, "50 children with files added \(counts.1 - counts.0) descriptors")
        #expect(counts.2 - counts.1 >= 100, "50 children with pipes added \(counts.2 - counts.1) descriptors")
    }

    /// Two hundred children exiting at once are each reported once, with their own status.
    @Test func manyExitsAreEachReported() async throws {
        let statuses = try await onLoop {
            (loop, continuation: CheckedContinuation<[Int32: SimCore.ExitStatus], Never>) in
            let seen = Box([Int32: SimCore.ExitStatus]())
            for index in 0..<200 {
                let spec = ProcessSpec(arguments: ["/bin/sh", "-c", "exit \(index % 50)"], environment: [])
                let child = try! ChildProcess(loop: loop, spec: spec)
                child.onExit = { status in
                    precondition(seen.value[Int32(index)] == nil, "reported twice")
                    seen.value[Int32(index)] = status
                    if seen.value.count == 200 { continuation.resume(returning: seen.value) }
                }
            }
        }
        #expect(statuses.count == 200)
        #expect(statuses.allSatisfy { $0.value == .exited($0.key % 50) })
    }

    /// A child that other code in the process started is not reaped by the simulator (its owner still finds its
    /// exit status), and the simulator's own children are still reported while that zombie waits.
    @Test func someoneElsesChildIsLeftAlone() async throws {
        var foreign: pid_t = 0
        let arguments = ["/bin/sh", "-c", "exit 3"]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        #expect(posix_spawn(&foreign, "/bin/sh", nil, nil, argv, environ) == 0)
        // Let it become a zombie before the simulator's children start and exit.
        usleep(50_000)
        let status = try await onLoop { (loop, continuation: CheckedContinuation<SimCore.ExitStatus, Never>) in
            let child = try! ChildProcess(
                loop: loop, spec: ProcessSpec(arguments: ["/bin/sh", "-c", "exit 4"], environment: []))
            child.onExit = { continuation.resume(returning: $0) }
        }
        #expect(status == .exited(4))
        var code: Int32 = 0
        #expect(waitpid(foreign, &code, 0) == foreign)
        #expect((code >> 8) & 0xFF == 3)
    }
}

/// The names in a directory, without `.` and `..`.
enum DirectoryList {
    static func names(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
