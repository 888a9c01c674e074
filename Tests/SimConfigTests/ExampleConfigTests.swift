import Foundation
import Testing

@testable import SimConfig

@Suite struct ExampleConfigTests {
    /// The repository root, three levels above this file (Tests/SimConfigTests/ExampleConfigTests.swift).
    private static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Every `*.yaml` file under Config/, relative to the repository root.
    private static func exampleFiles() throws -> [String] {
        let config = repositoryRoot + "/Config"
        let files = try FileManager.default.subpathsOfDirectory(atPath: config)
        return files.filter { $0.hasSuffix(".yaml") }.sorted().map { "Config/\($0)" }
    }

    /// Every YAML file under Config/ loads without error.
    @Test func everyExampleLoads() throws {
        let files = try Self.exampleFiles()
        #expect(files.contains("Config/serve.yaml") && files.contains("Config/throttle.yaml"))
        for file in files where !file.hasSuffix("/template.yaml") {
            #expect(throws: Never.self, "\(file)") { try ConfigLoader.load(path: Self.repositoryRoot + "/" + file) }
        }
    }

    /// Every SAM template under Config/ (`template.yaml`) loads as a template.
    @Test func everyExampleTemplateLoads() throws {
        let files = try Self.exampleFiles().filter { $0.hasSuffix("/template.yaml") }
        #expect(files == ["Config/sam/template.yaml"])
        for file in files {
            let template = try TemplateLoader.load(path: Self.repositoryRoot + "/" + file, options: TemplateOptions())
            #expect(template.simulator.functions.map(\.name) == ["HelloPython", "hello-bash"])
            #expect(template.warnings.isEmpty)
        }
    }

    /// serve.yaml hosts the bash and Python examples with their directories resolved.
    @Test func serveExample() throws {
        let config = try ConfigLoader.load(path: Self.repositoryRoot + "/Config/serve.yaml")
        #expect(config.functions.map(\.name) == ["hello-bash", "hello-python"])
        let bash = try #require(config.function(named: "hello-bash"))
        #expect(bash.codeDirectory == Self.repositoryRoot + "/Config/bash-runtime")
        #expect(bash.command == [Self.repositoryRoot + "/Config/bash-runtime/bootstrap"])
        #expect(bash.extensionsDirectory == Self.repositoryRoot + "/Config/extensions")
        #expect(FileManager.default.isExecutableFile(atPath: bash.command[0]))
        let python = try #require(config.function(named: "hello-python"))
        #expect(python.provisionedConcurrency == 1 && python.handler == "app.handler")
        #expect(FileManager.default.isExecutableFile(atPath: python.command[0]))
    }

    /// throttle.yaml is a two-slot account with one reserved slot.
    @Test func throttleExample() throws {
        let config = try ConfigLoader.load(path: Self.repositoryRoot + "/Config/throttle.yaml")
        #expect(config.account.concurrency == 2)
        #expect(config.functions.map(\.reservedConcurrency) == [1])
    }
}
