import FuzzSupport
import SimCore

// libFuzzer target: the event-stream decoder (`lambda-sim invoke --stream` reads InvokeWithResponseStream answers
// with it). Besides not crashing: the messages must not depend on how the bytes are split, and every decoded
// message must encode back to the bytes it came from.
/// One input: returns 0 (libFuzzer's convention); a failed precondition is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let split = Int(data[0] % 23) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    func decode(_ chunk: Int) -> (messages: [EventStream.Message], failed: Bool) {
        var decoder = EventStream.Decoder()
        var messages: [EventStream.Message] = []
        for start in stride(from: 0, to: bytes.count, by: max(chunk, 1)) {
            messages += decoder.feed(bytes[start..<min(bytes.count, start + chunk)])
        }
        return (messages, decoder.error != nil)
    }
    let whole = decode(max(bytes.count, 1))
    let pieces = decode(split)
    precondition(whole.messages == pieces.messages, "messages depend on the read boundaries")
    precondition(whole.failed == pieces.failed, "errors depend on the read boundaries")
    var offset = 0
    for message in whole.messages {
        let encoded = EventStream.encode(headers: message.headers, payload: message.payload)
        precondition(Array(bytes[offset..<(offset + encoded.count)]) == encoded, "a message does not encode back")
        offset += encoded.count
    }
    return 0
}

// libFuzzer's driver runs the inputs.
runFuzzer { data, size in data.map { fuzz($0, size) } ?? 0 }
