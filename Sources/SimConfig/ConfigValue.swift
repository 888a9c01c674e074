import Yams

/// A YAML node at a known key path, with typed readers that turn a wrong type or an out-of-range value into
/// a `ConfigError` naming the file, the key path and the line.
struct ConfigValue {
    /// The configuration file, for errors.
    let file: String
    /// Dotted key path, e.g. `functions.hello.memorySize`; empty for the document root.
    let keyPath: String
    /// The last component of the key path, used in messages (`memorySize must be an integer`).
    let name: String
    /// The value.
    let node: Node
    /// The mapping key this value belongs to; `nil` for the root and for list items.
    let keyNode: Node?

    /// Line of the value (for block values, the line their content starts on).
    var line: Int { node.mark?.line ?? keyLine }
    /// Line of the key, or of the value when there is no key.
    var keyLine: Int { (keyNode?.mark ?? node.mark)?.line ?? 1 }

    /// An error about the value.
    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, keyPath: keyPath, line: line, column: node.mark?.column, message: message)
    }

    /// An error about the key itself (bad name, missing sibling, whole-section limits).
    func keyError(_ message: String, keyPath: String? = nil) -> ConfigError {
        let mark = keyNode?.mark ?? node.mark
        return ConfigError(
            file: file, keyPath: keyPath ?? self.keyPath, line: mark?.line ?? 1, column: mark?.column,
            message: message)
    }

    /// A plain `null`, `~` or empty value.
    var isNull: Bool { node.null != nil }

    /// How the value looks, for "got …" in messages.
    var shown: String {
        switch node {
        case .scalar(let scalar): isNull ? "null" : "'\(scalar.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// A key path below this value.
    func path(_ child: String) -> String { keyPath.isEmpty ? child : "\(keyPath).\(child)" }

    /// The value as an integer in `range`.
    func integer(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let value = try integer()
        guard range.contains(value) else {
            throw error("\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    /// The value as an integer of at least `minimum`.
    func integer(atLeast minimum: Int) throws(ConfigError) -> Int {
        let value = try integer()
        guard value >= minimum else { throw error("\(name) must be at least \(minimum), got \(value)") }
        return value
    }

    /// The value as a plain (unquoted) YAML integer.
    func integer() throws(ConfigError) -> Int {
        guard let value = node.int else { throw error("\(name) must be an integer, got \(shown)") }
        return value
    }

    /// The value as a finite number (integer or decimal) greater than `minimum`.
    func number(greaterThan minimum: Double) throws(ConfigError) -> Double {
        guard let value = node.int.map(Double.init) ?? node.float, value.isFinite else {
            throw error("\(name) must be a number, got \(shown)")
        }
        guard value > minimum else {
            throw error("\(name) must be greater than \(Int(minimum)), got \(node.scalar?.string ?? shown)")
        }
        return value
    }

    /// The value as text: any scalar but `null` (so `version: 7` reads as `"7"`).
    func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node, !isNull else { throw error("\(name) must be a string, got \(shown)") }
        return scalar.string
    }

    /// The value as non-empty text.
    func nonEmptyString() throws(ConfigError) -> String {
        let value = try string()
        guard !value.isEmpty else { throw error("\(name) must not be empty") }
        return value
    }

    /// The value as one of `T`'s raw values.
    func choice<T: RawRepresentable & CaseIterable>(_: T.Type) throws(ConfigError) -> T where T.RawValue == String {
        let text = try string()
        guard let value = T(rawValue: text) else {
            let choices = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw error("\(name) must be one of \(choices), got '\(text)'")
        }
        return value
    }

    /// The value as a list of non-empty strings.
    func stringList() throws(ConfigError) -> [String] {
        guard case .sequence(let sequence) = node else {
            throw error("\(name) must be a list of strings, got \(shown)")
        }
        var result: [String] = []
        for (index, item) in sequence.enumerated() {
            let element = ConfigValue(
                file: file, keyPath: "\(keyPath)[\(index)]", name: "\(name)[\(index)]", node: item, keyNode: nil)
            result.append(try element.nonEmptyString())
        }
        return result
    }

    /// The value as a mapping whose keys must all be in `allowedKeys` (any key when `nil`); `null` reads as empty.
    ///
    /// YAML merge keys (`<<: *shared`, or a list of aliases) are expanded in place; keys given explicitly win.
    func mapping(allowedKeys: [String]?) throws(ConfigError) -> ConfigMapping {
        if isNull { return ConfigMapping(owner: self, entries: []) }
        guard case .mapping(let mapping) = node else { throw error("\(name) must be a mapping, got \(shown)") }
        let explicitKeys = Set(mapping.keys.compactMap { $0.scalar?.string })
        var entries: [ConfigValue] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                let keyValue = ConfigValue(file: file, keyPath: keyPath, name: name, node: key, keyNode: key)
                throw keyValue.keyError("keys must be strings, got \(keyValue.shown)")
            }
            if scalar.string == "<<" && scalar.style == .plain {
                let merge = ConfigValue(file: file, keyPath: path("<<"), name: "<<", node: value, keyNode: key)
                let sources = value.sequence.map(Array.init) ?? [value]
                for source in sources {
                    let merged = ConfigValue(file: file, keyPath: keyPath, name: name, node: source, keyNode: key)
                    guard case .mapping = source else {
                        throw merge.error("<< must merge mappings, got \(merged.shown)")
                    }
                    let inherited = try merged.mapping(allowedKeys: allowedKeys).entries
                    for entry in inherited
                    where !explicitKeys.contains(entry.name) && !entries.contains(where: { $0.name == entry.name }) {
                        entries.append(entry)
                    }
                }
                continue
            }
            let entry = ConfigValue(
                file: file, keyPath: path(scalar.string), name: scalar.string, node: value, keyNode: key)
            if let allowedKeys, !allowedKeys.contains(scalar.string) {
                let expected = allowedKeys.joined(separator: ", ")
                throw entry.keyError("unknown key '\(scalar.string)' (expected one of: \(expected))")
            }
            entries.append(entry)
        }
        return ConfigMapping(owner: self, entries: entries)
    }
}

/// A YAML mapping whose keys have been checked, its entries in file order.
struct ConfigMapping {
    /// The mapping itself, for errors about missing keys.
    let owner: ConfigValue
    /// Key/value entries in file order.
    let entries: [ConfigValue]

    /// The entry for `key`, if present.
    subscript(key: String) -> ConfigValue? { entries.first { $0.name == key } }

    /// The entry for `key`, or an error at the owner's key saying it is required.
    func required(_ key: String) throws(ConfigError) -> ConfigValue {
        guard let entry = self[key] else { throw owner.keyError("\(key) is required", keyPath: owner.path(key)) }
        return entry
    }
}
