import Testing

@testable import SimCore

/// The event-stream codec against frames computed independently (Python's `zlib` and `struct`), round trips of
/// every header type, and a decoder fed in arbitrary pieces.
@Suite struct EventStreamTests {
    private func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    /// The standard check value of CRC-32/IEEE.
    @Test func crcCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    /// A `PayloadChunk` of "hello", byte for byte as an independent encoder produced it.
    @Test func knownPayloadChunkFrame() {
        let encoded = EventStream.encode(
            headers: [
                (":event-type", "PayloadChunk"), (":content-type", "application/octet-stream"),
                (":message-type", "event"),
            ], payload: Array("hello".utf8))
        let expected = hex(
            "0000006f0000005af5fe871f0b3a6576656e742d7479706507000c5061796c6f61644368756e6b0d3a636f6e74656e742d74"
                + "7970650700186170706c69636174696f6e2f6f637465742d73747265616d0d3a6d6573736167652d7479706507000565"
                + "76656e7468656c6c6f29e71260")
        #expect(encoded == expected)
    }

    /// Every header type survives a round trip, and a stream of messages decodes the same however it is split.
    @Test func roundTripAndSplitting() throws {
        let first = EventStream.Message(
            headers: [
                ("t", .bool(true)), ("f", .bool(false)), ("b", .byte(-3)), ("s", .int16(-300)),
                ("i", .int32(70_000)), ("l", .int64(-5_000_000_000)), ("raw", .bytes([0, 1, 2])),
                ("text", .string("héllo")), ("when", .timestamp(1_764_000_000_000)),
                ("id", .uuid(Array(0..<16))),
            ], payload: Array(0..<200))
        let second = EventStream.Message(headers: [(":event-type", .string("InvokeComplete"))], payload: [])
        let stream =
            EventStream.encode(headers: first.headers, payload: first.payload)
            + EventStream.encode(headers: second.headers, payload: second.payload)
        for piece in [1, 3, 16, 17, stream.count] {
            var decoder = EventStream.Decoder()
            var messages: [EventStream.Message] = []
            for start in stride(from: 0, to: stream.count, by: piece) {
                messages += decoder.feed(stream[start..<min(stream.count, start + piece)])
            }
            #expect(messages == [first, second], "pieces of \(piece)")
            #expect(decoder.pendingBytes == 0 && decoder.error == nil)
        }
    }

    /// A flipped bit in the prelude, the headers or the payload is caught by a checksum; impossible lengths and
    /// unknown header types are refused.
    @Test func corruptMessagesAreRefused() {
        let good = EventStream.encode(headers: [("a", "b")], payload: Array("payload".utf8))
        var prelude = good
        prelude[7] ^= 1
        #expect(throws: EventStream.DecodingError.preludeChecksumMismatch) { try EventStream.decode(prelude[...]) }
        var body = good
        body[good.count - 6] ^= 1
        #expect(throws: EventStream.DecodingError.messageChecksumMismatch) { try EventStream.decode(body[...]) }
        var decoder = EventStream.Decoder()
        #expect(decoder.feed([0, 0, 0, 4] + [UInt8](repeating: 0, count: 12)).isEmpty)
        #expect(decoder.error == .invalidLength)
        // A good message before a bad one is returned, in one read or in many (found by the fuzzer).
        for piece in [1, 5, good.count + body.count] {
            var split = EventStream.Decoder()
            var messages: [EventStream.Message] = []
            let both = good + body
            for start in stride(from: 0, to: both.count, by: piece) {
                messages += split.feed(both[start..<min(both.count, start + piece)])
            }
            #expect(messages.count == 1 && split.error == .messageChecksumMismatch, "pieces of \(piece)")
        }
        // A header of type 42, with valid checksums around it.
        let unknownType = EventStream.encode(headers: [("x", .byte(1))], payload: [])
        var patched = Array(unknownType[0..<(unknownType.count - 4)])
        patched[12 + 2] = 42
        patched += withChecksum(patched)
        #expect(throws: EventStream.DecodingError.invalidHeader) { try EventStream.decode(patched[...]) }
    }

    private func withChecksum(_ bytes: [UInt8]) -> [UInt8] {
        let crc = CRC32.checksum(bytes)
        return [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
    }
}
