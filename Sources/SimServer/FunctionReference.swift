/// The `{FunctionName}` of an Invoke path, decoded: a name, a partial ARN or a full ARN, each with an
/// optional `:qualifier`.
package struct FunctionReference: Equatable, Sendable {
    package var name: String
    package var qualifier: String?
    package var region: String?
    package var accountID: String?

    package init(name: String, qualifier: String? = nil, region: String? = nil, accountID: String? = nil) {
        self.name = name
        self.qualifier = qualifier
        self.region = region
        self.accountID = accountID
    }

    /// Parses a percent-decoded function name; nil when it fits none of Lambda's forms.
    package init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count <= 2 {
            // name or name:qualifier
            name = parts[0]
            qualifier = parts.count == 2 ? parts[1] : nil
        } else if (parts.count == 3 || parts.count == 4) && parts[1] == "function" {
            // account:function:name[:qualifier]
            accountID = parts[0]
            name = parts[2]
            qualifier = parts.count == 4 ? parts[3] : nil
        } else if (parts.count == 7 || parts.count == 8) && parts[0] == "arn" && parts[2] == "lambda"
            && parts[5] == "function"
        {
            // arn:<partition>:lambda:region:account:function:name[:qualifier]
            region = parts[3]
            accountID = parts[4]
            name = parts[6]
            qualifier = parts.count == 8 ? parts[7] : nil
        } else {
            return nil
        }
        guard Self.isValidName(name), qualifier.map(Self.isValidQualifier) ?? true else { return nil }
    }

    /// Lambda's function-name pattern: letters, digits, `-` and `_`, 1–64 characters.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.unicodeScalars.allSatisfy { isAlnum($0) || $0 == "-" || $0 == "_" }
    }

    /// Lambda's qualifier pattern `[a-zA-Z0-9$_-]+`, 1–128 characters.
    static func isValidQualifier(_ qualifier: String) -> Bool {
        !qualifier.isEmpty && qualifier.utf8.count <= 128
            && qualifier.unicodeScalars.allSatisfy { isAlnum($0) || $0 == "$" || $0 == "-" || $0 == "_" }
    }

    private static func isAlnum(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
    }
}
