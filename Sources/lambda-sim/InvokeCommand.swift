import ArgumentParser
import Foundation
import LambdaSim

/// `lambda-sim invoke NAME`: invokes a function on a running simulator and prints its response.
struct InvokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoke",
        abstract: "Invoke a function on a running lambda-sim and print the response payload.",
        discussion: "Exits 0 on success, 1 when the function failed (X-Amz-Function-Error) or the service refused."
    )

    @Argument(help: "Function name or ARN.")
    var name: String

    @Option(help: "The JSON payload.")
    var payload: String?

    @Option(help: "Read the JSON payload from this file.")
    var payloadFile: String?

    @Option(help: "The simulator's Invoke API endpoint.")
    var endpoint: String = "http://127.0.0.1:9000"

    @Option(help: "RequestResponse, Event or DryRun.")
    var invocationType: String = "RequestResponse"

    @Flag(help: "Print the last 4 KB of the invoke's log (X-Amz-Log-Type: Tail) to stderr.")
    var tail = false

    @Flag(
        help: """
            Use InvokeWithResponseStream and print the response as it streams; the final event's error and log tail \
            go to stderr.
            """)
    var stream = false

    func validate() throws {
        if payload != nil && payloadFile != nil { throw ValidationError("use --payload or --payload-file, not both") }
    }

    func run() async throws {
        var body = Array((payload ?? "").utf8)
        if let payloadFile {
            guard let data = FileManager.default.contents(atPath: payloadFile) else {
                throw ValidationError("cannot read --payload-file \(payloadFile)")
            }
            body = Array(data)
        }
        if stream {
            let outcome: StreamingInvoke.Outcome
            do {
                outcome = try StreamingInvoke.run(
                    endpoint: endpoint, function: name, payload: body, invocationType: invocationType, tail: tail)
            } catch {
                Console.error("lambda-sim: invoke failed: \(error)")
                throw ExitCode(1)
            }
            if outcome.failed { throw ExitCode(1) }
            return
        }
        let response: InvokeClient.Response
        do {
            // The option's text goes out as it is, so the API's answer to an unknown type can be seen.
            response = try await InvokeClient.invoke(
                endpoint: endpoint, function: name, payload: body, logType: tail ? .tail : .none,
                headers: [("X-Amz-Invocation-Type", invocationType)])
        } catch {
            Console.error("lambda-sim: invoke failed: \(error)")
            throw ExitCode(1)
        }
        if let log = response.log { Console.error(log) }
        Console.out(String(decoding: response.body, as: UTF8.self))
        if response.functionError != nil || response.errorType != nil || response.status >= 300 {
            throw ExitCode(1)
        }
    }
}
