/// A configuration file that cannot be used, located by file, key path and line.
///
/// Rendered as `FILE:LINE: KEYPATH: MESSAGE` (the key path is left out when the error is not about a key,
/// e.g. a YAML syntax error), so editors and terminals can jump to the line.
package struct ConfigError: Error, Equatable, CustomStringConvertible {
    /// The configuration file, as the caller named it.
    package var file: String
    /// Dotted path of the offending key, e.g. `functions.hello.memorySize`; empty for syntax errors.
    package var keyPath: String
    /// 1-based line of the offending key or value; 0 when the file could not be read at all.
    package var line: Int
    /// 1-based column, when known.
    package var column: Int?
    /// What is wrong, in one sentence.
    package var message: String

    package init(file: String, keyPath: String, line: Int, column: Int? = nil, message: String) {
        self.file = file
        self.keyPath = keyPath
        self.line = line
        self.column = column
        self.message = message
    }

    package var description: String {
        keyPath.isEmpty ? "\(file):\(line): \(message)" : "\(file):\(line): \(keyPath): \(message)"
    }
}
