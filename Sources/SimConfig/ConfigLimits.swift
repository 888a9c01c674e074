/// Lambda's configuration limits (lambda-behaviour.md §5.1, §6), as the loader enforces them.
enum ConfigLimits {
    /// `MemorySize`, MB.
    static let memorySize = 128...10_240
    /// `Timeout`, seconds.
    static let timeout = 1...900
    /// `PerExecutionEnvironmentMaxConcurrency` of a Lambda Managed Instances capacity provider.
    static let perExecutionEnvironmentMaxConcurrency = 1...1_600
    /// `MaximumRetryAttempts` of asynchronous invocation.
    static let maximumRetryAttempts = 0...2
    /// `MaximumEventAgeInSeconds` of asynchronous invocation.
    static let maximumEventAgeInSeconds = 60...21_600
    /// TCP ports.
    static let port = 0...65_535
    /// Total size of a function's environment variables (keys plus values, UTF-8 bytes): 4 KB.
    static let environmentBytes = 4096
    /// Concurrency Lambda keeps unreserved in every account.
    static let unreservedMinimum = 100

    /// Variables Lambda defines itself; configuring any of them is rejected, as Lambda does.
    static let reservedEnvironmentKeys: Set<String> = [
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    ]

    /// The most concurrency all functions together may reserve in an account of `accountConcurrency`.
    ///
    /// Lambda keeps an unreserved pool of at least 100, so at most `accountConcurrency − 100` can be
    /// reserved. Small test accounts (100 or less) have no such headroom; there the whole account may be
    /// reserved, and whatever is not reserved stays in the unreserved pool.
    static func maximumReserved(accountConcurrency: Int) -> Int {
        accountConcurrency > unreservedMinimum ? accountConcurrency - unreservedMinimum : accountConcurrency
    }

    /// Lambda's function-name rule: 1–64 letters, digits, hyphens and underscores.
    static func isValidFunctionName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { isAlphanumeric($0) || $0 == 0x2D || $0 == 0x5F }
    }

    /// A portable environment variable name: letters, digits and `_`, not starting with a digit.
    static func isPOSIXVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == 0x5F else { return false }
        return name.utf8.allSatisfy { isAlphanumeric($0) || $0 == 0x5F }
    }

    /// Lambda's environment-variable key rule: a letter, then at least one letter, digit or underscore.
    static func isValidEnvironmentKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count >= 2, isLetter(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == 0x5F }
    }

    /// A 12-digit AWS account id.
    static func isValidAccountID(_ id: String) -> Bool {
        id.utf8.count == 12 && id.utf8.allSatisfy(isDigit)
    }

    /// A region name shaped like `us-east-1` or `us-gov-west-1`: lower-case words joined by hyphens,
    /// ending in a number.
    static func isValidRegion(_ region: String) -> Bool {
        let parts = region.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, let last = parts.last, last.utf8.allSatisfy(isDigit) else { return false }
        return parts.dropLast().allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (0x61...0x7A).contains($0) } }
            && !last.isEmpty
    }

    /// `$LATEST` or a published version number.
    static func isValidVersion(_ version: String) -> Bool {
        version == "$LATEST"
            || (!version.isEmpty && version.utf8.allSatisfy(isDigit) && !version.hasPrefix("0"))
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    private static func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
    private static func isAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) }
}
