import CLibUV

#if canImport(Glibc)
    import Glibc
#endif

/// Where a simulator keeps the files it creates outside the user's project: its guard table, its processes' output
/// files and its Unix sockets, each simulator process in a directory of its own.
///
/// lambda-sim runs as root whenever the cgroup freezer or memory limits are wanted, and the memory-backed
/// directories it uses (`/dev/shm`, else the temporary directory) are writable by every local user. So nothing it
/// trusts lives directly in them:
///
/// - **The root** `<base>/lambda-sim-<uid>` is created mode 0700 and used only when it is a real directory (opened
///   `O_NOFOLLOW`, checked with `fstat` on that descriptor) owned by the simulator's effective uid; its mode is
///   forced back to 0700. Another user cannot create a directory owned by this uid, nor rename or remove one in a
///   sticky directory, so once checked the path stays ours. When another user took the name first, a fresh
///   `mkdtemp` directory `<base>/lambda-sim-<uid>.XXXXXX` is used instead (and said so).
/// - **This process's directory** `<root>/<pid>` is created anew (a leftover of a dead process that had the same
///   pid is first reaped as stale), mode 0700. Files in it are created `O_EXCL|O_NOFOLLOW`.
/// - **Stale state.** A later simulator finds the directories of dead ones in the root (and in fallback roots that
///   pass the same checks), reads their guard tables only when they are regular files owned by this uid with mode
///   0600 (`clibuv_guard_map_existing`), and removes them without following any symbolic link
///   (`clibuv_guard_remove_tree`).
package enum StateDirectory {
    /// The root for this user's simulators, or nil when none could be made safe (the reason in `problem`).
    package static var root: String? { resolved.root }

    /// This process's own directory (`<root>/<pid>`), created on first use; nil when there is no safe root.
    package static var instance: String? { resolved.instance }

    /// Why there is no state directory, or what was done instead of the usual one; nil when all went as planned.
    package static var problem: String? { resolved.problem }

    /// The names of the directories of a root that belong to simulator processes: decimal pids.
    package static func instancePIDs(in root: String) -> [Int32] {
        (directoryEntries(root) ?? []).compactMap { name in
            name.allSatisfy(\.isASCIIDigit) ? Int32(name) : nil
        }
    }

    /// Every root of this user's simulators under the base directory: the usual one and any fallback ones, each
    /// checked as the usual one is (a directory, not a link, owned by this uid, no access for others).
    package static func roots() -> [String] {
        let base = baseDirectory
        let name = rootName
        var found: [String] = []
        for entry in directoryEntries(base) ?? [] where entry == name || entry.hasPrefix(name + ".") {
            let path = "\(base)/\(entry)"
            if isPrivateDirectory(path, repair: false) == nil { found.append(path) }
        }
        return found
    }

    /// Removes `path` (a directory of a root) and what it holds, two levels deep, following no symbolic link.
    package static func removeTree(_ path: String) {
        _ = clibuv_guard_remove_tree(path, 2)
    }

    /// The memory-backed directory the roots live in: `/dev/shm` when it is a writable directory, else `$TMPDIR`
    /// or `/tmp`.
    static var baseDirectory: String {
        var info = stat()
        if stat("/dev/shm", &info) == 0, info.st_mode & S_IFMT == S_IFDIR, access("/dev/shm", W_OK) == 0 {
            return "/dev/shm"
        }
        if let tmp = getenv("TMPDIR").map({ String(cString: $0) }), tmp.hasPrefix("/") { return tmp }
        return "/tmp"
    }

    /// `lambda-sim-<euid>`.
    static var rootName: String { "lambda-sim-\(geteuid())" }

    /// nil when `path` is a directory (not a symbolic link) owned by the effective uid with no group or other
    /// access; else what is wrong. With `repair`, a directory of ours with looser access is tightened to 0700.
    static func isPrivateDirectory(_ path: String, repair: Bool) -> String? {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return "\(path): \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return "\(path): \(String(cString: strerror(errno)))" }
        guard info.st_mode & S_IFMT == S_IFDIR else { return "\(path) is not a directory" }
        guard info.st_uid == geteuid() else { return "\(path) is owned by uid \(info.st_uid), not \(geteuid())" }
        if info.st_mode & 0o077 != 0 {
            guard repair, fchmod(fd, 0o700) == 0 else {
                return "\(path) has mode \(String(info.st_mode & 0o7777, radix: 8))"
            }
        }
        return nil
    }

    private struct Resolved {
        var root: String?
        var instance: String?
        var problem: String?
    }

    private static let resolved: Resolved = {
        let base = baseDirectory
        var problem: String?
        var root: String? = "\(base)/\(rootName)"
        if let chosen = root {
            mkdir(chosen, 0o700)
            if let wrong = isPrivateDirectory(chosen, repair: true) {
                // Someone else holds the name: use a directory nobody can predict, and say so.
                var template = Array("\(base)/\(rootName).XXXXXX".utf8CString)
                let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
                if made != nil {
                    let fallback = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    problem = "lambda-sim: \(wrong), so state goes to \(fallback)"
                    root = fallback
                } else {
                    problem = "lambda-sim: no private state directory: \(wrong)"
                    root = nil
                }
            }
        }
        guard let root else { return Resolved(root: nil, instance: nil, problem: problem) }
        let instance = "\(root)/\(getpid())"
        if access(instance, F_OK) == 0 || errno != ENOENT {
            // A process with this pid died without cleaning up: its processes go first, then its files.
            ProcessGroups.killLeftovers(of: instance)
            removeTree(instance)
        }
        guard mkdir(instance, 0o700) == 0, isPrivateDirectory(instance, repair: false) == nil else {
            let reason = String(cString: strerror(errno))
            return Resolved(root: root, instance: nil, problem: "lambda-sim: cannot create \(instance): \(reason)")
        }
        return Resolved(root: root, instance: instance, problem: problem)
    }()
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
