// Where the integration tests find the repository, their fixtures, the native fixture runtime and the
// Python virtual environment, and the environment they hand to the processes they start.

import Foundation
import LambdaSim

/// Paths the integration tests depend on.
enum TestPaths {
    /// The repository root, three folders above `Tests/IntegrationTests/Support`.
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `Tests/IntegrationTests/Fixtures`.
    static let fixtures = repositoryRoot + "/Tests/IntegrationTests/Fixtures"

    /// The Python handlers' folder (awslambdaric's working directory).
    static let pythonFixtures = fixtures + "/python"

    /// The folder of the running test binary, where SwiftPM also puts `lambda-sim-fixture`.
    static let binDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(count > 0, "cannot read /proc/self/exe")
        let executable = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }()

    /// The project's native fixture runtime.
    static let fixtureRuntime = binDirectory + "/lambda-sim-fixture"

    /// The venv's interpreter: `LAMBDA_SIM_PYTHON`, else `.venv/bin/python` (symlinks deliberately kept).
    static let python: String = {
        if let configured = ProcessInfo.processInfo.environment["LAMBDA_SIM_PYTHON"], !configured.isEmpty {
            return configured
        }
        return repositoryRoot + "/.venv/bin/python"
    }()

    /// The AWS CLI entry script next to the venv's interpreter.
    static var awsCLI: String { URL(fileURLWithPath: python).deletingLastPathComponent().path + "/aws" }

    /// The test process's environment as ordered pairs, passed through to runtimes.
    static let inheritedEnvironment = EnvironmentVariables(
        ProcessInfo.processInfo.environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })

    /// The test process's environment plus `extra` (which wins), as `KEY=value` strings for `ProcessSpec`.
    static func environment(adding extra: [String: String] = [:]) -> [String] {
        ProcessInfo.processInfo.environment.merging(extra) { _, new in new }.sorted { $0.key < $1.key }.map {
            "\($0.key)=\($0.value)"
        }
    }

    /// The absolute path of `program` on the test process's `PATH`, or nil.
    static func which(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
