import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// How a child process ended.
package enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    /// It called `exit` with this status.
    case exited(Int32)
    /// A signal with this number killed it.
    case signaled(Int32)

    /// Go's `exec.ExitError` wording, which Lambda's messages use: `exit status 1`, `signal: killed`.
    package var description: String {
        switch self {
        case .exited(let code): return "exit status \(code)"
        case .signaled(let signal): return "signal: \(ExitStatus.signalName(signal))"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: return "killed"
        case SIGTERM: return "terminated"
        case SIGSEGV: return "segmentation fault"
        case SIGABRT: return "aborted"
        case SIGINT: return "interrupt"
        case SIGBUS: return "bus error"
        case SIGFPE: return "floating point exception"
        case SIGILL: return "illegal instruction"
        case SIGPIPE: return "broken pipe"
        case SIGHUP: return "hangup"
        case SIGQUIT: return "quit"
        case SIGUSR1: return "user defined signal 1"
        case SIGUSR2: return "user defined signal 2"
        default: return String(cString: strsignal(signal)).lowercased()
        }
    }
}

/// What to start: the program, its arguments, environment and working directory.
package struct ProcessSpec: Sendable {
    /// Program path (or name looked up on the `PATH` of `environment`) followed by its arguments.
    package var arguments: [String]
    /// The complete environment as `KEY=value` strings; nothing is inherited.
    package var environment: [String]
    /// Working directory, or `nil` for the simulator's.
    package var workingDirectory: String?

    package init(arguments: [String], environment: [String], workingDirectory: String? = nil) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
    }
}

/// A child process in its own session and process group, with stdout and stderr captured by pipes.
///
/// libuv reaps it (`waitpid` on its pid) and reports the exit through `onExit`; the process handle is
/// closed only after that callback, never before. A stopped child produces no event.
package final class ChildProcess: HandleOwner {
    let handleBox = HandleBox(type: UV_PROCESS)
    /// The child's pid, which is also its process-group id.
    package private(set) var pid: Int32 = 0
    /// Set once the exit callback ran.
    package private(set) var exitStatus: ExitStatus?
    /// Output chunks from the child's stdout.
    package var onStdout: ((UnsafeRawBufferPointer) -> Void)?
    /// Output chunks from the child's stderr.
    package var onStderr: ((UnsafeRawBufferPointer) -> Void)?
    /// Runs once when the child has exited (after being reaped).
    package var onExit: ((ExitStatus) -> Void)?
    private var stdoutPipe: PipeReader?
    private var stderrPipe: PipeReader?

    /// Starts `spec`. Throws `UVError` with `ENOENT` or `EACCES` for a missing or non-executable program.
    package init(loop: EventLoop, spec: ProcessSpec) throws(UVError) {
        loop.assertInLoop()
        let out = PipeReader(loop: loop)
        let err = PipeReader(loop: loop)
        var options = uv_process_options_t()
        var stdio = [uv_stdio_container_t](repeating: uv_stdio_container_t(), count: 3)
        stdio[0].flags = UV_IGNORE
        stdio[1].flags = uv_stdio_flags(UV_CREATE_PIPE.rawValue | UV_WRITABLE_PIPE.rawValue)
        stdio[1].data.stream = out.stream
        stdio[2].flags = uv_stdio_flags(UV_CREATE_PIPE.rawValue | UV_WRITABLE_PIPE.rawValue)
        stdio[2].data.stream = err.stream
        let argv = CStringArray(spec.arguments)
        let envp = CStringArray(spec.environment)
        defer {
            argv.free()
            envp.free()
        }
        let cwd = spec.workingDirectory.map { strdup($0) } ?? nil
        defer { free(cwd) }
        options.file = UnsafePointer(argv.pointers[0])
        options.args = argv.base
        options.env = envp.base
        options.cwd = UnsafePointer(cwd)
        options.flags = UV_PROCESS_DETACHED.rawValue
        options.exit_cb = { handle, status, signal in
            guard let owner = HandleBox.owner(of: handle, as: ChildProcess.self) else { return }
            owner.exited(status: signal != 0 ? .signaled(signal) : .exited(Int32(truncatingIfNeeded: status)))
        }
        let rc = stdio.withUnsafeMutableBufferPointer { buffer in
            options.stdio_count = 3
            options.stdio = buffer.baseAddress
            return uv_spawn(loop.uvLoop, handleBox.typed(uv_process_t.self), &options)
        }
        handleBox.open(owner: self)
        if rc < 0 {
            handleBox.close()
            out.close()
            err.close()
            throw UVError(code: rc, operation: "uv_spawn(\(spec.arguments[0]))")
        }
        pid = handleBox.typed(uv_process_t.self).pointee.pid
        stdoutPipe = out
        stderrPipe = err
        // Weak: the pipes can outlive the process object when a descendant keeps them open.
        out.onData = { [weak self] in self?.onStdout?($0) }
        err.onData = { [weak self] in self?.onStderr?($0) }
        out.start()
        err.start()
    }

    private func exited(status: ExitStatus) {
        // What the child wrote before exiting is still in the pipes: deliver it before reporting the exit.
        stdoutPipe?.drain()
        stderrPipe?.drain()
        exitStatus = status
        let callback = onExit
        onExit = nil
        callback?(status)
        handleBox.close()
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

/// The read end of a child's stdout or stderr.
private final class PipeReader: HandleOwner {
    let handleBox = HandleBox(type: UV_NAMED_PIPE)
    var onData: ((UnsafeRawBufferPointer) -> Void)?

    init(loop: EventLoop) {
        let rc = uv_pipe_init(loop.uvLoop, handleBox.typed(uv_pipe_t.self), 0)
        precondition(rc == 0, "uv_pipe_init failed: \(rc)")
        handleBox.open(owner: self)
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
