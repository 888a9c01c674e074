// Several invokes at once: queueing on one sandbox, or spreading over several (lambda-behaviour.md §6.1).

import LambdaSim
import Testing

@Suite("Concurrent invokes")
struct ConcurrencyTests {
    /// Sends six invokes at once, each `{"sleepMs":100,"i":N}`, and returns the responses by N.
    private func sixConcurrentInvokes(_ sim: SimHarness) async throws -> [(
        payload: String, response: InvokeClient.Response
    )] {
        try await withThrowingTaskGroup(of: (String, InvokeClient.Response).self) { group in
            for index in 0..<6 {
                let payload = #"{"sleepMs":100,"i":\#(index)}"#
                group.addTask { (payload, try await sim.invoke("fn", payload: payload)) }
            }
            var results: [(payload: String, response: InvokeClient.Response)] = []
            for try await result in group { results.append(result) }
            return results
        }
    }

    /// Waits for every response's REPORT line so invocation counts are final.
    private func waitForReports(_ sim: SimHarness, _ responses: [InvokeClient.Response]) async throws {
        for response in responses {
            let id = try #require(response.headers["x-amzn-RequestId"])
            _ = try #require(await sim.logs.report(for: id))
        }
    }

    /// With maxConcurrency 1, six concurrent invokes queue on one sandbox and all succeed with their own payload.
    @Test(.timeLimit(.minutes(1)))
    func queueOnOneSandbox() async throws {
        try await withSimulator([TestFunctions.fixture(maxConcurrency: 1)]) { sim in
            let results = try await sixConcurrentInvokes(sim)
            for (payload, response) in results {
                #expect(response.status == 200)
                #expect(!response.headers.contains("X-Amz-Function-Error"))
                #expect(text(response) == payload)
            }
            try await waitForReports(sim, results.map(\.response))
            let sandboxes = try await sim.simulator.sandboxes()
            #expect(sandboxes.count == 1)
            #expect(sandboxes.first?.invocations == 6)
        }
    }

    /// With maxConcurrency 6, six concurrent invokes all succeed on six sandboxes with distinct Runtime API ports.
    @Test(.timeLimit(.minutes(1)))
    func spreadOverSixSandboxes() async throws {
        try await withSimulator([TestFunctions.fixture(maxConcurrency: 6)]) { sim in
            let results = try await sixConcurrentInvokes(sim)
            for (payload, response) in results {
                #expect(response.status == 200)
                #expect(!response.headers.contains("X-Amz-Function-Error"))
                #expect(text(response) == payload)
            }
            try await waitForReports(sim, results.map(\.response))
            let sandboxes = try await sim.simulator.sandboxes()
            #expect(sandboxes.count == 6)
            #expect(Set(sandboxes.map(\.runtimeAPI)).count == 6)
            #expect(sandboxes.allSatisfy { $0.invocations == 1 })
        }
    }
}
