import CLibUV
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Captures the output of many processes without holding a descriptor per process: each process writes (stdout
/// and stderr alike) to a file of its own in a memory-backed directory, opened `O_APPEND`, and the loop reads
/// what was added when inotify reports the file modified.
///
/// A sandbox so costs the simulator no pipe (10,000 sandboxes fit in a 20,000-descriptor limit); a process
/// never blocks on a full pipe; and what a process wrote before it exited is in its file whatever the order in
/// which the loop learns of the exit and of the write. Descriptors for reading are kept open for the most
/// recently read `maxOpenFiles` files only. Storage is bounded: what was read is freed (a hole punched in the
/// file, offsets unchanged), and a file more than `maxBacklogBytes` ahead of its reader is skipped forward, the
/// skipped bytes counted. The directory is `output-<n>` in the process's private `StateDirectory` (under
/// `/dev/shm` when it is writable), created there with mode 0700, its files with `O_EXCL|O_NOFOLLOW`; what a
/// simulator that died left is removed with its state directory (by its guardian, or by the next simulator).
/// Loop-confined.
package final class LogFiles: HandleOwner {
    let handleBox = HandleBox(type: UV_POLL)
    /// The directory holding the files, in the process's private state directory.
    package let directory: String
    private let notify: Int32
    private var entries: [String: LogFile] = [:]
    private var nextName = 0
    private var readBuffer = [UInt8](repeating: 0, count: LogFiles.readChunk)
    private var eventBuffer = [UInt8](repeating: 0, count: 4096)
    /// Files whose read descriptor is open, oldest first.
    private var openFiles: [LogFile] = []
    /// Files with more unread output than one notification's read, to be read again on the next turn.
    private var behind: [LogFile] = []
    private var resumeTimer: Timer?
    private unowned let loop: EventLoop

    /// Bytes read per file per notification; the rest waits for the next one.
    static let readChunk = 256 * 1024
    /// Unread bytes above which a file's reader skips forward (dropping output) to bound memory.
    package static let maxBacklogBytes = 64 * 1024 * 1024
    /// Read bytes above which their storage is freed.
    static let punchBytes = 1024 * 1024
    /// Read descriptors kept open at most.
    static let maxOpenFiles = 256
    /// The prefix of the directories' names.
    static let prefix = "output-"

    private init(loop: EventLoop) throws(UVError) {
        self.loop = loop
        let counter = Self.counter.add(1, ordering: .relaxed).newValue
        guard let state = StateDirectory.instance else {
            handleBox.discardUnopened()
            notify = -1
            directory = ""
            throw UVError(code: -EACCES, operation: StateDirectory.problem ?? "no private state directory")
        }
        directory = "\(state)/\(Self.prefix)\(counter)"
        // A fresh name in a directory only this user can write: it cannot exist, so EEXIST is an error too.
        guard mkdir(directory, 0o700) == 0 else {
            handleBox.discardUnopened()
            notify = -1
            throw UVError(code: -errno, operation: "mkdir(\(directory))")
        }
        notify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard notify >= 0, inotify_add_watch(notify, directory, UInt32(IN_MODIFY)) >= 0,
            uv_poll_init(loop.uvLoop, handleBox.typed(uv_poll_t.self), notify) == 0
        else {
            let code = errno
            if notify >= 0 { Glibc.close(notify) }
            rmdir(directory)
            handleBox.discardUnopened()
            throw UVError(code: -code, operation: "inotify(\(directory))")
        }
        handleBox.open(owner: self)
        uv_poll_start(handleBox.typed(uv_poll_t.self), Int32(UV_READABLE.rawValue)) { handle, _, _ in
            HandleBox.owner(of: handle, as: LogFiles.self)?.catchUp()
        }
        uv_unref(handleBox.handle)
    }

    private static let counter = Atomic<Int>(0)

    deinit {
        for file in openFiles where file.readFD >= 0 { Glibc.close(file.readFD) }
        for name in entries.keys { unlink("\(directory)/\(name)") }
        rmdir(directory)
        if notify >= 0 { Glibc.close(notify) }
    }

    /// The capture of `loop`, created on first use. Loop thread only.
    package static func of(_ loop: EventLoop) throws(UVError) -> LogFiles {
        loop.assertInLoop()
        if let existing = of(existing: loop) { return existing }
        let created = try LogFiles(loop: loop)
        loop.logFiles = created
        return created
    }

    /// The capture of `loop` if it was created.
    static func of(existing loop: EventLoop) -> LogFiles? { loop.logFiles as? LogFiles }

    /// Creates a file for one process; returns a descriptor to hand it as stdout and stderr (the caller closes it
    /// once the process started) and the file, whose `onData` receives what the process writes.
    func create() throws(UVError) -> (fd: Int32, file: LogFile) {
        nextName += 1
        let name = String(nextName)
        let path = "\(directory)/\(name)"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UVError(code: -errno, operation: "open(\(path))") }
        let file = LogFile(owner: self, name: name, path: path)
        entries[name] = file
        return (fd, file)
    }

    /// Reads the notifications waiting and delivers what the files they name gained. The loop calls it when
    /// inotify is readable; a caller about to act on a process's request calls it first, with that process's
    /// file as `whole`, so that all the output written before the request is delivered before it. Costs one
    /// system call when nothing was written.
    func catchUp(whole: LogFile? = nil) {
        var touched: [LogFile] = []
        var overflowed = false
        while true {
            let n = eventBuffer.withUnsafeMutableBytes { Glibc.read(notify, $0.baseAddress!, $0.count) }
            guard n > 0 else { break }
            eventBuffer.withUnsafeBytes { raw in
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    let nameStart = offset + MemoryLayout<inotify_event>.size
                    if event.mask & UInt32(IN_Q_OVERFLOW) != 0 { overflowed = true }
                    if event.len > 0 {
                        let bytes = raw[nameStart..<min(n, nameStart + Int(event.len))].prefix { $0 != 0 }
                        if let file = entries[String(decoding: bytes, as: UTF8.self)], !file.pending {
                            file.pending = true
                            touched.append(file)
                        }
                    }
                    offset = nameStart + Int(event.len)
                }
            }
        }
        // After an overflow every file may have news.
        if overflowed { touched = Array(entries.values) }
        for file in touched {
            file.pending = false
            read(file, all: file === whole)
        }
        // Left behind by an earlier read, and so not in this batch.
        if let whole, whole.pending {
            whole.pending = false
            read(whole, all: true)
        }
    }

    /// Delivers what `file` holds beyond what was read; `all` reads past the per-notification chunk.
    func read(_ file: LogFile, all: Bool) {
        let fd = readDescriptor(for: file)
        guard fd >= 0 else { return }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return }
        let size = Int(info.st_size)
        if size - file.offset > Self.maxBacklogBytes {
            let skipTo = size - Self.readChunk
            file.droppedBytes += skipTo - file.offset
            file.onDropped?(skipTo - file.offset)
            file.offset = skipTo
        }
        var budget = all ? Int.max : Self.readChunk
        while file.offset < size && budget > 0 {
            let wanted = min(readBuffer.count, size - file.offset, budget)
            let n = readBuffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, wanted, off_t(file.offset)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            file.offset += n
            budget -= n
            readBuffer.withUnsafeBytes { file.onData?(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        if file.offset - file.punched >= Self.punchBytes, clibuv_punch_hole(fd, off_t(file.offset)) == 0 {
            file.punched = file.offset
        }
        // inotify will not report these bytes again: come back for them on the next turn, after other work.
        if file.offset < size && !file.pending { readLater(file) }
    }

    private func readLater(_ file: LogFile) {
        file.pending = true
        behind.append(file)
        guard resumeTimer == nil else { return }
        resumeTimer = loop.schedule(afterMilliseconds: 0) { [unowned self] in
            resumeTimer = nil
            let files = behind
            behind.removeAll()
            for file in files where file.pending {
                file.pending = false
                read(file, all: false)
            }
        }
    }

    /// The open descriptor for reading `file`, opened (and another closed) when it has none.
    private func readDescriptor(for file: LogFile) -> Int32 {
        if file.readFD >= 0 { return file.readFD }
        if openFiles.count >= Self.maxOpenFiles { closeDescriptor(of: openFiles[0]) }
        file.readFD = open(file.path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        if file.readFD >= 0 { openFiles.append(file) }
        return file.readFD
    }

    private func closeDescriptor(of file: LogFile) {
        guard file.readFD >= 0 else { return }
        Glibc.close(file.readFD)
        file.readFD = -1
        if let index = openFiles.firstIndex(where: { $0 === file }) { openFiles.remove(at: index) }
    }

    /// Delivers what is left of `file`, forgets it and deletes it.
    func remove(_ file: LogFile) {
        read(file, all: true)
        file.pending = false
        closeDescriptor(of: file)
        file.onData = nil
        file.onDropped = nil
        entries[file.name] = nil
        unlink(file.path)
    }
}

/// One process's output file in `LogFiles`.
package final class LogFile {
    unowned let owner: LogFiles
    let name: String
    let path: String
    /// Bytes delivered so far.
    package internal(set) var offset = 0
    /// Bytes skipped because the reader fell more than `LogFiles.maxBacklogBytes` behind.
    package internal(set) var droppedBytes = 0
    /// Bytes whose storage was freed.
    var punched = 0
    /// The descriptor the loop reads with, or -1.
    var readFD: Int32 = -1
    /// Whether a read is already due (in the current `catchUp`, or on the next turn for a file left behind).
    var pending = false
    /// Receives what the process wrote, in order.
    package var onData: ((UnsafeRawBufferPointer) -> Void)?
    /// Receives the number of bytes skipped each time the reader falls too far behind.
    package var onDropped: ((Int) -> Void)?

    init(owner: LogFiles, name: String, path: String) {
        self.owner = owner
        self.name = name
        self.path = path
    }

    /// Delivers everything written so far.
    package func drain() { owner.read(self, all: true) }

    /// Delivers what is left and deletes the file.
    package func remove() { owner.remove(self) }
}
