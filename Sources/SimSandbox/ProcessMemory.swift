#if canImport(Glibc)
    import Glibc
#endif

/// Reads memory figures of process trees from `/proc`.
package enum ProcessMemory {
    /// Sum of the peak resident set (`VmHWM`) of `root` and all its descendants, in KiB.
    ///
    /// Each process's own peak is summed, an upper bound of the tree's simultaneous peak.
    package static func peakResidentKiB(root: Int32) -> Int {
        var total = 0
        var stack: [Int32] = [root]
        var seen = Set<Int32>()
        while let pid = stack.popLast(), seen.count < 4096 {
            guard seen.insert(pid).inserted else { continue }
            total += statusField(pid: pid, field: "VmHWM:") ?? 0
            stack += children(of: pid)
        }
        return total
    }

    /// Every descendant of `pid` (children, grandchildren, …), at most 4,096.
    package static func descendants(of pid: Int32) -> [Int32] {
        var result: [Int32] = []
        var stack = children(of: pid)
        while let next = stack.popLast(), result.count < 4096 {
            result.append(next)
            stack += children(of: next)
        }
        return result
    }

    /// Child pids of `pid`, from `/proc/<pid>/task/*/children`.
    package static func children(of pid: Int32) -> [Int32] {
        var result: [Int32] = []
        for name in directoryEntries("/proc/\(pid)/task") ?? [] {
            guard let tid = Int32(name) else { continue }
            let text = readSmallFile("/proc/\(pid)/task/\(tid)/children") ?? ""
            result += text.split(separator: " ").compactMap { Int32($0.trimmingSpaces) }
        }
        return result
    }

    /// A `kB` figure from `/proc/<pid>/status`, scanned as bytes (this runs at every REPORT).
    static func statusField(pid: Int32, field: String) -> Int? {
        guard let bytes = readSmallBytes("/proc/\(pid)/status") else { return nil }
        let key = Array(field.utf8)
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            if lineEnd - lineStart > key.count && bytes[lineStart..<lineStart + key.count].elementsEqual(key) {
                var value = 0
                var seenDigit = false
                for byte in bytes[(lineStart + key.count)..<lineEnd] {
                    if byte >= 0x30 && byte <= 0x39 {
                        value = value * 10 + Int(byte - 0x30)
                        seenDigit = true
                    } else if seenDigit {
                        break
                    }
                }
                return seenDigit ? value : nil
            }
            lineStart = lineEnd + 1
        }
        return nil
    }

    /// Reads a file of at most 64 KiB.
    static func readSmallFile(_ path: String) -> String? {
        readSmallBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads a file of at most 64 KiB as bytes.
    static func readSmallBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        var count = 0
        while true {
            if count == buffer.count {
                guard buffer.count < 65_536 else { break }
                buffer += [UInt8](repeating: 0, count: buffer.count)
            }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n <= 0 { break }
            count += n
        }
        buffer.removeSubrange(count...)
        return buffer
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" || c == "\n" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" { s = s.dropLast() }
        return s
    }
}
