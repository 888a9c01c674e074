/// One accepted invoke, as the sandbox hands it to the runtime.
package struct Invocation: Sendable, Equatable {
    /// UUID; the invoker's `x-amzn-RequestId` and the runtime's `Lambda-Runtime-Aws-Request-Id`.
    package var requestID: String
    /// Payload bytes exactly as the invoker sent them.
    package var payload: [UInt8]
    /// The invoker's Content-Type, if any.
    package var contentType: String?
    /// The ARN the caller used (function, version or alias form).
    package var invokedFunctionARN: String
    /// `Lambda-Runtime-Trace-Id`.
    package var traceID: String
    /// Client context JSON, already base64-decoded.
    package var clientContext: String?
    /// Cognito identity JSON.
    package var cognitoIdentity: String?
    /// Tenant id for tenant-isolation functions.
    package var tenantID: String?
    /// Whether the invoker asked for `X-Amz-Log-Type: Tail`.
    package var wantsLogTail: Bool
    /// `Event` invokes are answered 202 at once and run later. (An `InvokeWithResponseStream` invoke is one whose
    /// request id has a sink in `ResponseStreams`; any other buffers its response.)
    package var isAsync: Bool

    package init(
        requestID: String, payload: [UInt8], contentType: String? = nil, invokedFunctionARN: String,
        traceID: String, clientContext: String? = nil, cognitoIdentity: String? = nil, tenantID: String? = nil,
        wantsLogTail: Bool = false, isAsync: Bool = false
    ) {
        self.requestID = requestID
        self.payload = payload
        self.contentType = contentType
        self.invokedFunctionARN = invokedFunctionARN
        self.traceID = traceID
        self.clientContext = clientContext
        self.cognitoIdentity = cognitoIdentity
        self.tenantID = tenantID
        self.wantsLogTail = wantsLogTail
        self.isAsync = isAsync
    }
}

/// The receiving end of a streamed response (`InvokeWithResponseStream`): the sandbox hands it each chunk as the
/// runtime writes it, and waits while the receiver is backed up (a slow reader slows the runtime's upload instead
/// of filling the simulator's memory). The invoke's outcome still arrives as an `InvokeResult`. Loop-confined.
package final class ResponseStreamSink: @unchecked Sendable, Equatable {
    /// Called once, before the first chunk, with the runtime's `Content-Type`.
    package var onStart: ((String?) -> Void)?
    /// Called with each chunk.
    package var onChunk: (([UInt8]) -> Void)?
    /// Whether the receiver has more waiting than it wants; the sender stops until `writable()`.
    package var isBackedUp: () -> Bool = { false }
    /// Set by the sender: what to do when the receiver has gone (its connection closed).
    package var onGone: (() -> Void)?
    /// Set by the sender: what to do when the receiver can take more again.
    package var onWritable: (() -> Void)?
    /// True once the first chunk (or an empty stream's start) went out.
    package private(set) var started = false
    /// Bytes handed to `onChunk`.
    package private(set) var sentBytes = 0

    package init() {}

    /// Starts the stream (once) and hands `chunk` on.
    package func send(_ chunk: [UInt8], contentType: String?) {
        start(contentType: contentType)
        guard !chunk.isEmpty else { return }
        sentBytes += chunk.count
        onChunk?(chunk)
    }

    /// Starts the stream without a chunk (an empty streamed body).
    package func start(contentType: String?) {
        guard !started else { return }
        started = true
        onStart?(contentType)
    }

    /// Called by the receiver when it can take more.
    package func writable() { onWritable?() }

    /// True once the receiver went away.
    package private(set) var isGone = false

    /// Called by the receiver when it went away before the stream ended.
    package func gone() {
        isGone = true
        onGone?()
    }

    package static func == (lhs: ResponseStreamSink, rhs: ResponseStreamSink) -> Bool { lhs === rhs }
}

/// How an invoke ended, from the invoker's point of view.
package enum InvokeOutcome: Sendable, Equatable {
    /// The runtime posted `/response`.
    case success(body: [UInt8], contentType: String?)
    /// The runtime posted `/error` (or an init error was returned): `X-Amz-Function-Error: Unhandled`.
    case functionError(body: [UInt8], contentType: String?, errorType: String?)
    /// The platform failed the invoke (crash, timeout, oversize response...); also a function error.
    case platformError(errorType: String, message: String)

    /// True for every outcome the invoker sees as a function error.
    package var isError: Bool {
        if case .success = self { return false }
        return true
    }
}

/// What the invoker receives once the sandbox is done with an invoke.
package struct InvokeResult: Sendable, Equatable {
    package var requestID: String
    package var outcome: InvokeOutcome
    /// The last 4 KB of the invoke's log, when the invoker asked for a tail.
    package var logTail: [UInt8]?

    package init(requestID: String, outcome: InvokeOutcome, logTail: [UInt8]? = nil) {
        self.requestID = requestID
        self.outcome = outcome
        self.logTail = logTail
    }

    /// The payload bytes and content type the invoker gets.
    package var payload: (body: [UInt8], contentType: String) {
        switch outcome {
        case .success(let body, let type): return (body, type ?? "application/json")
        case .functionError(let body, let type, _): return (body, type ?? "application/json")
        case .platformError(let errorType, let message):
            return (Array(JSON.platformErrorBody(type: errorType, message: message).utf8), "application/json")
        }
    }
}
