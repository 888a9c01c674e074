// The private state directory and what a later simulator does with a dead one's state (issue 20, findings 1–4):
// only what this user's simulator wrote is trusted, nothing is followed through a symbolic link.

import Foundation
import Testing

@testable import SimUV

#if canImport(Glibc)
    import Glibc
#endif

@Suite("state directory", .serialized)
struct StateDirectoryTests {
    /// A pid that no longer runs: a child that was reaped.
    private func deadPID() -> pid_t {
        var dead: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { free(argv[0]) }
        posix_spawn(&dead, "/bin/true", nil, nil, argv, environ)
        var code: Int32 = 0
        waitpid(dead, &code, 0)
        return dead
    }

    private func mode(of path: String) -> (uid: uid_t, mode: mode_t, isDirectory: Bool)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (info.st_uid, info.st_mode & 0o7777, info.st_mode & S_IFMT == S_IFDIR)
    }

    /// The process's directory is `<root>/<pid>`, both directories owned by this user with mode 0700, and the output
    /// files and the guard table live in it.
    @Test func instanceDirectoryIsPrivate() throws {
        let root = try #require(StateDirectory.root)
        let instance = try #require(StateDirectory.instance)
        #expect(instance == "\(root)/\(getpid())")
        for path in [root, instance] {
            let found = try #require(mode(of: path))
            #expect(found.isDirectory && found.uid == geteuid() && found.mode == 0o700, "\(path): \(found)")
        }
        #expect(ProcessGroups.socketPath(sandbox: "s1") == "\(instance)/s1.sock")
    }

    /// The state directory of a simulator that died without cleaning up (its output directory, files and a table it
    /// wrote) is removed by the next one.
    @Test func deadSimulatorsDirectoryIsRemoved() throws {
        let root = try #require(StateDirectory.root)
        let abandoned = "\(root)/\(deadPID())"
        #expect(mkdir(abandoned, 0o700) == 0)
        #expect(mkdir(abandoned + "/output-1", 0o700) == 0)
        close(open(abandoned + "/output-1/1", O_WRONLY | O_CREAT, 0o600))
        close(open(abandoned + "/s.sock", O_WRONLY | O_CREAT, 0o600))
        ProcessGroups.removeStale()
        #expect(access(abandoned, F_OK) != 0, "\(abandoned) was not removed")
    }

    /// A symbolic link named like a dead simulator's directory is removed as a link: the directory it points to and
    /// its files stay (finding 3).
    @Test func cleanupFollowsNoSymbolicLink() throws {
        let root = try #require(StateDirectory.root)
        let target = NSTemporaryDirectory() + "lambda-sim-target-\(getpid())"
        #expect(mkdir(target, 0o755) == 0)
        defer {
            unlink(target + "/keep")
            unlink(target + "/output-1")
            rmdir(target)
        }
        close(open(target + "/keep", O_WRONLY | O_CREAT, 0o600))
        let link = "\(root)/\(deadPID())"
        #expect(symlink(target, link) == 0)
        // Inside a real dead directory, a link where the output directory would be.
        let dead = "\(root)/\(deadPID())"
        #expect(mkdir(dead, 0o700) == 0)
        #expect(symlink(target, dead + "/output-1") == 0)
        ProcessGroups.removeStale()
        #expect(access(target + "/keep", F_OK) == 0, "a file behind the link was deleted")
        #expect(access(link, F_OK) != 0 && access(dead, F_OK) != 0)
    }

    /// A table file that another user owns, that has another mode, or that is a symbolic link is not read as a table
    /// (findings 1, 4); one of this user's, mode 0600, is.
    @Test func foreignTablesAreNotAdopted() throws {
        let root = try #require(StateDirectory.root)
        let owner = deadPID()
        let directory = "\(root)/\(owner)"
        // A real table, written as a simulator writes it, copied under other owners and modes.
        let child = try #require(ProcessGroups.tableFile)
        #expect(ProcessGroups.isAdoptableTable(child))
        let table = try #require(FileManager.default.contents(atPath: child))
        #expect(mkdir(directory, 0o700) == 0)
        defer { StateDirectory.removeTree(directory) }
        func copy(_ name: String, mode: mode_t, owner: uid_t? = nil) -> String {
            let path = directory + "/" + name
            _ = FileManager.default.createFile(atPath: path, contents: table)
            if let owner { chown(path, owner, owner) }
            chmod(path, mode)
            return path
        }
        #expect(ProcessGroups.isAdoptableTable(copy("good", mode: 0o600)))
        #expect(symlink(child, directory + "/link") == 0)
        for path in [copy("loose", mode: 0o644), copy("foreign", mode: 0o600, owner: 65_534), directory + "/link"] {
            #expect(!ProcessGroups.isAdoptableTable(path), "\(path) was adopted")
        }
    }

    /// A table naming a process that does not carry its mark, or the ids 0, 1 and -1, signals nothing: a reused pid
    /// or a forged entry cannot direct a kill (finding 1). The same process carrying the mark is killed.
    @Test func unverifiedEntriesAreNotSignalled() throws {
        let mark = "_LAMBDA_SIM_INSTANCE=test\(getpid())"
        func spawnSleeper(environment: [String]) -> pid_t {
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("30"), nil]
            let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
            defer { for arg in argv + envp { free(arg) } }
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
            posix_spawn(&pid, "/bin/sleep", nil, &attributes, argv, envp)
            posix_spawnattr_destroy(&attributes)
            return pid
        }
        let victim = spawnSleeper(environment: ["AWS_LAMBDA_RUNTIME_API=127.0.0.1:4711"])
        let marked = spawnSleeper(environment: [mark])
        defer {
            for pid in [victim, marked] {
                kill(pid, SIGKILL)
                var code: Int32 = 0
                waitpid(pid, &code, 0)
            }
        }
        let start = try #require(ProcessGroups.startTime(of: victim))
        let signalled = ProcessGroups.signalAsStaleTable(
            entries: [(victim, start), (-victim, start), (1, 0), (-1, 0), (0, 0)], owner: deadPID(), mark: mark)
        #expect(kill(victim, 0) == 0, "the victim was killed")
        #expect(processState(victim) != "T", "the victim was stopped")
        // The marked sleeper, found by its mark, is the only one signalled.
        #expect(signalled == 1)
        var code: Int32 = 0
        #expect(waitpid(marked, &code, 0) == marked)
        #expect(code & 0x7F == SIGKILL)
    }

    /// The state letter of `pid` (field 3 of /proc/<pid>/stat), or nil.
    private func processState(_ pid: pid_t) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        return stat[stat.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
    }
}
