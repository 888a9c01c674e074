import SimDomain

/// A validated SAM / CloudFormation template (`serve --template`): the functions as the `serve` model runs them,
/// plus what the template says about reaching them over HTTP.
package struct TemplateConfig: Sendable, Equatable {
    /// The functions, account and scaling rate, as a `serve --config` file would give them.
    package var simulator: SimulatorConfig
    /// Per function (same order as `simulator.functions`): its logical id, qualifiers and HTTP entry points.
    package var functions: [TemplateFunction]
    /// Things the template says that a local run does not do (other event sources, unknown properties), each
    /// located by file, line and key path, for `serve` to print.
    package var warnings: [ConfigError]

    package init(simulator: SimulatorConfig, functions: [TemplateFunction], warnings: [ConfigError]) {
        self.simulator = simulator
        self.functions = functions
        self.warnings = warnings
    }
}

/// What a template adds to one function beyond its `FunctionSpec`.
package struct TemplateFunction: Sendable, Equatable {
    /// The resource's logical id (`EchoFunction`); the function also answers to it.
    package var logicalID: String
    /// The function's name: `FunctionName`, else the logical id.
    package var name: String
    /// `AutoPublishAlias`, if any: the function is also invocable as `name:alias`.
    package var alias: String?
    /// The Function URL, if `FunctionUrlConfig` (or an `AWS::Lambda::Url`) gives one.
    package var functionURL: FunctionURLConfig?
    /// HTTP API and REST API routes from `Events`, each invoking this function.
    package var routes: [APIGatewayRoute]

    package init(
        logicalID: String, name: String, alias: String? = nil, functionURL: FunctionURLConfig? = nil,
        routes: [APIGatewayRoute] = []
    ) {
        self.logicalID = logicalID
        self.name = name
        self.alias = alias
        self.functionURL = functionURL
        self.routes = routes
    }
}

/// `FunctionUrlConfig`: how the function's URL answers.
package struct FunctionURLConfig: Sendable, Equatable {
    /// `InvokeMode`: buffered or streamed responses.
    package enum InvokeMode: String, Sendable, CaseIterable {
        /// The whole response at once (the default).
        case buffered = "BUFFERED"
        /// The response streamed as the function writes it.
        case responseStream = "RESPONSE_STREAM"
    }
    /// `AuthType` (`NONE` or `AWS_IAM`; lambda-sim checks no signatures).
    package var authType: String
    /// `InvokeMode`.
    package var invokeMode: InvokeMode

    package init(authType: String = "NONE", invokeMode: InvokeMode = .buffered) {
        self.authType = authType
        self.invokeMode = invokeMode
    }
}
