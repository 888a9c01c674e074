import Foundation
import SimConfig
import SimDomain
import SimUV

/// A SAM / CloudFormation template (`lambda-sim serve --template`) as the functions `Simulator.start` runs, plus
/// the HTTP routes and Function URLs its events and `FunctionUrlConfig`s declare.
///
/// ```swift
/// let template = try TemplateConfiguration.load(file: "Config/sam/template.yaml")
/// try await withSimulator(template.configuration) { simulator in
///     _ = try await simulator.invoke(function: "EchoFunction", payload: Array("{}".utf8))
/// }
/// ```
public struct TemplateConfiguration: Sendable {
    /// The functions (named by `FunctionName`, else by logical id, which they also answer to) and the account.
    public var configuration: SimulatorConfiguration
    /// Routes and Function URLs for the HTTP front end.
    public var http: HTTPFrontEndOptions
    /// What the template says that lambda-sim does not do (`FILE:LINE: PATH: message`), for the user to see.
    public var warnings: [String]
    /// Each function's code directory, by function name (what `--watch` watches).
    public var codeDirectories: [(function: String, directory: String)]

    /// Reads the template at `path`.
    ///
    /// - Parameters:
    ///   - path: the template file (YAML or JSON); `CodeUri` and layer paths are relative to its directory.
    ///   - parameterOverrides: `K=V` values for `Parameters`, winning over `Default`.
    ///   - environmentFile: a `--env-vars` JSON file in SAM's format, if any.
    ///   - python: the interpreter for `python3.x` runtimes; default `LAMBDA_SIM_PYTHON`, else `python3`, looked
    ///     up on `environment`'s `PATH`.
    ///   - environment: the simulator's environment (`PATH`, `LAMBDA_SIM_PYTHON`, `PassEnvironment`).
    ///   - timeScale: multiplies asynchronous retry delays.
    /// - Throws: `SimulatorConfiguration.Error` naming the file, line and key path.
    public static func load(
        file path: String, parameterOverrides: [(String, String)] = [], environmentFile: String? = nil,
        python: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        timeScale: Double = 1
    ) throws(SimulatorConfiguration.Error) -> TemplateConfiguration {
        do {
            var options = TemplateOptions()
            options.parameterOverrides = parameterOverrides
            if let environmentFile {
                options.environmentOverrides = try TemplateLoader.environmentOverrides(path: environmentFile)
            }
            let interpreter = python ?? environment["LAMBDA_SIM_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "python3"
            switch ExecutableLookup.resolve(interpreter, environment: ["PATH=\(environment["PATH"] ?? "")"]) {
            case .found(let found): options.python = found
            case .unusable: options.python = nil
            }
            options.pythonName = interpreter
            options.simulatorEnvironment = SimulatorConfiguration.simulatorEnvironment(environment)
            let template = try TemplateLoader.load(path: path, options: options)
            return TemplateConfiguration(template, environment: environment, timeScale: timeScale)
        } catch {
            throw SimulatorConfiguration.Error(error)
        }
    }

    init(_ template: TemplateConfig, environment: [String: String], timeScale: Double) {
        configuration = SimulatorConfiguration(template.simulator, environment: environment, timeScale: timeScale)
        var http = HTTPFrontEndOptions()
        for (index, extra) in template.functions.enumerated() {
            if extra.logicalID != extra.name { configuration.functions[index].aliases.append(extra.logicalID) }
            if let alias = extra.alias { configuration.functions[index].versionAliases.append(alias) }
            if let url = extra.functionURL {
                http.functionURLs.append(
                    HTTPFrontEndOptions.FunctionURL(
                        function: extra.name, streaming: url.invokeMode == .responseStream))
            }
            http.routes += extra.routes
        }
        self.http = http
        warnings = template.warnings.map(\.description)
        codeDirectories = template.simulator.functions.map { ($0.name, $0.codeDirectory) }
    }
}

/// What the HTTP front end (`serve --template --http-port`) serves: API Gateway routes and Function URLs.
public struct HTTPFrontEndOptions: Sendable {
    /// One API Gateway route: HTTP API or REST API, method, path pattern, payload format, function.
    public typealias Route = APIGatewayRoute

    /// A function's URL (`/lambda-url/<function>/…`, or `Host: <function>.lambda-url.<anything>`).
    public struct FunctionURL: Sendable, Equatable {
        /// The function invoked.
        public var function: String
        /// `InvokeMode: RESPONSE_STREAM`: the response is streamed as the function writes it.
        public var streaming: Bool

        /// The URL of `function`.
        public init(function: String, streaming: Bool) {
            self.function = function
            self.streaming = streaming
        }
    }

    /// Routes, in template order (the most specific match wins, as in API Gateway).
    public var routes: [Route] = []
    /// Function URLs.
    public var functionURLs: [FunctionURL] = []

    /// No routes and no URLs.
    public init() {}
}
