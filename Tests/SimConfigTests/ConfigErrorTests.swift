import Testing

@testable import SimConfig

@Suite struct ConfigErrorTests {
    /// Checks an error's file, key path, line and message.
    private func expectError(
        _ yaml: String, keyPath: String, line: Int, message: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error = configError(yaml) else {
            Issue.record("configuration loaded without error", sourceLocation: sourceLocation)
            return
        }
        #expect(error.file == testFile, sourceLocation: sourceLocation)
        #expect(error.keyPath == keyPath, sourceLocation: sourceLocation)
        #expect(error.line == line, sourceLocation: sourceLocation)
        #expect(error.message == message, sourceLocation: sourceLocation)
    }

    /// The description is `FILE:LINE: KEYPATH: MESSAGE`, without the key path when there is none.
    @Test func description() {
        let error = ConfigError(file: "a.yaml", keyPath: "functions.f.timeout", line: 4, message: "bad")
        #expect(error.description == "a.yaml:4: functions.f.timeout: bad")
        #expect(ConfigError(file: "a.yaml", keyPath: "", line: 2, message: "bad").description == "a.yaml:2: bad")
    }

    /// An unknown top-level key is named with its line and the keys that are allowed.
    @Test func unknownTopLevelKey() {
        expectError(
            """
            functions:
              f: {command: [x]}
            sever:
              port: 1
            """, keyPath: "sever", line: 3,
            message: "unknown key 'sever' (expected one of: account, server, functions, asyncDefaults)")
    }

    /// An unknown key inside a function is named with its full key path.
    @Test func unknownFunctionKey() {
        expectError(
            """
            functions:
              hello:
                command: [x]
                memory: 256
            """, keyPath: "functions.hello.memory", line: 4,
            message: "unknown key 'memory' (expected one of: "
                + ConfigLoader.functionKeys.joined(separator: ", ") + ")")
    }

    /// `perExecutionEnvironmentMaxConcurrency` must be 1...1,600 and rules out a freeze mode and the text log format;
    /// with it a function's freeze is none and its log format JSON.
    @Test func managedInstanceSettings() throws {
        expectError(
            """
            functions:
              mi:
                command: [x]
                perExecutionEnvironmentMaxConcurrency: 1601
            """, keyPath: "functions.mi.perExecutionEnvironmentMaxConcurrency", line: 4,
            message: "perExecutionEnvironmentMaxConcurrency must be between 1 and 1600, got 1601")
        expectError(
            """
            functions:
              mi:
                command: [x]
                freeze: cgroup
                perExecutionEnvironmentMaxConcurrency: 8
            """, keyPath: "functions.mi.freeze", line: 4,
            message: "freeze does not apply to a function with perExecutionEnvironmentMaxConcurrency: managed"
                + " instances are never frozen (remove it or set none)")
        expectError(
            """
            functions:
              mi:
                command: [x]
                logFormat: text
                perExecutionEnvironmentMaxConcurrency: 8
            """, keyPath: "functions.mi.logFormat", line: 4,
            message: "logFormat must be json for a function with perExecutionEnvironmentMaxConcurrency: managed"
                + " instances log only JSON (remove it or set json)")
        let config = try parseConfig(
            """
            functions:
              mi:
                command: [x]
                perExecutionEnvironmentMaxConcurrency: 8
              classic:
                command: [x]
            """)
        let managed = try #require(config.functions.first { $0.name == "mi" })
        #expect(managed.environmentMaxConcurrency == 8 && managed.freezeMode == .none)
        #expect(managed.logFormat == .json)
        let classic = try #require(config.functions.first { $0.name == "classic" })
        #expect(classic.environmentMaxConcurrency == nil && classic.logFormat == .text)
    }

    /// An unknown key in a nested section (async) is rejected too.
    @Test func unknownNestedKey() {
        expectError(
            """
            functions:
              hello:
                command: [x]
                async:
                  retries: 1
            """, keyPath: "functions.hello.async.retries", line: 5,
            message: "unknown key 'retries' (expected one of: " + ConfigLoader.asyncKeys.joined(separator: ", ") + ")")
    }

    /// A quoted or textual number where an integer belongs is a type error.
    @Test func wrongType() {
        expectError(
            """
            functions:
              hello:
                command: [x]
                memorySize: "256"
            """, keyPath: "functions.hello.memorySize", line: 4, message: "memorySize must be an integer, got '256'")
        expectError(
            """
            functions:
              hello:
                command: ./bootstrap
            """, keyPath: "functions.hello.command", line: 3,
            message: "command must be a list of strings, got './bootstrap'")
        expectError(
            "server: {port: [1]}\nfunctions: {f: {command: [x]}}", keyPath: "server.port", line: 1,
            message: "port must be an integer, got a list")
    }

    /// memorySize outside 128...10240 is rejected with the value found.
    @Test func memorySizeOutOfRange() {
        expectError(
            """
            functions:
              hello:
                command: [x]
                memorySize: 64
            """, keyPath: "functions.hello.memorySize", line: 4,
            message: "memorySize must be between 128 and 10240, got 64")
    }

    /// timeout outside 1...900 is rejected.
    @Test func timeoutOutOfRange() {
        expectError(
            """
            functions:
              hello:
                command: [x]
                timeout: 901
            """, keyPath: "functions.hello.timeout", line: 4, message: "timeout must be between 1 and 900, got 901")
    }

    /// reservedConcurrency above the account concurrency is rejected.
    @Test func reservedConcurrencyOutOfRange() {
        expectError(
            """
            account:
              concurrency: 50
            functions:
              hello:
                command: [x]
                reservedConcurrency: 51
            """, keyPath: "functions.hello.reservedConcurrency", line: 6,
            message: "reservedConcurrency must be between 0 and 50, got 51")
    }

    /// A negative provisionedConcurrency is rejected.
    @Test func provisionedConcurrencyOutOfRange() {
        expectError(
            """
            functions:
              hello:
                command: [x]
                provisionedConcurrency: -1
            """, keyPath: "functions.hello.provisionedConcurrency", line: 4,
            message: "provisionedConcurrency must be between 0 and 1000, got -1")
    }

    /// Provisioned concurrency may not exceed the function's reservation.
    @Test func provisionedAboveReserved() {
        expectError(
            """
            functions:
              hello:
                command: [x]
                provisionedConcurrency: 3
                reservedConcurrency: 2
            """, keyPath: "functions.hello.provisionedConcurrency", line: 4,
            message: "provisionedConcurrency (3) must not exceed reservedConcurrency (2)")
    }

    /// Reservations that leave less than 100 unreserved are rejected at the one crossing the limit.
    @Test func reservedTotalAboveAccountMinusHundred() {
        expectError(
            """
            functions:
              a:
                command: [x]
                reservedConcurrency: 600
              b:
                command: [x]
                reservedConcurrency: 301
            """, keyPath: "functions.b.reservedConcurrency", line: 7,
            message: "reserved concurrency of all functions reaches 901, more than 900"
                + " (account concurrency 1000 minus the unreserved minimum of 100)")
    }

    /// In an account of 100 or less, reservations may not exceed the account concurrency.
    @Test func reservedTotalAboveSmallAccount() {
        expectError(
            """
            account: {concurrency: 2}
            functions:
              a: {command: [x], reservedConcurrency: 2}
              b: {command: [x], reservedConcurrency: 1}
            """, keyPath: "functions.b.reservedConcurrency", line: 4,
            message: "reserved concurrency of all functions reaches 3, more than 2 (the account concurrency)")
    }

    /// Lambda's reserved environment variables cannot be configured.
    @Test func reservedEnvironmentKey() {
        expectError(
            """
            functions:
              hello:
                command: [x]
                environment:
                  MODE: test
                  AWS_REGION: eu-west-1
            """, keyPath: "functions.hello.environment.AWS_REGION", line: 6,
            message: "AWS_REGION is a reserved Lambda environment variable")
        expectError(
            "functions:\n  f:\n    command: [x]\n    environment: {_HANDLER: x}",
            keyPath: "functions.f.environment._HANDLER", line: 4,
            message: "_HANDLER is a reserved Lambda environment variable")
    }

    /// Environment keys must start with a letter and use only letters, digits and underscores.
    @Test(arguments: ["1ABC", "A", "MY-KEY", "ÉTÉ"])
    func badEnvironmentKey(key: String) {
        expectError(
            """
            functions:
              hello:
                command: [x]
                environment:
                  "\(key)": value
            """, keyPath: "functions.hello.environment.\(key)", line: 5,
            message: "environment variable name '\(key)' must start with a letter and have at least 2 letters,"
                + " digits or underscores")
    }

    /// A `passEnvironment` entry must be a variable name or a prefix ending in `*`.
    @Test(arguments: ["1ABC", "MY-KEY", "*", "A*B"])
    func badPassEnvironmentEntry(entry: String) {
        expectError(
            """
            functions:
              hello:
                command: [x]
                passEnvironment: [OK, "\(entry)"]
            """, keyPath: "functions.hello.passEnvironment", line: 4,
            message: "passEnvironment entry '\(entry)' must be a variable name or a prefix ending in '*' (AWS_*)")
    }

    /// Environment variables over 4 KB in total are rejected at the environment key.
    @Test func environmentTooLarge() {
        let value = String(repeating: "v", count: 2048)
        expectError(
            """
            functions:
              hello:
                command: [x]
                environment:
                  FIRST: \(value)
                  SECOND: \(value)
            """, keyPath: "functions.hello.environment", line: 4,
            message: "environment variables total 4107 bytes, more than Lambda's 4 KB (4096)")
    }

    /// Function names follow Lambda's rule: 1 to 64 letters, digits, hyphens or underscores.
    @Test(arguments: ["has space", "dot.name", String(repeating: "n", count: 65)])
    func badFunctionName(name: String) {
        expectError(
            """
            functions:
              ok: {command: [x]}
              "\(name)":
                command: [x]
            """, keyPath: "functions.\(name)", line: 3,
            message: "function name '\(name)' must be 1 to 64 letters, digits, hyphens or underscores")
    }

    /// A function without a command, or with an empty one, is rejected.
    @Test func missingCommand() {
        expectError(
            """
            functions:
              hello:
                handler: app.handler
            """, keyPath: "functions.hello.command", line: 2, message: "command is required")
        expectError(
            "functions:\n  hello:\n    command: []", keyPath: "functions.hello.command", line: 3,
            message: "command must not be empty")
    }

    /// A file without functions, or with an empty functions mapping, is rejected.
    @Test func missingFunctions() {
        expectError("server: {port: 1}", keyPath: "functions", line: 1, message: "functions is required")
        expectError(
            "functions: {}", keyPath: "functions", line: 1, message: "functions must define at least one function")
        expectError("", keyPath: "functions", line: 1, message: "the configuration is empty")
    }

    /// Other scalar rules: enums, account id, region, port, numbers, versions, async ranges.
    @Test func otherValues() {
        let head = "functions:\n  f:\n    command: [x]\n"
        expectError(
            head + "    freeze: sigstop", keyPath: "functions.f.freeze", line: 4,
            message: "freeze must be one of none, signal, cgroup, got 'sigstop'")
        expectError(
            head + "    logFormat: JSON", keyPath: "functions.f.logFormat", line: 4,
            message: "logFormat must be one of text, json, got 'JSON'")
        expectError(
            head + "    idleTimeout: 0", keyPath: "functions.f.idleTimeout", line: 4,
            message: "idleTimeout must be greater than 0, got 0")
        expectError(
            head + "    version: latest", keyPath: "functions.f.version", line: 4,
            message: "version must be $LATEST or a version number, got 'latest'")
        expectError(
            head + "    async: {maximumRetryAttempts: 3}", keyPath: "functions.f.async.maximumRetryAttempts", line: 4,
            message: "maximumRetryAttempts must be between 0 and 2, got 3")
        expectError(
            head + "    async: {maximumEventAgeInSeconds: 59}", keyPath: "functions.f.async.maximumEventAgeInSeconds",
            line: 4, message: "maximumEventAgeInSeconds must be between 60 and 21600, got 59")
        expectError(
            "account: {id: 1234}\n" + head, keyPath: "account.id", line: 1,
            message: "id must be a 12-digit account id, got '1234'")
        expectError(
            "account: {region: USEast}\n" + head, keyPath: "account.region", line: 1,
            message: "region must be a region name such as us-east-1, got 'USEast'")
        expectError(
            "account: {concurrency: 0}\n" + head, keyPath: "account.concurrency", line: 1,
            message: "concurrency must be at least 1, got 0")
        expectError(
            "account: {scalingRate: {sandboxes: 10}}\n" + head, keyPath: "account.scalingRate.perSeconds", line: 1,
            message: "perSeconds is required")
        expectError(
            "server: {port: 65536}\n" + head, keyPath: "server.port", line: 1,
            message: "port must be between 0 and 65535, got 65536")
    }

    /// A YAML syntax error is reported at the line libyaml points to, without a key path.
    @Test func yamlSyntaxError() throws {
        let error = try #require(
            configError(
                """
                functions:
                  hello:
                    command: [x
                    timeout: 3
                """))
        #expect(error.file == testFile && error.keyPath.isEmpty)
        #expect(error.line == 4)
        #expect(error.message.hasPrefix("invalid YAML: "))
        let tab = try #require(configError("functions:\n  f: {command: [x]}\n\tbad: 1"))
        #expect(tab.line == 3 && tab.message.hasPrefix("invalid YAML: "))
    }

    /// A function defined twice is reported at the repetition, naming the first definition.
    /// A duplicated key in a file whose lines end in CR alone (libyaml counts them, "\n" splitting does not) is
    /// reported, not a crash (found by the fuzzer).
    @Test func duplicateKeyWithCarriageReturns() {
        let error = configError("account:\r  id: \"123456789012\"\r  region: eu-west-1\r  region: us-east-1\r")
        #expect(error?.message.hasPrefix("duplicate key 'region'") == true, "\(String(describing: error))")
    }

    @Test func duplicateFunctionName() {
        expectError(
            """
            functions:
              hello:
                command: [x]
              hello:
                command: [y]
            """, keyPath: "", line: 4, message: "duplicate key 'hello' (first defined at line 2)")
    }

    /// A file that cannot be read is reported at line 0.
    @Test func unreadableFile() {
        #expect(
            throws: ConfigError(
                file: "/nonexistent/x.yaml", keyPath: "", line: 0, message: "no such configuration file")
        ) {
            try ConfigLoader.load(path: "/nonexistent/x.yaml")
        }
    }
}
