import ArgumentParser
import LambdaSim

#if canImport(Glibc)
    import Glibc
#endif

/// `lambda-sim`: the command-line front of the simulator.
@main
struct LambdaSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lambda-sim",
        abstract: "A high-fidelity AWS Lambda execution-environment simulator.",
        version: "0.1.0",
        subcommands: [RunCommand.self, ServeCommand.self, InvokeCommand.self, LoadCommand.self]
    )

    /// Parses and runs; usage and configuration errors exit 2, as design.md §2.1 says.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { Console.error(message) }
            if error is ExitCode {
                Glibc.exit((error as! ExitCode).rawValue)
            }
            Glibc.exit(code == .validationFailure || error is ValidationError ? 2 : code.rawValue == 64 ? 2 : 1)
        }
    }
}

/// Runs a started simulator until SIGINT or SIGTERM, then stops it and prints the freeze summary.
func serveUntilSignal(_ simulator: Simulator, banner: String) async {
    Console.out(banner)
    // Only this function stops the simulator, so the wait ends with a signal.
    if let signal = try? await simulator.waitForSignal() {
        Console.out("lambda-sim: received signal \(signal), shutting down")
    }
    let summary = await simulator.stop()
    for mode in summary where mode.mode != .none {
        Console.out("lambda-sim: freezes (\(mode.mode)): \(mode)")
        let unconfirmed = mode.freezesUnconfirmed > 0 ? " (\(mode.freezesUnconfirmed) thawed before confirmed)" : ""
        Console.out("lambda-sim: freeze latency (\(mode.mode)): \(mode.freezes)\(unconfirmed)")
        let unconfirmedThaws = mode.thawsUnconfirmed > 0 ? " (\(mode.thawsUnconfirmed) frozen before confirmed)" : ""
        Console.out("lambda-sim: thaw latency (\(mode.mode)): \(mode.thaws)\(unconfirmedThaws)")
    }
    Console.out("lambda-sim: stopped")
}

/// Unbuffered writes to the console (Swift's `print` buffers when stdout is a pipe).
enum Console {
    static func out(_ line: String) {
        write(1, line + "\n")
    }

    static func error(_ line: String) {
        write(2, line + "\n")
    }

    /// Writes `text` to standard output as it is (no newline).
    static func raw(_ text: String) {
        write(1, text)
    }

    private static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
