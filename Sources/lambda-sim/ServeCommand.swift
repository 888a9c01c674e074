import ArgumentParser
import Foundation
import LambdaSim
import SimConfig
import SimUV

/// `lambda-sim serve --config FILE [--port N]`: many functions from a YAML file, with Lambda's concurrency
/// limits, throttling, provisioned concurrency and idle reaping.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the functions of a YAML configuration file (see Config/serve.yaml).",
        discussion: """
            Configuration errors name the file, the key and the line, and exit 2. Status: GET /_sim/health, \
            /_sim/functions, /_sim/sandboxes and /metrics on the front port.
            """
    )

    @Option(help: "The YAML configuration file.")
    var config: String

    @Option(help: "Front port, overriding server.port (0 for an ephemeral one).")
    var port: Int?

    @Option(help: "Multiply asynchronous retry delays by this (e.g. 0.001 turns Lambda's minutes into ms).")
    var timeScale: Double = 1

    func run() async throws {
        let loaded: SimulatorConfig
        do {
            loaded = try ConfigLoader.load(path: config)
        } catch {
            Console.error("lambda-sim: \(error)")
            throw ExitCode(2)
        }
        let (functions, account) = ServeConfiguration.simulator(for: loaded, timeScale: timeScale)
        let simulator: Simulator
        do {
            simulator = try await Simulator.start(
                functions: functions, host: loaded.server.host, port: port ?? loaded.server.port, account: account,
                standardOutput: true)
        } catch {
            Console.error("lambda-sim: cannot start: \(error)")
            throw ExitCode(1)
        }
        let names = functions.map(\.name).joined(separator: ", ")
        await serveUntilSignal(
            simulator, banner: "lambda-sim: Invoke API listening on \(simulator.endpoint) (functions: \(names))")
    }
}

/// A serve configuration as the simulator's options, shared by `serve` and `load --config`.
enum ServeConfiguration {
    /// The functions and account settings `loaded` describes. A function sees only its own variables and
    /// Lambda's, plus the caller's variables its `passEnvironment` names; a command given by name
    /// (`python3`) is found on the caller's `PATH`, since the function's `PATH` is Lambda's.
    static func simulator(for loaded: SimulatorConfig, timeScale: Double) -> (
        [FunctionOptions], Simulator.AccountOptions
    ) {
        let caller = ProcessInfo.processInfo.environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let functions = loaded.functions.map { function -> FunctionOptions in
            var command = function.command
            if let name = command.first, !name.contains("/"),
                case .found(let path) = ExecutableLookup.resolve(name, environment: ["PATH=\(searchPath)"])
            {
                command[0] = path
            }
            var options = FunctionOptions(
                name: function.name, command: command, codeDirectory: function.codeUri,
                handler: function.handler, runtime: function.runtime, memorySizeMB: function.memorySize,
                timeoutSeconds: Double(function.timeout), version: function.version, region: loaded.account.region,
                accountID: loaded.account.id, environment: function.environment,
                inheritedEnvironment: function.passedEnvironment(from: caller),
                extensionsDirectory: function.extensionsDir,
                freeze: LambdaSim.FreezeMode(rawValue: function.freeze.rawValue) ?? .signal,
                logFormat: LambdaSim.LogFormat(rawValue: function.logFormat.rawValue) ?? .text)
            options.runtimeAPIAccess =
                LambdaSim.RuntimeAPIAccess(rawValue: function.runtimeAPIAccess.rawValue) ?? .sandbox
            options.streamingBytesPerSecond = function.streamingBandwidth
            options.maxStreamedResponseBytes = function.maxStreamedResponseBytes
            options.reservedConcurrency = function.reservedConcurrency
            options.provisionedConcurrency = function.provisionedConcurrency ?? 0
            options.idleTimeoutSeconds = function.idleTimeout
            options.maxLifetimeSeconds = function.maxLifetime
            options.maximumRetryAttempts = function.async.maximumRetryAttempts
            options.maximumEventAgeSeconds = function.async.maximumEventAgeInSeconds
            options.onSuccessDestination = function.async.onSuccess
            options.onFailureDestination = function.async.onFailure
            options.perExecutionEnvironmentMaxConcurrency = function.perExecutionEnvironmentMaxConcurrency
            return options
        }
        let rate = loaded.scalingRate.map { (sandboxes: $0.sandboxes, periodSeconds: $0.perSeconds) } ?? (1_000, 10)
        let account = Simulator.AccountOptions(
            concurrency: loaded.account.concurrency, scalingRate: rate, timeScale: timeScale)
        return (functions, account)
    }
}
