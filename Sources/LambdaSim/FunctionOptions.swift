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

/// Environment variables in the order they were given: `[("NAME", "value")]` as a literal; two lists are equal
/// when they hold the same names with the same values in the same order.
public typealias EnvironmentVariables = SimDomain.EnvironmentVariables

/// A function to simulate: its runtime command, its Lambda configuration and how its sandboxes are served (the
/// serve-mode settings: reserved and provisioned concurrency, idle timeout, maximum lifetime). The simulator's one
/// model of a function — a configuration file, a template and `lambda-sim run`'s flags build the same type.
public typealias FunctionOptions = FunctionSpec
