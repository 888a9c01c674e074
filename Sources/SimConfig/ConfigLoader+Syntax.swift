import Yams

extension ConfigLoader {
    /// The `ConfigError` for a document Yams cannot compose, located at the line libyaml reports.
    static func syntaxError(_ error: YamlError, yaml: String, file: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context {
                // libyaml phrases some problems as the continuation of their context ("… but found …").
                message =
                    problem.hasPrefix("but ")
                    ? "invalid YAML: \(context.text) at line \(context.mark.line), \(problem)"
                    : "\(message) (\(context.text) at line \(context.mark.line))"
            }
            return ConfigError(file: file, keyPath: "", line: mark.line, column: mark.column, message: message)
        case .reader(let problem, let offset, _, _):
            let line = offset.map { yaml.prefix($0).filter(\.isNewline).count + 1 } ?? 1
            return ConfigError(file: file, keyPath: "", line: line, message: "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let first = context.mark
            let line = repeatedKeyLine(key, after: first, in: yaml) ?? first.line
            return ConfigError(
                file: file, keyPath: "", line: line,
                message: "duplicate key '\(key)' (first defined at line \(first.line))")
        default:
            return ConfigError(file: file, keyPath: "", line: 1, message: "invalid YAML: \(error)")
        }
    }

    /// The line of the second block-style occurrence of `key` at the same indentation as `first`, if any.
    ///
    /// Yams reports a duplicated key at its first occurrence; the repetition is what the user must fix.
    private static func repeatedKeyLine(_ key: String, after first: Mark, in yaml: String) -> Int? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        let indent = String(repeating: " ", count: max(0, first.column - 1))
        let spellings = ["\(key):", "\"\(key)\":", "'\(key)':"]
        // libyaml also breaks lines at CR, NEL and LS/PS, so its line can be past the last "\n" line.
        guard first.line < lines.count else { return nil }
        for index in first.line..<lines.count {
            let line = lines[index]
            guard line.hasPrefix(indent) else { continue }
            let rest = line.dropFirst(indent.count)
            if spellings.contains(where: { rest.hasPrefix($0) }) { return index + 1 }
        }
        return nil
    }
}
