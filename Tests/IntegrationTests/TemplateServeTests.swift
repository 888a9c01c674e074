// A SAM template served with real runtimes: awslambdaric for python3.x, the bash+curl runtime for provided.*,
// an extension from a layer, and the CLI's template errors.

import Foundation
import LambdaSim
import Testing

/// `Tests/IntegrationTests/Fixtures/sam/template.yaml`.
let samTemplate = TestPaths.fixtures + "/sam/template.yaml"

/// The fixture template, its python functions under the test venv's interpreter.
func loadSAMTemplate(_ overrides: [(String, String)] = []) throws -> TemplateConfiguration {
    try TemplateConfiguration.load(file: samTemplate, parameterOverrides: overrides, python: TestPaths.python)
}

@Suite("SAM templates", .serialized)
struct TemplateServeTests {
    /// A python3.12 function of the template runs under awslambdaric, invoked by logical id and as
    /// `EchoFunction:live` (its AutoPublishAlias), with the memory and variables the template resolves.
    @Test(.timeLimit(.minutes(1)))
    func pythonFunctionByLogicalIDAndAlias() async throws {
        let template = try loadSAMTemplate([("Greeting", "bonjour")])
        try await withSimulator(template.configuration.functions, account: template.configuration.account) { sim in
            let response = try await sim.invoke("EchoFunction", payload: #"{"n":1}"#)
            #expect(response.status == 200)
            let body = try jsonObject(response)
            #expect(body["function"] as? String == "EchoFunction")
            #expect(body["memory"] as? String == "256")
            let env = try #require(body["env"] as? [String: Any])
            #expect(env["GREETING"] as? String == "bonjour")
            #expect(env["OTHER"] as? String == "other:lambda-sim-bash")
            let aliased = try await sim.invoke("EchoFunction", qualifier: "live")
            #expect(aliased.status == 200)
            #expect(
                try jsonObject(aliased)["arn"] as? String
                    == "arn:aws:lambda:us-east-1:123456789012:function:EchoFunction:live")
            let unknown = try await sim.invoke("EchoFunction", qualifier: "staging")
            #expect(unknown.status == 404)
        }
    }

    /// A provided.al2023 function runs CodeUri/bootstrap (bash+curl) under its FunctionName and also answers to
    /// its logical id; its layer's extensions/ start as external extensions.
    @Test(.timeLimit(.minutes(1)))
    func bashFunctionWithLayerExtension() async throws {
        let template = try loadSAMTemplate()
        try await withSimulator(template.configuration.functions, account: template.configuration.account) { sim in
            let byName = try await sim.invoke("lambda-sim-bash", payload: #"{"a":1}"#)
            #expect(byName.status == 200)
            #expect(String(decoding: byName.body, as: UTF8.self) == #"{"echo":{"a":1},"runtime":"bash"}"#)
            let byID = try await sim.invoke("BashFunction", payload: "{}")
            #expect(byID.status == 200)
            #expect(await sim.logs.first(timeout: .seconds(10)) { $0.text.contains("layer-ext registered") } != nil)
        }
    }

    /// `lambda-sim load --template` starts the template's functions and drives one by logical id, counting its
    /// cold starts from the simulator's events.
    @Test(.timeLimit(.minutes(1)))
    func loadCommandDrivesATemplateFunction() async throws {
        let json = NSTemporaryDirectory() + "lambda-sim-template-load-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: json) }
        let result = try await runProcess([
            TestPaths.binDirectory + "/lambda-sim", "load", "--json", json, "--quiet", "EchoFunction", "--template",
            samTemplate, "--concurrency", "2", "--requests", "20",
        ])
        #expect(result.status == .exited(0), "\(result.stderr)")
        let data = try #require(FileManager.default.contents(atPath: json), "\(result.stdout) \(result.stderr)")
        let document = try jsonObject(Array(data))
        #expect(document["requests"] as? Int == 20 && document["succeeded"] as? Int == 20)
        let cold = try #require(document["coldStarts"] as? Int)
        #expect(cold >= 1 && cold == document["sandboxesStarted"] as? Int)
    }

    /// `lambda-sim load --template … --url PATH` drives an HTTP API route of the template's front end (issue 24):
    /// the bundled example's Python function behind `GET /hello/{name}` answers every request, and its cold starts
    /// are counted from the simulator's events (the request ids the front end returns match its REPORTs).
    @Test(.timeLimit(.minutes(1)))
    func loadCommandDrivesARoute() async throws {
        let json = NSTemporaryDirectory() + "lambda-sim-template-url-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: json) }
        let result = try await runProcess([
            TestPaths.binDirectory + "/lambda-sim", "load", "--json", json, "--quiet", "HelloPython", "--template",
            TestPaths.repositoryRoot + "/Config/sam/template.yaml", "--url", "/hello/load", "--concurrency", "2",
            "--requests", "20",
        ])
        #expect(result.status == .exited(0), "\(result.stderr)")
        let data = try #require(FileManager.default.contents(atPath: json), "\(result.stdout) \(result.stderr)")
        let document = try jsonObject(Array(data))
        #expect(document["requests"] as? Int == 20 && document["succeeded"] as? Int == 20, "\(document)")
        let cold = try #require(document["coldStarts"] as? Int)
        #expect(cold >= 1 && cold == document["sandboxesStarted"] as? Int)
    }

    /// `serve --template` with a template error exits 2 and prints FILE:LINE: PATH: message.
    @Test(.timeLimit(.minutes(1)))
    func cliReportsTemplateErrors() async throws {
        let directory = NSTemporaryDirectory() + "lambda-sim-template-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/template.yaml"
        try Data(
            """
            Resources:
              F:
                Type: AWS::Serverless::Function
                Properties:
                  Runtime: nodejs20.x
                  Handler: index.handler
            """.utf8
        ).write(to: URL(fileURLWithPath: path))
        let result = try await runProcess([TestPaths.binDirectory + "/lambda-sim", "serve", "--template", path])
        #expect(result.status == .exited(2))
        #expect(
            result.stderr.contains(
                "\(path):5: Resources.F.Properties.Runtime: runtime nodejs20.x has no local runner in lambda-sim"))
    }
}
