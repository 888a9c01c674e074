/// Starts a simulator, runs `body` with it and stops it however `body` ends — returning, throwing (a failed
/// `#require`, an `XCTUnwrap`) or being cancelled — so that no sandbox process is left running or frozen. The
/// Invoke API listens on `host` at an ephemeral port (`simulator.endpoint`); the other parameters are
/// `Simulator.start`'s.
///
/// ```swift
/// try await withSimulator(functions: [FunctionOptions(name: "fn", command: [bootstrap], codeDirectory: dir)]) {
///     simulator in
///     let response = try await simulator.invoke(function: "fn", payload: Array("{}".utf8))
///     #expect(response.status == 200)
/// }
/// ```
public func withSimulator<Result>(
    functions: [FunctionOptions], host: String = "127.0.0.1", port: Int = 0,
    account: Simulator.AccountOptions? = nil, keepHistory: Bool = false,
    console: (@Sendable (Simulator.LogLine) -> Void)? = nil, events: SimulatorEventStream? = nil,
    _ body: (Simulator) async throws -> Result
) async throws -> Result {
    let simulator = try await Simulator.start(
        functions: functions, host: host, port: port, account: account, console: console, keepHistory: keepHistory,
        events: events)
    let result: Result
    do {
        result = try await body(simulator)
    } catch {
        await simulator.stop()
        throw error
    }
    await simulator.stop()
    return result
}
