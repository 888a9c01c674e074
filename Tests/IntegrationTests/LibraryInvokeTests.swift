// The public, typed invoke of the library: `Simulator.invoke` on the simulator's own loop, and `InvokeClient`
// against an endpoint, as a Swift test would use them (issue 15, item 4).

import Foundation
import LambdaSim
import Testing

@Suite("Typed invoke", .serialized)
struct LibraryInvokeTests {
    /// A synchronous invoke with the log tail, a function error decoded, `Event` and `DryRun`, and a client context
    /// that reaches the runtime.
    @Test(.timeLimit(.minutes(1)))
    func invokeOnTheSimulatorsLoop() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let simulator = sim.simulator
            let ok = try await simulator.invoke(function: "fn", payload: Array(#"{"a":1}"#.utf8), logType: .tail)
            #expect(ok.status == 200 && ok.text == #"{"a":1}"# && ok.functionError == nil)
            let id = try #require(ok.requestID)
            #expect(ok.log?.contains("REPORT RequestId: \(id)") == true, "\(ok.log ?? "")")

            let failed = try await simulator.invoke(function: "fn", payload: Array(#"{"error":"My.Error"}"#.utf8))
            #expect(failed.status == 200 && failed.functionError == "Unhandled")
            #expect(failed.functionErrorType == "My.Error" && failed.functionErrorMessage == "fixture error")

            #expect(try await simulator.invoke(function: "fn", payload: Array("{}".utf8), type: .event).status == 202)
            #expect(try await simulator.invoke(function: "fn", type: .dryRun).status == 204)
            let missing = try await simulator.invoke(function: "nope")
            #expect(missing.status == 404 && missing.errorType == "ResourceNotFoundException")

            let headers = try await simulator.invoke(
                function: "fn", payload: Array(#"{"headers":true}"#.utf8), clientContext: #"{"custom":{"k":"v"}}"#)
            let seen = try #require(try JSONSerialization.jsonObject(with: Data(headers.body)) as? [String: String])
            let context = seen.first { $0.key.lowercased() == "lambda-runtime-client-context" }?.value
            #expect(context?.contains(#""custom""#) == true, "\(seen)")
        }
    }

    /// The same API against an endpoint, many calls on the shared client loop.
    @Test(.timeLimit(.minutes(1)))
    func invokeAnEndpoint() async throws {
        try await withSimulator([TestFunctions.fixture()]) { sim in
            for index in 0..<20 {
                let response = try await InvokeClient.invoke(
                    endpoint: sim.simulator.endpoint, function: "fn", payload: Array("{\"i\":\(index)}".utf8),
                    type: .requestResponse)
                #expect(response.status == 200 && response.text == "{\"i\":\(index)}")
            }
            await #expect(throws: InvokeClient.Failure.self) {
                _ = try await InvokeClient.invoke(endpoint: "localhost:9000", function: "fn", type: .dryRun)
            }
        }
    }

    /// A setting only serve mode honours, given without an account, is refused at start rather than ignored.
    @Test(.timeLimit(.minutes(1)))
    func serveOnlySettingsNeedAnAccount() async throws {
        var function = TestFunctions.fixture()
        function.reservedConcurrency = 2
        do {
            let simulator = try await Simulator.start(functions: [function], port: 0)
            await simulator.stop()
            Issue.record("started without an account")
        } catch let error as Simulator.OptionError {
            #expect(error.message.contains("function 'fn': reservedConcurrency needs an account"), "\(error)")
        }
    }

    /// Payloads as text, bytes or any `Encodable` (`json:`, sent as JSON), and results decoded as a `Decodable`: the fixture
    /// echoes its payload, so each comes back as it went; a function error, a throttle-like status or an unknown
    /// function throws `InvokeError` with the answer instead of decoding it.
    @Test(.timeLimit(.minutes(1)))
    func typedPayloadsAndResults() async throws {
        struct Order: Codable, Equatable {
            var id: Int
            var item: String
        }
        try await withSimulator([TestFunctions.fixture()]) { sim in
            let simulator = sim.simulator
            let text = try await simulator.invoke(function: "fn", payload: #"{"a":1}"#)
            #expect(text.status == 200 && text.text == #"{"a":1}"#)
            let encoded = try await simulator.invoke(function: "fn", json: Order(id: 7, item: "tea"))
            #expect(try encoded.decode(Order.self) == Order(id: 7, item: "tea"), "\(encoded.text)")
            let decoded = try await simulator.invoke(
                function: "fn", json: Order(id: 8, item: "cake"), returning: Order.self)
            #expect(decoded == Order(id: 8, item: "cake"))
            let fromBytes = try await simulator.invoke(
                function: "fn", payload: Array(#"{"id":9,"item":"jam"}"#.utf8), returning: Order.self)
            #expect(fromBytes == Order(id: 9, item: "jam"))

            await #expect {
                _ = try await simulator.invoke(
                    function: "fn", payload: Array(#"{"error":"My.Error"}"#.utf8), returning: Order.self)
            } throws: { error in
                guard let error = error as? InvokeClient.InvokeError else { return false }
                return error.response.functionErrorType == "My.Error"
                    && error.description == "function error (Unhandled) My.Error: fixture error"
            }
            await #expect {
                _ = try await simulator.invoke(function: "nope", returning: Order.self)
            } throws: { error in
                (error as? InvokeClient.InvokeError)?.description == "status 404 (ResourceNotFoundException)"
            }
            await #expect(throws: DecodingError.self) {
                _ = try await simulator.invoke(
                    function: "fn", payload: #"{"other":1}"#.utf8.map { $0 }, returning: Order.self)
            }
        }
    }
}

/// `withSimulator(functions:)`, the library's scoped simulator, as a user's test would call it.
@Suite("Scoped simulator", .serialized)
struct ScopedSimulatorTests {
    private struct BodyFailed: Error {}

    /// A body that throws still has the simulator stopped: its sandbox's processes (a frozen runtime and the child
    /// it forked) are gone, and the error reaches the caller.
    @Test(.timeLimit(.minutes(1)))
    func aFailingBodyLeavesNothing() async throws {
        var function = TestFunctions.fixture()
        function.freezeMode = .signal
        let pids = PidBox()
        await #expect(throws: BodyFailed.self) {
            try await withSimulator(functions: [function]) { simulator in
                let response = try await simulator.invoke(function: "fn", payload: Array(#"{"forkSleep":60000}"#.utf8))
                #expect(response.status == 200)
                _ = try await eventually { try await simulator.sandboxes().first?.frozen == true }
                await pids.set(try await simulator.sandboxes().flatMap(\.pids))
                throw BodyFailed()
            }
        }
        let seen = await pids.value
        #expect(seen.count >= 2, "runtime and its child: \(seen)")
        let left = try await ProcProbe.waitUntilGone(seen)
        #expect(left.isEmpty, "still present: \(left.map(ProcProbe.describe))")
    }

    /// The body's result is returned.
    @Test(.timeLimit(.minutes(1)))
    func returnsTheBodysResult() async throws {
        let text = try await withSimulator(functions: [TestFunctions.fixture()]) { simulator in
            try await simulator.invoke(function: "fn", payload: Array(#"{"x":1}"#.utf8)).text
        }
        #expect(text == #"{"x":1}"#)
    }
}

/// Pids handed out of a closure.
private actor PidBox {
    private(set) var value: [Int32] = []
    func set(_ pids: [Int32]) { value = pids }
}
