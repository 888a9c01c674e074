// Minimal JSON support: a scanner for the top-level members of an object and a string escaper.
// This is deliberately not a full JSON parser; nested values are skipped without being decoded.

/// A top-level member value the fixture cares about.
enum JSONScalar: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    /// null, a non-integer number, an object or an array.
    case other
}

/// Scans the top-level members of a JSON object. Returns an empty dictionary for anything that is
/// not a well-formed object, so malformed payloads simply fall back to the echo behaviour.
func scanTopLevelMembers(_ bytes: [UInt8]) -> [String: JSONScalar] {
    var scanner = JSONScanner(bytes: bytes)
    return (try? scanner.scanObjectMembers()) ?? [:]
}

/// Escapes `text` as a JSON string literal, including the surrounding quotes.
func jsonQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// Marker error for malformed input; the caller discards partial results.
private struct MalformedJSON: Error {}

/// Byte-level cursor over a JSON document.
private struct JSONScanner {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Parses `{ "key": value, ... }` and records every member whose value is a scalar.
    mutating func scanObjectMembers() throws -> [String: JSONScalar] {
        var members: [String: JSONScalar] = [:]
        try expect(UInt8(ascii: "{"))
        if peekNonSpace() == UInt8(ascii: "}") {
            index += 1
            return members
        }
        while true {
            skipSpace()
            let key = try scanString()
            try expect(UInt8(ascii: ":"))
            members[key] = try scanValue()
            switch peekNonSpace() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): return members
            default: throw MalformedJSON()
            }
        }
    }

    /// Reads any JSON value; nested containers are skipped and reported as `.other`.
    private mutating func scanValue() throws -> JSONScalar {
        switch peekNonSpace() {
        case UInt8(ascii: "\""): return .string(try scanString())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipContainer()
            return .other
        case UInt8(ascii: "t"):
            try expectWord("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectWord("null")
            return .other
        default: return try scanNumber()
        }
    }

    /// Reads a number; only plain integers that fit in `Int` become `.int`.
    private mutating func scanNumber() throws -> JSONScalar {
        let start = index
        var isInteger = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                isInteger = false
            } else if !(byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || isDigit(byte)) {
                break
            }
            index += 1
        }
        guard index > start else { throw MalformedJSON() }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let value = Int(text) { return .int(value) }
        return .other
    }

    /// Reads a string literal (cursor on the opening quote) and decodes its escapes.
    private mutating func scanString() throws -> String {
        try expect(UInt8(ascii: "\""))
        var decoded: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") { return String(decoding: decoded, as: UTF8.self) }
            guard byte == UInt8(ascii: "\\") else {
                decoded.append(byte)
                continue
            }
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"): decoded.append(contentsOf: try scanUnicodeEscape())
            default: decoded.append(escape)  // \" \\ \/
            }
        }
        throw MalformedJSON()
    }

    /// Decodes the hex digits after `\u`, combining surrogate pairs; returns UTF-8 bytes.
    private mutating func scanUnicodeEscape() throws -> [UInt8] {
        var value = try scanHex4()
        if (0xD800..<0xDC00).contains(value), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
            bytes[index + 1] == UInt8(ascii: "u")
        {
            index += 2
            let low = try scanHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw MalformedJSON() }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        }
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        return Array(String(Character(scalar)).utf8)
    }

    /// Reads exactly four hex digits.
    private mutating func scanHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count,
            let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
        else { throw MalformedJSON() }
        index += 4
        return value
    }

    /// Skips a balanced object or array, stepping over string literals so brackets inside them do not count.
    private mutating func skipContainer() throws {
        var depth = 0
        repeat {
            guard index < bytes.count else { throw MalformedJSON() }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                _ = try scanString()
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
            index += 1
        } while depth > 0
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard peekNonSpace() == byte else { throw MalformedJSON() }
        index += 1
    }

    private mutating func expectWord(_ word: String) throws {
        for byte in word.utf8 {
            guard index < bytes.count, bytes[index] == byte else { throw MalformedJSON() }
            index += 1
        }
    }

    /// Skips whitespace and returns the next byte without consuming it (nil at the end).
    private mutating func peekNonSpace() -> UInt8? {
        skipSpace()
        return index < bytes.count ? bytes[index] : nil
    }

    private mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) {
            index += 1
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}

/// Standard base64 with padding (for the streamed error body trailer).
func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
        let a = UInt32(bytes[index])
        let b = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
        let c = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
        let n = a << 16 | b << 8 | c
        out.append(alphabet[Int(n >> 18 & 63)])
        out.append(alphabet[Int(n >> 12 & 63)])
        out.append(index + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
        out.append(index + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
        index += 3
    }
    return String(decoding: out, as: UTF8.self)
}
