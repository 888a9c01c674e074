import Foundation
import SimDomain

extension TemplateReader {
    /// HTTP methods a route may name (`ANY` matches them all).
    static let routeMethods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY"]

    /// `Events`: `HttpApi` and `Api` routes, each invoking `function`; other event sources are reported as warnings
    /// (nothing triggers them locally).
    mutating func events(_ value: ConfigValue, function: String) throws(ConfigError) -> [APIGatewayRoute] {
        var routes: [APIGatewayRoute] = []
        for event in try value.mapping(allowedKeys: nil).entries {
            guard let resolved = try intrinsics.resolve(event) else { continue }
            let fields = try resolved.mapping(allowedKeys: ["Type", "Properties", "Condition"])
            let type = try fields.required("Type").string()
            guard type == "HttpApi" || type == "Api" else {
                warnings.append(event.keyError("event type \(type) is not triggered by lambda-sim"))
                continue
            }
            let properties = try fields["Properties"]?.mapping(allowedKeys: nil)
            let path = properties?["Path"]
            let method = properties?["Method"]
            if type == "HttpApi" {
                var version = APIGatewayRoute.PayloadFormatVersion.v2
                if let value = properties?["PayloadFormatVersion"] {
                    let text = try value.string()
                    guard let given = APIGatewayRoute.PayloadFormatVersion(rawValue: text) else {
                        throw value.error("PayloadFormatVersion must be 1.0 or 2.0, got '\(text)'")
                    }
                    version = given
                }
                guard let path else {
                    // SAM: an HttpApi event without Path and Method is the API's $default route.
                    if let method { throw method.keyError("Method needs a Path") }
                    routes.append(
                        APIGatewayRoute(
                            api: .http, method: "ANY", path: "$default", payloadFormatVersion: version,
                            function: function))
                    continue
                }
                let routePath = try routePathString(path, allowDefault: true)
                let routeMethod =
                    try method.map { (value) throws(ConfigError) in try routeMethodString(value) } ?? "ANY"
                routes.append(
                    APIGatewayRoute(
                        api: .http, method: routePath == "$default" ? "ANY" : routeMethod, path: routePath,
                        payloadFormatVersion: version, function: function))
            } else {
                guard let properties else { throw event.keyError("an Api event needs Properties with Path and Method") }
                let routePath = try routePathString(try properties.required("Path"), allowDefault: false)
                let routeMethod = try routeMethodString(try properties.required("Method"))
                routes.append(
                    APIGatewayRoute(
                        api: .rest, method: routeMethod, path: routePath, payloadFormatVersion: .v1,
                        function: function))
            }
        }
        return routes
    }

    private func routeMethodString(_ value: ConfigValue) throws(ConfigError) -> String {
        let method = try value.string().uppercased()
        guard Self.routeMethods.contains(method) else {
            throw value.error(
                "Method must be one of \(Self.routeMethods.joined(separator: ", ")) or any, got '\(method)'")
        }
        return method
    }

    private func routePathString(_ value: ConfigValue, allowDefault: Bool) throws(ConfigError) -> String {
        let path = try value.string()
        if allowDefault && path == "$default" { return path }
        guard path.hasPrefix("/") else { throw value.error("Path must start with '/', got '\(path)'") }
        let segments = path.split(separator: "/")
        for (index, segment) in segments.enumerated() where segment.hasPrefix("{") || segment.hasSuffix("}") {
            let greedy = segment.hasSuffix("+}")
            guard segment.hasPrefix("{"), segment.hasSuffix("}"), segment.count > (greedy ? 3 : 2) else {
                throw value.error("Path parameter '\(segment)' must be {name} or {name+}")
            }
            if greedy && index != segments.count - 1 {
                throw value.error("a greedy path parameter ({name+}) must be the last segment of the Path")
            }
        }
        return path
    }

    /// `FunctionUrlConfig` (also the properties of an `AWS::Lambda::Url`).
    func functionURL(_ value: ConfigValue) throws(ConfigError) -> FunctionURLConfig {
        let fields = try value.mapping(allowedKeys: [
            "AuthType", "InvokeMode", "Cors", "TargetFunctionArn", "Qualifier",
        ])
        var config = FunctionURLConfig()
        if let authType = fields["AuthType"] {
            config.authType = try authType.string()
            guard config.authType == "NONE" || config.authType == "AWS_IAM" else {
                throw authType.error("AuthType must be NONE or AWS_IAM, got '\(config.authType)'")
            }
        }
        if let mode = fields["InvokeMode"] { config.invokeMode = try mode.choice(FunctionURLConfig.InvokeMode.self) }
        return config
    }

    /// `AWS::Lambda::Url` resources: the Function URL of the function their `TargetFunctionArn` names.
    mutating func readURLResources(_ resources: ConfigMapping, into functions: inout [TemplateFunction])
        throws(ConfigError)
    {
        for entry in resources.entries {
            let fields = try entry.mapping(allowedKeys: TemplateLoader.resourceKeys)
            guard try fields.required("Type").string() == "AWS::Lambda::Url", try isIncluded(fields) else { continue }
            guard
                let properties = try fields["Properties"].flatMap({ (value) throws(ConfigError) in
                    try intrinsics.resolve(value)
                })
            else { throw entry.keyError("an AWS::Lambda::Url needs Properties with TargetFunctionArn") }
            let target = try properties.mapping(allowedKeys: nil).required("TargetFunctionArn")
            let text = try target.string()
            let name = text.split(separator: ":").count >= 7 ? String(text.split(separator: ":")[6]) : text
            guard let index = functions.firstIndex(where: { $0.name == name }) else {
                throw target.error("TargetFunctionArn '\(text)' is not a function of this template")
            }
            functions[index].functionURL = try functionURL(properties)
        }
    }

    /// `EventInvokeConfig` with local files for destinations: a `Destination` that is a path (not an ARN) gets the
    /// records, as does `Metadata.lambda-sim.OnSuccess` / `OnFailure`, which wins.
    func eventInvokeConfig(_ value: ConfigValue?, metadata: ConfigMapping?) throws(ConfigError) -> AsyncConfig {
        var config = AsyncConfig()
        if let value {
            let fields = try value.mapping(allowedKeys: [
                "MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig",
            ])
            if let retries = fields["MaximumRetryAttempts"] {
                config.maximumRetryAttempts = try retries.integer(in: ConfigLimits.maximumRetryAttempts)
            }
            if let age = fields["MaximumEventAgeInSeconds"] {
                config.maximumEventAgeInSeconds = try age.integer(in: ConfigLimits.maximumEventAgeInSeconds)
            }
            if let destinations = fields["DestinationConfig"] {
                let both = try destinations.mapping(allowedKeys: ["OnSuccess", "OnFailure"])
                for key in ["OnSuccess", "OnFailure"] {
                    guard let destination = both[key] else { continue }
                    let target = try destination.mapping(allowedKeys: ["Type", "Destination"]).required("Destination")
                    let text = try target.nonEmptyString()
                    let overridden = metadata?[key] != nil
                    if text.hasPrefix("arn:") && !overridden {
                        throw target.error(
                            "\(key) destination \(text) is not a local file: give a file path, or one in the function's"
                                + " Metadata: {lambda-sim: {\(key): FILE}}")
                    }
                    let path = ConfigPath.resolve(text, against: baseDirectory)
                    if key == "OnSuccess" { config.onSuccess = path } else { config.onFailure = path }
                }
            }
        }
        if let file = metadata?["OnSuccess"] {
            config.onSuccess = ConfigPath.resolve(try file.nonEmptyString(), against: baseDirectory)
        }
        if let file = metadata?["OnFailure"] {
            config.onFailure = ConfigPath.resolve(try file.nonEmptyString(), against: baseDirectory)
        }
        return config
    }

    /// `Layers` as local directories (or `Ref`s of `AWS::Serverless::LayerVersion`s with a local `ContentUri`):
    /// the `extensions/` directory of a layer starts as external extensions, as `/opt/extensions` does.
    func layers(_ value: ConfigValue, resources: ConfigMapping) throws(ConfigError) -> String? {
        var extensionsDirectory: String?
        for item in try value.items(count: nil, what: "Layers must be a list") {
            var directoryValue = item
            if case ("Ref", let argument)? = TemplateIntrinsics.intrinsic(item), let name = try? argument.string(),
                let resource = resources[name],
                let fields = try? resource.mapping(allowedKeys: TemplateLoader.resourceKeys),
                let type = try? fields.required("Type").string(),
                type == "AWS::Serverless::LayerVersion" || type == "AWS::Lambda::LayerVersion"
            {
                let properties = try fields.required("Properties").mapping(allowedKeys: nil)
                directoryValue = try properties.required(
                    type == "AWS::Serverless::LayerVersion" ? "ContentUri" : "Content")
            }
            let text = try intrinsics.string(directoryValue)
            guard !text.hasPrefix("arn:") else {
                throw item.error("layer \(text) is an ARN: lambda-sim runs layers from local directories only")
            }
            let directory = ConfigPath.resolve(text, against: baseDirectory)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else { throw directoryValue.error("layer directory \(directory) does not exist") }
            let extensions = directory + "/extensions"
            guard FileManager.default.fileExists(atPath: extensions, isDirectory: &isDirectory), isDirectory.boolValue
            else { continue }
            if extensionsDirectory != nil {
                throw item.error("only one layer of a function may have an extensions/ directory in lambda-sim")
            }
            extensionsDirectory = extensions
        }
        return extensionsDirectory
    }
}
