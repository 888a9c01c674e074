import SimCore
import Testing

@testable import SimConfig

@Suite struct ConfigLoaderTests {
    /// A function with only a command gets Lambda's defaults and the account and server defaults.
    @Test func defaults() throws {
        let config = try parseConfig(
            """
            functions:
              hello:
                command: [./bootstrap]
            """)
        #expect(config.account == AccountConfig(id: "123456789012", region: "us-east-1", concurrency: 1000))
        #expect(config.server == ServerConfig(host: "127.0.0.1", port: 9000))
        #expect(config.scalingRate == nil)
        #expect(config.asyncDefaults == nil)
        var expected = FunctionConfig(name: "hello", command: ["/srv/app/bootstrap"], codeUri: "/srv/app")
        expected.memorySize = 128
        expected.timeout = 3
        expected.idleTimeout = 600
        expected.freeze = .signal
        expected.logFormat = .text
        expected.version = "$LATEST"
        expected.async = AsyncConfig(maximumRetryAttempts: 2, maximumEventAgeInSeconds: 21_600)
        #expect(config.functions == [expected])
        let function = try #require(config.functions.first)
        #expect(function.handler == nil && function.runtime == nil && function.environment.isEmpty)
        #expect(function.extensionsDir == nil && function.maxLifetime == nil)
        #expect(function.reservedConcurrency == nil && function.provisionedConcurrency == nil)
    }

    /// Every key of every section is read into its field, functions kept in file order.
    @Test func everyField() throws {
        let config = try parseConfig(
            """
            account:
              id: "210987654321"
              region: eu-west-1
              concurrency: 500
              scalingRate: {sandboxes: 20, perSeconds: 2.5}
            server:
              host: 0.0.0.0
              port: 0
            asyncDefaults:
              maximumRetryAttempts: 1
              onFailure: out/failures.jsonl
            functions:
              zeta:
                command: [python3, -m, awslambdaric, app.handler]
                codeUri: /opt/code
                handler: app.handler
                runtime: python3.12
                memorySize: 1769
                timeout: 900
                environment: {B_KEY: "2", A_KEY: one, EMPTY: , NUMBER: 42}
                extensionsDir: ext
                passEnvironment: [AWS_REGION_HINT, AWS_*]
                runtimeAPIAccess: any
                reservedConcurrency: 5
                provisionedConcurrency: 5
                idleTimeout: 0.5
                maxLifetime: 7200
                freeze: cgroup
                logFormat: json
                version: "7"
                async:
                  maximumEventAgeInSeconds: 60
                  onSuccess: /var/log/ok.jsonl
              alpha:
                command: [./bootstrap]
            """)
        #expect(config.account == AccountConfig(id: "210987654321", region: "eu-west-1", concurrency: 500))
        #expect(config.account.concurrency == 500)
        #expect(config.scalingRate == ScalingRate(sandboxes: 20, perSeconds: 2.5))
        #expect(config.server == ServerConfig(host: "0.0.0.0", port: 0))
        #expect(
            config.asyncDefaults
                == AsyncConfig(maximumRetryAttempts: 1, onFailure: "/srv/app/out/failures.jsonl"))
        #expect(config.functions.map(\.name) == ["zeta", "alpha"])

        var zeta = FunctionConfig(
            name: "zeta", command: ["python3", "-m", "awslambdaric", "app.handler"], codeUri: "/opt/code")
        zeta.handler = "app.handler"
        zeta.runtime = "python3.12"
        zeta.memorySize = 1769
        zeta.timeout = 900
        zeta.environment = [("B_KEY", "2"), ("A_KEY", "one"), ("EMPTY", ""), ("NUMBER", "42")]
        zeta.extensionsDir = "/srv/app/ext"
        zeta.passEnvironment = ["AWS_REGION_HINT", "AWS_*"]
        zeta.runtimeAPIAccess = .any
        zeta.reservedConcurrency = 5
        zeta.provisionedConcurrency = 5
        zeta.idleTimeout = 0.5
        zeta.maxLifetime = 7200
        zeta.freeze = .cgroup
        zeta.logFormat = .json
        zeta.version = "7"
        zeta.async = AsyncConfig(
            maximumRetryAttempts: 1, maximumEventAgeInSeconds: 60, onSuccess: "/var/log/ok.jsonl",
            onFailure: "/srv/app/out/failures.jsonl")
        #expect(config.functions.first == zeta)
        #expect(config.functions.last?.async == config.asyncDefaults)
        let passed = zeta.passedEnvironment(from: [("AWS_KEY", "k"), ("HOME", "/root"), ("AWS_REGION_HINT", "r")])
        #expect(passed.map(\.0) == ["AWS_KEY", "AWS_REGION_HINT"])
        #expect(config.functions.last?.passedEnvironment(from: [("HOME", "/root")]).isEmpty == true)

        #expect(config.functions[0].runtimeAPIAccess == .any && config.functions[1].runtimeAPIAccess == .sandbox)
    }

    /// codeUri, extensionsDir and destinations resolve against the file's directory; a relative executable
    /// resolves against codeUri; bare names and arguments are kept as written.
    @Test func relativePaths() throws {
        let config = try parseConfig(
            """
            functions:
              nested:
                command: [bin/../bin/run, ./not-resolved]
                codeUri: ./code/../functions/nested
                extensionsDir: ../shared/extensions
                async: {onSuccess: ./records/ok.jsonl, onFailure: /abs/fail.jsonl}
              absolute:
                command: [/usr/bin/env, bash]
                codeUri: /opt/absolute/
              bare:
                command: [python3, app.py]
            """)
        let nested = try #require(config.function(named: "nested"))
        #expect(nested.codeUri == "/srv/app/functions/nested")
        #expect(nested.command == ["/srv/app/functions/nested/bin/run", "./not-resolved"])
        #expect(nested.extensionsDir == "/srv/shared/extensions")
        #expect(nested.async.onSuccess == "/srv/app/records/ok.jsonl")
        #expect(nested.async.onFailure == "/abs/fail.jsonl")
        let absolute = try #require(config.function(named: "absolute"))
        #expect(absolute.codeUri == "/opt/absolute" && absolute.command == ["/usr/bin/env", "bash"])
        let bare = try #require(config.function(named: "bare"))
        #expect(bare.codeUri == "/srv/app" && bare.command == ["python3", "app.py"])
    }

    /// A relative base directory is made absolute against the current directory.
    @Test func relativeBaseDirectory() throws {
        let config = try ConfigLoader.parse("functions: {f: {command: [./run]}}", file: "x.yaml", baseDirectory: ".")
        let function = try #require(config.functions.first)
        #expect(function.codeUri.hasPrefix("/") && function.command[0] == function.codeUri + "/run")
    }

    /// The whole account may be reserved when it has 100 or less; above that 100 stays unreserved.
    @Test func reservedTotalAtTheLimit() throws {
        let small = try parseConfig(
            """
            account: {concurrency: 2}
            functions:
              a: {command: [x], reservedConcurrency: 1}
              b: {command: [x], reservedConcurrency: 1}
            """)
        #expect(small.functions.compactMap(\.reservedConcurrency) == [1, 1])
        let large = try parseConfig(
            """
            account: {concurrency: 1000}
            functions:
              a: {command: [x], reservedConcurrency: 900}
              b: {command: [x], reservedConcurrency: 0}
            """)
        #expect(large.functions.compactMap(\.reservedConcurrency) == [900, 0])
    }
}

@Suite struct MergeKeyTests {
    /// `<<: *anchor` copies another function's settings; keys given explicitly win, unknown ones still fail.
    @Test func mergeKeys() throws {
        let config = try parseConfig(
            """
            functions:
              a: &base
                command: [./bootstrap]
                memorySize: 256
                timeout: 10
              b:
                timeout: 20
                <<: *base
                handler: b.handler
            """)
        let b = try #require(config.function(named: "b"))
        #expect(b.command == ["/srv/app/bootstrap"] && b.memorySize == 256 && b.timeout == 20)
        #expect(b.handler == "b.handler")
        let error = try #require(
            configError(
                """
                functions:
                  a: &base {command: [x], memory: 1}
                  b: {<<: *base}
                """))
        #expect(error.keyPath == "functions.a.memory" && error.line == 2)
    }
}
