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
        ProcFiles.read(pid: pid, "stat") { parse($0) }
    }

    /// Parses a `stat` line: `pid (comm) S ppid pgrp …`; the command name may hold spaces and parentheses.
    package static func parse(_ line: ArraySlice<UInt8>) -> ProcessState? {
        Array(line).withUnsafeBytes { parse($0) }
    }

    /// Parses a `stat` line without allocating.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> ProcessState? {
        guard var index = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // ") S ppid pgrp": the state letter, then the parent, then the group.
        index += 1
        func skipSpaces() { while index < bytes.count && bytes[index] == 0x20 { index += 1 } }
        func number() -> Int32? {
            let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
            if negative { index += 1 }
            var value: Int32 = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                value = value &* 10 &+ Int32(bytes[index] - 0x30)
                index += 1
                digits += 1
            }
            return digits > 0 ? (negative ? -value : value) : nil
        }
        skipSpaces()
        guard index < bytes.count else { return nil }
        let letter = bytes[index]
        index += 1
        skipSpaces()
        guard number() != nil else { return nil }
        skipSpaces()
        guard let group = number() else { return nil }
        return ProcessState(state: Character(Unicode.Scalar(letter)), processGroup: group)
    }
}
