import FuzzSupport
import SimHTTP

// libFuzzer target: the HTTP request parser. Besides not crashing, the events must not depend on how the bytes
// are split between reads (the first input byte picks the split size), and a body streamed in parts
// (`streamsBody`, as the Runtime API reads a streamed response) must add up to the body gathered whole.
/// One input: returns 0 (libFuzzer's convention); a failed precondition is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let split = Int(data[0] % 17) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    func parse(_ chunk: Int, streaming: Bool = false) -> (events: [RequestParser.Event], error: HTTPError?) {
        let everyBody: @Sendable (String, String, HTTPHeaders) -> Bool = { _, _, _ in true }
        let parser = RequestParser(
            maxHeaderBytes: 8 * 1024, maxBodyBytes: streaming ? .max : 64 * 1024,
            streamsBody: streaming ? everyBody : nil)
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

    // Streamed: each head, its parts and its end make the same request as the gathered parse (with no body limit).
    let gathered = parse(max(bytes.count, 1), streaming: false)
    let streamed = parse(split, streaming: true)
    var assembled: [HTTPRequest] = []
    var current: HTTPRequest?
    for event in streamed.events {
        switch event {
        case .continueExpected: break
        case .request(let request): assembled.append(request)
        case .streamHead(let request):
            current = request
            current?.bodyStream = nil
        case .bodyPart(let part):
            current?.body += part
            current?.bodyLength += part.count
        case .bodyEnd(let trailers):
            if var request = current {
                request.trailers = trailers
                assembled.append(request)
            }
            current = nil
        }
    }
    let expected = gathered.events.compactMap { event -> HTTPRequest? in
        if case .request(let request) = event, !request.bodyTooLarge { return request } else { return nil }
    }
    if !gathered.events.contains(where: { if case .request(let r) = $0 { r.bodyTooLarge } else { false } }) {
        precondition(
            assembled.map { [$0.method, $0.target] + $0.body.map(String.init) }
                == expected.map { [$0.method, $0.target] + $0.body.map(String.init) },
            "a streamed body differs from the gathered one")
        precondition((gathered.error == nil) == (streamed.error == nil), "streaming changes whether the input is valid")
    }
    return 0
}

// libFuzzer's driver runs the inputs.
runFuzzer { data, size in data.map { fuzz($0, size) } ?? 0 }
