extension PlatformEvent {
    /// The data of `platform.runtimeDone`.
    package struct RuntimeDone: Equatable, Sendable {
        package var requestID: String
        package var outcome: EventOutcome
        /// Invoke start to the runtime's next `/next` (or to the error/timeout).
        package var durationMs: Double
        /// Bytes of the response, when there was one.
        package var producedBytes: Int?
        /// `responseLatency`, `responseDuration`, `runtimeOverhead` (see `Span.runtimeDone`).
        package var spans: [Span]
        package var tracing: TraceContext?

        package init(
            requestID: String, outcome: EventOutcome, durationMs: Double, producedBytes: Int? = nil,
            spans: [Span] = [], tracing: TraceContext? = nil
        ) {
            self.requestID = requestID
            self.outcome = outcome
            self.durationMs = durationMs
            self.producedBytes = producedBytes
            self.spans = spans
            self.tracing = tracing
        }
    }

    /// The data of `platform.report` (both APIs).
    package struct Report: Equatable, Sendable {
        package var requestID: String
        package var outcome: EventOutcome
        package var durationMs: Double
        package var billedDurationMs: Int
        package var memorySizeMB: Int
        package var maxMemoryUsedMB: Int
        /// Present on the invoke that followed a cold start.
        package var initDurationMs: Double?
        package var spans: [Span]
        package var tracing: TraceContext?
        /// How long extensions worked after the runtime's part ended (the log's `PostRuntimeExtensionsDuration`),
        /// when the sandbox has extensions; not part of the record.
        package var postRuntimeExtensionsMs: Double?

        package init(
            requestID: String, outcome: EventOutcome, durationMs: Double, billedDurationMs: Int, memorySizeMB: Int,
            maxMemoryUsedMB: Int, initDurationMs: Double? = nil, spans: [Span] = [], tracing: TraceContext? = nil,
            postRuntimeExtensionsMs: Double? = nil
        ) {
            self.postRuntimeExtensionsMs = postRuntimeExtensionsMs
            self.requestID = requestID
            self.outcome = outcome
            self.durationMs = durationMs
            self.billedDurationMs = billedDurationMs
            self.memorySizeMB = memorySizeMB
            self.maxMemoryUsedMB = maxMemoryUsedMB
            self.initDurationMs = initDurationMs
            self.spans = spans
            self.tracing = tracing
        }
    }
}
