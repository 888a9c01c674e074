@testable import SimConfig

/// The file name test configurations report in errors.
let testFile = "test.yaml"
/// The directory test configurations live in.
let testDirectory = "/srv/app"

/// Parses `yaml` as if it were `/srv/app/test.yaml`, read by a simulator whose environment is `environment`.
func parseConfig(_ yaml: String, environment: [(String, String)] = []) throws(ConfigError) -> SimulatorConfig {
    try ConfigLoader.parse(yaml, file: testFile, baseDirectory: testDirectory, simulatorEnvironment: environment)
}

/// The error `yaml` is rejected with, or `nil` if it loads.
func configError(_ yaml: String) -> ConfigError? {
    do {
        _ = try parseConfig(yaml)
        return nil
    } catch {
        return error
    }
}
