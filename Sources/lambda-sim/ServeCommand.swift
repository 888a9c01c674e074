import ArgumentParser
import Foundation
import LambdaSim

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
        let configuration: SimulatorConfiguration
        do {
            configuration = try SimulatorConfiguration.load(file: config, timeScale: timeScale)
        } catch {
            Console.error("lambda-sim: \(error)")
            throw ExitCode(2)
        }
        let functions = configuration.functions
        let simulator: Simulator
        do {
            simulator = try await Simulator.start(configuration, port: port, standardOutput: true)
        } catch {
            Console.error("lambda-sim: cannot start: \(error)")
            throw ExitCode(1)
        }
        let names = functions.map(\.name).joined(separator: ", ")
        await serveUntilSignal(
            simulator, banner: "lambda-sim: Invoke API listening on \(simulator.endpoint) (functions: \(names))")
    }
}
