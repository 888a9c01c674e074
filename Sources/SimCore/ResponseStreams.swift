import Synchronization

/// The receiving ends of the streamed responses in flight, by request id: the invoker's side registers one before
/// it submits an `InvokeWithResponseStream` (or streaming Function URL) invoke and removes it once the invoke is
/// answered; the sandbox that runs the invoke looks it up when the runtime starts streaming (none: the response is
/// buffered, as for a plain Invoke). So an `Invocation` stays a plain value as it
/// travels through the pool and the sandbox's state machine. Safe from any thread (request ids are unique).
package enum ResponseStreams {
    private static let sinks = Mutex<[String: ResponseStreamSink]>([:])

    /// Registers `sink` as where the streamed response of `requestID` goes.
    package static func register(_ sink: ResponseStreamSink, for requestID: String) {
        sinks.withLock { $0[requestID] = sink }
    }

    /// The sink registered for `requestID`, if any.
    package static func sink(for requestID: String) -> ResponseStreamSink? {
        sinks.withLock { $0[requestID] }
    }

    /// Forgets the sink of `requestID` (its invoke was answered).
    package static func remove(_ requestID: String) {
        _ = sinks.withLock { $0.removeValue(forKey: requestID) }
    }
}
