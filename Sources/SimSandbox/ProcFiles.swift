import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// Reads small `/proc/<pid>/…` files on the warm path without allocating: the path is formatted into a stack
/// buffer and the contents read into another.
enum ProcFiles {
    /// Bytes read into the stack buffer; a larger file is read again on the heap.
    static let stackBytes = 4096

    /// Opens `/proc/<pid>/<suffix>` (or `/proc/<pid>/task/<task>/<suffix>`); -1 when it cannot be opened.
    static func open(pid: Int32, task: Int32? = nil, _ suffix: StaticString) -> Int32 {
        withPath(pid: pid, task: task, suffix) { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
    }

    /// Calls `body` with the contents of `/proc/<pid>/<suffix>` (or `/proc/<pid>/task/<task>/<suffix>`), and
    /// returns its result; nil when the file cannot be read (the process is gone).
    static func read<T>(
        pid: Int32, task: Int32? = nil, _ suffix: StaticString, _ body: (UnsafeRawBufferPointer) -> T?
    ) -> T? {
        read(fd: -1, pid: pid, task: task, suffix, body)
    }

    /// The same, reading the file already open as `fd` again from its start when `fd` is not -1.
    static func read<T>(
        fd: Int32, pid: Int32, task: Int32? = nil, _ suffix: StaticString, _ body: (UnsafeRawBufferPointer) -> T?
    ) -> T? {
        let kept = fd >= 0
        let fd = kept ? fd : open(pid: pid, task: task, suffix)
        guard fd >= 0 else { return nil }
        defer { if !kept { close(fd) } }
        return read(open: fd, body)
    }

    /// Calls `body` with the contents of the small file at `path` (a cgroup's state file, say), read into a stack
    /// buffer; nil when it cannot be read.
    static func readPath<T>(_ path: String, _ body: (UnsafeRawBufferPointer) -> T?) -> T? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return read(open: fd, body)
    }

    /// Calls `body` with the contents of the small file kept open as `fd` (read again from its start).
    static func readKept<T>(fd: Int32, _ body: (UnsafeRawBufferPointer) -> T?) -> T? { read(open: fd, body) }

    /// Reads the open file `fd` from its start.
    private static func read<T>(open fd: Int32, _ body: (UnsafeRawBufferPointer) -> T?) -> T? {
        withUnsafeTemporaryAllocation(byteCount: stackBytes, alignment: 8) { buffer -> T? in
            // A /proc file is generated whole at the first read: a short read is all of it.
            var count = 0
            while true {
                let n = pread(fd, buffer.baseAddress!, buffer.count, 0)
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { return nil }
                count = n
                break
            }
            guard count == buffer.count else { return body(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) }
            // Larger than the stack buffer: read it whole on the heap.
            var bytes = Array(UnsafeRawBufferPointer(buffer))
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while bytes.count < 1 << 20 {
                let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(bytes.count)) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                bytes += chunk[0..<n]
            }
            return bytes.withUnsafeBytes(body)
        }
    }

    /// Calls `body` with `/proc/<pid>[/task/<task>]/<suffix>` as a C string built on the stack.
    private static func withPath<T>(
        pid: Int32, task: Int32?, _ suffix: StaticString, _ body: (UnsafePointer<CChar>) -> T
    ) -> T {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { path -> T in
            var length = 0
            func append(_ text: StaticString) {
                for index in 0..<text.utf8CodeUnitCount {
                    path[length] = text.utf8Start[index]
                    length += 1
                }
            }
            func appendNumber(_ value: Int32) {
                var reversed: [UInt8] = []
                var rest = UInt32(bitPattern: value)
                repeat {
                    reversed.append(UInt8(ascii: "0") + UInt8(rest % 10))
                    rest /= 10
                } while rest > 0
                for digit in reversed.reversed() {
                    path[length] = digit
                    length += 1
                }
            }
            append("/proc/")
            appendNumber(pid)
            if let task {
                append("/task/")
                appendNumber(task)
            }
            append("/")
            append(suffix)
            path[length] = 0
            return path.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    /// Calls `number` with each unsigned decimal number of `bytes` (separated by anything else).
    static func forEachNumber(_ bytes: UnsafeRawBufferPointer, _ number: (Int) -> Void) {
        var value = 0
        var inNumber = false
        for byte in bytes {
            if byte >= 0x30 && byte <= 0x39 {
                value = value * 10 + Int(byte - 0x30)
                inNumber = true
            } else if inNumber {
                number(value)
                value = 0
                inNumber = false
            }
        }
        if inNumber { number(value) }
    }

    /// The number after `key` on its line (`VmHWM:   1234 kB` → 1234), nil when the key is missing.
    static func field(_ key: StaticString, in bytes: UnsafeRawBufferPointer) -> Int? {
        let keyLength = key.utf8CodeUnitCount
        var lineStart = 0
        while lineStart + keyLength <= bytes.count {
            var matches = true
            for offset in 0..<keyLength where bytes[lineStart + offset] != key.utf8Start[offset] {
                matches = false
                break
            }
            var index = lineStart
            if matches {
                index += keyLength
                var value = 0
                var seenDigit = false
                while index < bytes.count && bytes[index] != 0x0A {
                    let byte = bytes[index]
                    if byte >= 0x30 && byte <= 0x39 {
                        value = value * 10 + Int(byte - 0x30)
                        seenDigit = true
                    } else if seenDigit {
                        break
                    }
                    index += 1
                }
                return seenDigit ? value : nil
            }
            while index < bytes.count && bytes[index] != 0x0A { index += 1 }
            lineStart = index + 1
        }
        return nil
    }
}

/// The processes of one sandbox and their summed peak RSS (`VmHWM`), read from `/proc`.
///
/// Membership is found again at every reading, since any process may fork, but cheaply: a single-threaded
/// process's children come from one file (`/proc/<pid>/task/<pid>/children`), and the task directory is listed
/// only for processes with several threads. Both files of each process are kept open and read again with
/// `pread` (the kernel regenerates them; a read fails once the process is gone), so a reading of a runtime
/// without children is two system calls — while the whole simulator keeps at most `keptFiles.limit` such files
/// open, so that thousands of sandboxes do not spend their descriptors on it; beyond that, each reading opens
/// and closes the files. Loop-confined.
package final class ProcessTree {
    /// The live processes found by the last `measure`, roots first.
    package private(set) var pids: [Int32] = []
    /// The threads of the first root at the last `measure` (1 when it was not read).
    package private(set) var firstRootThreads = 1
    /// Open `status` and `children` files by pid (-1 where opening failed, e.g. out of descriptors).
    private var files: [Int32: (status: Int32, children: Int32)] = [:]

    /// Most processes counted per tree.
    static let maxProcesses = 4096
    /// The `/proc` files kept open by all trees together: at most 2,048.
    static let keptFiles = KeptFileBudget(limit: 2048)

    package init() {}

    deinit { closeAll() }

    /// Reads every process under `roots` and returns the sum of their peak resident sets, in KiB.
    package func measure(roots: [Int32]) -> Int {
        pids.removeAll(keepingCapacity: true)
        var total = 0
        var pending = roots
        while let pid = pending.popLast(), pids.count < Self.maxProcesses {
            let open = self.open(pid)
            let figures = ProcFiles.read(fd: open.status, pid: pid, "status") { bytes -> (Int, Int)? in
                (ProcFiles.field("VmHWM:", in: bytes) ?? 0, ProcFiles.field("Threads:", in: bytes) ?? 1)
            }
            guard let (peak, threads) = figures else {
                forget(pid)
                continue
            }
            pids.append(pid)
            total += peak
            if pid == roots.first { firstRootThreads = threads }
            if threads <= 1 {
                _ = ProcFiles.read(fd: open.children, pid: pid, task: pid, "children") { bytes -> Void? in
                    ProcFiles.forEachNumber(bytes) { pending.append(Int32(truncatingIfNeeded: $0)) }
                    return ()
                }
            } else {
                for name in directoryEntries("/proc/\(pid)/task") ?? [] {
                    guard let task = Int32(name) else { continue }
                    _ = ProcFiles.read(fd: -1, pid: pid, task: task, "children") { bytes -> Void? in
                        ProcFiles.forEachNumber(bytes) { pending.append(Int32(truncatingIfNeeded: $0)) }
                        return ()
                    }
                }
            }
        }
        if files.count > pids.count {
            // Forget processes that are no longer in the tree.
            let live = Set(pids)
            for pid in files.keys where !live.contains(pid) { forget(pid) }
        }
        return total
    }

    /// Closes every kept file.
    package func closeAll() {
        for pid in Array(files.keys) { forget(pid) }
    }

    /// The kept files of `pid`, opened now if there is room for them; (-1, -1) when there is none (each reading
    /// then opens its own).
    private func open(_ pid: Int32) -> (status: Int32, children: Int32) {
        if let open = files[pid] { return open }
        guard Self.keptFiles.take(2) else { return (-1, -1) }
        let open = (ProcFiles.open(pid: pid, "status"), ProcFiles.open(pid: pid, task: pid, "children"))
        files[pid] = open
        return open
    }

    private func forget(_ pid: Int32) {
        guard let open = files.removeValue(forKey: pid) else { return }
        if open.status >= 0 { close(open.status) }
        if open.children >= 0 { close(open.children) }
        Self.keptFiles.give(2)
    }
}
