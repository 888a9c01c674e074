#if canImport(Glibc)
    import Glibc
#endif

/// A result file (`--json`, `--report`, `--out`), checked before any load and written without harm to the system.
///
/// - `-` is standard output; a path that is or links to `/dev/stdout`, `/dev/fd/N` or `/proc/self/fd/N` is that
///   descriptor of this process, written where it stands (after the summary, when both go to one file).
/// - A target that exists and is not a regular file (a FIFO, a terminal, `/dev/stdout`) is written in place, never
///   renamed over; it must be writable now.
/// - A regular file, or one that does not exist yet, is replaced atomically: a temporary file (`O_EXCL`, in the
///   target's directory) is created when the output is prepared, so a directory that cannot be written fails
///   before the load, and is renamed over the target by `commit()`. A symlink is followed to its target, so the
///   link stays as it was.
package final class OutputFile {
    /// How the output reaches its target.
    private enum Kind {
        /// File descriptor 1.
        case standardOutput
        /// Another descriptor of this process (`/dev/fd/N`).
        case descriptor
        /// The existing non-regular file at this path, opened for writing when first written.
        case inPlace(String)
        /// A temporary file in the target's directory, renamed over `target` on commit.
        case replace(target: String, temporary: String)
    }

    private let kind: Kind
    /// The path as the user gave it, for messages.
    package let path: String
    private let option: String
    private var descriptor: Int32 = -1
    private var done = false

    /// Whether the output is standard output (the human summary then goes to standard error).
    package var isStandardOutput: Bool {
        if case .standardOutput = kind { return true }
        return false
    }

    /// Checks that `path` can be written and prepares it; `option` names it in errors (`--json`).
    package init(_ path: String, option: String) throws(LoadPlanError) {
        self.path = path
        self.option = option
        if path == "-" {
            kind = .standardOutput
            descriptor = 1
            return
        }
        guard !path.isEmpty else { throw LoadPlanError("\(option): an empty path") }
        if let number = Self.descriptorNamed(by: path) {
            guard fcntl(number, F_GETFD) >= 0 else {
                throw LoadPlanError("\(option) \(path): descriptor \(number) is not open")
            }
            kind = number == 1 ? .standardOutput : .descriptor
            descriptor = number
            return
        }
        var target = path
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
            guard let resolved = realpath(path, nil) else {
                throw LoadPlanError("\(option) \(path): a symbolic link to nothing (\(Self.errorText()))")
            }
            target = String(cString: resolved)
            free(resolved)
        }
        if stat(target, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                break
            case S_IFDIR:
                throw LoadPlanError("\(option) \(path): is a directory")
            default:
                guard access(target, W_OK) == 0 else {
                    throw LoadPlanError("\(option) \(path): cannot write (\(Self.errorText()))")
                }
                kind = .inPlace(target)
                return
            }
        }
        let slash = target.lastIndex(of: "/")
        let directory = slash.map { $0 == target.startIndex ? "/" : String(target[..<$0]) } ?? "."
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        var template = Array("\(directory)/.\(name).lambda-sim-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw LoadPlanError("\(option) \(path): cannot write (\(Self.errorText()))") }
        // The mode a new file would get (0644 under the usual umask), or the replaced file's.
        let mask = umask(0)
        umask(mask)
        let mode = stat(target, &info) == 0 ? info.st_mode & 0o7777 : 0o666 & ~mask
        fchmod(fd, mode)
        descriptor = fd
        kind = .replace(
            target: target, temporary: template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    deinit { discard() }

    /// Writes `bytes` (all of them, or throws).
    package func write(_ bytes: [UInt8]) throws(LoadPlanError) {
        if descriptor < 0, case .inPlace(let target) = kind {
            descriptor = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC)
            guard descriptor >= 0 else { throw LoadPlanError("\(option) \(path): cannot write (\(Self.errorText()))") }
        }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw LoadPlanError("\(option) \(path): cannot write (\(Self.errorText()))") }
            offset += n
        }
    }

    /// Writes `text`.
    package func write(_ text: String) throws(LoadPlanError) { try write(Array(text.utf8)) }

    /// Finishes the output: a replaced file is synced and renamed over its target.
    package func commit() throws(LoadPlanError) {
        guard !done else { return }
        done = true
        switch kind {
        case .standardOutput, .descriptor:
            return
        case .inPlace:
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
        case .replace(let target, let temporary):
            let synced = fsync(descriptor) == 0
            close(descriptor)
            descriptor = -1
            guard synced, rename(temporary, target) == 0 else {
                let text = Self.errorText()
                unlink(temporary)
                throw LoadPlanError("\(option) \(path): cannot write (\(text))")
            }
        }
    }

    /// Gives the output up: a temporary file is removed, the target left as it was.
    package func discard() {
        guard !done else { return }
        done = true
        switch kind {
        case .standardOutput, .descriptor: return
        case .inPlace, .replace: break
        }
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        if case .replace(_, let temporary) = kind { unlink(temporary) }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }

    /// The descriptor `path` names, following up to 8 symlinks: `/dev/stdout` (1), `/dev/stderr` (2), `/dev/fd/N`,
    /// `/proc/self/fd/N`; nil for any other path.
    static func descriptorNamed(by path: String) -> Int32? {
        var current = path
        for _ in 0..<8 {
            switch current {
            case "/dev/stdout": return 1
            case "/dev/stderr": return 2
            default: break
            }
            for prefix in ["/dev/fd/", "/proc/self/fd/"] where current.hasPrefix(prefix) {
                if let number = Int32(current.dropFirst(prefix.count)) { return number }
            }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(current, &buffer, buffer.count - 1)
            guard length > 0 else { return nil }
            let link = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if link.hasPrefix("/") {
                current = link
            } else {
                let directory = current.lastIndex(of: "/").map { String(current[...$0]) } ?? ""
                current = directory + link
            }
        }
        return nil
    }
}
