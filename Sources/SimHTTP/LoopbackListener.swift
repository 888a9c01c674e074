import SimUV

/// One listening socket for the Runtime APIs of every sandbox on a loop, each sandbox at its own loopback
/// address (`127.1.0.1`, `127.1.0.2`, …) and the same port.
///
/// Linux routes all of `127.0.0.0/8` to the loopback interface, so a socket bound to `0.0.0.0` and to the `lo`
/// device accepts connections to any of those addresses and to nothing else; the address a connection was made to
/// names the server that handles it. A sandbox then costs the simulator no listening descriptor and no port, and
/// its processes see an `AWS_LAMBDA_RUNTIME_API` of their own. Addresses are reused once released. Loop-confined.
package final class LoopbackListener {
    /// The port every address shares.
    package let port: Int
    private var listener: TCPServer?
    private var servers: [UInt32: Weak] = [:]
    private var free: [UInt32] = []
    private var next: UInt32 = LoopbackListener.firstAddress

    /// `127.1.0.1`: the first address handed out (127.0.0.0/16 is left to everything else).
    static let firstAddress: UInt32 = 0x7F01_0001
    /// `127.255.255.254`: the last.
    static let lastAddress: UInt32 = 0x7FFF_FFFE

    private final class Weak {
        weak var server: HTTPServer?
        init(_ server: HTTPServer) { self.server = server }
    }

    private init(loop: EventLoop) throws(UVError) {
        weak var weakSelf: LoopbackListener?
        let listener = try TCPServer(loop: loop, host: "0.0.0.0", port: 0, loopbackDevice: true) { connection in
            guard let owner = weakSelf else { return connection.close() }
            owner.route(connection)
        }
        self.listener = listener
        port = listener.port
        weakSelf = self
    }

    /// The listener of `loop`, created on first use. Loop thread only.
    package static func of(_ loop: EventLoop) throws(UVError) -> LoopbackListener {
        loop.assertInLoop()
        if let existing = loop.loopbackListener as? LoopbackListener { return existing }
        let created = try LoopbackListener(loop: loop)
        loop.loopbackListener = created
        return created
    }

    /// Gives `server` an address of its own; connections made to it go to `server` until `release`.
    func register(_ server: HTTPServer) -> UInt32? {
        let address: UInt32
        if let reused = free.popLast() {
            address = reused
        } else {
            guard next <= Self.lastAddress else { return nil }
            address = next
            next += 1
            // Skip .0 and .255 in the last byte.
            if next & 0xFF == 0xFF { next += 2 }
        }
        servers[address] = Weak(server)
        return address
    }

    /// Frees `address` for another server.
    func release(_ address: UInt32) {
        guard servers.removeValue(forKey: address) != nil else { return }
        free.append(address)
    }

    /// The shared listening socket, whose backlog may hold connections for any of the servers.
    var listeningSocket: TCPServer? { listener }

    private func route(_ connection: TCPConnection) {
        guard let address = connection.localIPv4, let server = servers[address]?.server else {
            connection.close()
            return
        }
        server.accepted(connection)
    }

    /// `127.a.b.c` of an address.
    static func text(_ address: UInt32) -> String {
        "\(address >> 24).\((address >> 16) & 0xFF).\((address >> 8) & 0xFF).\(address & 0xFF)"
    }
}
