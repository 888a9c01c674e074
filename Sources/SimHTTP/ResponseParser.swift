/// Turns the bytes a server sends into responses, without any socket.
///
/// Interim `1xx` responses (other than `101`) are skipped. Call `expectResponse(toMethod:)` for each
/// request sent, in order, so that answers to `HEAD` are read without a body; call `finish` at EOF to
/// complete a body delimited by the connection's close.
package final class ResponseParser {
    private let core: MessageParser
    private var scratch: [MessageEvent] = []
    private var methods: [String] = []
    private var nextMethod = 0

    /// A parser enforcing `maxHeaderBytes` and keeping at most `maxBodyBytes` of each body.
    package init(maxHeaderBytes: Int = 64 * 1024, maxBodyBytes: Int = .max) {
        core = MessageParser(kind: .response, maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        // Called once per response when its headers complete: a final response answers the oldest request.
        core.skipsBody = { [unowned self] status in
            guard !Self.isInterim(status), nextMethod < methods.count else { return false }
            nextMethod += 1
            return methods[nextMethod - 1] == "HEAD"
        }
    }

    /// True while a response has started but not ended.
    package var hasPartialMessage: Bool { core.inMessage }

    /// True once the connection's last response was parsed (or the stream was malformed).
    package var isFinished: Bool { core.isStopped }

    /// Records that a request with `method` was sent; its response is the next one not yet accounted for.
    package func expectResponse(toMethod method: String) {
        methods.append(method)
    }

    /// Parses `bytes` and appends the final responses they complete. Throws like `RequestParser.feed`.
    package func feed(_ bytes: UnsafeRawBufferPointer, into responses: inout [HTTPResponse]) throws(HTTPError) {
        defer { convert(into: &responses) }
        try core.feed(bytes, into: &scratch)
    }

    /// Parses `bytes` and returns the final responses they complete (convenient for tests).
    package func feed(_ bytes: [UInt8]) throws(HTTPError) -> [HTTPResponse] {
        var responses: [HTTPResponse] = []
        var failure: HTTPError?
        bytes.withUnsafeBytes { buffer in
            do throws(HTTPError) { try feed(buffer, into: &responses) } catch { failure = error }
        }
        if let failure { throw failure }
        return responses
    }

    /// Signals the end of the stream; throws `unexpectedEOF` if a response was cut short.
    package func finish(into responses: inout [HTTPResponse]) throws(HTTPError) {
        defer { convert(into: &responses) }
        try core.finish(into: &scratch)
    }

    private func convert(into responses: inout [HTTPResponse]) {
        for case .message(let message) in scratch {
            if Self.isInterim(message.status) { continue }
            responses.append(HTTPResponse(parsed: message))
        }
        scratch.removeAll(keepingCapacity: true)
        if nextMethod > 64 && nextMethod * 2 > methods.count {
            methods.removeFirst(nextMethod)
            nextMethod = 0
        }
    }

    /// True for `1xx` responses other than `101 Switching Protocols`.
    private static func isInterim(_ status: Int) -> Bool {
        (100..<200).contains(status) && status != 101
    }
}
