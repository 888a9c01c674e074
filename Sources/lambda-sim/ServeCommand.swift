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
    var config: String?

    @Option(help: "A SAM / CloudFormation template (template.yaml) instead of --config.")
    var template: String?

    @Option(
        parsing: .upToNextOption,
        help: "Template parameter values KEY=VALUE (with --template; several after one flag, or the flag repeated).")
    var parameterOverrides: [String] = []

    @Option(help: "A JSON file of function environment variables in SAM's format (with --template).")
    var envVars: String?

    @Option(help: "Port of the HTTP front end of --template (API routes, Function URLs); 0 for an ephemeral one.")
    var httpPort: Int = 3000

    @Flag(help: "Hot reload: when a function's code directory changes, its sandboxes are replaced (idle ones now).")
    var watch = false

    @Option(help: "The Python interpreter for python3.x runtimes (default: LAMBDA_SIM_PYTHON, else python3).")
    var python: String?

    @Option(help: "Front port, overriding server.port (0 for an ephemeral one).")
    var port: Int?

    @Option(help: "Multiply asynchronous retry delays by this (e.g. 0.001 turns Lambda's minutes into ms).")
    var timeScale: Double = 1

    func validate() throws {
        guard (config == nil) != (template == nil) else {
            throw ValidationError("give exactly one of --config FILE and --template FILE")
        }
        if template == nil && (!parameterOverrides.isEmpty || envVars != nil || python != nil) {
            throw ValidationError("--parameter-overrides, --env-vars and --python go with --template")
        }
        for entry in parameterOverrides where !(entry.firstIndex(of: "=").map { $0 != entry.startIndex } ?? false) {
            throw ValidationError("--parameter-overrides expects KEY=VALUE, got '\(entry)'")
        }
    }

    func run() async throws {
        let configuration: SimulatorConfiguration
        var http: HTTPFrontEndOptions?
        do {
            if let template {
                let overrides = parameterOverrides.map { entry -> (String, String) in
                    let eq = entry.firstIndex(of: "=")!
                    return (String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
                }
                let loaded = try TemplateConfiguration.load(
                    file: template, parameterOverrides: overrides, environmentFile: envVars, python: python,
                    timeScale: timeScale)
                for warning in loaded.warnings { Console.error("lambda-sim: warning: \(warning)") }
                configuration = loaded.configuration
                http = loaded.http
            } else {
                configuration = try SimulatorConfiguration.load(file: config ?? "", timeScale: timeScale)
            }
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
        var banner = "lambda-sim: Invoke API listening on \(simulator.endpoint) (functions: \(names))"
        if let http, !http.routes.isEmpty || !http.functionURLs.isEmpty {
            do {
                let bound = try await simulator.startHTTPFrontEnd(http, host: configuration.host, port: httpPort)
                let routes =
                    http.routes.map { "\($0.method) \($0.path) -> \($0.function)" }
                    + http.functionURLs.map { "/lambda-url/\($0.function)/ -> \($0.function)" }
                banner +=
                    "\nlambda-sim: HTTP front end on http://\(configuration.host):\(bound) (\(routes.joined(separator: ", ")))"
            } catch {
                await simulator.stop()
                Console.error("lambda-sim: cannot start the HTTP front end: \(error)")
                throw ExitCode(1)
            }
        }
        if watch {
            do {
                try await simulator.watch(functions.map { ($0.name, $0.codeDirectory) }) { function in
                    Console.error("lambda-sim: \(function): code changed; new invokes start new sandboxes")
                }
            } catch {
                await simulator.stop()
                Console.error("lambda-sim: cannot watch the code directories: \(error)")
                throw ExitCode(1)
            }
        }
        await serveUntilSignal(simulator, banner: banner)
    }
}
