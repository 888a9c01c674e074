/// A function to simulate: its identity, runtime command, Lambda configuration and how its sandboxes are served —
/// the one model of a function. A `serve` configuration file, a SAM template, `lambda-sim run`'s flags and the
/// library (as `FunctionOptions`) each build one; the simulator then reads nothing else.
///
/// The defaults are Lambda's, as `run` uses them. A few settings only take effect with an account (serve mode):
/// `reservedConcurrency`, `provisionedConcurrency`, `idleTimeoutSeconds` and `maxLifetimeSeconds`.
public struct FunctionSpec: Sendable, Equatable {
    /// Function name (`AWS_LAMBDA_FUNCTION_NAME`).
    public var name: String
    /// The version that runs (`$LATEST` or a number).
    public var version: String = "$LATEST"
    /// Runtime argv; the first element is the bootstrap. Empty: attach mode — the simulator starts no runtime and
    /// waits for one you start yourself with `Simulator.attachEnvironment(function:)` (under a debugger, in your
    /// process); its Runtime API is then open to any local process and it is never frozen.
    public var command: [String]
    /// Working directory and `LAMBDA_TASK_ROOT`.
    public var codeDirectory: String
    /// `_HANDLER`, if any.
    public var handler: String?
    /// The runtime identifier it claims (`provided.al2023`, `python3.12`; sets `AWS_EXECUTION_ENV` for managed
    /// runtimes), if any.
    public var runtime: String?
    /// Memory in MB (128–10,240): `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, REPORT's Memory Size, the cgroup limit.
    public var memorySizeMB: Int = 128
    /// The function timeout in seconds (1–900).
    public var timeoutSeconds: Double = 3
    /// Limit for an on-demand init phase, in milliseconds (Lambda: 10 s).
    package var initTimeoutMilliseconds: UInt64 = 10_000
    /// Customer environment variables, in order.
    public var environment: EnvironmentVariables = []
    /// Environment passed through from the caller (RIE passes its whole environment; `serve` only what a
    /// function's `passEnvironment` names).
    public var inheritedEnvironment: EnvironmentVariables = []
    /// Region of ARNs and `AWS_REGION`.
    public var region: String = "us-east-1"
    /// Account of ARNs (12 digits).
    public var accountID: String = "123456789012"
    /// Directory whose executable files start as external extensions (like `/opt/extensions`).
    public var extensionsDirectory: String?
    /// Platform log lines as text or JSON records (`AWS_LAMBDA_LOG_FORMAT` for runtimes); a function on Managed
    /// Instances (`environmentMaxConcurrency`) always logs JSON, as AWS allows no other format for it.
    public var logFormat: LogFormat = .text
    /// `AWS_LAMBDA_LOG_LEVEL` for runtimes in the JSON format (default `INFO`).
    public var logLevel: LogLevel?
    /// How sandboxes are frozen between invokes.
    public var freezeMode: FreezeMode = .signal
    /// In `cgroup` mode, a CPU quota proportional to memory (1,769 MB = 1 vCPU).
    public var cpuScaling = false
    /// Extra names the function answers to on the Invoke API (RIE's literal `function`, a template's logical id).
    public var aliases: [String] = []
    /// Aliases (qualifiers other than `$LATEST` and `version`) that invoke this function as `name:alias`, e.g. a
    /// template's `AutoPublishAlias`.
    public var versionAliases: [String] = []
    /// External extensions that the user starts (with `Simulator.spawn(extension:)`, in a debugger, …) rather than
    /// the simulator, by the name they register with: init waits for each to register, as for an extension the
    /// simulator launched from `extensionsDirectory`, and they may subscribe to SHUTDOWN. Their environment is the
    /// runtime's minus what Lambda withholds from extensions (`attachEnvironment` plus the API address).
    public var attachedExtensions: [String] = []
    /// Who may connect to a sandbox's Runtime API (default: only its own processes).
    public var runtimeAPIAccess: RuntimeAPIAccess = .sandbox
    /// Most bytes a streamed response (`InvokeWithResponseStream`) may have; default 200 MiB, as Lambda. Beyond it
    /// the invoke fails with `Function.ResponseSizeTooLarge`.
    public var maxStreamedResponseBytes = 200 * 1024 * 1024
    /// After its first 6 MiB, a streamed response goes at most this fast (bytes per second), as Lambda shapes
    /// streams at 2 MiB/s; nil (the default here and in `run`) streams at full speed. `serve` defaults to 2 MiB/s.
    public var streamingBytesPerSecond: Int?
    /// Runs the function on Lambda Managed Instances: each execution environment serves up to this many invokes
    /// at once (1...1,600, CloudFormation's `PerExecutionEnvironmentMaxConcurrency`; the runtime gets
    /// `AWS_LAMBDA_MAX_CONCURRENCY`), is initialised before its first invoke and is never frozen (`freezeMode` does
    /// not apply). With an account (serve) concurrency counts invokes; without, `maxConcurrency` counts
    /// environments. Nil (the default): a classic function, one invoke per environment.
    public var environmentMaxConcurrency: Int?
    /// The loopback UDP port where the simulator reads and discards X-Ray segments (`AWS_XRAY_DAEMON_ADDRESS`
    /// points there); nil gives the runtime no daemon address. Set by the simulator when it starts.
    package var xrayDaemonPort: Int?
    /// Most sandboxes this function runs at once without an account (run mode); further invokes queue.
    public var maxConcurrency = 1
    /// Reserved concurrency: a cap and a reservation (serve mode); 0 throttles every invoke.
    public var reservedConcurrency: Int?
    /// Sandboxes initialised at start and kept (serve mode).
    public var provisionedConcurrency = 0
    /// Idle sandboxes get SHUTDOWN `spindown` after this many seconds (serve mode).
    public var idleTimeoutSeconds: Double?
    /// Idle sandboxes older than this are recycled (serve mode).
    public var maxLifetimeSeconds: Double?
    /// Retries after function errors of asynchronous invokes (0...2).
    public var maximumRetryAttempts = 2
    /// Oldest an asynchronous event may get before it is dropped (EventAgeExceeded), in seconds.
    public var maximumEventAgeSeconds = 21_600
    /// The file that receives records of asynchronous invokes that succeeded (JSON lines), if any.
    public var onSuccessDestination: String?
    /// The file that receives records of asynchronous invokes that failed for good (JSON lines), if any.
    public var onFailureDestination: String?

    /// A function with these settings and the defaults of the others (Lambda's, as `run` uses them).
    public init(
        name: String, command: [String], codeDirectory: String, handler: String? = nil, runtime: String? = nil,
        memorySizeMB: Int = 128, timeoutSeconds: Double = 3, version: String = "$LATEST",
        region: String = "us-east-1", accountID: String = "123456789012", environment: EnvironmentVariables = [],
        inheritedEnvironment: EnvironmentVariables = [], aliases: [String] = [], maxConcurrency: Int = 1,
        extensionsDirectory: String? = nil, freezeMode: FreezeMode = .signal, cpuScaling: Bool = false,
        logFormat: LogFormat = .text, logLevel: LogLevel? = nil
    ) {
        self.name = name
        self.command = command
        self.codeDirectory = codeDirectory
        self.handler = handler
        self.runtime = runtime
        self.memorySizeMB = memorySizeMB
        self.timeoutSeconds = timeoutSeconds
        self.version = version
        self.region = region
        self.accountID = accountID
        self.environment = environment
        self.inheritedEnvironment = inheritedEnvironment
        self.aliases = aliases
        self.maxConcurrency = maxConcurrency
        self.extensionsDirectory = extensionsDirectory
        self.freezeMode = freezeMode
        self.cpuScaling = cpuScaling
        self.logFormat = logFormat
        self.logLevel = logLevel
    }
}

extension FunctionSpec {
    /// True for a function without a command: the simulator starts no runtime and waits for one that the user
    /// starts (attach mode), pointed at the sandbox's Runtime API.
    package var isAttached: Bool { command.isEmpty }
    /// True for a function on Lambda Managed Instances (see `environmentMaxConcurrency`).
    package var isManagedInstance: Bool { environmentMaxConcurrency != nil }
    /// Invokes one environment serves at once: `environmentMaxConcurrency`, or 1 for a classic function.
    package var slotsPerEnvironment: Int { environmentMaxConcurrency ?? 1 }

    /// `arn:aws:lambda:<region>:<account>:function:<name>`.
    package var functionARN: String { "arn:aws:lambda:\(region):\(accountID):function:\(name)" }

    /// The CloudWatch log group Lambda would write to.
    package var logGroupName: String { "/aws/lambda/\(name)" }

    /// The timeout in milliseconds.
    package var timeoutMilliseconds: UInt64 { UInt64((timeoutSeconds * 1000).rounded()) }

    /// This function as its sandboxes run it: an attached runtime is no process of the sandbox, so it is never
    /// frozen and its Runtime API is open to any local process; a managed instance is never frozen and logs JSON.
    package var asRun: FunctionSpec {
        var function = self
        if isAttached {
            function.freezeMode = .none
            function.runtimeAPIAccess = .any
        }
        if isManagedInstance {
            function.freezeMode = .none
            function.logFormat = .json
        }
        return function
    }

    /// The first setting that only serve mode (an account's limits) honours, if this function has one:
    /// reserved and provisioned concurrency, the idle timeout and the maximum lifetime.
    package var serveOnlySetting: String? {
        if reservedConcurrency != nil { return "function '\(name)': reservedConcurrency" }
        if provisionedConcurrency > 0 { return "function '\(name)': provisionedConcurrency" }
        if idleTimeoutSeconds != nil { return "function '\(name)': idleTimeoutSeconds" }
        if maxLifetimeSeconds != nil { return "function '\(name)': maxLifetimeSeconds" }
        return nil
    }
}
