import CLibUV
import SimCore

#if canImport(Glibc)
    import Glibc
#endif

/// What to start: the program, its arguments, environment and working directory.
package struct ProcessSpec: Sendable {
    /// Program path (or name looked up on the `PATH` of `environment`) followed by its arguments.
    package var arguments: [String]
    /// The complete environment as `KEY=value` strings; nothing is inherited.
    package var environment: [String]
    /// Working directory, or `nil` for the simulator's.
    package var workingDirectory: String?
    /// The child's open-file limit (soft and hard), or `nil` to inherit the simulator's.
    package var fileDescriptorLimit: Int?
    /// How the child's stdout and stderr reach the simulator.
    package var output: OutputCapture

    package init(
        arguments: [String], environment: [String], workingDirectory: String? = nil, fileDescriptorLimit: Int? = nil,
        output: OutputCapture = .pipes
    ) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.fileDescriptorLimit = fileDescriptorLimit
        self.output = output
    }
}

/// How a child's output is captured.
package enum OutputCapture: Sendable {
    /// A pipe each for stdout and stderr: two descriptors held by the simulator while the child lives; a
    /// child that writes faster than the loop reads blocks.
    case pipes
    /// One file (`LogFiles`) for stdout and stderr together, delivered through `onStdout`: no descriptor held
    /// by the simulator, so thousands of children fit in its open-file limit; a writer never blocks, and a
    /// backlog beyond `LogFiles.maxBacklogBytes` is dropped and counted.
    case file
}

/// A child process in its own session and process group, its stdout and stderr captured by pipes or a file.
///
/// Started with glibc's `posix_spawn` (a vfork-style clone, so the cost does not grow with the simulator's
/// memory) rather than `uv_spawn`'s `fork`, and reaped by `ChildReaper`, which handles each exit in O(1): libuv's
/// own child handling scans every child with `waitpid` at each `SIGCHLD`, O(children) per exit, and a pidfd per
/// child would cost a descriptor each. The process object stays alive until its exit was reported.
package final class ChildProcess {
    /// The child's pid, which is also its process-group id.
    package private(set) var pid: Int32 = 0
    /// Set once the exit callback ran.
    package private(set) var exitStatus: ExitStatus?
    /// True when the child has exited but the loop has not reaped it yet (one `waitid` with `WNOWAIT`).
    package var hasExitedUnreaped: Bool { exitStatus == nil && pid > 0 && clibuv_child_exited(pid) != 0 }
    /// Output chunks from the child's stdout (and its stderr with `OutputCapture.file`).
    package var onStdout: ((UnsafeRawBufferPointer) -> Void)?
    /// Output chunks from the child's stderr (with `OutputCapture.pipes`).
    package var onStderr: ((UnsafeRawBufferPointer) -> Void)?
    /// Receives the number of output bytes dropped because the child wrote more than `LogFiles.maxBacklogBytes`
    /// ahead of the loop (`OutputCapture.file` only).
    package var onOutputDropped: ((Int) -> Void)?
    /// Runs once when the child has exited (after being reaped).
    package var onExit: ((ExitStatus) -> Void)?
    let loop: EventLoop
    private var stdoutPipe: PipeReader?
    private var stderrPipe: PipeReader?
    private var outputFile: LogFile?

    /// Starts `spec`. Throws `UVError` with `ENOENT` or `EACCES` for a missing or non-executable program.
    package init(loop: EventLoop, spec: ProcessSpec) throws(UVError) {
        loop.assertInLoop()
        self.loop = loop
        let program = spec.arguments[0]
        let path: String
        switch ExecutableLookup.resolve(program, environment: spec.environment) {
        case .found(let found): path = found
        case .unusable(let code): throw UVError(code: -code, operation: "uv_spawn(\(program))")
        }
        let reaper = try ChildReaper.watch(loop)
        // The descriptors the child gets as stdout and stderr, and the parent's read ends of pipes.
        var childEnds: [Int32] = []
        var readEnds: [Int32] = []
        defer { for fd in childEnds { Glibc.close(fd) } }
        switch spec.output {
        case .pipes:
            for _ in 0..<2 {
                do {
                    let pipe = try Self.makePipe()
                    childEnds.append(pipe.write)
                    readEnds.append(pipe.read)
                } catch {
                    for fd in readEnds { Glibc.close(fd) }
                    throw error
                }
            }
        case .file:
            let created = try LogFiles.of(loop).create()
            childEnds = [created.fd]
            outputFile = created.file
        }
        let argv = CStringArray(spec.arguments)
        // Every child carries the simulator's mark, by which the guardian (or a later simulator) can tell a process
        // this simulator started from any other (see `ProcessGroups`); a mark inherited from a simulator that
        // started this one gives way to it.
        let envp = CStringArray(spec.environment.filter { !$0.hasPrefix(ProcessGroups.markKey) } + [ProcessGroups.mark])
        var child: pid_t = 0
        let out = childEnds[0]
        let err = childEnds.count > 1 ? childEnds[1] : out
        // The registry lock is held across the spawn so that no loop's reaper finds the new child exited
        // before it is registered.
        let rc = reaper.spawn(self) { () -> Int32 in
            let rc = path.withCString { file in
                withOptionalCString(spec.workingDirectory) { cwd in
                    clibuv_spawn(&child, file, argv.base, envp.base, cwd, out, err)
                }
            }
            return rc == 0 ? child : -rc
        }
        argv.free()
        envp.free()
        guard rc > 0 else {
            for fd in readEnds { Glibc.close(fd) }
            outputFile?.remove()
            outputFile = nil
            throw UVError(code: rc, operation: "uv_spawn(\(program))")
        }
        pid = child
        if let limit = spec.fileDescriptorLimit { clibuv_set_file_limit(child, UInt(limit)) }
        if readEnds.count == 2 {
            stdoutPipe = PipeReader(loop: loop, fd: readEnds[0])
            stderrPipe = PipeReader(loop: loop, fd: readEnds[1])
            // Weak: the pipes can outlive the process object when a descendant keeps them open.
            stdoutPipe?.onData = { [weak self] in self?.onStdout?($0) }
            stderrPipe?.onData = { [weak self] in self?.onStderr?($0) }
            stdoutPipe?.start()
            stderrPipe?.start()
        }
        outputFile?.onData = { [weak self] in self?.onStdout?($0) }
        outputFile?.onDropped = { [weak self] in self?.onOutputDropped?($0) }
    }

    /// Reserves the descriptors through which spawns hand a child its output (see `clibuv_spawn`), if not yet done.
    /// Here, in the one file that calls `clibuv_spawn`, because Swift may give each file its own copy of a C
    /// header's static variables.
    static func reserveSpawnSlots() { clibuv_spawn_reserve() }

    /// A pipe whose both ends are closed on exec.
    private static func makePipe() throws(UVError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe2(&fds, O_CLOEXEC) == 0 else { throw UVError(code: -errno, operation: "pipe2") }
        return (fds[0], fds[1])
    }

    /// Delivers the output the child wrote so far, now: before acting on a request the child sent, so that what
    /// it printed first is handled first.
    package func drainOutput() {
        if let outputFile {
            outputFile.owner.catchUp(whole: outputFile)
        } else {
            stdoutPipe?.drain()
            stderrPipe?.drain()
        }
    }

    /// Called by `ChildReaper` on the loop thread once the child was reaped.
    func exited(status: ExitStatus) {
        // What the child wrote before exiting is still in the pipes or its file: deliver it before the exit.
        stdoutPipe?.drain()
        stderrPipe?.drain()
        outputFile?.remove()
        outputFile = nil
        exitStatus = status
        let callback = onExit
        onExit = nil
        callback?(status)
    }

    /// Sends `signal` to the child's whole process group. Returns false if no process was signalled.
    @discardableResult
    package func signalGroup(_ signal: Int32) -> Bool {
        guard pid > 0, exitStatus == nil || signal == SIGKILL || signal == SIGCONT else { return false }
        return kill(-pid, signal) == 0
    }

    /// Sends `signal` to the child alone.
    @discardableResult
    package func signal(_ signal: Int32) -> Bool {
        guard pid > 0, exitStatus == nil else { return false }
        return kill(pid, signal) == 0
    }

    /// Stops reading output and closes the pipes (for children whose descendants keep them open).
    package func closePipes() {
        stdoutPipe?.close()
        stderrPipe?.close()
        stdoutPipe = nil
        stderrPipe = nil
    }
}

/// Finds a program as `execvp` would, in the `PATH` of the environment the child gets.
package enum ExecutableLookup {
    /// What a lookup found.
    package enum Outcome: Equatable, Sendable {
        /// The path to run.
        case found(String)
        /// No such program (`ENOENT`), or one that cannot be run (`EACCES`).
        case unusable(Int32)
    }

    /// The path to run for `command`, or why there is none.
    package static func resolve(_ command: String, environment: [String]) -> Outcome {
        if command.contains("/") {
            if let code = usable(command) { return .unusable(code) }
            return .found(command)
        }
        let path =
            environment.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? "/usr/local/bin:/usr/bin:/bin"
        var sawDenied = false
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + command
            switch usable(candidate) {
            case nil: return .found(candidate)
            case EACCES: sawDenied = true
            default: continue
            }
        }
        return .unusable(sawDenied ? EACCES : ENOENT)
    }

    /// Nil when `path` is an executable regular file; else `ENOENT` or `EACCES`.
    private static func usable(_ path: String) -> Int32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return ENOENT }
        guard (info.st_mode & S_IFMT) == S_IFREG, access(path, X_OK) == 0 else { return EACCES }
        return nil
    }
}

/// Calls `body` with `text` as a C string, or with nil.
private func withOptionalCString<T>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}

/// The read end of a child's stdout or stderr.
private final class PipeReader: HandleOwner {
    let handleBox = HandleBox(type: UV_NAMED_PIPE)
    var onData: ((UnsafeRawBufferPointer) -> Void)?

    /// Reads `fd` (the parent's end of a pipe), which it owns from now on.
    init(loop: EventLoop, fd: Int32) {
        let rc = uv_pipe_init(loop.uvLoop, handleBox.typed(uv_pipe_t.self), 0)
        precondition(rc == 0, "uv_pipe_init failed: \(rc)")
        handleBox.open(owner: self)
        // libuv makes the descriptor non-blocking and closes it with the handle.
        uv_pipe_open(handleBox.typed(uv_pipe_t.self), fd)
    }

    var stream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutablePointer(OpaquePointer(handleBox.raw)) }

    func start() {
        uv_read_start(
            stream,
            EventLoop.allocateFromReadBuffer,
            { handle, nread, buf in
                guard let owner = HandleBox.owner(of: handle, as: PipeReader.self) else { return }
                if nread > 0, let base = buf?.pointee.base {
                    owner.onData?(UnsafeRawBufferPointer(start: base, count: nread))
                } else if nread < 0 {
                    owner.close()
                }
            })
    }

    /// Reads whatever the pipe holds right now without blocking (libuv made the fd non-blocking).
    func drain() {
        guard !handleBox.isClosing, let loopData = handleBox.handle.pointee.loop.pointee.data else { return }
        let loop = Unmanaged<EventLoop>.fromOpaque(loopData).takeUnretainedValue()
        var fd: uv_os_fd_t = -1
        guard uv_fileno(handleBox.handle, &fd) == 0 else { return }
        while true {
            let n = read(fd, loop.readBuffer.baseAddress!, loop.readBuffer.count)
            guard n > 0 else { return }
            onData?(UnsafeRawBufferPointer(start: loop.readBuffer.baseAddress!, count: n))
        }
    }

    func close() {
        onData = nil
        handleBox.close()
    }
}

/// A NULL-terminated array of C strings for `uv_spawn`, which copies it.
private struct CStringArray {
    let pointers: [UnsafeMutablePointer<CChar>?]
    let base: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
        base = UnsafeMutablePointer.allocate(capacity: pointers.count)
        base.initialize(from: pointers, count: pointers.count)
    }

    func free() {
        for pointer in pointers { Glibc.free(pointer) }
        base.deallocate()
    }
}
