import SimCore
import Testing

@testable import SimDomain

@Suite struct OutOfMemoryKillsTests {
    /// A SIGKILL while the cgroup's OOM kill count went up is an out-of-memory exit; the next exit without a new
    /// kill is not, nor is a new kill with another exit status.
    @Test func newKillWithSIGKILLIsOutOfMemory() {
        var kills = OutOfMemoryKills()
        let seen = [
            kills.runtimeExited(.signaled(9), killCount: 0), kills.runtimeExited(.signaled(9), killCount: 1),
            kills.runtimeExited(.signaled(9), killCount: 1), kills.runtimeExited(.exited(1), killCount: 2),
        ]
        #expect(seen == [false, true, false, false])
        #expect(kills.seen == 2)
    }
}
