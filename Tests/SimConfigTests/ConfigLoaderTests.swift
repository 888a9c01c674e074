import SimCore
import SimDomain
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
        var expected = FunctionSpec(name: "hello", command: ["/srv/app/bootstrap"], codeDirectory: "/srv/app")
        expected.memorySizeMB = 128
        expected.timeoutSeconds = 3
        expected.idleTimeoutSeconds = 600
        expected.freezeMode = .signal
        expected.logFormat = .text
        expected.version = "$LATEST"
        expected.streamingBytesPerSecond = 2 * 1024 * 1024
        expected.maximumRetryAttempts = 2
        expected.maximumEventAgeSeconds = 21_600
        #expect(config.functions == [expected])
        let function = try #require(config.functions.first)
        #expect(function.handler == nil && function.runtime == nil && function.environment.isEmpty)
        #expect(function.extensionsDirectory == nil && function.maxLifetimeSeconds == nil)
        #expect(function.reservedConcurrency == nil && function.provisionedConcurrency == 0)
        #expect(function.inheritedEnvironment.isEmpty)
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
            """, environment: [("AWS_KEY", "k"), ("HOME", "/root"), ("AWS_REGION_HINT", "r")])
        #expect(config.account == AccountConfig(id: "210987654321", region: "eu-west-1", concurrency: 500))
        #expect(config.account.concurrency == 500)
        #expect(config.scalingRate == ScalingRate(sandboxes: 20, perSeconds: 2.5))
        #expect(config.server == ServerConfig(host: "0.0.0.0", port: 0))
        #expect(
            config.asyncDefaults
                == AsyncConfig(maximumRetryAttempts: 1, onFailure: "/srv/app/out/failures.jsonl"))
        #expect(config.functions.map(\.name) == ["zeta", "alpha"])

        var zeta = FunctionSpec(
            name: "zeta", command: ["python3", "-m", "awslambdaric", "app.handler"], codeDirectory: "/opt/code",
            region: "eu-west-1", accountID: "210987654321")
        zeta.handler = "app.handler"
        zeta.runtime = "python3.12"
        zeta.memorySizeMB = 1769
        zeta.timeoutSeconds = 900
        zeta.environment = [("B_KEY", "2"), ("A_KEY", "one"), ("EMPTY", ""), ("NUMBER", "42")]
        zeta.extensionsDirectory = "/srv/app/ext"
        zeta.inheritedEnvironment = [("AWS_KEY", "k"), ("AWS_REGION_HINT", "r")]
        zeta.runtimeAPIAccess = .any
        zeta.reservedConcurrency = 5
        zeta.provisionedConcurrency = 5
        zeta.idleTimeoutSeconds = 0.5
        zeta.maxLifetimeSeconds = 7200
        zeta.freezeMode = .cgroup
        zeta.logFormat = .json
        zeta.version = "7"
        zeta.streamingBytesPerSecond = 2 * 1024 * 1024
        zeta.maximumRetryAttempts = 1
        zeta.maximumEventAgeSeconds = 60
        zeta.onSuccessDestination = "/var/log/ok.jsonl"
        zeta.onFailureDestination = "/srv/app/out/failures.jsonl"
        #expect(config.functions.first == zeta)
        let alpha = try #require(config.functions.last)
        #expect(alpha.maximumRetryAttempts == 1 && alpha.maximumEventAgeSeconds == 21_600)
        #expect(alpha.onSuccessDestination == nil && alpha.onFailureDestination == "/srv/app/out/failures.jsonl")
        #expect(alpha.inheritedEnvironment.isEmpty)

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
        #expect(nested.codeDirectory == "/srv/app/functions/nested")
        #expect(nested.command == ["/srv/app/functions/nested/bin/run", "./not-resolved"])
        #expect(nested.extensionsDirectory == "/srv/shared/extensions")
        #expect(nested.onSuccessDestination == "/srv/app/records/ok.jsonl")
        #expect(nested.onFailureDestination == "/abs/fail.jsonl")
        let absolute = try #require(config.function(named: "absolute"))
        #expect(absolute.codeDirectory == "/opt/absolute" && absolute.command == ["/usr/bin/env", "bash"])
        let bare = try #require(config.function(named: "bare"))
        #expect(bare.codeDirectory == "/srv/app" && bare.command == ["python3", "app.py"])
    }

    /// A relative base directory is made absolute against the current directory.
    @Test func relativeBaseDirectory() throws {
        let config = try ConfigLoader.parse("functions: {f: {command: [./run]}}", file: "x.yaml", baseDirectory: ".")
        let function = try #require(config.functions.first)
        #expect(function.codeDirectory.hasPrefix("/") && function.command[0] == function.codeDirectory + "/run")
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
        #expect(b.command == ["/srv/app/bootstrap"] && b.memorySizeMB == 256 && b.timeoutSeconds == 20)
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
