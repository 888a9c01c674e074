import CHTTPParser

#if canImport(Glibc)
    import Glibc
#endif

/// Drives one http_parser over a byte stream and assembles the messages it reports.
///
/// The `http_parser` struct lives on the heap (its address must stay stable while C holds it) and is
/// freed in `deinit`. SAFETY: `parser.pointee.data` holds this object unretained; http_parser only calls
/// back from inside `http_parser_execute`, which only this object calls, so the object is alive then.
///
/// Header names and values arrive as pointer+length spans, possibly split across callbacks and reads;
/// they are gathered in reusable byte buffers and turned into strings once complete. After a message
/// that ends the connection (no keep-alive, or an upgrade) the parser pauses and ignores further input.
///
/// Requests are held to RFC 9112 where http_parser is lenient: a version other than 1.x is refused
/// (`versionNotSupported`, 505), and a header name that is not a token, an obsolete line folding (a field
/// line starting with a space or tab), an HTTP/1.1 request without `Host` or with two, a line of the header
/// section, of chunked framing or of the trailers that ends in a bare LF instead of CRLF, a CR not followed by LF
/// there, and chunk data not followed by CRLF are malformed (400). For these checks a request's bytes are fed to
/// http_parser in pieces: body data whole (its length is known), a header section whole once it is seen to end with
/// every line in CRLF (one call for a typical request's head), other framing up to each line feed. An
/// absolute-form target (`http://host/path`) is turned into its origin form (`/path`).
final class MessageParser {
    /// Which side of the protocol the parser reads.
    enum Kind {
        /// Requests (a server).
        case request
        /// Responses (a client).
        case response
    }

    /// Where a header span goes.
    private enum HeaderState {
        /// Between fields.
        case none
        /// Inside a field name.
        case name
        /// Inside a field value.
        case value
    }

    let kind: Kind
    /// Most bytes of request line (or status line), header fields and trailers per message.
    let maxHeaderBytes: Int
    /// Most body bytes kept per message; further bytes are counted and discarded.
    let maxBodyBytes: Int
    /// Response mode: asked with the status once the headers are complete; true parses no body (`HEAD`).
    var skipsBody: ((Int) -> Bool)?
    /// Request mode: asked once a request's headers are complete; true reports its head at once and its body in
    /// parts as they arrive (`streamHead`, `bodyPart`, `bodyEnd`), with no body limit.
    var streamsBody: ((_ method: String, _ target: String, _ headers: HTTPHeaders) -> Bool)?
    /// The message being received streams its body.
    private var streaming = false
    /// True between the first byte of a message and its end.
    private(set) var inMessage = false
    /// True while a message has started and its header section has not ended.
    var inHeaderSection: Bool { inMessage && !inTrailers }
    /// True once the connection's last message was parsed; later bytes are ignored.
    private(set) var isStopped = false

    private let parser: UnsafeMutablePointer<http_parser>
    private var failure: HTTPError?
    private var current = ParsedMessage()
    private var events: [MessageEvent] = []
    private var startLine: [UInt8] = []
    private var name: [UInt8] = []
    private var value: [UInt8] = []
    private var headerState = HeaderState.none
    private var inTrailers = false
    private var headerBytes = 0
    private var headerOverflow = false
    /// Where the bytes of the current `feed` start and end, to tell a value split across reads from a folded
    /// one.
    private var feedStart: UnsafeRawPointer?
    private var feedEnd: UnsafeRawPointer?
    /// Whether the last header value span ran to the end of its read (so the next span may continue it).
    private var valueReachedFeedEnd = false
    /// The RFC 9112 rule a request broke, reported instead of http_parser's callback error.
    private var violation: HTTPError?
    /// Strings made for earlier messages on this connection, by byte content: a kept-alive client sends the same
    /// target, names and values again and again, and reusing their strings saves an allocation each.
    private var recentFields = RecentStrings(capacity: 16)
    /// Targets vary more (a request id in the path): a small cache of their own keeps the constant ones.
    private var recentTargets = RecentStrings(capacity: 2)
    /// Where a request's parser stands between bytes, for the line-ending checks.
    private var framing = Framing.outsideBody
    /// The last byte fed (a LF: the next byte starts a line).
    private var previousByte: UInt8 = 0
    /// The last framing bytes fed (outside a body) ended in a CR: the next byte must be a LF.
    private var pendingCR = false

    /// What the next bytes of a request are.
    private enum Framing {
        /// The start line, header fields, chunk-size lines or trailers: lines that must end in CRLF.
        case outsideBody
        /// Body data of known length (the rest of `content_length`): taken whole, not scanned.
        case bodyData
        /// The CRLF that must follow a chunk's data: how many of its two bytes are still due.
        case chunkDataEnd(remaining: Int)
    }

    /// A parser for `kind` messages with the given limits.
    init(kind: Kind, maxHeaderBytes: Int, maxBodyBytes: Int) {
        self.kind = kind
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        parser = UnsafeMutablePointer<http_parser>.allocate(capacity: 1)
        parser.initialize(to: http_parser())
        http_parser_init(parser, kind == .request ? HTTP_REQUEST : HTTP_RESPONSE)
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        parser.deinitialize(count: 1)
        parser.deallocate()
    }

    /// Parses `bytes`, appending the events they complete to `output`. Throws once the stream is
    /// malformed; events for messages completed before the error are still appended.
    func feed(_ bytes: UnsafeRawBufferPointer, into output: inout [MessageEvent]) throws(HTTPError) {
        if let failure { throw failure }
        guard !isStopped, let base = bytes.baseAddress, bytes.count > 0 else { return }
        feedStart = UnsafeRawPointer(base)
        feedEnd = base + bytes.count
        guard kind == .request else {
            try execute(bytes, into: &output)
            return
        }
        var offset = 0
        // Once a scan finds no clean end of a header section in the rest of this read, none will: the lines go one by
        // one from there, without scanning the rest again for each of them.
        var sectionMayEnd = true
        while offset < bytes.count && !isStopped {
            let end: Int
            var isFraming = false
            switch framing {
            case .bodyData:
                guard parser.pointee.content_length > 0 else {
                    framing = .outsideBody
                    continue
                }
                end = offset + Int(clamping: min(parser.pointee.content_length, UInt64(bytes.count - offset)))
            case .chunkDataEnd(let remaining):
                let expected = remaining == 2 ? UInt8(ascii: "\r") : UInt8(ascii: "\n")
                guard bytes[offset] == expected else {
                    throw fail(.malformedMessage(name: "HPE_STRICT", reason: "chunk data not followed by CRLF"))
                }
                framing = remaining == 2 ? .chunkDataEnd(remaining: 1) : .outsideBody
                end = offset + 1
            case .outsideBody:
                isFraming = true
                let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
                // A header section whose every line ends in CRLF is parsed in one call rather than line by line.
                if sectionMayEnd && !pendingCR
                    && (!inMessage || (inHeaderSection && previousByte == UInt8(ascii: "\n")))
                {
                    if let sectionEnd = Self.headerSectionEnd(rest, startsMessage: !inMessage) {
                        end = offset + sectionEnd
                        break
                    }
                    sectionMayEnd = false
                }
                let lineFeed = rest.firstIndex(of: UInt8(ascii: "\n")).map { offset + $0 }
                // A CR must be followed by LF (http_parser, built lenient, takes `CR x` for a line end): what came before
                // a bare CR is parsed first, the CR included, as it would be had the read ended after it.
                if let stop = bareCR(in: bytes, from: offset, to: lineFeed ?? bytes.count) {
                    if stop > offset {
                        try execute(UnsafeRawBufferPointer(rebasing: bytes[offset..<stop]), into: &output)
                    }
                    throw fail(.malformedMessage(name: "HPE_LF_EXPECTED", reason: "a CR not followed by LF"))
                }
                guard let lineFeed else {
                    end = bytes.count
                    break
                }
                let before = lineFeed > offset ? bytes[lineFeed - 1] : (pendingCR ? UInt8(ascii: "\r") : 0)
                if before != UInt8(ascii: "\r") {
                    // What came before the bare LF is parsed first: messages it completed still count.
                    if lineFeed > offset {
                        try execute(UnsafeRawBufferPointer(rebasing: bytes[offset..<lineFeed]), into: &output)
                    }
                    throw fail(.malformedMessage(name: "HPE_LF_EXPECTED", reason: "a line ending in LF without CR"))
                }
                end = lineFeed + 1
            }
            try execute(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), into: &output)
            previousByte = bytes[end - 1]
            pendingCR = isFraming && previousByte == UInt8(ascii: "\r")
            offset = end
        }
    }

    /// Where to stop before failing for a CR not followed by LF among the framing bytes `bytes[start..<end]` (`end`
    /// is a LF's position or the read's end): just past that CR, or `start` when the CR ending the previous read is
    /// not followed by this one's first byte; nil when there is none (a CR at the read's end waits for the next read).
    private func bareCR(in bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        if pendingCR && start < end && bytes[start] != UInt8(ascii: "\n") { return start }
        var index = start
        while index < end - 1 {
            if bytes[index] == UInt8(ascii: "\r") && bytes[index + 1] != UInt8(ascii: "\n") { return index + 1 }
            index += 1
        }
        return nil
    }

    /// Where the header section that `bytes` holds or continues ends (just past its empty line), when every line up
    /// to there ends in CRLF and holds no other CR; nil when it does not end in `bytes` or a line before its end ends
    /// in a bare LF or holds a bare CR. `bytes` starts at a line's start: a message's (`startsMessage`, where empty
    /// lines before the start line are skipped, as http_parser does) or one after the start line.
    private static func headerSectionEnd(_ bytes: UnsafeRawBufferPointer, startsMessage: Bool) -> Int? {
        var sawLine = !startsMessage
        var lineStart = 0
        var carriageReturns = 0
        for index in bytes.indices {
            if bytes[index] == UInt8(ascii: "\r") { carriageReturns += 1 }
            guard bytes[index] == UInt8(ascii: "\n") else { continue }
            // Each line so far ends in CRLF; one CR per line means no other CR in them.
            guard index > lineStart, bytes[index - 1] == UInt8(ascii: "\r"), carriageReturns == 1 else { return nil }
            carriageReturns = 0
            if index == lineStart + 1 {
                if sawLine { return index + 1 }
            } else {
                sawLine = true
            }
            lineStart = index + 1
        }
        return nil
    }

    /// Runs http_parser over `bytes` (all of them, or the parser stopped) and hands on the events.
    private func execute(_ bytes: UnsafeRawBufferPointer, into output: inout [MessageEvent]) throws(HTTPError) {
        let parsed = withUnsafePointer(to: Self.settings) { settings in
            http_parser_execute(parser, settings, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        moveEvents(into: &output)
        try checkState(parsed: parsed, expected: bytes.count)
        // Chunk data that ended here must be followed by CRLF (http_parser, built lenient, takes any two bytes).
        if case .bodyData = framing, parser.pointee.content_length == 0 {
            framing = current.isChunked ? .chunkDataEnd(remaining: 2) : .outsideBody
        }
    }

    /// Tells the parser the stream ended: completes a body delimited by the connection's close, or
    /// throws `unexpectedEOF` when a message was cut short.
    func finish(into output: inout [MessageEvent]) throws(HTTPError) {
        if let failure { throw failure }
        guard !isStopped else { return }
        _ = withUnsafePointer(to: Self.settings) { settings in http_parser_execute(parser, settings, nil, 0) }
        moveEvents(into: &output)
        isStopped = true
        let code = http_errno(rawValue: parser.pointee.http_errno)
        if code == HPE_INVALID_EOF_STATE { throw fail(.unexpectedEOF) }
        try checkState(parsed: 0, expected: 0)
    }

    private func moveEvents(into output: inout [MessageEvent]) {
        guard !events.isEmpty else { return }
        if output.isEmpty {
            swap(&output, &events)
        } else {
            output.append(contentsOf: events)
            events.removeAll(keepingCapacity: true)
        }
    }

    private func checkState(parsed: Int, expected: Int) throws(HTTPError) {
        let code = http_errno(rawValue: parser.pointee.http_errno)
        if let violation, code != HPE_OK {
            throw fail(violation)
        } else if code == HPE_PAUSED {
            isStopped = true
        } else if code == HPE_HEADER_OVERFLOW || (code != HPE_OK && headerOverflow) {
            throw fail(.headerTooLarge(limit: maxHeaderBytes))
        } else if code != HPE_OK {
            throw fail(
                .malformedMessage(
                    name: String(cString: http_errno_name(code)),
                    reason: String(cString: http_errno_description(code))))
        } else if parser.pointee.upgrade != 0 {
            isStopped = true
        } else if parsed != expected {
            throw fail(.malformedMessage(name: "HPE_UNKNOWN", reason: "parser stopped early"))
        }
    }

    private func fail(_ error: HTTPError) -> HTTPError {
        failure = error
        isStopped = true
        return error
    }

    // MARK: Callbacks (called by http_parser from inside `http_parser_execute`)

    fileprivate func messageBegan() -> Int32 {
        inMessage = true
        framing = .outsideBody
        current = ParsedMessage()
        // One allocation for a typical request's fields instead of growing 1, 2, 4, 8.
        current.headers.reserveCapacity(12)
        startLine.removeAll(keepingCapacity: true)
        headerState = .none
        inTrailers = false
        headerBytes = 0
        return 0
    }

    fileprivate func startLineSpan(_ span: UnsafeRawBufferPointer) -> Int32 {
        guard count(span.count, startsElement: startLine.isEmpty) else { return 1 }
        startLine.append(contentsOf: span)
        return 0
    }

    fileprivate func headerNameSpan(_ span: UnsafeRawBufferPointer) -> Int32 {
        if headerState == .value && !commitHeader() { return 1 }
        let startsElement = headerState != .name
        headerState = .name
        guard count(span.count, startsElement: startsElement) else { return 1 }
        name.append(contentsOf: span)
        return 0
    }

    fileprivate func headerValueSpan(_ span: UnsafeRawBufferPointer) -> Int32 {
        // A second span of the same value is a read boundary only if the last one ran to the end of its read
        // and this one starts the next read; otherwise a line break came between them: an obsolete fold.
        if kind == .request && headerState == .value
            && !(valueReachedFeedEnd && span.baseAddress.map { UnsafeRawPointer($0) == feedStart } == true)
        {
            violation = .malformedMessage(name: "HPE_OBS_FOLD", reason: "obsolete line folding in a header field")
            return 1
        }
        let startsElement = headerState != .value
        headerState = .value
        valueReachedFeedEnd = span.baseAddress.map { $0 + span.count == feedEnd } ?? false
        guard count(span.count, startsElement: startsElement) else { return 1 }
        value.append(contentsOf: span)
        return 0
    }

    /// Returns 1 (no body) after a violation, so that `messageComplete` comes at once and fails the message
    /// (http_parser reads any other non-zero value here as "skip the body", not as an error).
    fileprivate func headersComplete() -> Int32 {
        guard commitHeader() else { return 1 }
        inTrailers = true
        current.versionMajor = Int(parser.pointee.http_major)
        current.versionMinor = Int(parser.pointee.http_minor)
        if kind == .request {
            if current.versionMajor != 1 {
                violation = .versionNotSupported(major: current.versionMajor, minor: current.versionMinor)
                return 1
            }
            if current.versionMinor >= 1 && current.headers["Host"] == nil {
                violation = .malformedMessage(name: "HPE_NO_HOST", reason: "an HTTP/1.1 request without Host")
                return 1
            }
            if current.headers.count(of: "Host") > 1 {
                violation = .malformedMessage(name: "HPE_MULTIPLE_HOST", reason: "a request with more than one Host")
                return 1
            }
        }
        let flags = parser.pointee.flags
        current.isChunked = flags & F_CHUNKED.rawValue != 0
        // A body of known length follows as data; chunked framing is lines until a chunk's size is read.
        if kind == .request, !current.isChunked, flags & F_CONTENTLENGTH.rawValue != 0,
            parser.pointee.content_length > 0
        {
            framing = .bodyData
        }
        if flags & F_CONTENTLENGTH.rawValue != 0 {
            current.body.reserveCapacity(Int(clamping: min(parser.pointee.content_length, UInt64(maxBodyBytes))))
        }
        switch kind {
        case .request:
            current.method = String(cString: http_method_str(http_method(rawValue: parser.pointee.method)))
            current.target = recentTargets.string(Self.originForm(startLine))
            if let expect = current.headers["Expect"], HTTPHeaders.namesEqual(expect, "100-continue") {
                events.append(.continueExpected)
            }
            if streamsBody?(current.method, current.target, current.headers) == true {
                streaming = true
                current.keepAlive = http_should_keep_alive(parser) != 0 && parser.pointee.upgrade == 0
                events.append(.streamHead(current))
            }
            return 0
        case .response:
            current.status = Int(parser.pointee.status_code)
            current.reason = String(decoding: startLine, as: UTF8.self)
            return skipsBody?(current.status) == true ? 1 : 0
        }
    }

    fileprivate func bodySpan(_ span: UnsafeRawBufferPointer) -> Int32 {
        current.bodyLength += span.count
        if streaming {
            events.append(.bodyPart(Array(span)))
            return 0
        }
        if current.bodyTooLarge { return 0 }
        if current.bodyLength > maxBodyBytes {
            current.bodyTooLarge = true
            current.body = []
        } else {
            current.body.append(contentsOf: span)
        }
        return 0
    }

    /// A chunk's size line was read: its data (if any) follows.
    fileprivate func chunkHeader() -> Int32 {
        if kind == .request && parser.pointee.content_length > 0 { framing = .bodyData }
        return 0
    }

    fileprivate func messageComplete() -> Int32 {
        framing = .outsideBody
        guard violation == nil, commitHeader() else { return 1 }
        let keepAlive = http_should_keep_alive(parser) != 0 && parser.pointee.upgrade == 0
        current.keepAlive = keepAlive
        // Moved out of `current` (swapped with an empty message), not copied: no retain and release per field.
        var finished = ParsedMessage()
        swap(&finished, &current)
        if streaming {
            streaming = false
            events.append(.bodyEnd(trailers: finished.trailers))
        } else {
            events.append(.message(finished))
        }
        inMessage = false
        if !keepAlive { http_parser_pause(parser, 1) }
        return 0
    }

    /// Stores the field gathered so far; false when its name is not a token (a request's violation).
    private func commitHeader() -> Bool {
        defer { headerState = .none }
        guard headerState == .value else { return true }
        if kind == .request && !name.allSatisfy(Self.isTokenByte) {
            violation = .malformedMessage(name: "HPE_INVALID_HEADER_TOKEN", reason: "a header name that is not a token")
            return false
        }
        let field = recentFields.string(name)
        while let last = value.last, last == 0x20 || last == 0x09 { value.removeLast() }
        let text = recentFields.string(value)
        if inTrailers {
            current.trailers.add(field, text)
        } else {
            current.headers.add(field, text)
        }
        name.removeAll(keepingCapacity: true)
        value.removeAll(keepingCapacity: true)
        return true
    }

    /// RFC 9110's tchar: `!#$%&'*+-.^_`|~`, digits and letters.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "!"), UInt8(ascii: "#"),
            UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"),
            UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
            UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// The origin form of an absolute-form target: `http://host:port/a?b` → `/a?b` (`/` without a path).
    private static func originForm(_ target: [UInt8]) -> [UInt8] {
        // The origin form (`/path`), what every client but a proxy sends, is taken as it is, without allocating.
        guard let first = target.first, first != UInt8(ascii: "/") else { return target }
        func hasScheme(_ scheme: StaticString) -> Bool {
            guard target.count >= scheme.utf8CodeUnitCount else { return false }
            for index in 0..<scheme.utf8CodeUnitCount where target[index] | 0x20 != scheme.utf8Start[index] {
                return false
            }
            return true
        }
        let scheme: Int
        if hasScheme("http://") {
            scheme = 7
        } else if hasScheme("https://") {
            scheme = 8
        } else {
            return target
        }
        guard let slash = target[scheme...].firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") })
        else { return Array("/".utf8) }
        return target[slash] == UInt8(ascii: "/") ? Array(target[slash...]) : Array("/".utf8) + target[slash...]
    }

    /// Adds `length` (plus two for the separator) to the header budget; false once it is exceeded.
    /// Adds a span to the header section's size, with 2 bytes for the line break or `": "` of an element (start
    /// line, field name, field value) counted once at its first span, so that the sum does not depend on how the
    /// bytes were split between reads.
    private func count(_ length: Int, startsElement: Bool) -> Bool {
        headerBytes += length + (startsElement ? 2 : 0)
        if headerBytes > maxHeaderBytes { headerOverflow = true }
        return !headerOverflow
    }

    // MARK: Settings

    private static func owner(_ parser: UnsafeMutablePointer<http_parser>?) -> MessageParser {
        Unmanaged<MessageParser>.fromOpaque(parser!.pointee.data).takeUnretainedValue()
    }

    private static func span(_ at: UnsafePointer<CChar>?, _ length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: at, count: length)
    }

    /// The callbacks, shared by every parser; each recovers its owner from `parser.pointee.data`.
    private static let settings: http_parser_settings = {
        var settings = http_parser_settings()
        http_parser_settings_init(&settings)
        settings.on_message_begin = { owner($0).messageBegan() }
        settings.on_url = { owner($0).startLineSpan(span($1, $2)) }
        settings.on_status = { owner($0).startLineSpan(span($1, $2)) }
        settings.on_header_field = { owner($0).headerNameSpan(span($1, $2)) }
        settings.on_header_value = { owner($0).headerValueSpan(span($1, $2)) }
        settings.on_headers_complete = { owner($0).headersComplete() }
        settings.on_body = { owner($0).bodySpan(span($1, $2)) }
        settings.on_message_complete = { owner($0).messageComplete() }
        settings.on_chunk_header = { owner($0).chunkHeader() }
        return settings
    }()
}

/// Strings made from bytes, reused while the same bytes come again (a kept-alive client sends the same target,
/// header names and values with every request); the oldest is replaced when full.
private struct RecentStrings {
    private var strings: [String] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// `bytes` as a string, reusing a kept one with the same bytes.
    mutating func string(_ bytes: [UInt8]) -> String {
        // Short strings are stored inline and cost nothing to make.
        guard bytes.count > 15 else { return String(decoding: bytes, as: UTF8.self) }
        for index in strings.indices {
            var candidate = strings[index]
            let same = candidate.withUTF8 { utf8 in
                utf8.count == bytes.count
                    && bytes.withUnsafeBufferPointer { memcmp(utf8.baseAddress!, $0.baseAddress!, $0.count) == 0 }
            }
            if same { return candidate }
        }
        let made = String(decoding: bytes, as: UTF8.self)
        if strings.count < capacity {
            strings.append(made)
        } else {
            strings[next] = made
            next = (next + 1) % capacity
        }
        return made
    }
}
