import SimCore
import SimDomain

/// One entry of the `functions` mapping, validated against Lambda's limits, with absolute paths.
package struct FunctionConfig: Sendable, Equatable {
    /// Function name: the mapping key (1–64 of `[A-Za-z0-9_-]`, as Lambda).
    package var name: String
    /// Runtime argv; a relative executable (`./bootstrap`, `bin/run`) is resolved against `codeUri`.
    package var command: [String]
    /// Absolute code directory: working directory and `LAMBDA_TASK_ROOT`.
    package var codeUri: String
    /// `_HANDLER`, if given.
    package var handler: String?
    /// Informational runtime identifier, e.g. `provided.al2023`.
    package var runtime: String?
    /// Memory in MB (128...10,240; default 128).
    package var memorySize = 128
    /// Timeout in seconds (1...900; default 3).
    package var timeout = 3
    /// Customer environment variables in file order.
    package var environment: EnvironmentVariables = []
    /// Absolute directory of external extensions (Lambda's `/opt/extensions`), if any.
    package var extensionsDir: String?
    /// The simulator's own variables the function also sees: names, or prefixes ending in `*`. Nothing else
    /// of the simulator's environment reaches a `serve` function.
    package var passEnvironment: [String] = []
    /// Reserved concurrency: both a guarantee and a cap; 0 throttles every invoke.
    package var reservedConcurrency: Int?
    /// Sandboxes initialised ahead of invokes (≤ `reservedConcurrency` when both are set).
    package var provisionedConcurrency: Int?
    /// Seconds an idle sandbox lives before a `spindown` SHUTDOWN (default 600).
    package var idleTimeout: Double = 600
    /// Seconds after which a sandbox is recycled even if busy, if set.
    package var maxLifetime: Double?
    /// How sandboxes are held still between invokes (default `signal`).
    package var freeze: FreezeMode = .signal
    /// Platform log lines as text or JSON (default text; always JSON on Managed Instances, as AWS allows no other).
    package var logFormat: LogFormat = .text
    /// Who may use a sandbox's Runtime API (default: only its own processes).
    package var runtimeAPIAccess: RuntimeAPIAccess = .sandbox
    /// Bytes per second a streamed response is held to after its first 6 MiB (Lambda's 2 MiB/s by default; 0 in
    /// the file turns shaping off, nil here).
    package var streamingBandwidth: Int? = 2 * 1024 * 1024
    /// Most bytes of a streamed response (default 200 MiB).
    package var maxStreamedResponseBytes = 200 * 1024 * 1024
    /// The version that runs (default `$LATEST`).
    package var version = "$LATEST"
    /// Lambda Managed Instances: invokes one execution environment serves at once (1...1,600); nil for a classic
    /// function.
    package var perExecutionEnvironmentMaxConcurrency: Int?
    /// Asynchronous-invocation settings.
    package var async = AsyncConfig()

    /// The variables of `environment` (the simulator's own) that `passEnvironment` lets through, in order.
    package func passedEnvironment(from environment: [(String, String)]) -> [(String, String)] {
        environment.filter { key, _ in
            passEnvironment.contains { pattern in
                pattern.hasSuffix("*") ? key.hasPrefix(pattern.dropLast()) : key == pattern
            }
        }
    }

    package init(name: String, command: [String], codeUri: String) {
        self.name = name
        self.command = command
        self.codeUri = codeUri
    }
}

/// A function's `async` section: what happens to `Event` invocations (Lambda's event invoke config).
package struct AsyncConfig: Sendable, Equatable {
    /// Retries after a function error (0...2; default 2).
    package var maximumRetryAttempts = 2
    /// Oldest event still delivered, in seconds (60...21,600; default 21,600 = 6 h).
    package var maximumEventAgeInSeconds = 21_600
    /// Absolute path of the file that receives on-success invocation records, if any.
    package var onSuccess: String?
    /// Absolute path of the file that receives on-failure invocation records, if any.
    package var onFailure: String?

    package init(
        maximumRetryAttempts: Int = 2, maximumEventAgeInSeconds: Int = 21_600, onSuccess: String? = nil,
        onFailure: String? = nil
    ) {
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumEventAgeInSeconds = maximumEventAgeInSeconds
        self.onSuccess = onSuccess
        self.onFailure = onFailure
    }
}
