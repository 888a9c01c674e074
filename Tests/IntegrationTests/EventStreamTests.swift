// The public typed event stream: what a library user (the load tool, a runtime's test) reads instead of log
// lines.

import Foundation
import LambdaSim
import Testing

@Suite("Event stream")
struct EventStreamTests {
    /// Starts a simulator with `stream`, runs `body`, stops it, and returns every event the stream carried.
    private func events(
        _ functions: [FunctionOptions], account: Simulator.AccountOptions? = nil,
        stream: SimulatorEventStream = SimulatorEventStream(), _ body: (SimHarness) async throws -> Void
    ) async throws -> [SimulatorEvent] {
        let simulator = try await Simulator.start(
            functions: functions, host: "127.0.0.1", port: 0, account: account, events: stream)
        do {
            try await body(SimHarness(simulator: simulator, logs: LogWatcher()))
        } catch {
            await simulator.stop()
            throw error
        }
        await simulator.stop()
        var all: [SimulatorEvent] = []
        for await event in stream { all.append(event) }
        return all
    }

    /// A cold and a warm invoke (no freezing) give, in order: the init, each invoke's start, output, runtime end and report
    /// (the cold one with its init duration), and the sandbox's end; the sequence ends after the stop.
    @Test(.timeLimit(.minutes(1)))
    func lifecycleInOrder() async throws {
        var ids: [String] = []
        var function = TestFunctions.fixture()
        function.freezeMode = .none
        let all = try await events([function]) { sim in
            for round in 0..<2 {
                let response = try await sim.invoke("fn", payload: #"{"print":"round \#(round)"}"#)
                ids.append(try #require(response.headers["x-amzn-RequestId"]))
            }
        }
        let sandbox = try #require(all.first?.sandboxID)
        #expect(all.allSatisfy { $0.function == "fn" && $0.sandboxID == sandbox })
        let kinds = all.map(\.kind)
        guard kinds.count == 11 else {
            Issue.record("unexpected events: \(kinds)")
            return
        }
        #expect(kinds[0] == .initStarted(initializationType: .onDemand, phase: .initial))
        guard case .initFinished(_, .success, nil) = kinds[1] else { return #expect(Bool(false), "\(kinds[1])") }
        for (round, id) in ids.enumerated() {
            let base = 2 + round * 4
            #expect(all[base].kind == .invokeStarted && all[base].requestID == id)
            #expect(all[base + 1].kind == .output(source: .runtime, line: "round \(round)"))
            #expect(all[base + 1].requestID == id)
            guard case .runtimeDone(_, .success, nil, let bytes) = all[base + 2].kind else {
                return #expect(Bool(false), "\(all[base + 2])")
            }
            #expect(bytes == #"{"print":"round \#(round)"}"#.utf8.count)
            guard case .report(let report) = all[base + 3].kind else { return #expect(Bool(false), "\(all[base + 3])") }
            #expect(report.status == .success && report.memorySizeMB == 128 && report.maxMemoryUsedMB > 0)
            #expect((report.initDurationMilliseconds != nil) == (round == 0), "\(report)")
        }
        #expect(kinds[10] == .sandboxTerminated)
    }

    /// Freezing shows as `frozen`/`thawed` events with their latencies.
    @Test(.timeLimit(.minutes(1)))
    func freezesAreEvents() async throws {
        var function = TestFunctions.fixture()
        function.freezeMode = .signal
        let all = try await events([function]) { sim in
            for _ in 0..<3 {
                #expect(try await sim.invoke("fn").status == 200)
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let frozen = all.compactMap { if case .frozen(let latency) = $0.kind { latency } else { nil } }
        let thawed = all.compactMap { if case .thawed(let latency) = $0.kind { latency } else { nil } }
        #expect(frozen.count >= 3, "\(all.map(\.kind))")
        #expect(thawed.count >= 2, "\(all.map(\.kind))")
        #expect(frozen.allSatisfy { $0 > 0 && $0 < 1_000_000 })
    }

    /// A throttled invoke is an event of the function (no sandbox) with Lambda's reason.
    @Test(.timeLimit(.minutes(1)))
    func throttlesAreEvents() async throws {
        var function = TestFunctions.fixture(name: "zero")
        function.reservedConcurrency = 0
        let all = try await events([function], account: .init(concurrency: 10)) { sim in
            let response = try await sim.invoke("zero")
            #expect(response.status == 429)
        }
        let throttles = all.filter {
            $0.kind == .throttled(reason: .reserved)
        }
        #expect(throttles.count == 1, "\(all)")
        #expect(throttles.first?.sandboxID == nil && throttles.first?.requestID != nil)
    }

    /// A reader that falls behind costs at most the stream's capacity: older events are dropped and counted, and
    /// the reader is told where; without output lines, none of them are carried.
    @Test(.timeLimit(.minutes(1)))
    func boundedInBytes() async throws {
        let stream = SimulatorEventStream(capacityBytes: 4_096, includeOutput: false)
        let all = try await events([TestFunctions.fixture()], stream: stream) { sim in
            for _ in 0..<50 {
                let response = try await sim.invoke("fn", payload: #"{"print":"x"}"#)
                #expect(response.status == 200)
            }
        }
        #expect(stream.droppedCount > 0)
        guard case .eventsDropped(let count) = all.first?.kind else {
            Issue.record("no drop marker first: \(all.prefix(3))")
            return
        }
        #expect(count == stream.droppedCount)
        #expect(all.count < 40, "\(all.count) events kept")
        #expect(!all.contains { if case .output = $0.kind { true } else { false } })
        #expect(all.last?.kind == .sandboxTerminated)
    }

    /// `events()` on a running simulator sees what happens from then on: the next invoke from its start (the first
    /// invoke's REPORT may still come after its response, so events of that one are skipped).
    @Test(.timeLimit(.minutes(1)))
    func subscribeWhileRunning() async throws {
        var function = TestFunctions.fixture()
        function.freezeMode = .none
        try await withSimulator([function]) { sim in
            #expect(try await sim.invoke("fn").status == 200)
            let stream = try await sim.simulator.events(includeOutput: false)
            let response = try await sim.invoke("fn")
            let id = try #require(response.headers["x-amzn-RequestId"])
            var iterator = stream.makeAsyncIterator()
            var first = await iterator.next()
            while let event = first, event.requestID != id { first = await iterator.next() }
            #expect(first?.kind == .invokeStarted, "\(String(describing: first))")
        }
    }

    /// A runtime that exits mid-invoke makes it a fault: `fault` ("… Process exited before completing request")
    /// comes before its REPORT; an invoke that times out has none.
    @Test(.timeLimit(.minutes(1)))
    func faultBeforeTheReportOfACrash() async throws {
        var crashID = ""
        var timeoutID = ""
        let all = try await events([TestFunctions.fixture(timeoutSeconds: 1)]) { sim in
            let crash = try await sim.invoke("fn", payload: #"{"exit":3}"#)
            crashID = try #require(crash.headers["x-amzn-RequestId"])
            let timeout = try await sim.invoke("fn", payload: #"{"sleepMs":3000}"#)
            timeoutID = try #require(timeout.headers["x-amzn-RequestId"])
        }
        let faults = all.filter { if case .fault = $0.kind { return true } else { return false } }
        #expect(faults.map(\.kind) == [.fault("RequestId: \(crashID) Process exited before completing request")])
        #expect(faults.first?.requestID == crashID)
        let crashEvents = all.filter { $0.requestID == crashID }
        let faultIndex = crashEvents.firstIndex { if case .fault = $0.kind { return true } else { return false } }
        let reportIndex = crashEvents.firstIndex { if case .report = $0.kind { return true } else { return false } }
        #expect(faultIndex != nil && reportIndex != nil && faultIndex! < reportIndex!, "\(crashEvents)")
        #expect(all.contains { $0.requestID == timeoutID && $0.kind == .timedOut(seconds: 1) })
    }
}
