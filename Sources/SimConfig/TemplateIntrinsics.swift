import Yams

/// Evaluates the CloudFormation intrinsic functions a local run needs, in short (`!Ref X`) and long
/// (`{Ref: X}`) form: `Ref` of parameters, pseudo parameters and functions, `Fn::Sub` (string and list form),
/// `Fn::GetAtt X.Arn` of a function, `Fn::If`, and in conditions `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`
/// and `Condition`. Any other intrinsic is an error at its file, line and key path, never dropped.
struct TemplateIntrinsics {
    /// Parameter values after `--parameter-overrides` and defaults.
    var parameters: [String: String] = [:]
    /// The account, region and stack the pseudo parameters name.
    var region = "us-east-1"
    /// `AWS::AccountId`.
    var accountID = "123456789012"
    /// `AWS::StackName`.
    var stackName = "lambda-sim"
    /// Function logical ids → function names (for `Ref` and `Fn::GetAtt …Arn`).
    var functionNames: [String: String] = [:]
    /// Every resource's logical id → its `Type`, for messages about what has no local value.
    var resourceTypes: [String: String] = [:]
    /// Evaluated conditions.
    var conditions: [String: Bool] = [:]

    /// The supported intrinsics, for messages.
    static let supported = "Ref, Fn::Sub, Fn::GetAtt (Arn), Fn::If; in Conditions Fn::Equals, Fn::Not, Fn::And, Fn::Or"

    /// `value` with every intrinsic evaluated, or nil when it is `AWS::NoValue` (the key is to be left out).
    func resolve(_ value: ConfigValue) throws(ConfigError) -> ConfigValue? {
        if let (function, argument) = Self.intrinsic(value) {
            return try evaluate(function, argument, at: value)
        }
        switch value.node {
        case .mapping(let mapping):
            var pairs: [(Node, Node)] = []
            for (key, child) in mapping {
                let name = key.scalar?.string ?? ""
                let entry = ConfigValue(
                    file: value.file, keyPath: value.path(name), name: name, node: child, keyNode: key)
                if let resolved = try resolve(entry) { pairs.append((key, resolved.node)) }
            }
            return value.replacing(.mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark)))
        case .sequence(let sequence):
            var items: [Node] = []
            for (index, child) in sequence.enumerated() {
                let item = value.item(index, child)
                if let resolved = try resolve(item) { items.append(resolved.node) }
            }
            return value.replacing(.sequence(Node.Sequence(items, sequence.tag, sequence.style, sequence.mark)))
        case .scalar, .alias:
            return value
        }
    }

    /// `value` resolved, and a string.
    func string(_ value: ConfigValue) throws(ConfigError) -> String {
        guard let resolved = try resolve(value) else { throw value.error("\(value.name) must not be AWS::NoValue") }
        return try resolved.string()
    }

    /// The intrinsic `value` is, if any: its full name (`Fn::Sub`) and its argument without the tag.
    static func intrinsic(_ value: ConfigValue) -> (String, ConfigValue)? {
        let tag = value.node.tag.description
        if tag.hasPrefix("!"), tag.count > 1, !tag.hasPrefix("!!") {
            let short = String(tag.dropFirst())
            let name = short == "Ref" || short == "Condition" ? short : "Fn::\(short)"
            return (name, value.replacing(untagged(value.node)))
        }
        guard case .mapping(let mapping) = value.node, mapping.count == 1, let (key, argument) = mapping.first,
            let name = key.scalar?.string, name == "Ref" || name.hasPrefix("Fn::")
        else { return nil }
        return (name, ConfigValue(file: value.file, keyPath: value.keyPath, name: name, node: argument, keyNode: key))
    }

    private static func untagged(_ node: Node) -> Node {
        switch node {
        case .scalar(let scalar): .scalar(Node.Scalar(scalar.string, .implicit, .plain, scalar.mark))
        case .mapping(let mapping): .mapping(Node.Mapping(Array(mapping), .implicit, mapping.style, mapping.mark))
        case .sequence(let sequence):
            .sequence(Node.Sequence(Array(sequence), .implicit, sequence.style, sequence.mark))
        case .alias: node
        }
    }

    private func evaluate(_ function: String, _ argument: ConfigValue, at value: ConfigValue) throws(ConfigError)
        -> ConfigValue?
    {
        switch function {
        case "Ref":
            guard let text = try reference(try argument.nonEmptyString(), at: argument) else { return nil }
            return value.replacing(text: text)
        case "Fn::Sub":
            return value.replacing(text: try substitute(argument))
        case "Fn::GetAtt":
            return value.replacing(text: try attribute(argument))
        case "Fn::If":
            let items = try argument.items(count: 3, what: "Fn::If takes [condition, value if true, value if false]")
            let condition = try items[0].nonEmptyString()
            guard let truth = conditions[condition] else {
                throw items[0].error("unknown condition '\(condition)' (not in Conditions)")
            }
            let chosen = items[truth ? 1 : 2]
            return try resolve(
                ConfigValue(
                    file: value.file, keyPath: value.keyPath, name: value.name, node: chosen.node,
                    keyNode: value.keyNode))
        default:
            throw value.error(
                "intrinsic function \(function) is not supported by lambda-sim (supported: \(Self.supported))")
        }
    }

    /// What `Ref name` gives; nil for `AWS::NoValue`.
    private func reference(_ name: String, at value: ConfigValue) throws(ConfigError) -> String? {
        if let parameter = parameters[name] { return parameter }
        switch name {
        case "AWS::Region": return region
        case "AWS::AccountId": return accountID
        case "AWS::StackName": return stackName
        case "AWS::Partition": return "aws"
        case "AWS::URLSuffix": return "amazonaws.com"
        case "AWS::StackId":
            return
                "arn:aws:cloudformation:\(region):\(accountID):stack/\(stackName)/00000000-0000-0000-0000-000000000000"
        case "AWS::NoValue": return nil
        default: break
        }
        if let function = functionNames[name] { return function }
        if let type = resourceTypes[name] {
            throw value.error(
                "Ref \(name) (\(type)) has no local value: pass it as a parameter (--parameter-overrides) or an"
                    + " environment variable (--env-vars)")
        }
        throw value.error("Ref to unknown parameter or resource '\(name)'")
    }

    /// `Fn::GetAtt`: only `Arn` of a function has a local value.
    private func attribute(_ argument: ConfigValue) throws(ConfigError) -> String {
        let parts: [String]
        if case .sequence = argument.node {
            parts = try argument.items(count: 2, what: "Fn::GetAtt takes [resource, attribute]").map {
                (item) throws(ConfigError) -> String in try string(item)
            }
        } else {
            let text = try argument.nonEmptyString()
            guard let dot = text.firstIndex(of: ".") else {
                throw argument.error("Fn::GetAtt takes RESOURCE.ATTRIBUTE, got '\(text)'")
            }
            parts = [String(text[..<dot]), String(text[text.index(after: dot)...])]
        }
        return try attribute(parts[0], parts[1], at: argument)
    }

    private func attribute(_ resource: String, _ name: String, at value: ConfigValue) throws(ConfigError) -> String {
        if let function = functionNames[resource] {
            guard name == "Arn" else {
                throw value.error("Fn::GetAtt \(resource).\(name): only Arn of a function has a local value")
            }
            return "arn:aws:lambda:\(region):\(accountID):function:\(function)"
        }
        if let type = resourceTypes[resource] {
            throw value.error(
                "Fn::GetAtt \(resource).\(name) (\(type)) has no local value: pass it as a parameter"
                    + " (--parameter-overrides) or an environment variable (--env-vars)")
        }
        throw value.error("Fn::GetAtt of unknown resource '\(resource)'")
    }

    /// `Fn::Sub`: `${Name}` (a parameter, pseudo parameter, function or variable), `${Resource.Arn}`, `${!Text}`.
    private func substitute(_ argument: ConfigValue) throws(ConfigError) -> String {
        var template = argument
        var variables: [String: String] = [:]
        if case .sequence = argument.node {
            let items = try argument.items(count: 2, what: "Fn::Sub takes a string or [string, {variables}]")
            template = items[0]
            for entry in try items[1].mapping(allowedKeys: nil).entries { variables[entry.name] = try string(entry) }
        }
        let text = try template.string()
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            let after = rest[open.upperBound...]
            guard let close = after.firstIndex(of: "}") else {
                throw template.error("Fn::Sub: '${' without a closing '}' in '\(text)'")
            }
            let name = String(after[..<close])
            if name.hasPrefix("!") {
                result += "${\(name.dropFirst())}"
            } else if let variable = variables[name] {
                result += variable
            } else if let dot = name.firstIndex(of: "."), !name.hasPrefix("AWS::") {
                result += try attribute(
                    String(name[..<dot]), String(name[name.index(after: dot)...]), at: template)
            } else {
                guard let value = try reference(name, at: template) else {
                    throw template.error("Fn::Sub: ${AWS::NoValue} has no text")
                }
                result += value
            }
            rest = after[after.index(after: close)...]
        }
        return result + rest
    }

    /// Evaluates a condition expression of `Conditions` (or a `Condition` reference), given the conditions
    /// evaluated so far; `evaluateCondition` evaluates a named one not yet known.
    func truth(
        _ value: ConfigValue, evaluateCondition: (String, ConfigValue) throws(ConfigError) -> Bool
    ) throws(ConfigError) -> Bool {
        var function: String
        var argument: ConfigValue
        if let (name, inner) = Self.intrinsic(value) {
            (function, argument) = (name, inner)
        } else if case .mapping(let mapping) = value.node, mapping.count == 1, let (key, inner) = mapping.first,
            key.scalar?.string == "Condition"
        {
            (function, argument) = (
                "Condition",
                ConfigValue(file: value.file, keyPath: value.keyPath, name: "Condition", node: inner, keyNode: key)
            )
        } else {
            throw value.error("a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition")
        }
        switch function {
        case "Condition":
            return try evaluateCondition(try argument.nonEmptyString(), argument)
        case "Fn::Equals":
            let items = try argument.items(count: 2, what: "Fn::Equals takes [value, value]")
            return try string(items[0]) == string(items[1])
        case "Fn::Not":
            let items = try argument.items(count: 1, what: "Fn::Not takes [condition]")
            return try !truth(items[0], evaluateCondition: evaluateCondition)
        case "Fn::And", "Fn::Or":
            let items = try argument.items(count: nil, what: "\(function) takes a list of 2 to 10 conditions")
            guard (2...10).contains(items.count) else {
                throw argument.error("\(function) takes 2 to 10 conditions, got \(items.count)")
            }
            var results: [Bool] = []
            for item in items { results.append(try truth(item, evaluateCondition: evaluateCondition)) }
            return function == "Fn::And" ? !results.contains(false) : results.contains(true)
        default:
            throw value.error(
                "\(function) cannot be used in a condition (use Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)")
        }
    }
}

extension ConfigValue {
    /// The same value at the same place with another node.
    func replacing(_ node: Node) -> ConfigValue {
        ConfigValue(file: file, keyPath: keyPath, name: name, node: node, keyNode: keyNode)
    }

    /// The same value at the same place as the plain scalar `text` (so a number reads as a number).
    func replacing(text: String) -> ConfigValue {
        replacing(.scalar(Node.Scalar(text, .implicit, .plain, node.mark)))
    }

    /// The `index`th item of this list, as a value of its own.
    func item(_ index: Int, _ node: Node) -> ConfigValue {
        ConfigValue(file: file, keyPath: "\(keyPath)[\(index)]", name: "\(name)[\(index)]", node: node, keyNode: nil)
    }

    /// The items of this list, which must have `count` of them when given.
    func items(count: Int?, what: String) throws(ConfigError) -> [ConfigValue] {
        guard case .sequence(let sequence) = node, count.map({ $0 == sequence.count }) ?? true else {
            throw error(what)
        }
        return sequence.enumerated().map { item($0.offset, $0.element) }
    }
}
