import SimCore
import SimDomain

/// Builds the environment Lambda gives a runtime process (lambda-behaviour.md §5).
package enum RuntimeEnvironment {
    /// Variables Lambda withholds from external extensions.
    package static let withheldFromExtensions: Set<String> = [
        "AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT", "_AWS_XRAY_DAEMON_ADDRESS",
        "_AWS_XRAY_DAEMON_PORT", "_HANDLER", "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET",
    ]

    /// The runtime's environment as ordered `KEY=value` strings: inherited, then customer, then Lambda's own
    /// variables (later entries win, as Lambda's reserved keys override anything else).
    package static func runtime(
        function: FunctionSpec, runtimeAPI: String, logStreamName: String, initializationType: InitializationType,
        logSocket: String? = nil
    ) -> [String] {
        var merged = OrderedEnvironment()
        for (key, value) in function.inheritedEnvironment { merged[key] = value }
        if merged["LANG"] == nil { merged["LANG"] = "en_US.UTF-8" }
        if merged["PATH"] == nil { merged["PATH"] = "/usr/local/bin:/usr/bin/:/bin:/opt/bin" }
        if merged["LD_LIBRARY_PATH"] == nil {
            // Lambda's value lists LAMBDA_RUNTIME_DIR and LAMBDA_TASK_ROOT, both the code directory here.
            let code = function.codeDirectory
            merged["LD_LIBRARY_PATH"] = "/lib64:/usr/lib64:\(code):\(code)/lib:/opt/lib"
        }
        merged["TZ"] = ":UTC"
        for (key, value) in function.environment { merged[key] = value }
        merged["AWS_LAMBDA_FUNCTION_NAME"] = function.name
        merged["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = String(function.memorySizeMB)
        merged["AWS_LAMBDA_FUNCTION_VERSION"] = function.version
        merged["AWS_LAMBDA_INITIALIZATION_TYPE"] = initializationType.rawValue
        merged["AWS_LAMBDA_LOG_GROUP_NAME"] = function.logGroupName
        merged["AWS_LAMBDA_LOG_STREAM_NAME"] = logStreamName
        merged["AWS_REGION"] = function.region
        merged["AWS_DEFAULT_REGION"] = function.region
        merged["AWS_LAMBDA_RUNTIME_API"] = runtimeAPI
        merged["LAMBDA_TASK_ROOT"] = function.codeDirectory
        merged["LAMBDA_RUNTIME_DIR"] = function.codeDirectory
        merged["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR"
        if let port = function.xrayDaemonPort {
            // Lambda's daemon listens on a link-local address; here a loopback socket that discards what it gets.
            merged["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:\(port)"
            merged["_AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1"
            merged["_AWS_XRAY_DAEMON_PORT"] = String(port)
        }
        if let handler = function.handler { merged["_HANDLER"] = handler }
        if function.logFormat == .json {
            merged["AWS_LAMBDA_LOG_FORMAT"] = function.logFormat.environmentValue
            merged["AWS_LAMBDA_LOG_LEVEL"] = (function.logLevel ?? .info).rawValue
        }
        if let slots = function.environmentMaxConcurrency {
            merged["AWS_LAMBDA_MAX_CONCURRENCY"] = String(slots)
            if let logSocket { merged["_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"] = logSocket }
        }
        if let runtime = function.runtime, !runtime.hasPrefix("provided") {
            merged["AWS_EXECUTION_ENV"] = "AWS_Lambda_\(runtime)"
        }
        return merged.strings
    }

    /// An extension's environment: the runtime's minus what Lambda withholds from extensions.
    package static func extensionEnvironment(fromRuntime runtime: [String]) -> [String] {
        runtime.filter { entry in
            let key = String(entry.prefix { $0 != "=" })
            return !withheldFromExtensions.contains(key)
        }
    }
}

/// Environment variables in first-insertion order; assigning an existing key replaces its value in place.
struct OrderedEnvironment {
    private var keys: [String] = []
    private var values: [String: String] = [:]

    subscript(key: String) -> String? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    var strings: [String] { keys.map { "\($0)=\(values[$0]!)" } }
}
