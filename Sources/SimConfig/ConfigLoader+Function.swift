import Foundation
import SimCore
import SimDomain

extension ConfigLoader {
    /// Keys of one function.
    static let functionKeys = [
        "command", "codeUri", "handler", "runtime", "memorySize", "timeout", "environment", "extensionsDir",
        "reservedConcurrency", "provisionedConcurrency", "idleTimeout", "maxLifetime", "freeze", "logFormat",
        "version", "async", "passEnvironment", "runtimeAPIAccess", "streamingBandwidth", "maxStreamedResponseBytes",
        "perExecutionEnvironmentMaxConcurrency",
    ]

    /// A function of a `serve` file or template named `name`, with serve's defaults where they differ from
    /// `run`'s: the account's region and id, a 600 s idle timeout and streams shaped at Lambda's 2 MiB/s.
    static func servedFunction(
        name: String, command: [String], codeDirectory: String, account: AccountConfig
    ) -> FunctionSpec {
        var function = FunctionSpec(
            name: name, command: command, codeDirectory: codeDirectory, region: account.region,
            accountID: account.id)
        function.idleTimeoutSeconds = 600
        function.streamingBytesPerSecond = 2 * 1024 * 1024
        return function
    }

    /// The variables of `environment` (the simulator's own) that `patterns` let through, in order: each pattern a
    /// variable name, or a prefix ending in `*`.
    static func passedEnvironment(_ patterns: [String], from environment: [(String, String)]) -> EnvironmentVariables {
        EnvironmentVariables(
            environment.filter { key, _ in
                patterns.contains { pattern in
                    pattern.hasSuffix("*") ? key.hasPrefix(pattern.dropLast()) : key == pattern
                }
            })
    }

    /// The asynchronous-invocation settings `async` gives `function`.
    static func apply(_ async: AsyncConfig, to function: inout FunctionSpec) {
        function.maximumRetryAttempts = async.maximumRetryAttempts
        function.maximumEventAgeSeconds = async.maximumEventAgeInSeconds
        function.onSuccessDestination = async.onSuccess
        function.onFailureDestination = async.onFailure
    }

    /// One entry of `functions`, whose `passEnvironment` picks from `simulatorEnvironment`; also returns the
    /// `reservedConcurrency` value, for the account-wide rule.
    static func parseFunction(
        _ entry: ConfigValue, account: AccountConfig, asyncDefaults: AsyncConfig, baseDirectory: String,
        simulatorEnvironment: [(String, String)] = [], checksDirectories: Bool = false
    ) throws(ConfigError) -> (FunctionSpec, reservedValue: ConfigValue?) {
        guard ConfigLimits.isValidFunctionName(entry.name) else {
            throw entry.keyError(
                "function name '\(entry.name)' must be 1 to 64 letters, digits, hyphens or underscores")
        }
        let fields = try entry.mapping(allowedKeys: functionKeys)
        var codeUri = baseDirectory
        if let value = fields["codeUri"] {
            codeUri = ConfigPath.resolve(try value.nonEmptyString(), against: baseDirectory)
            var isDirectory: ObjCBool = false
            if checksDirectories,
                !FileManager.default.fileExists(atPath: codeUri, isDirectory: &isDirectory) || !isDirectory.boolValue
            {
                throw value.error("codeUri \(codeUri) is not a directory")
            }
        }
        let commandValue = try fields.required("command")
        var command = try commandValue.stringList()
        guard let executable = command.first else { throw commandValue.error("command must not be empty") }
        if ConfigPath.isRelativeFilePath(executable) { command[0] = ConfigPath.resolve(executable, against: codeUri) }

        var function = servedFunction(name: entry.name, command: command, codeDirectory: codeUri, account: account)
        if let value = fields["handler"] { function.handler = try value.string() }
        if let value = fields["runtime"] { function.runtime = try value.string() }
        if let value = fields["memorySize"] { function.memorySizeMB = try value.integer(in: ConfigLimits.memorySize) }
        if let value = fields["timeout"] {
            function.timeoutSeconds = Double(try value.integer(in: ConfigLimits.timeout))
        }
        if let value = fields["environment"] {
            function.environment = EnvironmentVariables(try parseEnvironment(value))
        }
        if let value = fields["passEnvironment"] {
            function.inheritedEnvironment = passedEnvironment(
                try parsePassEnvironment(value), from: simulatorEnvironment)
        }
        if let value = fields["extensionsDir"] {
            function.extensionsDirectory = ConfigPath.resolve(try value.nonEmptyString(), against: baseDirectory)
        }
        let reservedValue = fields["reservedConcurrency"]
        if let reservedValue {
            function.reservedConcurrency = try reservedValue.integer(in: 0...account.concurrency)
        }
        if let value = fields["provisionedConcurrency"] {
            let provisioned = try value.integer(in: 0...account.concurrency)
            if let reserved = function.reservedConcurrency, provisioned > reserved {
                throw value.error(
                    "provisionedConcurrency (\(provisioned)) must not exceed reservedConcurrency (\(reserved))")
            }
            function.provisionedConcurrency = provisioned
        }
        if let value = fields["idleTimeout"] { function.idleTimeoutSeconds = try value.number(greaterThan: 0) }
        if let value = fields["maxLifetime"] { function.maxLifetimeSeconds = try value.number(greaterThan: 0) }
        if let value = fields["freeze"] { function.freezeMode = try value.choice(FreezeMode.self) }
        if let value = fields["logFormat"] { function.logFormat = try value.choice(LogFormat.self) }
        if let value = fields["streamingBandwidth"] {
            let rate = try value.integer(in: 0...(1 << 40))
            function.streamingBytesPerSecond = rate == 0 ? nil : rate
        }
        if let value = fields["maxStreamedResponseBytes"] {
            function.maxStreamedResponseBytes = try value.integer(in: 1...(1 << 40))
        }
        if let value = fields["runtimeAPIAccess"] {
            function.runtimeAPIAccess = try value.choice(RuntimeAPIAccess.self)
        }
        if let value = fields["version"] {
            function.version = try value.string()
            guard ConfigLimits.isValidVersion(function.version) else {
                throw value.error("version must be $LATEST or a version number, got '\(function.version)'")
            }
        }
        if let value = fields["perExecutionEnvironmentMaxConcurrency"] {
            function.environmentMaxConcurrency = try value.integer(
                in: ConfigLimits.perExecutionEnvironmentMaxConcurrency)
            if let freeze = fields["freeze"], function.freezeMode != .none {
                throw freeze.error(
                    "freeze does not apply to a function with perExecutionEnvironmentMaxConcurrency: managed instances"
                        + " are never frozen (remove it or set none)")
            }
            function.freezeMode = .none
            if let format = fields["logFormat"], function.logFormat != .json {
                // AWS sets JSON for a Managed Instances function and refuses to change it to text.
                throw format.error(
                    "logFormat must be json for a function with perExecutionEnvironmentMaxConcurrency: managed"
                        + " instances log only JSON (remove it or set json)")
            }
            function.logFormat = .json
        }
        var async = asyncDefaults
        if let value = fields["async"] {
            async = try parseAsync(value, inheriting: asyncDefaults, baseDirectory: baseDirectory)
        }
        apply(async, to: &function)
        return (function, reservedValue)
    }

    /// A function's `passEnvironment`: names of the simulator's own variables the function also sees, each a
    /// variable name or a prefix ending in `*` (`AWS_*`).
    static func parsePassEnvironment(_ value: ConfigValue) throws(ConfigError) -> [String] {
        let names = try value.stringList()
        for name in names {
            let valid = ConfigLimits.isPOSIXVariableName(name.hasSuffix("*") ? String(name.dropLast()) : name)
            guard valid else {
                throw value.error(
                    "passEnvironment entry '\(name)' must be a variable name or a prefix ending in '*' (AWS_*)")
            }
        }
        return names
    }

    /// A function's `environment`: Lambda's key rules, no reserved keys, at most 4 KB in total.
    static func parseEnvironment(_ value: ConfigValue) throws(ConfigError) -> [(String, String)] {
        var environment: [(String, String)] = []
        var bytes = 0
        for entry in try value.mapping(allowedKeys: nil).entries {
            let key = entry.name
            guard !ConfigLimits.reservedEnvironmentKeys.contains(key) else {
                throw entry.keyError("\(key) is a reserved Lambda environment variable")
            }
            guard ConfigLimits.isValidEnvironmentKey(key) else {
                throw entry.keyError(
                    "environment variable name '\(key)' must start with a letter and have at least 2 letters,"
                        + " digits or underscores")
            }
            let text = entry.isNull ? "" : try entry.string()
            environment.append((key, text))
            bytes += key.utf8.count + text.utf8.count
        }
        guard bytes <= ConfigLimits.environmentBytes else {
            throw value.keyError(
                "environment variables total \(bytes) bytes, more than Lambda's 4 KB (\(ConfigLimits.environmentBytes))"
            )
        }
        return environment
    }
}
