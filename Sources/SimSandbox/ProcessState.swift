#if canImport(Glibc)
    import Glibc
#endif

/// A process's scheduler state and group, read from `/proc/<pid>/stat`.
package struct ProcessState: Equatable, Sendable {
    /// The state letter: `R` running, `S` sleeping, `T` stopped, `t` traced, `Z` zombie, …
    package var state: Character
    package var processGroup: Int32

    /// True when the process is stopped (by SIGSTOP or the freezer shows it as such).
    package var isStopped: Bool { state == "T" || state == "t" }

    /// Reads `/proc/<pid>/stat`; nil when the process is gone.
    package static func read(_ pid: Int32) -> ProcessState? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        guard n > 0 else { return nil }
        return parse(buffer[0..<n])
    }

    /// Parses a `stat` line: `pid (comm) S ppid pgrp …`; the command name may hold spaces and parentheses.
    package static func parse(_ line: ArraySlice<UInt8>) -> ProcessState? {
        guard let close = line.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = line[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count >= 4, let letter = fields[0].first else { return nil }
        guard let group = Int32(String(decoding: fields[2], as: UTF8.self)) else { return nil }
        return ProcessState(state: Character(Unicode.Scalar(letter)), processGroup: group)
    }
}
