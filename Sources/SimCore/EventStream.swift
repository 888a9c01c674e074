/// The AWS event-stream encoding (`application/vnd.amazon.eventstream`) of `InvokeWithResponseStream` answers.
///
/// A message is a prelude (total length, headers length, both big-endian `UInt32`, and the CRC32 of those 8
/// bytes), the headers, the payload and the CRC32 of everything before it. A header is a 1-byte name length, the
/// name, a 1-byte value type and the value; strings (type 7) and byte arrays (type 6) carry a 2-byte length.
/// CRC32 is the IEEE polynomial of zlib and gzip.
package enum EventStream {
    /// A header value.
    package enum HeaderValue: Equatable, Sendable {
        case bool(Bool)
        case byte(Int8)
        case int16(Int16)
        case int32(Int32)
        case int64(Int64)
        case bytes([UInt8])
        case string(String)
        /// Milliseconds since the epoch.
        case timestamp(Int64)
        case uuid([UInt8])
    }

    /// One decoded message.
    package struct Message: Equatable, Sendable {
        /// Headers in wire order.
        package var headers: [(name: String, value: HeaderValue)]
        package var payload: [UInt8]

        package init(headers: [(name: String, value: HeaderValue)], payload: [UInt8]) {
            self.headers = headers
            self.payload = payload
        }

        /// The string value of header `name`, if it has one.
        package func string(_ name: String) -> String? {
            for header in headers where header.name == name {
                if case .string(let value) = header.value { return value }
            }
            return nil
        }

        package static func == (lhs: Message, rhs: Message) -> Bool {
            lhs.payload == rhs.payload && lhs.headers.count == rhs.headers.count
                && zip(lhs.headers, rhs.headers).allSatisfy { $0.name == $1.name && $0.value == $1.value }
        }
    }

    /// Why bytes are not a valid message.
    package enum DecodingError: Error, Equatable, Sendable {
        /// A length field is impossible (shorter than the fixed parts, longer than `maxMessageBytes`).
        case invalidLength
        case preludeChecksumMismatch
        case messageChecksumMismatch
        /// A header runs past the header section, has an unknown type or a name that is not UTF-8.
        case invalidHeader
    }

    /// The largest message accepted when decoding (aws-c-event-stream's limit: 16 MiB).
    package static let maxMessageBytes = 16 * 1024 * 1024

    // MARK: - Encoding

    /// The bytes of a message with string headers `headers` and `payload`.
    package static func encode(headers: [(String, String)], payload: [UInt8]) -> [UInt8] {
        encode(headers: headers.map { (name: $0.0, value: HeaderValue.string($0.1)) }, payload: payload)
    }

    /// The bytes of a message.
    package static func encode(headers: [(name: String, value: HeaderValue)], payload: [UInt8]) -> [UInt8] {
        var headerBytes: [UInt8] = []
        for header in headers {
            let name = Array(header.name.utf8.prefix(255))
            headerBytes.append(UInt8(name.count))
            headerBytes += name
            switch header.value {
            case .bool(let value): headerBytes.append(value ? 0 : 1)
            case .byte(let value):
                headerBytes.append(2)
                headerBytes.append(UInt8(bitPattern: value))
            case .int16(let value):
                headerBytes.append(3)
                append(UInt64(UInt16(bitPattern: value)), bytes: 2, to: &headerBytes)
            case .int32(let value):
                headerBytes.append(4)
                append(UInt64(UInt32(bitPattern: value)), bytes: 4, to: &headerBytes)
            case .int64(let value):
                headerBytes.append(5)
                append(UInt64(bitPattern: value), bytes: 8, to: &headerBytes)
            case .bytes(let value):
                headerBytes.append(6)
                let data = value.prefix(Int(UInt16.max))
                append(UInt64(data.count), bytes: 2, to: &headerBytes)
                headerBytes += data
            case .string(let value):
                headerBytes.append(7)
                let data = Array(value.utf8.prefix(Int(UInt16.max)))
                append(UInt64(data.count), bytes: 2, to: &headerBytes)
                headerBytes += data
            case .timestamp(let value):
                headerBytes.append(8)
                append(UInt64(bitPattern: value), bytes: 8, to: &headerBytes)
            case .uuid(let value):
                headerBytes.append(9)
                headerBytes += (value + [UInt8](repeating: 0, count: 16)).prefix(16)
            }
        }
        let total = 12 + headerBytes.count + payload.count + 4
        var message: [UInt8] = []
        message.reserveCapacity(total)
        append(UInt64(total), bytes: 4, to: &message)
        append(UInt64(headerBytes.count), bytes: 4, to: &message)
        append(UInt64(CRC32.checksum(message)), bytes: 4, to: &message)
        message += headerBytes
        message += payload
        append(UInt64(CRC32.checksum(message)), bytes: 4, to: &message)
        return message
    }

    private static func append(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    // MARK: - Decoding

    /// Splits a byte stream into messages as its bytes arrive, however they are split.
    package struct Decoder: Sendable {
        private var buffer: [UInt8] = []

        package init() {}

        /// Bytes received but not yet part of a complete message.
        package var pendingBytes: Int { buffer.count }

        /// Why the stream is invalid, once a message failed to decode; nothing more is decoded after it.
        package private(set) var error: DecodingError?

        /// Adds `bytes` and returns the messages they complete, up to the first invalid one (then `error` is set,
        /// and the messages before it are still returned, whatever the reads that brought them).
        package mutating func feed<C: Collection<UInt8>>(_ bytes: C) -> [Message] {
            guard error == nil else { return [] }
            buffer.append(contentsOf: bytes)
            var messages: [Message] = []
            var offset = 0
            while buffer.count - offset >= 12 {
                let total = Int(EventStream.read(buffer, at: offset, bytes: 4))
                guard total >= 16, total <= EventStream.maxMessageBytes else {
                    error = .invalidLength
                    break
                }
                guard buffer.count - offset >= total else { break }
                do {
                    messages.append(try EventStream.decode(buffer[offset..<(offset + total)]))
                } catch {
                    self.error = error
                    break
                }
                offset += total
            }
            if error != nil {
                buffer = []
            } else if offset > 0 {
                buffer.removeFirst(offset)
            }
            return messages
        }
    }

    /// Decodes exactly one message.
    package static func decode(_ bytes: ArraySlice<UInt8>) throws(DecodingError) -> Message {
        let base = bytes.startIndex
        guard bytes.count >= 16 else { throw .invalidLength }
        let total = Int(read(bytes, at: base, bytes: 4))
        let headersLength = Int(read(bytes, at: base + 4, bytes: 4))
        guard total == bytes.count, headersLength <= total - 16 else { throw .invalidLength }
        guard CRC32.checksum(bytes[base..<(base + 8)]) == UInt32(read(bytes, at: base + 8, bytes: 4)) else {
            throw .preludeChecksumMismatch
        }
        guard CRC32.checksum(bytes[base..<(base + total - 4)]) == UInt32(read(bytes, at: base + total - 4, bytes: 4))
        else { throw .messageChecksumMismatch }
        var headers: [(name: String, value: HeaderValue)] = []
        var index = base + 12
        let headersEnd = index + headersLength
        func need(_ count: Int) throws(DecodingError) {
            guard count >= 0, headersEnd - index >= count else { throw .invalidHeader }
        }
        while index < headersEnd {
            try need(1)
            let nameLength = Int(bytes[index])
            index += 1
            try need(nameLength + 1)
            guard let name = String(validating: bytes[index..<(index + nameLength)], as: UTF8.self) else {
                throw .invalidHeader
            }
            index += nameLength
            let type = bytes[index]
            index += 1
            let value: HeaderValue
            switch type {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2:
                try need(1)
                value = .byte(Int8(bitPattern: bytes[index]))
                index += 1
            case 3:
                try need(2)
                value = .int16(Int16(bitPattern: UInt16(read(bytes, at: index, bytes: 2))))
                index += 2
            case 4:
                try need(4)
                value = .int32(Int32(bitPattern: UInt32(read(bytes, at: index, bytes: 4))))
                index += 4
            case 5, 8:
                try need(8)
                let raw = Int64(bitPattern: read(bytes, at: index, bytes: 8))
                value = type == 5 ? .int64(raw) : .timestamp(raw)
                index += 8
            case 6, 7:
                try need(2)
                let length = Int(read(bytes, at: index, bytes: 2))
                index += 2
                try need(length)
                let data = Array(bytes[index..<(index + length)])
                index += length
                if type == 6 {
                    value = .bytes(data)
                } else {
                    guard let text = String(validating: data, as: UTF8.self) else { throw .invalidHeader }
                    value = .string(text)
                }
            case 9:
                try need(16)
                value = .uuid(Array(bytes[index..<(index + 16)]))
                index += 16
            default:
                throw .invalidHeader
            }
            headers.append((name, value))
        }
        return Message(headers: headers, payload: Array(bytes[headersEnd..<(base + total - 4)]))
    }

    private static func read<C: Collection<UInt8>>(_ bytes: C, at index: C.Index, bytes count: Int) -> UInt64
    where C.Index == Int {
        var value: UInt64 = 0
        for offset in 0..<count { value = value << 8 | UInt64(bytes[index + offset]) }
        return value
    }
}

/// CRC-32 with the IEEE polynomial (reflected 0xEDB88320), as zlib, gzip and the event-stream encoding use it.
package enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// The checksum of `bytes`.
    package static func checksum<C: Collection<UInt8>>(_ bytes: C) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
