/// Lexical path arithmetic for configuration paths (no file-system access, symbolic links kept).
enum ConfigPath {
    /// `path` made absolute against the absolute directory `base`, with `.` and `..` removed.
    static func resolve(_ path: String, against base: String) -> String {
        normalize(path.hasPrefix("/") ? path : "\(base)/\(path)")
    }

    /// The directory containing the absolute file path `path`.
    static func directory(of path: String) -> String {
        normalize("\(path)/..")
    }

    /// An absolute path without empty, `.` or `..` components (`..` at the root stays at the root).
    static func normalize(_ path: String) -> String {
        var components: [Substring] = []
        for component in path.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }

    /// True for a relative path that names a file through a directory (`./bootstrap`, `bin/run`); a bare
    /// name such as `python3` is left for `PATH` lookup.
    static func isRelativeFilePath(_ path: String) -> Bool {
        !path.hasPrefix("/") && path.contains("/")
    }
}
