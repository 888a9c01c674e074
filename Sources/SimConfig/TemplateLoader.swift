import Foundation
import Yams

/// What a template run gets from outside the template: `--parameter-overrides`, `--env-vars`, the Python
/// interpreter for `python3.x` runtimes and the stack name.
package struct TemplateOptions: Sendable {
    /// `--parameter-overrides K=V`: parameter values that win over `Default`.
    package var parameterOverrides: [(String, String)] = []
    /// `--env-vars` (SAM's format): variables by function logical id or name, and for all functions under
    /// `Parameters`; only variables the template declares are overridden, as in SAM.
    package var environmentOverrides: [String: [String: String]] = [:]
    /// Interpreter for `python3.x` runtimes (a path); nil when none was found.
    package var python: String? = "python3"
    /// What the interpreter was asked for as (`python3`, a `--python` value), for messages.
    package var pythonName = "python3"
    /// `AWS::StackName`.
    package var stackName = "lambda-sim"
    /// The simulator's own environment, in order, from which a function's `PassEnvironment` picks.
    package var simulatorEnvironment: [(String, String)] = []

    package init() {}
}

/// Reads a SAM / CloudFormation template into the functions `serve` runs (see `TemplateConfig`).
///
/// Errors are `ConfigError`s naming the template, the line and the key path (`Resources.Echo.Properties.Timeout`)
/// like those of `serve --config`. Intrinsics are evaluated where a function's properties use them
/// (`TemplateIntrinsics`); resources of other types are not run, and a function property that needs their
/// value is an error.
package enum TemplateLoader {
    /// Top-level keys of a template.
    static let topLevelKeys = [
        "AWSTemplateFormatVersion", "Transform", "Description", "Metadata", "Parameters", "Mappings", "Conditions",
        "Resources", "Outputs", "Globals", "Rules",
    ]
    /// Keys of a parameter.
    static let parameterKeys = [
        "Type", "Default", "AllowedValues", "AllowedPattern", "Description", "ConstraintDescription", "MinLength",
        "MaxLength", "MinValue", "MaxValue", "NoEcho",
    ]
    /// Keys of a resource.
    static let resourceKeys = [
        "Type", "Properties", "Condition", "Metadata", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy",
        "UpdatePolicy", "CreationPolicy",
    ]
    /// Keys of the template's `Metadata.lambda-sim` section.
    static let simulatorMetadataKeys = ["AccountId", "Region", "Concurrency", "ScalingRate", "Host", "Port"]
    /// Resource types that run as functions.
    static let functionTypes = ["AWS::Serverless::Function", "AWS::Lambda::Function"]

    /// Reads and validates the template at `path`.
    package static func load(path: String, options: TemplateOptions) throws(ConfigError) -> TemplateConfig {
        let absolute = ConfigPath.resolve(path, against: FileManager.default.currentDirectoryPath)
        guard let data = FileManager.default.contents(atPath: absolute),
            let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigError(file: path, keyPath: "", line: 0, message: "the template cannot be read")
        }
        return try parse(text, file: path, baseDirectory: ConfigPath.directory(of: absolute), options: options)
    }

    /// Validates template text named `file` whose relative paths resolve against `baseDirectory`.
    package static func parse(
        _ yaml: String, file: String, baseDirectory: String, options: TemplateOptions
    ) throws(ConfigError) -> TemplateConfig {
        let base = ConfigPath.resolve(baseDirectory, against: FileManager.default.currentDirectoryPath)
        guard let rootNode = try ConfigLoader.compose(yaml, file: file) else {
            throw ConfigError(file: file, keyPath: "Resources", line: 1, message: "the template is empty")
        }
        let root = ConfigValue(file: file, keyPath: "", name: "template", node: rootNode, keyNode: nil)
        let top = try root.mapping(allowedKeys: topLevelKeys)
        var loader = TemplateReader(file: file, baseDirectory: base, options: options)
        if let metadata = top["Metadata"] { try loader.readSimulatorMetadata(metadata) }
        let resources = try top.required("Resources").mapping(allowedKeys: nil)
        for entry in resources.entries {
            let type = try entry.mapping(allowedKeys: resourceKeys).required("Type")
            loader.intrinsics.resourceTypes[entry.name] = try type.string()
        }
        try loader.readParameters(top["Parameters"])
        if let conditions = top["Conditions"] { try loader.readConditions(conditions) }
        if let globals = top["Globals"] { try loader.readGlobals(globals) }
        return try loader.readFunctions(resources)
    }

    /// Reads a `--env-vars` file in SAM's format: `{"LogicalId": {"VAR": "value"}, "Parameters": {...}}`.
    package static func environmentOverrides(path: String) throws(ConfigError) -> [String: [String: String]] {
        let absolute = ConfigPath.resolve(path, against: FileManager.default.currentDirectoryPath)
        guard let data = FileManager.default.contents(atPath: absolute) else {
            throw ConfigError(file: path, keyPath: "", line: 0, message: "the environment file cannot be read")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let top = object as? [String: Any] else {
            throw ConfigError(
                file: path, keyPath: "", line: 0,
                message: "must be a JSON object of function ids (or Parameters) to objects of variables")
        }
        var result: [String: [String: String]] = [:]
        for (function, variables) in top {
            guard let variables = variables as? [String: Any] else {
                throw ConfigError(file: path, keyPath: function, line: 0, message: "must be an object of variables")
            }
            var values: [String: String] = [:]
            for (key, value) in variables {
                switch value {
                case let text as String: values[key] = text
                case let number as NSNumber: values[key] = number.stringValue
                default:
                    throw ConfigError(
                        file: path, keyPath: "\(function).\(key)", line: 0, message: "must be a string or a number")
                }
            }
            result[function] = values
        }
        return result
    }
}

/// The state of one template read: parameters, conditions and globals as they are learnt.
struct TemplateReader {
    let file: String
    let baseDirectory: String
    let options: TemplateOptions
    var intrinsics = TemplateIntrinsics()
    var account = AccountConfig()
    var server = ServerConfig()
    var scalingRate: ScalingRate?
    /// `Globals.Function` entries.
    var globalProperties: [ConfigValue] = []
    var warnings: [ConfigError] = []

    init(file: String, baseDirectory: String, options: TemplateOptions) {
        self.file = file
        self.baseDirectory = baseDirectory
        self.options = options
        intrinsics.stackName = options.stackName
    }

    /// `Metadata.lambda-sim`: the account, its scaling rate and the Invoke API's address.
    mutating func readSimulatorMetadata(_ metadata: ConfigValue) throws(ConfigError) {
        guard let section = try metadata.mapping(allowedKeys: nil)["lambda-sim"] else { return }
        let fields = try section.mapping(allowedKeys: TemplateLoader.simulatorMetadataKeys)
        if let id = fields["AccountId"] {
            account.id = try id.string()
            guard ConfigLimits.isValidAccountID(account.id) else {
                throw id.error("AccountId must be a 12-digit account id, got '\(account.id)'")
            }
        }
        if let region = fields["Region"] {
            account.region = try region.string()
            guard ConfigLimits.isValidRegion(account.region) else {
                throw region.error("Region must be a region name such as us-east-1, got '\(account.region)'")
            }
        }
        if let value = fields["Concurrency"] { account.concurrency = try value.integer(atLeast: 1) }
        if let rate = fields["ScalingRate"] {
            let parts = try rate.mapping(allowedKeys: ["Sandboxes", "PerSeconds"])
            scalingRate = ScalingRate(
                sandboxes: try parts.required("Sandboxes").integer(atLeast: 1),
                perSeconds: try parts.required("PerSeconds").number(greaterThan: 0))
        }
        if let host = fields["Host"] { server.host = try host.nonEmptyString() }
        if let port = fields["Port"] { server.port = try port.integer(in: ConfigLimits.port) }
        intrinsics.region = account.region
        intrinsics.accountID = account.id
    }

    /// `Parameters`, with `--parameter-overrides` applied; every parameter needs a value.
    mutating func readParameters(_ section: ConfigValue?) throws(ConfigError) {
        let entries = try section?.mapping(allowedKeys: nil).entries ?? []
        for (name, _) in options.parameterOverrides where !entries.contains(where: { $0.name == name }) {
            throw ConfigError(
                file: file, keyPath: "Parameters.\(name)", line: section?.keyLine ?? 1,
                message: "--parameter-overrides names '\(name)', which the template does not declare")
        }
        for entry in entries {
            let fields = try entry.mapping(allowedKeys: TemplateLoader.parameterKeys)
            let type = try fields.required("Type").string()
            let value: String
            if let override = options.parameterOverrides.last(where: { $0.0 == entry.name }) {
                value = override.1
            } else if let defaultValue = fields["Default"] {
                if case .sequence = defaultValue.node {
                    value = try defaultValue.stringList().joined(separator: ",")
                } else {
                    value = defaultValue.isNull ? "" : try defaultValue.string()
                }
            } else {
                throw entry.keyError(
                    "parameter \(entry.name) has no Default: give it with --parameter-overrides \(entry.name)=VALUE")
            }
            if let allowed = fields["AllowedValues"] {
                let values = try allowed.stringList()
                guard values.contains(value) else {
                    throw allowed.error(
                        "parameter \(entry.name) is '\(value)', not one of \(values.joined(separator: ", "))")
                }
            }
            if type == "Number", Double(value) == nil {
                throw entry.keyError("parameter \(entry.name) is of Type Number, got '\(value)'")
            }
            intrinsics.parameters[entry.name] = value
        }
    }

    /// `Conditions`, each evaluated once (a condition may use another; a cycle is an error).
    mutating func readConditions(_ section: ConfigValue) throws(ConfigError) {
        let entries = try section.mapping(allowedKeys: nil).entries
        var evaluating: Set<String> = []
        func evaluate(_ name: String, _ at: ConfigValue) throws(ConfigError) -> Bool {
            if let known = intrinsics.conditions[name] { return known }
            guard let entry = entries.first(where: { $0.name == name }) else {
                throw at.error("unknown condition '\(name)' (not in Conditions)")
            }
            guard evaluating.insert(name).inserted else { throw entry.keyError("condition \(name) refers to itself") }
            let result = try intrinsics.truth(entry, evaluateCondition: evaluate)
            intrinsics.conditions[name] = result
            return result
        }
        for entry in entries { _ = try evaluate(entry.name, entry) }
    }

    /// `Globals`: `Function` properties every `AWS::Serverless::Function` inherits.
    mutating func readGlobals(_ section: ConfigValue) throws(ConfigError) {
        for entry in try section.mapping(allowedKeys: nil).entries {
            if entry.name == "Function" {
                globalProperties = try entry.mapping(allowedKeys: nil).entries
            } else {
                warnings.append(entry.keyError("Globals.\(entry.name) has no effect in lambda-sim"))
            }
        }
    }

    /// Whether the resource's `Condition` (if any) holds.
    func isIncluded(_ fields: ConfigMapping) throws(ConfigError) -> Bool {
        guard let condition = fields["Condition"] else { return true }
        let name = try condition.nonEmptyString()
        guard let truth = intrinsics.conditions[name] else {
            throw condition.error("unknown condition '\(name)' (not in Conditions)")
        }
        return truth
    }
}
