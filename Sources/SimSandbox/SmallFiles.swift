#if canImport(Glibc)
    import Glibc
#endif

/// Reads small files (`/proc`, cgroup files) whole.
package enum SmallFiles {
    /// Reads a file of at most 64 KiB.
    package static func readSmallFile(_ path: String) -> String? {
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
