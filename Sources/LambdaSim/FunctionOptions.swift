import SimCore
import SimDomain

/// How a sandbox's processes are held still between invokes: `none`, `signal` (the default) or `cgroup`.
public typealias FreezeMode = SimDomain.FreezeMode

/// How platform log lines are written: `text` (CloudWatch's lines) or `json` (`platform.*` records).
public typealias LogFormat = SimDomain.LogFormat

/// Who may use a sandbox's Runtime API: `sandbox` (only its own processes, the default) or `any` local process.
public typealias RuntimeAPIAccess = SimDomain.RuntimeAPIAccess

/// The least severe application log lines runtimes write in the JSON format (`AWS_LAMBDA_LOG_LEVEL`): `TRACE`,
/// `DEBUG`, `INFO` (the default), `WARN`, `ERROR` or `FATAL`.
public typealias LogLevel = SimDomain.LogLevel

/// A function to simulate: its runtime command and Lambda configuration.
public struct FunctionOptions: Sendable {
    /// Function name.
    public var name: String
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
    public var memorySizeMB: Int
    /// The function timeout in seconds (1–900).
    public var timeoutSeconds: Double
    /// The version that runs (`$LATEST` or a number).
    public var version: String
    /// Region of ARNs and `AWS_REGION`.
    public var region: String
    /// Account of ARNs (12 digits).
    public var accountID: String
    /// Customer environment variables, in order.
    public var environment: [(String, String)]
    /// Environment passed through from the caller (RIE passes its whole environment).
    public var inheritedEnvironment: [(String, String)]
    /// Extra names the function answers to on the Invoke API.
    public var aliases: [String]
    /// Aliases (qualifiers other than `$LATEST` and `version`) that invoke this function as `name:alias`, e.g. a
    /// template's `AutoPublishAlias`.
    public var versionAliases: [String] = []
    /// Most sandboxes this function runs at once; further invokes queue.
    public var maxConcurrency: Int
    /// Directory whose executable files start as external extensions (like `/opt/extensions`).
    public var extensionsDirectory: String?
    /// How sandboxes are frozen between invokes.
    public var freeze: FreezeMode
    /// In `cgroup` mode, a CPU quota proportional to memory (1,769 MB = 1 vCPU).
    public var cpuScaling: Bool
    /// Platform log lines as text or JSON records; a function on Managed Instances
    /// (`perExecutionEnvironmentMaxConcurrency`) always logs JSON, as AWS allows no other format for it.
    public var logFormat: LogFormat
    /// `AWS_LAMBDA_LOG_LEVEL` for runtimes in the JSON format (default `INFO`).
    public var logLevel: LogLevel?
    /// Reserved concurrency: a cap and a reservation (serve mode).
    public var reservedConcurrency: Int?
    /// Sandboxes initialised at start and kept (serve mode).
    public var provisionedConcurrency: Int = 0
    /// Idle sandboxes get SHUTDOWN `spindown` after this many seconds (serve mode).
    public var idleTimeoutSeconds: Double?
    /// Idle sandboxes older than this are recycled (serve mode).
    public var maxLifetimeSeconds: Double?
    /// Retries after function errors of asynchronous invokes (0...2).
    public var maximumRetryAttempts = 2
    /// Oldest an asynchronous event may get before it is dropped (EventAgeExceeded), in seconds.
    public var maximumEventAgeSeconds = 21_600
    /// Who may connect to a sandbox's Runtime API (default: only its own processes).
    public var runtimeAPIAccess: RuntimeAPIAccess = .sandbox
    /// Most bytes a streamed response (`InvokeWithResponseStream`) may have; default 200 MiB, as Lambda.
    public var maxStreamedResponseBytes = 200 * 1024 * 1024
    /// After its first 6 MiB, a streamed response goes at most this fast (bytes per second), as Lambda shapes
    /// streams at 2 MiB/s; nil (the default here and in `run`) streams at full speed. `serve` defaults to 2 MiB/s.
    public var streamingBytesPerSecond: Int?
    /// Runs the function on Lambda Managed Instances: each execution environment serves up to this many invokes
    /// at once (1...1,600, CloudFormation's `PerExecutionEnvironmentMaxConcurrency`; the runtime gets
    /// `AWS_LAMBDA_MAX_CONCURRENCY`), is initialised before its first invoke and is never frozen (`freeze` does not
    /// apply). With an account (serve) concurrency counts invokes; without, `maxConcurrency` counts environments.
    /// Nil (the default): a classic function, one invoke per environment.
    public var perExecutionEnvironmentMaxConcurrency: Int?
    /// External extensions that the user starts (with `Simulator.spawn(extension:)`, in a debugger, …) rather than
    /// the simulator, by the name they register with: init waits for each to register, as for an extension the
    /// simulator launched from `extensionsDirectory`, and they may subscribe to SHUTDOWN. Their environment is the
    /// runtime's minus what Lambda withholds from extensions (`attachEnvironment` plus the API address).
    public var attachedExtensions: [String] = []
    /// Files that receive invocation records of asynchronous invokes (JSON lines).
    public var onSuccessDestination: String?
    /// The file that receives records of asynchronous invokes that failed for good.
    public var onFailureDestination: String?

    /// A function with these settings and the defaults of the others (Lambda's, as `run` uses them).
    public init(
        name: String, command: [String], codeDirectory: String, handler: String? = nil, runtime: String? = nil,
        memorySizeMB: Int = 128, timeoutSeconds: Double = 3, version: String = "$LATEST",
        region: String = "us-east-1", accountID: String = "123456789012", environment: [(String, String)] = [],
        inheritedEnvironment: [(String, String)] = [], aliases: [String] = [], maxConcurrency: Int = 1,
        extensionsDirectory: String? = nil, freeze: FreezeMode = .signal, cpuScaling: Bool = false,
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
        self.freeze = freeze
        self.cpuScaling = cpuScaling
        self.logFormat = logFormat
        self.logLevel = logLevel
    }

    var spec: FunctionSpec {
        var spec = FunctionSpec(name: name, command: command, codeDirectory: codeDirectory)
        spec.handler = handler
        spec.runtime = runtime
        spec.memorySizeMB = memorySizeMB
        spec.timeoutSeconds = timeoutSeconds
        spec.version = version
        spec.region = region
        spec.accountID = accountID
        spec.environment = EnvironmentVariables(environment)
        spec.inheritedEnvironment = EnvironmentVariables(inheritedEnvironment)
        spec.aliases = aliases
        spec.versionAliases = versionAliases
        spec.extensionsDirectory = extensionsDirectory
        spec.freezeMode = freeze
        spec.cpuScaling = cpuScaling
        spec.logFormat = logFormat
        spec.logLevel = logLevel
        spec.runtimeAPIAccess = runtimeAPIAccess
        if command.isEmpty {
            // An attached runtime is no process of the sandbox: nothing to freeze, and it connects from outside.
            spec.freezeMode = .none
            spec.runtimeAPIAccess = .any
        }
        spec.maxStreamedResponseBytes = maxStreamedResponseBytes
        spec.streamingBytesPerSecond = streamingBytesPerSecond
        spec.attachedExtensions = attachedExtensions
        if let slots = perExecutionEnvironmentMaxConcurrency {
            spec.environmentMaxConcurrency = slots
            spec.freezeMode = .none
            spec.logFormat = .json
        }
        return spec
    }
}

extension FunctionOptions {
    /// The first setting that only serve mode (an account's limits) honours, if this function has one:
    /// reserved and provisioned concurrency, the idle timeout and the maximum lifetime.
    var serveOnlySetting: String? {
        if reservedConcurrency != nil { return "function '\(name)': reservedConcurrency" }
        if provisionedConcurrency > 0 { return "function '\(name)': provisionedConcurrency" }
        if idleTimeoutSeconds != nil { return "function '\(name)': idleTimeoutSeconds" }
        if maxLifetimeSeconds != nil { return "function '\(name)': maxLifetimeSeconds" }
        return nil
    }
}
