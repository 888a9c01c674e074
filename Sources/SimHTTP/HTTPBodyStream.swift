import SimUV

/// The body of a request that its handler reads as it arrives (a runtime's streamed `/response`), with
/// back-pressure: while the handler has paused it, or more than `maxBufferedBytes` wait for a reader, the
/// connection stops reading, so the sender slows down instead of the server buffering. Loop-confined.
package final class HTTPBodyStream: @unchecked Sendable, Equatable {
    /// How the body ended.
    package enum End: Equatable, Sendable {
        /// The last chunk arrived, followed by these trailers.
        case complete(trailers: HTTPHeaders)
        /// The connection closed first.
        case aborted
        /// The body's framing was malformed (a bad chunk size, chunk data without CRLF, a bare LF): nothing more
        /// is read, and the connection closes once the request is answered.
        case malformed
    }

    /// Bytes waiting for `onData` above which the connection stops reading.
    package static let maxBufferedBytes = 1024 * 1024

    /// Receives each part of the body as it arrives (parts that arrived before it was set come first).
    package var onData: (([UInt8]) -> Void)? {
        didSet { deliver() }
    }
    /// Receives the end, once, after the last part.
    package var onEnd: ((End) -> Void)? {
        didSet { deliver() }
    }
    /// Body bytes received so far.
    package private(set) var receivedBytes = 0
    /// True once the body ended (completely or not).
    package var isEnded: Bool { end != nil }

    private var buffered: [[UInt8]] = []
    private var bufferedBytes = 0
    private var end: End?
    private var paused = false
    private var discarding = false
    /// Tells the connection that `wantsMore` may have changed.
    var onFlowChange: (() -> Void)?

    init() {}

    /// True while the connection should keep reading the body.
    var wantsMore: Bool { discarding || (!paused && bufferedBytes < Self.maxBufferedBytes) }

    /// Stops the connection reading more of the body (the reader cannot keep up).
    package func pause() {
        guard !paused else { return }
        paused = true
        onFlowChange?()
    }

    /// Lets the connection read again.
    package func resume() {
        guard paused else { return }
        paused = false
        onFlowChange?()
    }

    /// Reads and drops the rest of the body (the request was answered before its body ended).
    package func discard() {
        discarding = true
        onData = nil
        buffered.removeAll()
        bufferedBytes = 0
        onFlowChange?()
    }

    func append(_ bytes: [UInt8]) {
        receivedBytes += bytes.count
        guard !discarding, end == nil else { return }
        if let onData, buffered.isEmpty {
            onData(bytes)
            return
        }
        buffered.append(bytes)
        bufferedBytes += bytes.count
        if bufferedBytes >= Self.maxBufferedBytes { onFlowChange?() }
    }

    func finish(_ how: End) {
        guard end == nil else { return }
        end = how
        deliver()
    }

    private func deliver() {
        if let onData, !buffered.isEmpty {
            let parts = buffered
            buffered.removeAll()
            bufferedBytes = 0
            for part in parts { onData(part) }
            onFlowChange?()
        }
        guard buffered.isEmpty, let end, let onEnd else { return }
        self.onEnd = nil
        onEnd(end)
    }

    package static func == (lhs: HTTPBodyStream, rhs: HTTPBodyStream) -> Bool { lhs === rhs }
}
