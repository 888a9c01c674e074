import ArgumentParser
import Foundation
import LambdaSim

/// `lambda-sim run [options] -- COMMAND [ARG...]`: one function, a drop-in for AWS's Runtime Interface Emulator.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one function's runtime behind Lambda's Invoke API (a drop-in for aws-lambda-rie).",
        discussion: """
            Invoke it at POST /2015-03-31/functions/function/invocations (or by its name). Without flags the \
            RIE variables apply: AWS_LAMBDA_FUNCTION_TIMEOUT (default 300), AWS_LAMBDA_FUNCTION_NAME, \
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_LAMBDA_FUNCTION_VERSION, AWS_REGION, _HANDLER or \
            AWS_LAMBDA_FUNCTION_HANDLER. With two or more command words and no handler given, the last word is \
            the handler, as RIE does.
            """
    )

    @Option(help: "Front port for the Invoke API (0 for an ephemeral one).")
    var port: Int = 9000

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Function name (default: AWS_LAMBDA_FUNCTION_NAME or 'function').")
    var name: String?

    @OptionGroup var function: FunctionFlags

    @Flag(
        help: """
            Start no runtime: print the Runtime API address and the environment to start one with (yourself, \
            under a debugger), and wait for it; invokes queue until it asks for its first event.
            """)
    var attach = false

    func validate() throws {
        if function.command.isEmpty && !attach {
            throw ValidationError(
                "missing the runtime command: lambda-sim run [options] -- COMMAND [ARG...] (or --attach)")
        }
        if attach && !function.command.isEmpty { throw ValidationError("--attach takes no runtime command") }
        if !(0...65_535).contains(port) { throw ValidationError("--port must be between 0 and 65535, got \(port)") }
    }

    func run() async throws {
        let options = try function.options(name: name)
        let simulator: Simulator
        do {
            simulator = try await Simulator.start(
                functions: [options], host: host, port: port, standardOutput: true)
        } catch {
            Console.error("lambda-sim: cannot start: \(error)")
            throw ExitCode(1)
        }
        if attach, let environment = try? await simulator.attachEnvironment(function: options.name) {
            // What the runtime needs beyond the caller's own environment (which it inherits when started from here).
            let caller = ProcessInfo.processInfo.environment
            Console.out("lambda-sim: waiting for a runtime; start it with this environment:")
            for (key, value) in environment.sorted(by: { $0.key < $1.key }) {
                if caller[key] == value { continue }
                Console.out("export \(key)='\(value.replacingOccurrences(of: "'", with: "'\\''"))'")
            }
        }
        await serveUntilSignal(simulator, banner: "lambda-sim: Invoke API listening on \(simulator.endpoint)")
    }
}
