extension HTTPRequest {
    /// Splits a request target into its path (up to `?` or `#`) and its decoded query parameters.
    static func splitTarget(_ target: String) -> (path: String, query: [String: String]) {
        let utf8 = target.utf8
        guard let mark = utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) else {
            return (target, [:])
        }
        let path = String(target[..<mark])
        guard utf8[mark] == UInt8(ascii: "?") else { return (path, [:]) }
        var rest = utf8[utf8.index(after: mark)...]
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<hash] }
        return (path, parseQuery(rest))
    }

    /// Decodes `a=1&b=x%20y&flag` into `["a": "1", "b": "x y", "flag": ""]`; the last repeated name wins.
    static func parseQuery(_ query: Substring.UTF8View) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                let name = percentDecode(pair[..<equals])
                result[name] = percentDecode(pair[pair.index(after: equals)...])
            } else {
                result[percentDecode(pair)] = ""
            }
        }
        return result
    }

    /// Percent-decodes bytes (`+` is a space); malformed escapes are kept literally, invalid UTF-8 is
    /// replaced with U+FFFD.
    static func percentDecode(_ bytes: Substring.UTF8View.SubSequence) -> String {
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else {
            return String(Substring(bytes))
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                decoded.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"),
                let first = bytes.index(index, offsetBy: 1, limitedBy: bytes.endIndex), first < bytes.endIndex,
                let second = bytes.index(first, offsetBy: 1, limitedBy: bytes.endIndex), second < bytes.endIndex,
                let high = hexValue(bytes[first]), let low = hexValue(bytes[second])
            {
                decoded.append(high << 4 | low)
                index = second
            } else {
                decoded.append(byte)
            }
            index = bytes.index(after: index)
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
