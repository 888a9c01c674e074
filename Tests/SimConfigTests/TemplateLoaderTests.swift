import Foundation
import SimCore
import SimDomain
import Testing

@testable import SimConfig

/// `Tests/IntegrationTests/Fixtures/sam`, where the template fixtures live.
private let samFixtures: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path + "/Tests/IntegrationTests/Fixtures/sam"
}()

private func options(_ overrides: [(String, String)] = [], python: String? = "/usr/bin/python3") -> TemplateOptions {
    var options = TemplateOptions()
    options.parameterOverrides = overrides
    options.python = python
    return options
}

private func loadFixture(_ options: TemplateOptions) throws(ConfigError) -> TemplateConfig {
    try TemplateLoader.load(path: samFixtures + "/template.yaml", options: options)
}

/// The error an inline template (as `t.yaml` beside the fixtures) is rejected with, or nil.
private func templateError(_ yaml: String, _ options: TemplateOptions = options()) -> ConfigError? {
    do {
        _ = try TemplateLoader.parse(yaml, file: "t.yaml", baseDirectory: samFixtures, options: options)
        return nil
    } catch {
        return error
    }
}

private func environment(_ function: FunctionSpec?) -> [String: String] {
    Dictionary(function?.environment ?? [], uniquingKeysWith: { $1 })
}

@Suite struct TemplateLoaderTests {
    /// The fixture template loads its functions with Globals merged, parameters, pseudo parameters, Sub, GetAtt
    /// and If evaluated, conditions applied, runtimes mapped to commands and HTTP events read.
    @Test func fixtureTemplate() throws {
        let template = try loadFixture(options())
        let functions = template.simulator.functions
        #expect(functions.map(\.name) == ["EchoFunction", "lambda-sim-bash", "PlainFunction"])
        #expect(template.simulator.account.concurrency == 50)
        let echo = try #require(functions.first)
        #expect(echo.command == ["/usr/bin/python3", "-m", "awslambdaric", "app.echo"])
        #expect(echo.codeDirectory == samFixtures + "/app")
        #expect(echo.memorySizeMB == 256 && echo.timeoutSeconds == 10)
        #expect(
            environment(echo) == [
                "GREETING": "hello", "STACK": "lambda-sim", "STAGE": "dev",
                "SELF_ARN": "arn:aws:lambda:us-east-1:123456789012:function:EchoFunction",
                "LABEL": "us-east-1-dev-${Literal}", "MODE": "development", "OTHER": "other:lambda-sim-bash",
                "FROM_ENV_FILE": "template-value",
            ])
        let bash = functions[1]
        #expect(bash.command == [samFixtures.replacingOccurrences(of: "/sam", with: "/bash") + "/bootstrap"])
        #expect(environment(bash) == ["GREETING": "bash-hi", "STACK": "lambda-sim"])
        #expect(bash.reservedConcurrency == 5)
        #expect(bash.extensionsDirectory == samFixtures + "/layer/extensions")
        let plain = functions[2]
        #expect(plain.memorySizeMB == 128 && plain.timeoutSeconds == 3 && plain.environment.isEmpty)

        let extras = template.functions
        #expect(extras.map(\.logicalID) == ["EchoFunction", "BashFunction", "PlainFunction"])
        #expect(extras[0].alias == "live")
        #expect(extras[0].functionURL == FunctionURLConfig(authType: "NONE", invokeMode: .buffered))
        #expect(
            extras[0].routes == [
                APIGatewayRoute(
                    api: .http, method: "GET", path: "/echo/{id}", payloadFormatVersion: .v2, function: "EchoFunction"),
                APIGatewayRoute(
                    api: .rest, method: "ANY", path: "/rest/{proxy+}", payloadFormatVersion: .v1,
                    function: "EchoFunction"),
            ])
        #expect(
            template.warnings.map(\.description) == [
                "\(samFixtures)/template.yaml:66: Resources.EchoFunction.Properties.Events.Nightly: event type Schedule"
                    + " is not triggered by lambda-sim"
            ])
    }

    /// `--parameter-overrides` switch the condition: the prod-only function appears, `!If` takes the other branch
    /// and a Number parameter sets MemorySize.
    @Test func parameterOverridesDriveConditions() throws {
        let template = try loadFixture(options([("Stage", "prod"), ("Memory", "512")]))
        let names = template.simulator.functions.map(\.name)
        #expect(names == ["EchoFunction", "lambda-sim-bash", "ProdFunction", "PlainFunction"])
        let echo = try #require(template.simulator.functions.first)
        #expect(environment(echo)["MODE"] == "production" && environment(echo)["STAGE"] == "prod")
        #expect(echo.memorySizeMB == 512)
        #expect(template.simulator.function(named: "ProdFunction")?.timeoutSeconds == 20)
    }

    /// `--env-vars` replaces variables the template declares (per function, and for all under `Parameters`), and
    /// adds none it does not declare, as SAM does.
    @Test func environmentFileOverridesDeclaredVariables() throws {
        var options = options()
        options.environmentOverrides = [
            "EchoFunction": ["FROM_ENV_FILE": "from-file"], "Parameters": ["GREETING": "hi-all", "UNDECLARED": "x"],
        ]
        let template = try loadFixture(options)
        let echo = environment(template.simulator.functions[0])
        #expect(echo["FROM_ENV_FILE"] == "from-file" && echo["GREETING"] == "hi-all" && echo["UNDECLARED"] == nil)
        #expect(environment(template.simulator.functions[1])["GREETING"] == "hi-all")
    }

    /// A SAM `env.json` file is read into overrides by function id, numbers as text.
    @Test func environmentFileFormat() throws {
        let path = NSTemporaryDirectory() + "/lambda-sim-env-\(getpid()).json"
        try Data(#"{"EchoFunction": {"A": "1", "B": 2}, "Parameters": {"C": "x"}}"#.utf8).write(
            to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let overrides = try TemplateLoader.environmentOverrides(path: path)
        #expect(overrides == ["EchoFunction": ["A": "1", "B": "2"], "Parameters": ["C": "x"]])
    }
}

@Suite struct TemplateErrorTests {
    private func expectError(
        _ yaml: String, keyPath: String, line: Int, message: String, options: TemplateOptions = options(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error = templateError(yaml, options) else {
            Issue.record("template loaded without error", sourceLocation: sourceLocation)
            return
        }
        #expect(error.file == "t.yaml", sourceLocation: sourceLocation)
        #expect(error.keyPath == keyPath, sourceLocation: sourceLocation)
        #expect(error.line == line, sourceLocation: sourceLocation)
        #expect(error.message == message, sourceLocation: sourceLocation)
    }

    /// An intrinsic lambda-sim does not evaluate is an error at its line and path, never dropped.
    @Test func unsupportedIntrinsic() {
        expectError(
            """
            Resources:
              F:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: app/
                  Runtime: python3.12
                  Handler: app.echo
                  Environment:
                    Variables:
                      JOINED: !Join [",", [a, b]]
            """, keyPath: "Resources.F.Properties.Environment.Variables.JOINED", line: 10,
            message:
                "intrinsic function Fn::Join is not supported by lambda-sim (supported: \(TemplateIntrinsics.supported))"
        )
    }

    /// A Ref to a resource that is not run locally names it and its type, and how to give the value.
    @Test func refOfResourceWithoutLocalValue() {
        expectError(
            """
            Resources:
              Table: {Type: AWS::DynamoDB::Table}
              F:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: app/
                  Runtime: python3.12
                  Handler: app.echo
                  Environment: {Variables: {TABLE: !Ref Table}}
            """, keyPath: "Resources.F.Properties.Environment.Variables.TABLE", line: 9,
            message: "Ref Table (AWS::DynamoDB::Table) has no local value: pass it as a parameter"
                + " (--parameter-overrides) or an environment variable (--env-vars)")
    }

    /// A parameter without Default and without an override is an error at the parameter.
    @Test func parameterWithoutValue() {
        expectError(
            """
            Parameters:
              Bucket:
                Type: String
            Resources:
              F: {Type: AWS::Serverless::Function, Properties: {CodeUri: app/, Runtime: python3.12, Handler: a.b}}
            """, keyPath: "Parameters.Bucket", line: 2,
            message: "parameter Bucket has no Default: give it with --parameter-overrides Bucket=VALUE")
    }

    /// An override outside AllowedValues is rejected at AllowedValues.
    @Test func overrideOutsideAllowedValues() {
        expectError(
            """
            Parameters:
              Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
            Resources:
              F: {Type: AWS::Serverless::Function, Properties: {CodeUri: app/, Runtime: python3.12, Handler: a.b}}
            """, keyPath: "Parameters.Stage.AllowedValues", line: 2,
            message: "parameter Stage is 'test', not one of dev, prod", options: options([("Stage", "test")]))
    }

    /// A runtime without a local runner names the runtime and how to supply a command.
    @Test func runtimeWithoutRunner() {
        expectError(
            """
            Resources:
              F:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: app/
                  Handler: index.handler
                  Runtime: nodejs20.x
            """, keyPath: "Resources.F.Properties.Runtime", line: 7,
            message: "runtime nodejs20.x has no local runner in lambda-sim (python3.x and provided.al2/al2023 do):"
                + " name the command in the function's Metadata: {lambda-sim: {Command: [...]}}")
    }

    /// A python runtime without an interpreter says how to name one.
    @Test func pythonWithoutInterpreter() {
        expectError(
            """
            Resources:
              F: {Type: AWS::Serverless::Function, Properties: {CodeUri: app/, Runtime: python3.12, Handler: a.b}}
            """, keyPath: "Resources.F.Properties.Runtime", line: 2,
            message: "runtime python3.12 runs under a Python interpreter with awslambdaric, and 'python3' is not one:"
                + " pass --python PATH or set LAMBDA_SIM_PYTHON", options: options(python: nil))
    }

    /// A bad value inherited from Globals is reported at its line in Globals.
    @Test func badGlobalValue() {
        expectError(
            """
            Globals:
              Function:
                MemorySize: 64
            Resources:
              F: {Type: AWS::Serverless::Function, Properties: {CodeUri: app/, Runtime: python3.12, Handler: a.b}}
            """, keyPath: "Globals.Function.MemorySize", line: 3,
            message: "MemorySize must be between 128 and 10240, got 64")
    }

    /// `!If` naming a condition that does not exist is an error at the condition's name.
    @Test func unknownConditionInIf() {
        expectError(
            """
            Resources:
              F:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: app/
                  Runtime: python3.12
                  Handler: a.b
                  Timeout: !If [Missing, 5, 6]
            """, keyPath: "Resources.F.Properties.Timeout[0]", line: 8,
            message: "unknown condition 'Missing' (not in Conditions)")
    }

    /// `!GetAtt` of an attribute other than a function's Arn has no local value.
    @Test func getAttOtherThanArn() {
        expectError(
            """
            Resources:
              F:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: app/
                  Runtime: python3.12
                  Handler: a.b
                  Environment: {Variables: {V: !GetAtt F.Version}}
            """, keyPath: "Resources.F.Properties.Environment.Variables.V", line: 8,
            message: "Fn::GetAtt F.Version: only Arn of a function has a local value")
    }

    /// A condition that refers to itself is an error rather than a hang.
    @Test func conditionCycle() {
        expectError(
            """
            Conditions:
              A: !Not [!Condition A]
            Resources:
              F: {Type: AWS::Serverless::Function, Properties: {CodeUri: app/, Runtime: python3.12, Handler: a.b}}
            """, keyPath: "Conditions.A", line: 2, message: "condition A refers to itself")
    }

    /// An override naming no declared parameter is an error.
    @Test func unknownOverride() {
        expectError(
            """
            Parameters:
              Stage: {Type: String, Default: dev}
            Resources:
              F: {Type: AWS::Serverless::Function, Properties: {CodeUri: app/, Runtime: python3.12, Handler: a.b}}
            """, keyPath: "Parameters.Stage2", line: 1,
            message: "--parameter-overrides names 'Stage2', which the template does not declare",
            options: options([("Stage2", "x")]))
    }

    /// A code directory that does not exist is an error at CodeUri.
    @Test func missingCodeDirectory() {
        expectError(
            """
            Resources:
              F: {Type: AWS::Serverless::Function, Properties: {CodeUri: nope/, Runtime: python3.12, Handler: a.b}}
            """, keyPath: "Resources.F.Properties.CodeUri", line: 2,
            message: "code directory \(samFixtures)/nope does not exist")
    }
}
