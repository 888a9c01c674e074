/// Builds the bytes of one HTTP message head and body into a single buffer, for one socket write.
struct MessageWriter {
    /// The bytes written so far.
    private(set) var bytes: [UInt8]

    /// A writer whose buffer can hold `capacity` bytes without growing.
    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends `HTTP/1.1 <status> <reason>\r\n`.
    mutating func statusLine(_ status: Int, reason: String) {
        append("HTTP/1.1 ")
        appendDecimal(status)
        bytes.append(UInt8(ascii: " "))
        append(reason)
        crlf()
    }

    /// Appends `<method> <target> HTTP/1.1\r\n`.
    mutating func requestLine(method: String, target: String) {
        append(method)
        bytes.append(UInt8(ascii: " "))
        append(target)
        append(" HTTP/1.1\r\n")
    }

    /// Appends one `name: value\r\n` line. CR and LF inside the value become spaces, so text that came
    /// from a client (a decoded client context, say) can never inject a header line.
    mutating func header(_ name: String, _ value: String) {
        append(name)
        append(": ")
        var value = value
        value.withUTF8 { utf8 in
            if utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
                for byte in utf8 { bytes.append(byte == 0x0D || byte == 0x0A ? 0x20 : byte) }
            } else {
                bytes.append(contentsOf: utf8)
            }
        }
        crlf()
    }

    /// Appends one `name: <decimal>\r\n` line.
    mutating func header(_ name: String, decimal value: Int64) {
        append(name)
        append(": ")
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendUnsigned(value.magnitude)
        crlf()
    }

    /// Appends `Content-Length: <length>\r\n`.
    mutating func contentLength(_ length: Int) {
        append("Content-Length: ")
        appendDecimal(length)
        crlf()
    }

    /// Appends every field of `headers`, skipping names for which `skip` returns true.
    mutating func headers(_ headers: HTTPHeaders, skip: (String) -> Bool = { _ in false }) {
        for (name, value) in headers where !skip(name) { header(name, value) }
    }

    /// Appends the empty line that ends a header section.
    mutating func endHead() { crlf() }

    /// Appends raw bytes.
    mutating func body(_ body: [UInt8]) { bytes.append(contentsOf: body) }

    /// Appends one chunk (`<hex size>\r\n<bytes>\r\n`); an empty buffer appends nothing, since a zero-size
    /// chunk would end the body.
    mutating func chunk(_ data: [UInt8]) {
        guard !data.isEmpty else { return }
        appendHex(data.count)
        crlf()
        bytes.append(contentsOf: data)
        crlf()
    }

    /// Appends the last chunk, the trailer fields and the final empty line.
    mutating func lastChunk(trailers: HTTPHeaders) {
        append("0\r\n")
        headers(trailers)
        crlf()
    }

    @inline(__always)
    private mutating func crlf() {
        bytes.append(13)
        bytes.append(10)
    }

    @inline(__always)
    private mutating func append(_ string: String) {
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }
    }

    private mutating func appendDecimal(_ value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendUnsigned(value.magnitude)
    }

    private mutating func appendUnsigned<T: UnsignedInteger>(_ value: T) {
        var divisor: T = 1
        while value / divisor >= 10 { divisor *= 10 }
        var rest = value
        while true {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            if divisor == 1 { return }
            divisor /= 10
        }
    }

    private mutating func appendHex(_ value: Int) {
        append(String(value, radix: 16))
    }
}
