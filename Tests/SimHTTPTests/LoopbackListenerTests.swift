import SimUV
import Testing

@testable import SimHTTP

/// Servers on one loop's shared `LoopbackListener`, each answering its own address.
private final class LoopbackServers: @unchecked Sendable {
    let loop: EventLoop
    var servers: [HTTPServer] = []

    init() throws { loop = try EventLoop() }

    /// Starts a server answering `name` to every request; returns its host and port.
    func start(answering name: String) async throws -> (host: String, port: Int) {
        try await loop.run {
            let server = try HTTPServer(loopbackOn: self.loop) { _, responder in
                responder.send(HTTPResponse(status: 200, body: Array(name.utf8)))
            }
            self.servers.append(server)
            return (server.host, server.port)
        }
    }

    func closeAll() async throws {
        try await loop.run {
            for server in self.servers { server.close() }
            self.servers = []
        }
    }

    func stop() async throws {
        try await closeAll()
        await loop.shutdown()
    }
}

@Suite struct LoopbackListenerTests {
    /// Two servers share one port at distinct 127.x addresses, and each connection reaches the server of the
    /// address it was made to.
    @Test(.timeLimit(.minutes(1)))
    func routesByAddress() async throws {
        let servers = try LoopbackServers()
        let first = try await servers.start(answering: "first")
        let second = try await servers.start(answering: "second")
        #expect(first.port == second.port)
        #expect(first.host != second.host)
        #expect(first.host.hasPrefix("127.") && !first.host.hasPrefix("127.0."))
        for (address, name) in [(first, "first"), (second, "second"), (first, "first")] {
            let response = try await HTTPClient.request(
                loop: servers.loop, host: address.host, port: address.port, HTTPRequest(method: "GET", target: "/"))
            #expect(response.bodyString == name)
        }
        try await servers.stop()
    }

    /// A connection to an address no server holds is closed at once; a released address is given out again.
    @Test(.timeLimit(.minutes(1)))
    func unknownAddressesAreClosedAndAddressesReused() async throws {
        let servers = try LoopbackServers()
        let first = try await servers.start(answering: "first")
        try await servers.closeAll()
        await #expect(throws: (any Error).self) {
            _ = try await HTTPClient.request(
                loop: servers.loop, host: first.host, port: first.port, HTTPRequest(method: "GET", target: "/"))
        }
        let again = try await servers.start(answering: "again")
        #expect(again.host == first.host)
        let response = try await HTTPClient.request(
            loop: servers.loop, host: again.host, port: again.port, HTTPRequest(method: "GET", target: "/"))
        #expect(response.bodyString == "again")
        try await servers.stop()
    }
}
