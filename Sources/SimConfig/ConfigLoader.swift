import Foundation
import SimDomain
import Yams

/// Reads a `serve --config` YAML file (design.md §2.3) into a validated `SimulatorConfig`.
///
/// The file is composed into a YAML node tree (keeping line numbers) and walked section by section:
/// unknown keys, wrong types and out-of-range values stop the load with a `ConfigError` naming the file,
/// the key path and the line. Relative paths are resolved against the config file's directory.
package enum ConfigLoader {
    /// Top-level keys. `asyncDefaults` is a lambda-sim extension.
    static let topLevelKeys = ["account", "server", "functions", "asyncDefaults"]
    /// Keys of `account`. `scalingRate` is a lambda-sim extension.
    static let accountKeys = ["id", "region", "concurrency", "scalingRate"]
    /// Keys of `server`.
    static let serverKeys = ["host", "port"]
    /// Keys of `account.scalingRate`.
    static let scalingRateKeys = ["sandboxes", "perSeconds"]
    /// Keys of `asyncDefaults` and of a function's `async`.
    static let asyncKeys = ["maximumRetryAttempts", "maximumEventAgeInSeconds", "onSuccess", "onFailure"]

    /// Reads and validates the configuration file at `path`.
    ///
    /// - Parameters:
    ///   - path: the file, absolute or relative to the current directory; errors name it as given.
    ///   - simulatorEnvironment: the simulator's own environment, in order, from which a function's
    ///     `passEnvironment` picks the variables it also sees.
    /// - Returns: the validated configuration, paths resolved against the file's directory.
    /// - Throws: `ConfigError`; line 0 when the file cannot be read.
    package static func load(
        path: String, simulatorEnvironment: [(String, String)] = []
    ) throws(ConfigError) -> SimulatorConfig {
        let absolute = ConfigPath.resolve(path, against: FileManager.default.currentDirectoryPath)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
            throw ConfigError(file: path, keyPath: "", line: 0, message: "no such configuration file")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: absolute) else {
            throw ConfigError(file: path, keyPath: "", line: 0, message: "the configuration file cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, keyPath: "", line: 0, message: "the configuration file is not UTF-8 text")
        }
        return try parse(
            text, file: path, baseDirectory: ConfigPath.directory(of: absolute),
            simulatorEnvironment: simulatorEnvironment, checksDirectories: true)
    }

    /// Validates configuration text.
    ///
    /// - Parameters:
    ///   - yaml: the YAML document.
    ///   - file: the name errors report.
    ///   - baseDirectory: the directory relative paths resolve against (the config file's directory).
    ///   - simulatorEnvironment: the simulator's own environment, in order, from which a function's
    ///     `passEnvironment` picks the variables it also sees.
    ///   - checksDirectories: also require each function's `codeUri` to be an existing directory (what `load`
    ///     does; text checked on its own may name directories of another machine).
    /// - Returns: the validated configuration.
    /// - Throws: `ConfigError` for the first problem found.
    package static func parse(
        _ yaml: String, file: String, baseDirectory: String, simulatorEnvironment: [(String, String)] = [],
        checksDirectories: Bool = false
    ) throws(ConfigError) -> SimulatorConfig {
        let base = ConfigPath.resolve(baseDirectory, against: FileManager.default.currentDirectoryPath)
        guard let rootNode = try compose(yaml, file: file) else {
            throw ConfigError(file: file, keyPath: "functions", line: 1, message: "the configuration is empty")
        }
        let root = ConfigValue(file: file, keyPath: "", name: "configuration", node: rootNode, keyNode: nil)
        let top = try root.mapping(allowedKeys: topLevelKeys)

        var account = AccountConfig()
        var scalingRate: ScalingRate?
        if let section = top["account"] { (account, scalingRate) = try parseAccount(section) }
        var server = ServerConfig()
        if let section = top["server"] { server = try parseServer(section) }
        var asyncDefaults: AsyncConfig?
        if let section = top["asyncDefaults"] {
            asyncDefaults = try parseAsync(section, inheriting: AsyncConfig(), baseDirectory: base)
        }

        let functionsValue = try top.required("functions")
        let entries = try functionsValue.mapping(allowedKeys: nil).entries
        guard !entries.isEmpty else { throw functionsValue.keyError("functions must define at least one function") }
        var functions: [FunctionSpec] = []
        var reservations: [(reserved: Int, value: ConfigValue)] = []
        for entry in entries {
            let (function, reservedValue) = try parseFunction(
                entry, account: account, asyncDefaults: asyncDefaults ?? AsyncConfig(), baseDirectory: base,
                simulatorEnvironment: simulatorEnvironment, checksDirectories: checksDirectories)
            functions.append(function)
            if let reserved = function.reservedConcurrency, let reservedValue {
                reservations.append((reserved, reservedValue))
            }
        }
        try checkReservedTotal(reservations, accountConcurrency: account.concurrency)
        return SimulatorConfig(
            account: account, server: server, functions: functions, scalingRate: scalingRate,
            asyncDefaults: asyncDefaults)
    }

    /// Rejects reservations that leave the account's unreserved pool too small
    /// (`ConfigLimits.maximumReserved`); the error points at the reservation that crosses the limit.
    static func checkReservedTotal(
        _ reservations: [(reserved: Int, value: ConfigValue)], accountConcurrency: Int
    ) throws(ConfigError) {
        let limit = ConfigLimits.maximumReserved(accountConcurrency: accountConcurrency)
        var total = 0
        for (reserved, value) in reservations {
            total += reserved
            guard total > limit else { continue }
            let why =
                accountConcurrency > ConfigLimits.unreservedMinimum
                ? "account concurrency \(accountConcurrency) minus the unreserved minimum of"
                    + " \(ConfigLimits.unreservedMinimum)"
                : "the account concurrency"
            throw value.error("reserved concurrency of all functions reaches \(total), more than \(limit) (\(why))")
        }
    }

    /// Parses the YAML text into a node tree, turning syntax errors into `ConfigError`s with their line.
    static func compose(_ yaml: String, file: String) throws(ConfigError) -> Node? {
        do {
            return try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, yaml: yaml, file: file)
        } catch {
            throw ConfigError(file: file, keyPath: "", line: 1, message: "invalid YAML: \(error)")
        }
    }
}
