import Testing

@testable import SimDomain

@Suite struct FunctionSpecTests {
    private let base = FunctionSpec(name: "fn", command: ["/bin/true"], codeDirectory: "/tmp")

    /// Specs that differ only in the environment inherited from the caller are different functions.
    @Test func inheritedEnvironmentTakesPartInEquality() {
        var other = base
        other.inheritedEnvironment = [("PATH", "/usr/bin")]
        #expect(other != base)
        other.inheritedEnvironment = []
        #expect(other == base)
    }

    /// Specs that differ only in the init timeout are different functions.
    @Test func initTimeoutTakesPartInEquality() {
        var other = base
        other.initTimeoutMilliseconds = 20_000
        #expect(other != base)
    }

    /// Customer variables compare by name, value and order.
    @Test func environmentComparesInOrder() {
        var one = base
        var two = base
        one.environment = [("A_KEY", "1"), ("B_KEY", "2")]
        two.environment = [("B_KEY", "2"), ("A_KEY", "1")]
        #expect(one != two)
        two.environment = [("A_KEY", "1"), ("B_KEY", "2")]
        #expect(one == two)
        two.environment = [("A_KEY", "1"), ("B_KEY", "3")]
        #expect(one != two)
    }

    /// An attached runtime is never frozen and its API is open; a managed instance is never frozen and logs JSON;
    /// a classic function runs as given.
    @Test func asRunDecidesWhatTheUserCannot() {
        var classic = base
        classic.freezeMode = .cgroup
        classic.logFormat = .text
        #expect(classic.asRun == classic)
        var attached = classic
        attached.command = []
        #expect(attached.asRun.freezeMode == .none && attached.asRun.runtimeAPIAccess == .any)
        #expect(attached.asRun.logFormat == .text)
        var managed = classic
        managed.environmentMaxConcurrency = 4
        #expect(managed.asRun.freezeMode == .none && managed.asRun.logFormat == .json)
        #expect(managed.asRun.runtimeAPIAccess == .sandbox)
    }

    /// The serve-only settings are named, in order, when a function has one.
    @Test func serveOnlySettings() {
        #expect(base.serveOnlySetting == nil)
        var function = base
        function.maxLifetimeSeconds = 60
        #expect(function.serveOnlySetting == "function 'fn': maxLifetimeSeconds")
        function.provisionedConcurrency = 1
        #expect(function.serveOnlySetting == "function 'fn': provisionedConcurrency")
    }

    /// A variable given twice reads as its last value, and iteration keeps the given order.
    @Test func environmentLastValueWins() {
        var variables: EnvironmentVariables = [("A_KEY", "1"), ("B_KEY", "2")]
        variables.append("A_KEY", "3")
        #expect(variables["A_KEY"] == "3" && variables["C_KEY"] == nil)
        #expect(variables.map(\.0) == ["A_KEY", "B_KEY", "A_KEY"] && variables.count == 3)
    }
}
