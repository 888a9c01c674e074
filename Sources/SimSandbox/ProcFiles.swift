#if canImport(Glibc)
    import Glibc
#endif

/// Reads small `/proc/<pid>/…` files on the warm path without allocating: the path is formatted into a stack
/// buffer and the contents read into another.
enum ProcFiles {
    /// Bytes read into the stack buffer; a larger file is read again on the heap.
    static let stackBytes = 4096

    /// Calls `body` with the contents of `/proc/<pid>/<suffix>` (or `/proc/<pid>/task/<task>/<suffix>`), and
    /// returns its result; nil when the file cannot be read (the process is gone).
    static func read<T>(
        pid: Int32, task: Int32? = nil, _ suffix: StaticString, _ body: (UnsafeRawBufferPointer) -> T?
    ) -> T? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { path -> T? in
            var length = 0
            func append(_ bytes: UnsafeBufferPointer<UInt8>) {
                for byte in bytes {
                    path[length] = byte
                    length += 1
                }
            }
            func appendNumber(_ value: Int32) {
                var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                    (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
                var count = 0
                var rest = UInt32(bitPattern: value)
                withUnsafeMutableBytes(of: &digits) { digits in
                    repeat {
                        digits[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                        rest /= 10
                        count += 1
                    } while rest > 0
                    for index in stride(from: count - 1, through: 0, by: -1) {
                        path[length] = digits[index]
                        length += 1
                    }
                }
            }
            let proc: StaticString = "/proc/"
            append(UnsafeBufferPointer(start: proc.utf8Start, count: proc.utf8CodeUnitCount))
            appendNumber(pid)
            if let task {
                let taskPart: StaticString = "/task/"
                append(UnsafeBufferPointer(start: taskPart.utf8Start, count: taskPart.utf8CodeUnitCount))
                appendNumber(task)
            }
            path[length] = UInt8(ascii: "/")
            length += 1
            append(UnsafeBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount))
            path[length] = 0
            let fd = path.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_RDONLY | O_CLOEXEC) }
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            return withUnsafeTemporaryAllocation(byteCount: stackBytes, alignment: 8) { buffer -> T? in
                // A /proc file is generated whole at the first read: a short read is all of it.
                var count = 0
                while true {
                    let n = Glibc.read(fd, buffer.baseAddress!, buffer.count)
                    if n < 0 && errno == EINTR { continue }
                    count = max(0, n)
                    break
                }
                guard count == buffer.count else { return body(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) }
                // Larger than the stack buffer: read it whole on the heap.
                var bytes = Array(UnsafeRawBufferPointer(buffer))
                var chunk = [UInt8](repeating: 0, count: 65_536)
                while bytes.count < 1 << 20 {
                    let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    bytes += chunk[0..<n]
                }
                return bytes.withUnsafeBytes(body)
            }
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
/// only for processes with several threads. A reading of a runtime without children is two small reads.
package struct ProcessTree: Sendable {
    /// The live processes found by the last `measure`, roots first.
    package private(set) var pids: [Int32] = []

    /// Most processes counted per tree.
    static let maxProcesses = 4096

    package init() {}

    /// Reads every process under `roots` and returns the sum of their peak resident sets, in KiB.
    package mutating func measure(roots: [Int32]) -> Int {
        pids.removeAll(keepingCapacity: true)
        var total = 0
        var pending = roots
        while let pid = pending.popLast(), pids.count < Self.maxProcesses {
            let figures = ProcFiles.read(pid: pid, "status") { bytes -> (Int, Int)? in
                (ProcFiles.field("VmHWM:", in: bytes) ?? 0, ProcFiles.field("Threads:", in: bytes) ?? 1)
            }
            guard let (peak, threads) = figures else { continue }
            pids.append(pid)
            total += peak
            if threads <= 1 {
                Self.appendChildren(of: pid, task: pid, to: &pending)
            } else {
                for name in directoryEntries("/proc/\(pid)/task") ?? [] {
                    if let task = Int32(name) { Self.appendChildren(of: pid, task: task, to: &pending) }
                }
            }
        }
        return total
    }

    private static func appendChildren(of pid: Int32, task: Int32, to pending: inout [Int32]) {
        _ = ProcFiles.read(pid: pid, task: task, "children") { bytes -> Void? in
            ProcFiles.forEachNumber(bytes) { pending.append(Int32(truncatingIfNeeded: $0)) }
            return ()
        }
    }
}
