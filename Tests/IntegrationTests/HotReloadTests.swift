// serve --watch: a changed handler file replaces a function's sandboxes (idle ones at once, busy ones after
// their invoke), with awslambdaric loading the new code.

import Foundation
import LambdaSim
import Synchronization
import Testing

/// Counts reloads reported by `Simulator.watch`.
private final class ReloadCounter: Sendable {
    private let count = Mutex(0)
    func record() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }

    /// Waits until more than `previous` reloads were seen.
    func wait(beyond previous: Int) async throws {
        for _ in 0..<500 where value <= previous { try await Task.sleep(for: .milliseconds(10)) }
        #expect(value > previous, "no reload reported")
    }
}

@Suite("Hot reload", .serialized)
struct HotReloadTests {
    /// Versions differ in length: Python trusts a cached `.pyc` whose source has the same size and modification
    /// second.
    private static func writeHandler(_ directory: String, version: String) throws {
        let source = """
            import time
            VERSION = "\(version)"


            def handler(event, context):
                time.sleep(event.get("sleep", 0))
                return {"version": VERSION}
            """
        try Data(source.utf8).write(to: URL(fileURLWithPath: directory + "/app/app.py"))
    }

    /// After the handler file changes, the idle sandbox is shut down and the next invoke runs the new code; a
    /// sandbox busy during a change finishes its invoke on the old code, is then shut down, and invokes that
    /// arrive meanwhile cold-start on the new code.
    @Test(.timeLimit(.minutes(1)))
    func changedHandlerReloads() async throws {
        let directory = NSTemporaryDirectory() + "lambda-sim-reload-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory + "/app", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.writeHandler(directory, version: "v1")
        try Data(
            """
            Resources:
              Reloaded:
                Type: AWS::Serverless::Function
                Properties: {CodeUri: app/, Handler: app.handler, Runtime: python3.12, Timeout: 10}
            """.utf8
        ).write(to: URL(fileURLWithPath: directory + "/template.yaml"))
        let template = try TemplateConfiguration.load(file: directory + "/template.yaml", python: TestPaths.python)
        let reloads = ReloadCounter()
        try await withSimulator(template.configuration.functions, account: template.configuration.account) { sim in
            try await sim.simulator.watch(template.codeDirectories, debounceMilliseconds: 50) { _ in reloads.record() }
            func version(_ payload: String = "{}") async throws -> String? {
                let response = try await sim.invoke("Reloaded", payload: payload)
                #expect(response.status == 200)
                return try jsonObject(response)["version"] as? String
            }
            func sandboxIDs() async throws -> Set<String> { Set(try await sim.simulator.sandboxes().map(\.id)) }

            #expect(try await version() == "v1")
            let first = try await sandboxIDs()
            #expect(first.count == 1)
            try Self.writeHandler(directory, version: "v22")
            try await reloads.wait(beyond: 0)
            for _ in 0..<300 where try await !sandboxIDs().isDisjoint(with: first) {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(try await sandboxIDs().isDisjoint(with: first), "the idle sandbox was not shut down")
            #expect(try await version() == "v22")

            let busy = try await sandboxIDs()
            async let slow = version(#"{"sleep": 1.0}"#)
            try await Task.sleep(for: .milliseconds(300))
            let seen = reloads.value
            try Self.writeHandler(directory, version: "v333")
            try await reloads.wait(beyond: seen)
            #expect(try await version() == "v333")
            #expect(try await slow == "v22")
            for _ in 0..<300 where try await !sandboxIDs().isDisjoint(with: busy) {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(
                try await sandboxIDs().isDisjoint(with: busy), "the busy sandbox was not shut down after its invoke")
            #expect(try await version() == "v333")
        }
    }
}
