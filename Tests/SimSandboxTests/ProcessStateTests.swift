import Testing

@testable import SimSandbox

@Suite struct ProcessStateTests {
    /// `/proc/<pid>/stat` parses even when the command name holds spaces and parentheses.
    @Test func parsesStat() {
        let line = Array("4242 (my (odd) name) T 1 4200 4100 0 -1 4194560".utf8)
        #expect(ProcessState.parse(line[...]) == ProcessState(state: "T", processGroup: 4200))
        #expect(ProcessState.parse(Array("garbage".utf8)[...]) == nil)
    }

    /// This test process reads as running or sleeping, in its own group as `getpgrp` says.
    @Test func readsSelf() {
        let state = ProcessState.read(getpid())
        #expect(state != nil)
        #expect(state?.isStopped == false)
        #expect(state?.processGroup == getpgrp())
    }
}

#if canImport(Glibc)
    import Glibc
#endif
