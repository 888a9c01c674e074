// Runs client programs (curl, python, the AWS CLI) as libuv children: Foundation.Process would reap
// children behind libuv's back.

import SimCore
import SimUV

/// How a helper process ended and what it printed.
struct ProcessResult: Sendable {
    var status: ExitStatus
    var stdout: String
    var stderr: String
}

/// The event loop shared by the tests' HTTP clients and helper processes; it lives as long as the process.
enum ClientLoop {
    static let shared: EventLoop = {
        do {
            return try EventLoop(name: "integration-clients")
        } catch {
            fatalError("cannot start the client event loop: \(error)")
        }
    }()
}

/// Output collected on the loop thread.
private final class CollectedOutput: @unchecked Sendable {
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var process: ChildProcess?
}

/// Runs `arguments` (the first an absolute program path) with exactly `environment` (`KEY=value`) and
/// returns its exit status and output. Throws when the program cannot be started.
func runProcess(
    _ arguments: [String], environment: [String] = TestPaths.environment(), workingDirectory: String? = nil
) async throws -> ProcessResult {
    let loop = ClientLoop.shared
    return try await withCheckedThrowingContinuation { continuation in
        loop.submit {
            let output = CollectedOutput()
            let spec = ProcessSpec(arguments: arguments, environment: environment, workingDirectory: workingDirectory)
            do {
                let process = try ChildProcess(loop: loop, spec: spec)
                output.process = process
                process.onStdout = { output.stdout.append(contentsOf: $0) }
                process.onStderr = { output.stderr.append(contentsOf: $0) }
                process.onExit = { status in
                    // Output written before the exit is in the pipes, but the reaping wake-up may have come
                    // from another child, before that output was polled. A 0 ms timer runs before the next
                    // poll; the 1 ms timer it arms runs only after that poll has read the pipes.
                    loop.schedule(afterMilliseconds: 0) {
                        loop.schedule(afterMilliseconds: 1) {
                            output.process?.closePipes()
                            output.process = nil
                            continuation.resume(
                                returning: ProcessResult(
                                    status: status, stdout: String(decoding: output.stdout, as: UTF8.self),
                                    stderr: String(decoding: output.stderr, as: UTF8.self)))
                        }
                    }
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}
