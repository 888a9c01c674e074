import Foundation
import SimCore
import SimDomain
import Yams

extension TemplateReader {
    /// Properties read from a function (`AWS::Serverless::Function`; `AWS::Lambda::Function` has `Code`).
    static let functionProperties = [
        "FunctionName", "Runtime", "Handler", "CodeUri", "Code", "MemorySize", "Timeout", "Environment",
        "ReservedConcurrentExecutions", "ProvisionedConcurrencyConfig", "AutoPublishAlias", "EventInvokeConfig",
        "Layers", "FunctionUrlConfig", "Events",
    ]
    /// Properties that change nothing in a local run (permissions, tracing, deployment), accepted silently.
    static let inertProperties = [
        "Description", "Role", "Policies", "Tags", "Tracing", "Architectures", "PackageType", "KmsKeyArn",
        "VpcConfig", "DeploymentPreference", "AutoPublishCodeSha256", "AutoPublishAliasAllProperties",
        "PermissionsBoundary", "LoggingConfig", "RuntimeManagementConfig", "CodeSigningConfigArn", "RolePath",
        "VersionDescription", "AssumeRolePolicyDocument", "EphemeralStorage", "TracingConfig",
    ]
    /// Keys of a function's `Metadata.lambda-sim`.
    static let functionMetadataKeys = [
        "Freeze", "IdleTimeout", "MaxLifetime", "Command", "LogFormat", "PassEnvironment", "OnSuccess", "OnFailure",
    ]

    /// Every function resource whose condition holds, in file order, with its HTTP entry points.
    mutating func readFunctions(_ resources: ConfigMapping) throws(ConfigError) -> TemplateConfig {
        var selected: [(ConfigValue, ConfigMapping)] = []
        for entry in resources.entries {
            let fields = try entry.mapping(allowedKeys: TemplateLoader.resourceKeys)
            let type = try fields.required("Type").string()
            guard TemplateLoader.functionTypes.contains(type) else { continue }
            guard try isIncluded(fields) else { continue }
            selected.append((entry, fields))
        }
        // Names first: a property may refer to another function (`!GetAtt Other.Arn`).
        var names: [String] = []
        for (entry, fields) in selected {
            let properties = try fields["Properties"]?.mapping(allowedKeys: nil)
            var name = entry.name
            if let value = properties?["FunctionName"] { name = try intrinsics.string(value) }
            guard ConfigLimits.isValidFunctionName(name) else {
                throw (properties?["FunctionName"] ?? entry).error(
                    "function name '\(name)' must be 1 to 64 letters, digits, hyphens or underscores")
            }
            if names.contains(name) { throw entry.keyError("another function is also named '\(name)'") }
            names.append(name)
            intrinsics.functionNames[entry.name] = name
        }
        guard !selected.isEmpty else {
            throw resources.owner.keyError(
                "the template defines no AWS::Serverless::Function or AWS::Lambda::Function (whose Condition holds)")
        }
        var functions: [FunctionSpec] = []
        var extras: [TemplateFunction] = []
        var reservations: [(reserved: Int, value: ConfigValue)] = []
        for ((entry, fields), name) in zip(selected, names) {
            let (function, extra, reservedValue) = try readFunction(entry, fields, name: name, resources: resources)
            functions.append(function)
            extras.append(extra)
            if let reserved = function.reservedConcurrency, let reservedValue {
                reservations.append((reserved, reservedValue))
            }
        }
        try ConfigLoader.checkReservedTotal(reservations, accountConcurrency: account.concurrency)
        try readURLResources(resources, into: &extras)
        return TemplateConfig(
            simulator: SimulatorConfig(
                account: account, server: server, functions: functions, scalingRate: scalingRate),
            functions: extras, warnings: warnings)
    }

    /// The properties of a function with `Globals.Function` merged in (the function's own win; environment
    /// variables merge key by key), each still at its own line.
    func mergedProperties(_ properties: ConfigMapping?, serverless: Bool) -> [ConfigValue] {
        let own = properties?.entries ?? []
        guard serverless else { return own }
        var merged = globalProperties.filter { global in !own.contains { $0.name == global.name } }
        for property in own {
            guard property.name == "Environment",
                let global = globalProperties.first(where: { $0.name == "Environment" }),
                let ownVariables = Self.variablesNode(property.node),
                let globalVariables = Self.variablesNode(global.node)
            else {
                merged.append(property)
                continue
            }
            let ownKeys = Set(ownVariables.keys.compactMap(\.scalar?.string))
            let pairs = globalVariables.filter { !ownKeys.contains($0.key.scalar?.string ?? "") } + Array(ownVariables)
            let variables = Node.mapping(Node.Mapping(pairs, .implicit, .any, ownVariables.mark))
            merged.append(property.replacing(.mapping(Node.Mapping([(Node("Variables"), variables)]))))
        }
        return merged
    }

    private static func variablesNode(_ node: Node) -> Node.Mapping? {
        guard case .mapping(let environment) = node, environment.count == 1,
            case .mapping(let variables)? = environment["Variables"]
        else { return nil }
        return variables
    }

    /// One function resource as a `FunctionSpec` plus its template extras; also the reserved-concurrency value.
    mutating func readFunction(
        _ entry: ConfigValue, _ fields: ConfigMapping, name: String, resources: ConfigMapping
    ) throws(ConfigError) -> (FunctionSpec, TemplateFunction, ConfigValue?) {
        let serverless = try fields.required("Type").string() == "AWS::Serverless::Function"
        let properties = try fields["Properties"]?.mapping(allowedKeys: nil)
        var values: [String: ConfigValue] = [:]
        for property in mergedProperties(properties, serverless: serverless) {
            if Self.functionProperties.contains(property.name) {
                if property.name == "Environment" || property.name == "Layers" || property.name == "Events" {
                    values[property.name] = property  // resolved entry by entry below
                } else if let resolved = try intrinsics.resolve(property) {
                    values[property.name] = resolved
                }
            } else if !Self.inertProperties.contains(property.name) {
                warnings.append(property.keyError("\(property.name) has no effect in lambda-sim"))
            }
        }
        let metadata = try fields["Metadata"]?.mapping(allowedKeys: nil)["lambda-sim"]?.mapping(
            allowedKeys: Self.functionMetadataKeys)

        let codeValue = values[serverless ? "CodeUri" : "Code"]
        var codeUri = baseDirectory
        if let codeValue {
            guard case .scalar = codeValue.node else {
                throw codeValue.error("\(codeValue.name) must be a local directory (S3 locations cannot run locally)")
            }
            codeUri = ConfigPath.resolve(try codeValue.nonEmptyString(), against: baseDirectory)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: codeUri, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw (codeValue ?? entry).error("code directory \(codeUri) does not exist")
        }
        let handler = try values["Handler"].map { (value) throws(ConfigError) in try value.string() }
        let runtime = try values["Runtime"].map { (value) throws(ConfigError) in try value.string() }
        let command = try runtimeCommand(
            runtime: runtime, runtimeValue: values["Runtime"], handler: handler, codeUri: codeUri,
            override: metadata?["Command"], at: entry)

        var function = ConfigLoader.servedFunction(
            name: name, command: command, codeDirectory: codeUri, account: account)
        function.handler = handler
        function.runtime = runtime
        if let value = values["MemorySize"] { function.memorySizeMB = try value.integer(in: ConfigLimits.memorySize) }
        if let value = values["Timeout"] {
            function.timeoutSeconds = Double(try value.integer(in: ConfigLimits.timeout))
        }
        if let value = values["Environment"] {
            function.environment = EnvironmentVariables(try environment(value, logicalID: entry.name, name: name))
        }
        let reservedValue = values["ReservedConcurrentExecutions"]
        if let reservedValue {
            function.reservedConcurrency = try reservedValue.integer(in: 0...account.concurrency)
        }
        var extra = TemplateFunction(logicalID: entry.name, name: name)
        if let value = values["AutoPublishAlias"] {
            let alias = try value.nonEmptyString()
            guard alias != "$LATEST", alias.utf8.count <= 128,
                alias.unicodeScalars.allSatisfy({
                    $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
                }),
                !alias.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) })
            else { throw value.error("AutoPublishAlias must be an alias name such as live, got '\(alias)'") }
            extra.alias = alias
        }
        if let value = values["ProvisionedConcurrencyConfig"] {
            guard extra.alias != nil else {
                throw value.keyError("ProvisionedConcurrencyConfig needs AutoPublishAlias (as in SAM)")
            }
            let executions = try value.mapping(allowedKeys: ["ProvisionedConcurrentExecutions"])
                .required("ProvisionedConcurrentExecutions")
            let provisioned = try executions.integer(in: 0...account.concurrency)
            if let reserved = function.reservedConcurrency, provisioned > reserved {
                throw executions.error(
                    "ProvisionedConcurrentExecutions (\(provisioned)) must not exceed ReservedConcurrentExecutions"
                        + " (\(reserved))")
            }
            function.provisionedConcurrency = provisioned
        }
        ConfigLoader.apply(try eventInvokeConfig(values["EventInvokeConfig"], metadata: metadata), to: &function)
        if let value = values["Layers"] { function.extensionsDirectory = try layers(value, resources: resources) }
        if let metadata { try applyMetadata(metadata, to: &function) }
        if let value = values["FunctionUrlConfig"] { extra.functionURL = try functionURL(value) }
        if let value = values["Events"] { extra.routes = try events(value, function: name) }
        return (function, extra, reservedValue)
    }

    /// The command that runs `runtime`: `Metadata.lambda-sim.Command` if given; `python3.x` → awslambdaric under
    /// the configured interpreter; `provided*` → `CodeUri/bootstrap`; anything else is an error.
    func runtimeCommand(
        runtime: String?, runtimeValue: ConfigValue?, handler: String?, codeUri: String, override: ConfigValue?,
        at entry: ConfigValue
    ) throws(ConfigError) -> [String] {
        if let override, let resolved = try intrinsics.resolve(override) {
            var command = try resolved.stringList()
            guard let first = command.first else { throw override.error("Command must not be empty") }
            if ConfigPath.isRelativeFilePath(first) { command[0] = ConfigPath.resolve(first, against: codeUri) }
            return command
        }
        guard let runtime, let runtimeValue else {
            throw entry.keyError(
                "Runtime is required (or Metadata: {lambda-sim: {Command: [...]}} naming the command to run)")
        }
        if runtime.hasPrefix("python3") {
            guard let handler else { throw runtimeValue.keyError("a \(runtime) function needs a Handler") }
            guard let python = options.python else {
                throw runtimeValue.error(
                    "runtime \(runtime) runs under a Python interpreter with awslambdaric, and '\(options.pythonName)'"
                        + " is not one: pass --python PATH or set LAMBDA_SIM_PYTHON")
            }
            return [python, "-m", "awslambdaric", handler]
        }
        if runtime == "provided.al2" || runtime == "provided.al2023" || runtime == "provided" {
            let bootstrap = codeUri + "/bootstrap"
            guard FileManager.default.isExecutableFile(atPath: bootstrap) else {
                throw runtimeValue.error("a \(runtime) function needs an executable bootstrap in \(codeUri)")
            }
            return [bootstrap]
        }
        throw runtimeValue.error(
            "runtime \(runtime) has no local runner in lambda-sim (python3.x and provided.al2/al2023 do): name the"
                + " command in the function's Metadata: {lambda-sim: {Command: [...]}}")
    }

    /// `Environment.Variables`, each resolved unless `--env-vars` overrides it, validated like `serve`'s.
    func environment(_ value: ConfigValue, logicalID: String, name: String) throws(ConfigError) -> [(String, String)] {
        let variables = try value.mapping(allowedKeys: ["Variables"])
        guard let section = variables["Variables"] else { return [] }
        let overrides = (options.environmentOverrides["Parameters"] ?? [:])
            .merging(options.environmentOverrides[name] ?? [:]) { $1 }
            .merging(options.environmentOverrides[logicalID] ?? [:]) { $1 }
        var pairs: [(Node, Node)] = []
        for entry in try section.mapping(allowedKeys: nil).entries {
            guard let key = entry.keyNode else { continue }
            if let override = overrides[entry.name] {
                pairs.append((key, .scalar(Node.Scalar(override, .implicit, .singleQuoted, entry.node.mark))))
            } else if let resolved = try intrinsics.resolve(entry) {
                pairs.append((key, resolved.node))
            }
        }
        return try ConfigLoader.parseEnvironment(section.replacing(.mapping(Node.Mapping(pairs))))
    }

    /// `Metadata.lambda-sim` of a function: what SAM cannot say.
    func applyMetadata(_ metadata: ConfigMapping, to function: inout FunctionSpec) throws(ConfigError) {
        if let value = metadata["Freeze"] { function.freezeMode = try value.choice(FreezeMode.self) }
        if let value = metadata["IdleTimeout"] { function.idleTimeoutSeconds = try value.number(greaterThan: 0) }
        if let value = metadata["MaxLifetime"] { function.maxLifetimeSeconds = try value.number(greaterThan: 0) }
        if let value = metadata["LogFormat"] { function.logFormat = try value.choice(LogFormat.self) }
        if let value = metadata["PassEnvironment"] {
            function.inheritedEnvironment = ConfigLoader.passedEnvironment(
                try ConfigLoader.parsePassEnvironment(value), from: options.simulatorEnvironment)
        }
    }
}
