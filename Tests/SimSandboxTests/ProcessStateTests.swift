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

@Suite struct ProcessTreeTests {
    /// This test process reads as a member with a positive peak RSS (it has several threads, so its task
    /// directory is listed for children).
    @Test func measuresSelf() {
        let tree = ProcessTree()
        let peak = tree.measure(roots: [getpid()])
        #expect(peak > 0)
        #expect(tree.pids.first == getpid())
        #expect(tree.measure(roots: [Int32.max]) == 0)
        #expect(tree.pids.isEmpty)
    }

    /// A field is read from its line whatever the spacing; a missing key is nil.
    @Test func statusFields() {
        let status = Array("Name:\tx\nThreads:\t3\nVmHWM:\t    1234 kB\n".utf8)
        status.withUnsafeBytes { bytes in
            #expect(ProcFiles.field("VmHWM:", in: bytes) == 1234)
            #expect(ProcFiles.field("Threads:", in: bytes) == 3)
            #expect(ProcFiles.field("VmRSS:", in: bytes) == nil)
        }
        var numbers: [Int] = []
        Array("12 345 6".utf8).withUnsafeBytes { ProcFiles.forEachNumber($0) { numbers.append($0) } }
        #expect(numbers == [12, 345, 6])
    }
}

@Suite struct RuntimeAPIRouteTests {
    /// Paths decode to their routes; a wrong method is 405 with the allowed one; anything else is 404.
    @Test func routes() {
        #expect(RuntimeAPIRoute(method: "GET", path: "/2018-06-01/runtime/invocation/next") == .next)
        #expect(
            RuntimeAPIRoute(method: "POST", path: "/2018-06-01/runtime/invocation/abc/response")
                == .response(requestID: "abc"))
        #expect(
            RuntimeAPIRoute(method: "POST", path: "/2018-06-01/runtime/invocation/abc/error")
                == .error(requestID: "abc"))
        #expect(
            RuntimeAPIRoute(method: "POST", path: "/2018-06-01/runtime/invocation//response")
                == .response(requestID: ""))
        #expect(RuntimeAPIRoute(method: "POST", path: "/2018-06-01/runtime/init/error") == .initError)
        #expect(RuntimeAPIRoute(method: "GET", path: "/2018-06-01/ping") == .ping)
        #expect(
            RuntimeAPIRoute(method: "POST", path: "/2018-06-01/runtime/invocation/next")
                == .methodNotAllowed(allow: "GET"))
        #expect(
            RuntimeAPIRoute(method: "GET", path: "/2018-06-01/runtime/invocation/abc/response")
                == .methodNotAllowed(allow: "POST"))
        for path in [
            "/2018-06-01/runtime/invocation/a/b/response", "/2018-06-01/runtime/invocation/abc/other",
            "/2018-06-01/runtime/invocation/next/", "/2018-06-01/", "/2018-06-02/runtime/invocation/next", "/",
        ] {
            #expect(RuntimeAPIRoute(method: "GET", path: path) == .notFound, "\(path)")
        }
    }
}
