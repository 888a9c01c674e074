/// An ordered list of HTTP header fields, as sent on the wire.
///
/// Names keep their original spelling; every lookup compares names ASCII case-insensitively without
/// allocating. Duplicates are kept in order (`values(_:)` returns all of them).
package struct HTTPHeaders: Sequence, Equatable, Sendable, ExpressibleByDictionaryLiteral {
    /// One header field.
    package typealias Element = (name: String, value: String)

    private var fields: [Element]

    /// An empty header list.
    package init() {
        fields = []
    }

    /// Headers from `(name, value)` pairs, in order.
    package init(_ pairs: [(String, String)]) {
        fields = pairs.map { (name: $0.0, value: $0.1) }
    }

    /// Headers from a literal; order is the literal's.
    package init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Makes room for `capacity` fields without growing.
    package mutating func reserveCapacity(_ capacity: Int) { fields.reserveCapacity(capacity) }

    /// Number of fields, duplicates included.
    package var count: Int { fields.count }

    /// True when there are no fields.
    package var isEmpty: Bool { fields.isEmpty }

    /// The first value for `name`; setting replaces every field of that name (appended at the end when
    /// absent), and setting `nil` removes them all.
    package subscript(name: String) -> String? {
        get {
            for field in fields where Self.namesEqual(field.name, name) { return field.value }
            return nil
        }
        set {
            guard let newValue else {
                remove(name)
                return
            }
            if let index = fields.firstIndex(where: { Self.namesEqual($0.name, name) }) {
                fields[index].value = newValue
                var next = index + 1
                while next < fields.count {
                    if Self.namesEqual(fields[next].name, name) {
                        fields.remove(at: next)
                    } else {
                        next += 1
                    }
                }
            } else {
                fields.append((name: name, value: newValue))
            }
        }
    }

    /// Every value for `name`, in order.
    package func values(_ name: String) -> [String] {
        fields.lazy.filter { Self.namesEqual($0.name, name) }.map(\.value)
    }

    /// Appends a field, keeping any existing fields of the same name.
    package mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Removes every field named `name`.
    package mutating func remove(_ name: String) {
        fields.removeAll { Self.namesEqual($0.name, name) }
    }

    /// How many fields are named `name` (without building the list of their values).
    package func count(of name: String) -> Int {
        var count = 0
        for field in fields where Self.namesEqual(field.name, name) { count += 1 }
        return count
    }

    /// True when at least one field is named `name`.
    package func contains(_ name: String) -> Bool {
        fields.contains { Self.namesEqual($0.name, name) }
    }

    /// True when a field named `name` holds `token` in its comma-separated list (case-insensitive), as in
    /// `Connection: keep-alive, close` or `Transfer-Encoding: gzip, chunked`.
    package func containsToken(_ token: String, in name: String) -> Bool {
        for field in fields where Self.namesEqual(field.name, name) {
            var value = field.value
            let found = value.withUTF8 { bytes -> Bool in
                var start = 0
                while start <= bytes.count {
                    var end = start
                    while end < bytes.count && bytes[end] != UInt8(ascii: ",") { end += 1 }
                    var low = start
                    var high = end
                    while low < high && Self.isSpace(bytes[low]) { low += 1 }
                    while high > low && Self.isSpace(bytes[high - 1]) { high -= 1 }
                    if Self.equalsIgnoringCase(UnsafeBufferPointer(rebasing: bytes[low..<high]), token) { return true }
                    start = end + 1
                }
                return false
            }
            if found { return true }
        }
        return false
    }

    /// Iterates over the fields in order.
    package func makeIterator() -> IndexingIterator<[Element]> {
        fields.makeIterator()
    }

    /// Equal when both hold the same fields, with the same spelling, in the same order.
    package static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// ASCII case-insensitive comparison of two header names.
    static func namesEqual(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        var lhs = lhs
        return lhs.withUTF8 { equalsIgnoringCase($0, rhs) }
    }

    /// ASCII case-insensitive comparison of UTF-8 bytes with a string.
    static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ string: String) -> Bool {
        var string = string
        return string.withUTF8 { other in
            guard bytes.count == other.count else { return false }
            for index in 0..<bytes.count where lower(bytes[index]) != lower(other[index]) {
                return false
            }
            return true
        }
    }

    @inline(__always)
    private static func lower(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    @inline(__always)
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09
    }
}

extension HTTPHeaders: CustomStringConvertible {
    /// The fields as `name: value` lines.
    package var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }
}
