import Foundation
import SimConfig
import SimDomain
import SimUV

/// A `serve` configuration file (YAML: `account`, `server`, `functions`, `asyncDefaults`; see `Config/serve.yaml`)
/// as the options `Simulator.start` takes, so that a test can start the same functions the CLI serves.
///
/// Every key of the file is honoured or rejected: an unknown key or an out-of-range value is a
/// `SimulatorConfiguration.Error` naming the file, the line and the key, as `lambda-sim serve` reports it.
///
/// ```swift
/// let configuration = try SimulatorConfiguration.load(file: "Config/serve.yaml")
/// try await withSimulator(configuration) { simulator in
///     let response = try await simulator.invoke(function: "hello-bash", payload: Array("{}".utf8))
/// }
/// ```
public struct SimulatorConfiguration: Sendable {
    /// The functions, with their settings (reserved and provisioned concurrency, idle timeout, …).
    public var functions: [FunctionOptions]
    /// The account: concurrency, scaling rate, the queue of asynchronous events. A configuration always has one:
    /// its functions are served with Lambda's limits.
    public var account: Simulator.AccountOptions
    /// The front server's host (`server.host`, default 127.0.0.1).
    public var host: String
    /// The front server's port (`server.port`, default 9000; 0 for an ephemeral one).
    public var port: Int

    /// A configuration file that cannot be used: the file, the line and the dotted key path of the problem.
    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        /// The file, as it was named.
        public var file: String
        /// 1-based line (0 when the file could not be read).
        public var line: Int
        /// The offending key, e.g. `functions.hello.memorySize` (empty for a syntax error).
        public var keyPath: String
        /// What is wrong.
        public var message: String
        /// `FILE:LINE: KEY.PATH: message`, as `lambda-sim serve` prints it.
        public var description: String

        init(_ error: ConfigError) {
            file = error.file
            line = error.line
            keyPath = error.keyPath
            message = error.message
            description = error.description
        }
    }

    /// Reads and validates the YAML file at `path`. A function sees only its own variables and Lambda's, plus the
    /// variables of `environment` (by default this process's) that its `passEnvironment` names; a command given by
    /// name (`python3`) is looked up on `environment`'s `PATH`. `timeScale` multiplies asynchronous retry delays.
    public static func load(
        file path: String, environment: [String: String] = ProcessInfo.processInfo.environment, timeScale: Double = 1
    ) throws(Error) -> SimulatorConfiguration {
        do {
            let loaded = try ConfigLoader.load(
                path: path, simulatorEnvironment: simulatorEnvironment(environment))
            return SimulatorConfiguration(loaded, environment: environment, timeScale: timeScale)
        } catch {
            throw Error(error)
        }
    }

    /// Parses `yaml` as the contents of a configuration file named `file` whose relative paths (`codeUri`,
    /// `extensionsDir`, destinations) are relative to `baseDirectory`.
    public static func parse(
        _ yaml: String, file: String = "inline.yaml", baseDirectory: String = FileManager.default.currentDirectoryPath,
        environment: [String: String] = ProcessInfo.processInfo.environment, timeScale: Double = 1
    ) throws(Error) -> SimulatorConfiguration {
        do {
            let loaded = try ConfigLoader.parse(
                yaml, file: file, baseDirectory: baseDirectory,
                simulatorEnvironment: simulatorEnvironment(environment))
            return SimulatorConfiguration(loaded, environment: environment, timeScale: timeScale)
        } catch {
            throw Error(error)
        }
    }

    /// The ordered pairs of `environment`, from which a function's `passEnvironment` picks.
    static func simulatorEnvironment(_ environment: [String: String]) -> [(String, String)] {
        environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    init(_ loaded: SimulatorConfig, environment: [String: String], timeScale: Double) {
        let searchPath = environment["PATH"] ?? ""
        functions = loaded.functions.map { function in
            var function = function
            if let name = function.command.first, !name.contains("/"),
                case .found(let path) = ExecutableLookup.resolve(name, environment: ["PATH=\(searchPath)"])
            {
                function.command[0] = path
            }
            return function
        }
        let rate = loaded.scalingRate.map { (sandboxes: $0.sandboxes, periodSeconds: $0.perSeconds) } ?? (1_000, 10)
        account = Simulator.AccountOptions(
            concurrency: loaded.account.concurrency, scalingRate: rate, timeScale: timeScale)
        host = loaded.server.host
        port = loaded.server.port
    }
}

extension Simulator {
    /// Starts the functions of `configuration` with its account, on its host and port unless `port` overrides it
    /// (0 for an ephemeral port); the other parameters are those of `start(functions:…)`.
    public static func start(
        _ configuration: SimulatorConfiguration, port: Int? = nil, console: (@Sendable (LogLine) -> Void)? = nil,
        standardOutput: Bool = false, keepHistory: Bool = false, events: SimulatorEventStream? = nil
    ) async throws -> Simulator {
        try await start(
            functions: configuration.functions, host: configuration.host, port: port ?? configuration.port,
            account: configuration.account, console: console, standardOutput: standardOutput,
            keepHistory: keepHistory, events: events)
    }
}

/// `withSimulator` for a configuration file's functions (see `SimulatorConfiguration`): started on an ephemeral
/// port unless `port` says otherwise, and stopped however `body` ends.
public func withSimulator<Result>(
    _ configuration: SimulatorConfiguration, port: Int = 0, keepHistory: Bool = false,
    console: (@Sendable (Simulator.LogLine) -> Void)? = nil, events: SimulatorEventStream? = nil,
    _ body: (Simulator) async throws -> Result
) async throws -> Result {
    try await withSimulator(
        functions: configuration.functions, host: configuration.host, port: port, account: configuration.account,
        keepHistory: keepHistory, console: console, events: events, body)
}
