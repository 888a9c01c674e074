import ArgumentParser
import Foundation
import LambdaSim

/// The flags that describe one function started from a command, shared by `run` and `load`: the same names and
/// meanings in both.
struct FunctionFlags: ParsableArguments {
    @Option(help: "Function timeout in seconds (default: AWS_LAMBDA_FUNCTION_TIMEOUT or 300).")
    var timeout: Double?

    @Option(help: "Memory size in MB, 128...10240 (default: AWS_LAMBDA_FUNCTION_MEMORY_SIZE or 3008).")
    var memory: Int?

    @Option(help: "The handler (_HANDLER).")
    var handler: String?

    @Option(name: .customLong("env"), help: "A function environment variable KEY=VALUE (repeatable).")
    var environment: [String] = []

    @Option(help: "The function's code directory: LAMBDA_TASK_ROOT and the runtime's working directory.")
    var codeDir: String?

    @Option(help: "Directory whose executable files start as external extensions (like /opt/extensions).")
    var extensionsDir: String?

    @Option(
        help: "How sandboxes are frozen between invokes: none, signal (SIGSTOP/SIGCONT) or cgroup (default signal).")
    var freeze: FreezeMode?

    @Option(
        help: """
            Platform log lines as CloudWatch's text lines or its JSON records: text or json (default text; json \
            with --per-environment-max-concurrency, as managed instances log only JSON).
            """)
    var logFormat: LogFormat?

    @Option(help: "AWS_LAMBDA_LOG_LEVEL for runtimes with --log-format json, in any case (default INFO).")
    var logLevel: LogLevel?

    @Flag(help: "In cgroup mode, give sandboxes a CPU quota proportional to memory (1,769 MB = 1 vCPU).")
    var cpuScaling = false

    @Option(help: "Sandboxes for this function; further invokes queue in arrival order.")
    var maxConcurrency: Int = 1

    @Option(
        help: """
            Run the function on Lambda Managed Instances: each execution environment serves up to N invokes at once \
            (1-1600; AWS_LAMBDA_MAX_CONCURRENCY=N), starts before the first invoke and is never frozen.
            """)
    var perEnvironmentMaxConcurrency: Int?

    @Option(
        help: """
            Who may use a sandbox's Runtime API: sandbox (only its own processes, as in Lambda) or any (any local \
            process, e.g. to call it with curl by hand).
            """)
    var runtimeAPIAccess: RuntimeAPIAccess = .sandbox

    @Option(
        help: """
            After its first 6 MiB, hold a streamed response to this many bytes per second, as Lambda does \
            (2097152); default: full speed.
            """)
    var streamBandwidth: Int?

    @Option(help: "Most bytes a streamed response may have (default 209715200, Lambda's 200 MiB).")
    var maxStreamedResponseBytes: Int = 200 * 1024 * 1024

    @Argument(parsing: .postTerminator, help: "The runtime command (bootstrap) and its arguments.")
    var command: [String] = []

    /// Whether any flag of a function was given (for `load`, where they need `-- COMMAND`).
    var anyGiven: Bool {
        timeout != nil || memory != nil || handler != nil || !environment.isEmpty || codeDir != nil
            || extensionsDir != nil || freeze != nil || logFormat != nil || logLevel != nil || cpuScaling
            || maxConcurrency != 1 || perEnvironmentMaxConcurrency != nil || runtimeAPIAccess != .sandbox
            || streamBandwidth != nil
            || maxStreamedResponseBytes != 200 * 1024 * 1024
    }

    func validate() throws {
        if let memory, !(128...10_240).contains(memory) {
            throw ValidationError("--memory must be between 128 and 10240 MB, got \(memory)")
        }
        if let timeout, !(timeout > 0 && timeout <= 900) {
            throw ValidationError("--timeout must be between 1 and 900 seconds, got \(timeout)")
        }
        if let slots = perEnvironmentMaxConcurrency {
            guard (1...1_600).contains(slots) else {
                throw ValidationError("--per-environment-max-concurrency must be between 1 and 1600, got \(slots)")
            }
            if let freeze, freeze != .none {
                throw ValidationError(
                    "--freeze \(freeze.rawValue) does not apply with --per-environment-max-concurrency: managed instances are"
                        + " never frozen")
            }
            if let logFormat, logFormat != .json {
                throw ValidationError(
                    "--log-format \(logFormat.rawValue) does not apply with --per-environment-max-concurrency: managed"
                        + " instances log only JSON")
            }
        }
        if let codeDir {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: codeDir, isDirectory: &isDirectory), isDirectory.boolValue
            else { throw ValidationError("--code-dir \(codeDir) is not a directory") }
        }
        if let extensionsDir {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: extensionsDir, isDirectory: &isDirectory),
                isDirectory.boolValue
            else { throw ValidationError("--extensions-dir \(extensionsDir) is not a directory") }
        }
        if maxConcurrency < 1 { throw ValidationError("--max-concurrency must be at least 1") }
        if let streamBandwidth, streamBandwidth < 1 {
            throw ValidationError("--stream-bandwidth must be at least 1 byte per second")
        }
        if maxStreamedResponseBytes < 1 { throw ValidationError("--max-streamed-response-bytes must be positive") }
        for entry in environment {
            guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
                throw ValidationError("--env expects KEY=VALUE, got '\(entry)'")
            }
        }
    }

    /// The function these flags describe, named `name` (nil: AWS_LAMBDA_FUNCTION_NAME or `function`), with RIE's
    /// variables of the caller as defaults, as `run` starts it.
    func options(name: String?) throws -> FunctionOptions {
        let caller = ProcessInfo.processInfo.environment
        func number<T: LosslessStringConvertible>(_ key: String) throws -> T? {
            guard let text = caller[key], !text.isEmpty else { return nil }
            guard let value = T(text) else { throw ValidationError("\(key) must be a number, got '\(text)'") }
            return value
        }
        let functionName = name ?? caller["AWS_LAMBDA_FUNCTION_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "function"
        let timeoutSeconds = try timeout ?? number("AWS_LAMBDA_FUNCTION_TIMEOUT") ?? 300
        let memorySize = try memory ?? number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") ?? 3008
        var resolvedHandler = handler ?? caller["_HANDLER"] ?? caller["AWS_LAMBDA_FUNCTION_HANDLER"]
        if resolvedHandler == nil, command.count >= 2 { resolvedHandler = command.last }
        let codeDirectory = codeDir.map(absolutePath) ?? FileManager.default.currentDirectoryPath
        var bootstrap = command
        if let first = bootstrap.first, first.contains("/") { bootstrap[0] = absolutePath(first) }
        let customer = environment.map { entry -> (String, String) in
            let eq = entry.firstIndex(of: "=")!
            return (String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
        }
        var options = FunctionOptions(
            name: functionName, command: bootstrap, codeDirectory: codeDirectory, handler: resolvedHandler,
            memorySizeMB: memorySize, timeoutSeconds: timeoutSeconds,
            version: caller["AWS_LAMBDA_FUNCTION_VERSION"].flatMap { $0.isEmpty ? nil : $0 } ?? "$LATEST",
            region: caller["AWS_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1",
            environment: EnvironmentVariables(customer),
            inheritedEnvironment: EnvironmentVariables(caller.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }),
            aliases: functionName == "function" ? [] : ["function"], maxConcurrency: maxConcurrency,
            extensionsDirectory: extensionsDir.map(absolutePath),
            freezeMode: freeze ?? .signal, cpuScaling: cpuScaling, logFormat: logFormat ?? .text, logLevel: logLevel
        )
        options.runtime = caller["AWS_LAMBDA_RUNTIME"]
        options.runtimeAPIAccess = runtimeAPIAccess
        options.streamingBytesPerSecond = streamBandwidth
        options.maxStreamedResponseBytes = maxStreamedResponseBytes
        options.environmentMaxConcurrency = perEnvironmentMaxConcurrency
        return options
    }
}

/// `path` made absolute against the current directory.
func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    let joined = FileManager.default.currentDirectoryPath + "/" + path
    return URL(fileURLWithPath: joined).standardizedFileURL.path
}
