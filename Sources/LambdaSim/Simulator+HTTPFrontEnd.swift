import SimServer

extension Simulator {
    /// Starts the HTTP front end (API Gateway routes and Function URLs of `options`) on `host:port` (0 for an
    /// ephemeral port) in front of this simulator's functions; it stops with the simulator.
    ///
    /// - Returns: the bound port.
    /// - Throws: when the port cannot be bound.
    @discardableResult
    public func startHTTPFrontEnd(_ options: HTTPFrontEndOptions, host: String = "127.0.0.1", port: Int = 3000)
        async throws -> Int
    {
        let urls = Dictionary(options.functionURLs.map { ($0.function, $0.streaming) }, uniquingKeysWith: { $1 })
        return try await attachFront { loop, pools in
            let front = try HTTPFrontEnd(
                loop: loop, host: host, port: port, routes: options.routes, functionURLs: urls, pools: pools)
            return (front.port, front.close)
        }
    }
}
