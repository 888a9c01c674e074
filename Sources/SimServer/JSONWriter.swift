/// Writes JSON straight into bytes, escaping strings byte by byte: the API Gateway events of the HTTP front end
/// are built once per request, and a tree of values serialised scalar by scalar cost more than the invoke.
struct JSONWriter {
    /// The JSON so far.
    private(set) var bytes: [UInt8] = []
    /// Per open object or array: whether it has no member yet.
    private var firsts: [Bool] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    /// Opens an object (as a value).
    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        firsts.append(true)
    }

    /// Closes the innermost object.
    mutating func endObject() {
        firsts.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    /// Opens an array (as a value).
    mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        firsts.append(true)
    }

    /// Closes the innermost array.
    mutating func endArray() {
        firsts.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    /// Starts the member `key` of the innermost object; its value follows.
    mutating func key(_ key: String) {
        separate()
        quoted(key)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Starts the next element of the innermost array; its value follows.
    mutating func element() { separate() }

    /// A string value.
    mutating func string(_ text: String) { quoted(text) }

    /// A value written as it is (a number, `true`, `false`, `null`).
    mutating func literal(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// `key: "text"`.
    mutating func member(_ key: String, _ text: String) {
        self.key(key)
        quoted(text)
    }

    /// `key: "text"`, or `key: null` when `text` is nil.
    mutating func member(_ key: String, orNull text: String?) {
        self.key(key)
        if let text { quoted(text) } else { literal("null") }
    }

    private mutating func separate() {
        if firsts[firsts.count - 1] {
            firsts[firsts.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private mutating func quoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                bytes += Array("\\u00".utf8)
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
