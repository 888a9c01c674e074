/// A function's `async` section: what happens to `Event` invocations (Lambda's event invoke config).
package struct AsyncConfig: Sendable, Equatable {
    /// Retries after a function error (0...2; default 2).
    package var maximumRetryAttempts = 2
    /// Oldest event still delivered, in seconds (60...21,600; default 21,600 = 6 h).
    package var maximumEventAgeInSeconds = 21_600
    /// Absolute path of the file that receives on-success invocation records, if any.
    package var onSuccess: String?
    /// Absolute path of the file that receives on-failure invocation records, if any.
    package var onFailure: String?

    package init(
        maximumRetryAttempts: Int = 2, maximumEventAgeInSeconds: Int = 21_600, onSuccess: String? = nil,
        onFailure: String? = nil
    ) {
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumEventAgeInSeconds = maximumEventAgeInSeconds
        self.onSuccess = onSuccess
        self.onFailure = onFailure
    }
}
