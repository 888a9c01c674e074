/// Lambda's payload and execution-environment limits.
package enum Limits {
    /// Open files per process of a function (Lambda's quota: 1,024).
    package static let processFileDescriptors = 1_024
    /// Largest buffered response a runtime may post: 6 MiB + 100 bytes.
    package static let maxResponseBytes = 6_291_556
    /// Largest synchronous invoke request.
    package static let maxSyncRequestBytes = 6_291_456
    /// Largest asynchronous (`Event`) invoke request.
    package static let maxAsyncRequestBytes = 1_048_576
    /// Bytes of asynchronous events waiting (for a sandbox or a retry) over all functions, beyond which new
    /// `Event` invokes are throttled (429 `CallerRateLimitExceeded`) rather than queued: 512 MiB.
    package static let maxQueuedEventBytes = 512 * 1024 * 1024
    /// Largest decoded client context.
    package static let maxClientContextBytes = 3_583
    /// Bytes of log returned by `X-Amz-Log-Type: Tail`.
    package static let logTailBytes = 4_096
}
