// The simulator's own robustness: nothing survives stop(), and garbage on the front port does not
// take it down (design.md §3.4, §6).

import Foundation
import LambdaSim
import Testing

@Suite("Simulator lifecycle")
struct LifecycleTests {
    /// After stop(), every pid the sandboxes reported is gone (kill(pid, 0) fails with ESRCH), including a child the
    /// runtime forked.
    @Test(.timeLimit(.minutes(1)))
    func stopLeavesNoProcesses() async throws {
        let logs = LogWatcher()
        let simulator = try await Simulator.start(
            functions: [TestFunctions.fixture(maxConcurrency: 2)], host: "127.0.0.1", port: 0,
            console: { logs.append($0) })
        let sim = SimHarness(simulator: simulator, logs: logs)
        var pids: [Int32] = []
        do {
            async let first = sim.invoke("fn", payload: #"{"forkSleep":60000,"sleepMs":200}"#)
            async let second = sim.invoke("fn", payload: #"{"forkSleep":60000,"sleepMs":200}"#)
            let responses = try await [first, second]
            #expect(responses.allSatisfy { $0.status == 200 && !$0.headers.contains("X-Amz-Function-Error") })
            let sandboxes = try await simulator.sandboxes()
            #expect(sandboxes.count == 2)
            for sandbox in sandboxes {
                #expect(sandbox.pids.count >= 2, "runtime and its forked child: \(sandbox.pids)")
                pids += sandbox.pids
            }
        } catch {
            await simulator.stop()
            throw error
        }
        await simulator.stop()

        // Orphans are reaped by pid 1, which may take a moment; a live process never turns into ESRCH.
        let deadline = ContinuousClock.now + .seconds(20)
        var alive = pids
        while !alive.isEmpty && ContinuousClock.now < deadline {
            alive = alive.filter { kill($0, 0) == 0 || errno != ESRCH }
            if !alive.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(alive.isEmpty, "still present: \(alive.map { "\($0) \(processState($0))" })")
    }

    /// The `State:` line of /proc/<pid>/status, for failure messages.
    private func processState(_ pid: Int32) -> String {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").first { $0.hasPrefix("State:") }.map(String.init) ?? "gone"
    }

    /// A helper the runtime started in a session of its own (out of its process group) dies with the sandbox when
    /// the runtime crashes, instead of writing into the sandbox's output later; the simulator keeps serving
    /// invokes (design.md §6: a runtime affects only its sandbox).
    @Test(.timeLimit(.minutes(1)))
    func sessionHelperDiesWithItsSandbox() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let marker = directory + "/written"
        // sh starts a writer outside the sandbox's process group (in the first sandbox only, not in the one that
        // replaces it after the crash), then becomes the fixture ($0); $1 is the marker.
        let script =
            #"[ -e "$1.once" ] || { touch "$1.once"; setsid sh -c 'sleep 0.5; echo late output >&2; touch "$1"' sh "$1" & }; exec "$0""#
        let function = FunctionOptions(
            name: "fn", command: ["/bin/sh", "-c", script, TestPaths.fixtureRuntime, marker],
            codeDirectory: TestPaths.binDirectory, inheritedEnvironment: TestPaths.inheritedEnvironment)
        try await withSimulator([function]) { sim in
            // The sandbox learns of processes that left its groups when it reads its process tree at the end of an
            // invoke: by the end of this one the helper has long called setsid.
            #expect(try await sim.invoke("fn", payload: #"{"sleepMs":100}"#).status == 200)
            let crash = try await sim.invoke("fn", payload: #"{"exit":3}"#)
            #expect(crash.status == 200)
            #expect(crash.headers["X-Amz-Function-Error"] == "Unhandled")
            // The helper would have written its marker 0.5 s after it started.
            try await Task.sleep(for: .seconds(1))
            #expect(!FileManager.default.fileExists(atPath: marker), "the helper outlived its sandbox")
            #expect(!sim.logs.texts.contains("late output"))
            let next = try await sim.invoke("fn", payload: #"{"still":"alive"}"#)
            #expect(next.status == 200)
            #expect(text(next) == #"{"still":"alive"}"#)
        }
    }

    /// A malformed HTTP request on the front port gets 400, and the simulator keeps serving invokes.
    @Test(.timeLimit(.minutes(1)))
    func malformedRequest() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let reply = try await rawExchange(port: sim.simulator.port, Array("NOT HTTP AT ALL\r\n\r\n".utf8))
            let statusLine = String(decoding: reply, as: UTF8.self).split(separator: "\r\n").first ?? ""
            #expect(statusLine.hasPrefix("HTTP/1.1 400"), "\(statusLine)")

            let response = try await sim.invoke("fn", payload: #"{"still":"serving"}"#)
            #expect(response.status == 200)
            #expect(text(response) == #"{"still":"serving"}"#)
        }
    }

    /// The Invoke API holds requests to RFC 9112: two `Host` headers, a chunked body with bare-LF line endings and
    /// chunk data without its CRLF each get 400 at once, and nothing is invoked.
    @Test(.timeLimit(.minutes(1)))
    func strictFramingOnTheInvokeAPI() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let head = "POST /2015-03-31/functions/fn/invocations HTTP/1.1\r\nHost: x\r\n"
            let requests = [
                head + "Host: y\r\nContent-Length: 2\r\n\r\n{}",
                head + "Transfer-Encoding: chunked\r\n\r\n2\n{}\n0\n\n",
                head + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\n",
                head + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}XY0\r\n\r\n",
            ]
            let clock = ContinuousClock()
            for request in requests {
                let start = clock.now
                let reply = try await rawExchange(
                    port: sim.simulator.port, Array(request.utf8), timeoutMilliseconds: 3_000)
                let statusLine = String(decoding: reply, as: UTF8.self).split(separator: "\r\n").first ?? ""
                #expect(statusLine.hasPrefix("HTTP/1.1 400"), "\(request.debugDescription): \(statusLine)")
                #expect(clock.now - start < .seconds(2))
            }
            #expect(!sim.logs.texts.contains { $0.hasPrefix("START RequestId:") })
        }
    }
}
