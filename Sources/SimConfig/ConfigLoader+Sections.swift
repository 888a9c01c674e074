extension ConfigLoader {
    /// The `account` section and its optional `scalingRate`.
    static func parseAccount(_ value: ConfigValue) throws(ConfigError) -> (AccountConfig, ScalingRate?) {
        let section = try value.mapping(allowedKeys: accountKeys)
        var account = AccountConfig()
        if let id = section["id"] {
            account.id = try id.string()
            guard ConfigLimits.isValidAccountID(account.id) else {
                throw id.error("id must be a 12-digit account id, got '\(account.id)'")
            }
        }
        if let region = section["region"] {
            account.region = try region.string()
            guard ConfigLimits.isValidRegion(account.region) else {
                throw region.error("region must be a region name such as us-east-1, got '\(account.region)'")
            }
        }
        if let concurrency = section["concurrency"] { account.concurrency = try concurrency.integer(atLeast: 1) }
        var scalingRate: ScalingRate?
        if let rate = section["scalingRate"] {
            let fields = try rate.mapping(allowedKeys: scalingRateKeys)
            scalingRate = ScalingRate(
                sandboxes: try fields.required("sandboxes").integer(atLeast: 1),
                perSeconds: try fields.required("perSeconds").number(greaterThan: 0))
        }
        return (account, scalingRate)
    }

    /// The `server` section.
    static func parseServer(_ value: ConfigValue) throws(ConfigError) -> ServerConfig {
        let section = try value.mapping(allowedKeys: serverKeys)
        var server = ServerConfig()
        if let host = section["host"] { server.host = try host.nonEmptyString() }
        if let port = section["port"] { server.port = try port.integer(in: ConfigLimits.port) }
        return server
    }

    /// An `async` (or `asyncDefaults`) section; absent fields keep `inherited`'s values.
    static func parseAsync(
        _ value: ConfigValue, inheriting inherited: AsyncConfig, baseDirectory: String
    ) throws(ConfigError) -> AsyncConfig {
        let section = try value.mapping(allowedKeys: asyncKeys)
        var config = inherited
        if let retries = section["maximumRetryAttempts"] {
            config.maximumRetryAttempts = try retries.integer(in: ConfigLimits.maximumRetryAttempts)
        }
        if let age = section["maximumEventAgeInSeconds"] {
            config.maximumEventAgeInSeconds = try age.integer(in: ConfigLimits.maximumEventAgeInSeconds)
        }
        if let path = section["onSuccess"] {
            config.onSuccess = ConfigPath.resolve(try path.nonEmptyString(), against: baseDirectory)
        }
        if let path = section["onFailure"] {
            config.onFailure = ConfigPath.resolve(try path.nonEmptyString(), against: baseDirectory)
        }
        return config
    }
}
