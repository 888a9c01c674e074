import SimCore
import SimHTTP

/// Relays a streamed Function URL response (`InvokeMode: RESPONSE_STREAM`) to the client as it arrives.
///
/// A runtime that streams with the content type `application/vnd.awslambda.http-integration-response` sends a
/// JSON prelude (`statusCode`, `headers`, `cookies`), 8 NUL bytes, then the body: the prelude is held (at most
/// `HTTPFrontEnd.maxPreludeBytes`) until the NULs arrive, becomes the status line and headers, and the body
/// follows chunk by chunk. Any other content type streams as a 200 with that type. Loop-confined.
///
///     awaitingStart ── start(prelude type) ──> awaitingPrelude ── 8 NULs ──> streaming ── finish ──> done
///     awaitingStart ── start(other type) ────────────────────────────────> streaming
///     awaitingPrelude ── prelude too long / not JSON ──> failed (502 sent; the rest is dropped)
final class StreamRelay {
    /// Where the relay is.
    private enum State {
        /// No byte from the function yet.
        case awaitingStart
        /// Collecting the prelude.
        case awaitingPrelude([UInt8])
        /// The status line went out; chunks follow.
        case streaming
        /// A 502 went out instead.
        case failed
        /// The response is complete.
        case done
    }

    /// The content type announcing a prelude.
    static let preludeContentType = "application/vnd.awslambda.http-integration-response"

    private var state = State.awaitingStart
    private let responder: HTTPResponder
    private let requestID: String

    init(responder: HTTPResponder, requestID: String) {
        self.responder = responder
        self.requestID = requestID
    }

    /// The runtime started its streamed response with `contentType`.
    func start(contentType: String?) {
        guard case .awaitingStart = state else { return }
        if contentType == Self.preludeContentType {
            state = .awaitingPrelude([])
        } else {
            beginStreaming(status: 200, headers: ["Content-Type": contentType ?? "application/octet-stream"])
        }
    }

    /// A chunk of the streamed response.
    func chunk(_ bytes: [UInt8]) {
        switch state {
        case .awaitingStart:
            start(contentType: nil)
            chunk(bytes)
        case .awaitingPrelude(var buffer):
            buffer += bytes
            guard let end = Self.nulRun(in: buffer) else {
                if buffer.count > HTTPFrontEnd.maxPreludeBytes { fail() } else { state = .awaitingPrelude(buffer) }
                return
            }
            guard let (status, headers) = Self.prelude(Array(buffer[..<end])) else { return fail() }
            beginStreaming(status: status, headers: headers)
            let body = Array(buffer[(end + 8)...])
            if !body.isEmpty { responder.writeChunk(body) }
        case .streaming:
            responder.writeChunk(bytes)
        case .failed, .done:
            break
        }
    }

    /// The invoke ended: close the stream, or answer as a buffered Function URL if nothing was streamed.
    func finish(_ result: InvokeResult, streamed: Bool) {
        switch state {
        case .awaitingStart:
            state = .done
            responder.send(APIGatewayResponse.map(result, front: .functionURL))
        case .awaitingPrelude(let buffer):
            // A prelude with no body after it ends without the NULs.
            guard case .success = result.outcome, let (status, headers) = Self.prelude(buffer) else { return fail() }
            beginStreaming(status: status, headers: headers)
            state = .done
            responder.finish()
        case .streaming:
            state = .done
            responder.finish()
        case .failed, .done:
            break
        }
    }

    private func beginStreaming(status: Int, headers: HTTPHeaders) {
        var headers = headers
        if !headers.contains("x-amzn-RequestId") { headers.add("x-amzn-RequestId", requestID) }
        state = .streaming
        responder.startStreaming(status: status, headers: headers)
    }

    private func fail() {
        state = .failed
        responder.send(APIGatewayResponse.functionFailed(.functionURL, requestID: requestID))
    }

    /// The index where 8 NUL bytes start, if any.
    static func nulRun(in bytes: [UInt8]) -> Int? {
        var run = 0
        for (index, byte) in bytes.enumerated() {
            run = byte == 0 ? run + 1 : 0
            if run == 8 { return index - 7 }
        }
        return nil
    }

    /// The status and headers of a prelude (`{"statusCode":…,"headers":{…},"cookies":[…]}`; an empty prelude is
    /// a 200 without headers).
    static func prelude(_ bytes: [UInt8]) -> (Int, HTTPHeaders)? {
        if bytes.isEmpty { return (200, [:]) }
        guard let value = try? JSON.parse(bytes), case .object = value else { return nil }
        var status = 200
        if let statusValue = value["statusCode"] {
            guard let code = APIGatewayResponse.integer(statusValue), (100...599).contains(code) else { return nil }
            status = code
        }
        var headers = HTTPHeaders()
        if case .object(let fields)? = value["headers"] {
            for (name, field) in fields { if let text = APIGatewayResponse.text(field) { headers.add(name, text) } }
        }
        if case .array(let cookies)? = value["cookies"] {
            for cookie in cookies { if let text = APIGatewayResponse.text(cookie) { headers.add("Set-Cookie", text) } }
        }
        return (status, headers)
    }
}
