import Foundation

/// Where the example finds what it tests: lambda-sim's bundled examples and its fixture runtime.
enum Paths {
    /// The lambda-sim repository (this package lives in its `Examples/RuntimeTests`).
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    /// The bash + curl custom runtime of `Config/bash-runtime`.
    static let bashRuntime = repository + "/Config/bash-runtime"
    /// lambda-sim's fixture runtime, built by lambda-sim's own `swift build` (or `$LAMBDA_SIM_FIXTURE`).
    static let fixture =
        ProcessInfo.processInfo.environment["LAMBDA_SIM_FIXTURE"] ?? repository + "/.build/debug/lambda-sim-fixture"
    /// This package's own fixtures.
    static let fixtures = repository + "/Examples/RuntimeTests/Fixtures"
    /// A Python 3 interpreter for the example extension.
    static let python = ProcessInfo.processInfo.environment["LAMBDA_SIM_PYTHON"] ?? "/usr/bin/python3"
}
