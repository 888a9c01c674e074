import FuzzSupport
import SimHTTP

// libFuzzer target: the HTTP request parser. Besides not crashing, the events must not depend on how the bytes
// are split between reads (the first input byte picks the split size).
#if canImport(Glibc)
    import Glibc
#endif

/// One input: returns 0 (libFuzzer's convention); a failed precondition is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let split = Int(data[0] % 17) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    func parse(_ chunk: Int) -> (events: [RequestParser.Event], error: HTTPError?) {
        let parser = RequestParser(maxHeaderBytes: 8 * 1024, maxBodyBytes: 64 * 1024)
        var events: [RequestParser.Event] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            do {
                try parser.feed(Array(bytes[offset..<end]), into: &events)
            } catch {
                return (events, error)
            }
            offset = end
        }
        return (events, nil)
    }
    let whole = parse(max(bytes.count, 1))
    let pieces = parse(split)
    precondition(whole.events == pieces.events, "events depend on the read boundaries")
    precondition((whole.error == nil) == (pieces.error == nil), "errors depend on the read boundaries")
    return 0
}

// libFuzzer's driver runs the inputs.
runFuzzer { data, size in data.map { fuzz($0, size) } ?? 0 }
