/// Everything the simulator needs to know about one function: identity, code, limits and environment.
package struct FunctionSpec: Sendable, Equatable {
    /// Function name (`AWS_LAMBDA_FUNCTION_NAME`).
    package var name: String
    /// The version that runs, `$LATEST` unless configured.
    package var version: String = "$LATEST"
    /// Runtime argv; the first element is the bootstrap.
    package var command: [String]
    /// Working directory and `LAMBDA_TASK_ROOT`.
    package var codeDirectory: String
    /// `_HANDLER`, if any.
    package var handler: String?
    /// Informational runtime identifier (e.g. `provided.al2023`, `python3.12`).
    package var runtime: String?
    /// Memory size in MB (128...10,240).
    package var memorySizeMB: Int = 128
    /// Function timeout in seconds (1...900).
    package var timeoutSeconds: Double = 3
    /// Limit for an on-demand init phase, in milliseconds (Lambda: 10 s).
    package var initTimeoutMilliseconds: UInt64 = 10_000
    /// Customer environment variables, in the order they were given.
    package var environment: EnvironmentVariables = []
    /// Environment inherited from the simulator's caller (RIE passes its whole environment through).
    package var inheritedEnvironment: EnvironmentVariables = []
    /// Region and account used in ARNs and `AWS_REGION`.
    package var region: String = "us-east-1"
    package var accountID: String = "123456789012"
    /// Directory whose executable files start as external extensions (Lambda's `/opt/extensions`).
    package var extensionsDirectory: String?
    /// Platform log lines as text or JSON; also `AWS_LAMBDA_LOG_FORMAT` for runtimes.
    package var logFormat: LogFormat = .text
    /// `AWS_LAMBDA_LOG_LEVEL` for runtimes (with the JSON format), if set.
    package var logLevel: LogLevel?
    /// How the sandbox's processes are held still between invokes.
    package var freezeMode: FreezeMode = .signal
    /// In `cgroup` mode, give the sandbox a CPU quota proportional to its memory (1,769 MB = 1 vCPU).
    package var cpuScaling = false
    /// Other names the function answers to on the Invoke API (RIE's literal `function`).
    package var aliases: [String] = []
    /// Qualifiers besides `$LATEST` and `version` that invoke this function (a template's `AutoPublishAlias`).
    package var versionAliases: [String] = []
    /// True for a function without a command: the simulator starts no runtime and waits for one that the user
    /// starts (attach mode), pointed at the sandbox's Runtime API.
    package var isAttached: Bool { command.isEmpty }
    /// External extensions the user starts (attach mode): init waits for them to register, as for launched ones,
    /// and they may subscribe to SHUTDOWN.
    package var attachedExtensions: [String] = []
    /// Who may connect to the sandbox's Runtime API.
    package var runtimeAPIAccess: RuntimeAPIAccess = .sandbox
    /// Most bytes a streamed response may have (Lambda: 200 MiB); beyond it the invoke fails with
    /// `Function.ResponseSizeTooLarge`.
    package var maxStreamedResponseBytes = 200 * 1024 * 1024
    /// The rate a streamed response is held to after its first 6 MiB (a burst), in bytes per second, as
    /// Lambda shapes streams (2 MiB/s); nil streams at full speed.
    package var streamingBytesPerSecond: Int?
    /// For a function on Lambda Managed Instances, how many invokes one execution environment serves at once
    /// (`PerExecutionEnvironmentMaxConcurrency`, 1...1,600; the runtime gets it as `AWS_LAMBDA_MAX_CONCURRENCY`);
    /// nil for a classic function, whose environments serve one invoke at a time.
    package var environmentMaxConcurrency: Int?
    /// The loopback UDP port where the simulator reads and discards X-Ray segments (`AWS_XRAY_DAEMON_ADDRESS`
    /// points there); nil gives the runtime no daemon address.
    package var xrayDaemonPort: Int?
    /// True for a function on Lambda Managed Instances (see `environmentMaxConcurrency`).
    package var isManagedInstance: Bool { environmentMaxConcurrency != nil }
    /// Invokes one environment serves at once: `environmentMaxConcurrency`, or 1 for a classic function.
    package var slotsPerEnvironment: Int { environmentMaxConcurrency ?? 1 }

    package init(name: String, command: [String], codeDirectory: String) {
        self.name = name
        self.command = command
        self.codeDirectory = codeDirectory
    }

    /// `arn:aws:lambda:<region>:<account>:function:<name>`.
    package var functionARN: String { "arn:aws:lambda:\(region):\(accountID):function:\(name)" }

    /// The CloudWatch log group Lambda would write to.
    package var logGroupName: String { "/aws/lambda/\(name)" }

    /// The timeout in milliseconds.
    package var timeoutMilliseconds: UInt64 { UInt64((timeoutSeconds * 1000).rounded()) }
}
