import FuzzSupport
import SimHTTP

// libFuzzer target: the HTTP response parser (the client side, and what the simulator reads from
// subscribers). Split-independence as for requests; the input's second byte picks HEAD or GET semantics.
/// One input: returns 0 (libFuzzer's convention); a failed precondition is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 1 else { return 0 }
    let split = Int(data[0] % 13) + 1
    let method = data[1] % 2 == 0 ? "GET" : "HEAD"
    let bytes = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    func parse(_ chunk: Int) -> (responses: [HTTPResponse], failed: Bool) {
        let parser = ResponseParser(maxHeaderBytes: 8 * 1024, maxBodyBytes: 64 * 1024)
        parser.expectResponse(toMethod: method)
        var responses: [HTTPResponse] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            // The feed that appends what completed before an error (as the client connection uses it).
            var failed = false
            bytes[offset..<end].withUnsafeBytes { piece in
                do throws(HTTPError) { try parser.feed(piece, into: &responses) } catch { failed = true }
            }
            if failed { return (responses, true) }
            offset = end
        }
        return (responses, false)
    }
    let whole = parse(max(bytes.count, 1))
    let pieces = parse(split)
    precondition(whole.responses == pieces.responses, "responses depend on the read boundaries")
    precondition(whole.failed == pieces.failed, "errors depend on the read boundaries")
    return 0
}

// libFuzzer's driver runs the inputs.
runFuzzer { data, size in data.map { fuzz($0, size) } ?? 0 }
