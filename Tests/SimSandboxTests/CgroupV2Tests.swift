// The cgroup v2 code path on this machine's unified hierarchy (mounted beside v1's controllers, so it has
// the freezer but no memory or pids controller): a process started through the v2 prelude is a member when
// the command starts, freezing works, and the limits the hierarchy lacks are reported as degraded.

import SimCore
import SimUV
import Testing

@testable import SimSandbox

#if canImport(Glibc)
    import Glibc
#endif

/// A writable cgroup v2 hierarchy: the machine's unified one, if any.
private let unifiedRoot: String? = {
    for root in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
    where access("\(root)/cgroup.procs", W_OK) == 0 && access("\(root)/cgroup.subtree_control", F_OK) == 0 {
        return root
    }
    return nil
}()

/// What a child printed and how it ended, and the cgroup it ran in; reached from the loop thread only while
/// the test waits.
private final class Output: @unchecked Sendable {
    let cgroup: SandboxCgroup
    var text: [UInt8] = []
    var process: ChildProcess?

    init(cgroup: SandboxCgroup) { self.cgroup = cgroup }
}

@Suite("cgroup v2", .enabled(if: unifiedRoot != nil && getuid() == 0))
struct CgroupV2Tests {
    /// `cat /proc/self/cgroup` started through the v2 prelude prints the sandbox's cgroup as its own: the
    /// command runs inside from its first instruction.
    @Test(.timeLimit(.minutes(1)))
    func commandStartsInside() async throws {
        let root = try #require(unifiedRoot)
        let cgroup = try SandboxCgroup(
            name: "\(getpid())-v2test-\(Identifiers.randomHex(6))", memoryMB: 128, cpuScaling: false,
            hierarchy: .v2(root: root))
        defer { cgroup.remove() }
        let loop = try EventLoop(name: "cgroup-v2-test")
        let output = Output(cgroup: cgroup)
        let status: SimCore.ExitStatus = try await withCheckedThrowingContinuation { continuation in
            loop.submit {
                do {
                    let process = try output.cgroup.spawn(
                        ProcessSpec(arguments: ["/bin/cat", "/proc/self/cgroup"], environment: ["PATH=/usr/bin:/bin"]),
                        on: loop)
                    output.process = process
                    process.onStdout = { output.text.append(contentsOf: $0) }
                    process.onExit = { continuation.resume(returning: $0) }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        await loop.shutdown()
        #expect(status == .exited(0))
        let unified = String(decoding: output.text, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("0::") }
        #expect(unified == "0::/lambda-sim/\(cgroup.name)", "\(String(decoding: output.text, as: UTF8.self))")
    }

    /// A missing bootstrap fails the spawn with ENOENT, as without the prelude (Runtime.InvalidEntrypoint),
    /// instead of a shell that starts and exits 127.
    @Test(.timeLimit(.minutes(1)))
    func missingCommand() async throws {
        let root = try #require(unifiedRoot)
        let cgroup = try SandboxCgroup(
            name: "\(getpid())-v2test-\(Identifiers.randomHex(6))", memoryMB: 128, cpuScaling: false,
            hierarchy: .v2(root: root))
        defer { cgroup.remove() }
        let loop = try EventLoop(name: "cgroup-v2-test")
        let box = Output(cgroup: cgroup)
        let code: Int32? = try await loop.run { () -> Int32? in
            do {
                _ = try box.cgroup.spawn(ProcessSpec(arguments: ["/nonexistent/bootstrap"], environment: []), on: loop)
                return nil
            } catch let error as UVError {
                return error.code
            } catch {
                return nil
            }
        }
        await loop.shutdown()
        #expect(code == -ENOENT)
    }

    /// Limits of controllers the hierarchy lacks are listed as degraded and reported (each kind once per process).
    @Test func degradedLimits() throws {
        let root = try #require(unifiedRoot)
        let cgroup = try SandboxCgroup(
            name: "\(getpid())-v2test-\(Identifiers.randomHex(6))", memoryMB: 128, cpuScaling: false,
            hierarchy: .v2(root: root))
        defer { cgroup.remove() }
        let controllers = SmallFiles.readSmallFile("\(root)/cgroup.controllers") ?? ""
        if !controllers.contains("memory") {
            #expect(cgroup.degraded.contains("memory limit (no Runtime.OutOfMemory)"), "\(cgroup.degraded)")
        }
        if !controllers.contains("pids") { #expect(cgroup.degraded.contains("pids limit")) }
        // Freezing works in every v2 cgroup, controllers or not.
        cgroup.setFrozen(true)
        #expect(cgroup.freezerState() != .thawed)
        cgroup.setFrozen(false)
        #expect(cgroup.freezerState() == .thawed)
    }
}
