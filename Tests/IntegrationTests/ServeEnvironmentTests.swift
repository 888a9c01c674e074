// What a `serve` function sees of the simulator's environment: its own variables and Lambda's, and of the
// caller's only what `passEnvironment` names (issue 12, finding 2). `run` keeps the emulator's pass-through.

import Foundation
import SimHTTP
import Testing

@Suite("serve environment", .serialized)
struct ServeEnvironmentTests {
    /// Starts `lambda-sim serve` on `config` with `extra` in its environment and returns it and its front port.
    private func serve(config: String, extra: [String: String]) async throws -> (BackgroundProcess, Int) {
        let directory = try makeTemporaryDirectory()
        let path = directory + "/serve.yaml"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let process = try await BackgroundProcess.start(
            [FreezePaths.lambdaSim, "serve", "--config", path, "--port", "0"],
            environment: TestPaths.environment(adding: extra))
        return (process, try await process.frontPort())
    }

    /// The value of `name` in the function's environment, as the fixture reports it (nil when unset).
    private func variable(_ name: String, function: String, port: Int) async throws -> String? {
        let response = try await HTTPClient.request(
            loop: ClientLoop.shared, host: "127.0.0.1", port: port,
            HTTPRequest(
                method: "POST", target: "/2015-03-31/functions/\(function)/invocations",
                body: Array("{\"env\":\"\(name)\"}".utf8)))
        #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        return object[name] as? String
    }

    /// Secrets, `HOME` and the caller's `PATH` stay with the simulator; Lambda's `PATH`, `LANG` and
    /// `LD_LIBRARY_PATH` and the configured variables reach the function; `passEnvironment` lets named variables
    /// and prefixes through; a command given by name is still found on the caller's `PATH`.
    @Test(.timeLimit(.minutes(1)))
    func onlyConfiguredAndPassedVariables() async throws {
        let binDirectory = TestPaths.binDirectory
        let config = """
            functions:
              closed:
                command: [lambda-sim-fixture]
                codeUri: /tmp
                environment:
                  GREETING: hello
              open:
                command: [lambda-sim-fixture]
                codeUri: /tmp
                passEnvironment: [PASSED_ONE, PREFIXED_*]
            """
        let extra = [
            "AWS_SECRET_ACCESS_KEY": "caller-secret", "PASSED_ONE": "one", "PREFIXED_TWO": "two",
            "PATH": binDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
        ]
        let (process, port) = try await serve(config: config, extra: extra)
        defer { process.signal(SIGTERM) }

        #expect(try await variable("AWS_SECRET_ACCESS_KEY", function: "closed", port: port) == nil)
        #expect(try await variable("HOME", function: "closed", port: port) == nil)
        #expect(try await variable("PASSED_ONE", function: "closed", port: port) == nil)
        #expect(try await variable("GREETING", function: "closed", port: port) == "hello")
        #expect(try await variable("PATH", function: "closed", port: port) == "/usr/local/bin:/usr/bin/:/bin:/opt/bin")
        #expect(try await variable("LANG", function: "closed", port: port) == "en_US.UTF-8")
        #expect(
            try await variable("LD_LIBRARY_PATH", function: "closed", port: port)
                == "/lib64:/usr/lib64:/tmp:/tmp/lib:/opt/lib")

        #expect(try await variable("PASSED_ONE", function: "open", port: port) == "one")
        #expect(try await variable("PREFIXED_TWO", function: "open", port: port) == "two")
        #expect(try await variable("AWS_SECRET_ACCESS_KEY", function: "open", port: port) == nil)

        process.signal(SIGTERM)
        #expect(try await process.waitForExit() != nil)
    }

    /// `run` passes the caller's environment through, as AWS's emulator does.
    @Test(.timeLimit(.minutes(1)))
    func runPassesTheCallersEnvironment() async throws {
        let process = try await BackgroundProcess.start(
            [FreezePaths.lambdaSim, "run", "--port", "0", "--", TestPaths.fixtureRuntime],
            environment: TestPaths.environment(adding: ["CALLER_ONLY": "kept"]))
        defer { process.signal(SIGTERM) }
        let port = try await process.frontPort()
        let response = try await HTTPClient.request(
            loop: ClientLoop.shared, host: "127.0.0.1", port: port,
            HTTPRequest(
                method: "POST", target: "/2015-03-31/functions/function/invocations",
                body: Array(#"{"env":"CALLER_ONLY"}"#.utf8)))
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"CALLER_ONLY":"kept"}"#)
    }

    /// The function gets Lambda's X-Ray daemon variables, pointing at a loopback UDP port of the simulator's, and
    /// datagrams sent there are read and thrown away (the socket's receive queue empties), the simulator unharmed.
    @Test(.timeLimit(.minutes(1)))
    func xrayDaemonVariablesPointAtADiscardingSocket() async throws {
        let config = """
            functions:
              traced:
                command: [\(TestPaths.fixtureRuntime)]
                codeUri: /tmp
            """
        let (process, port) = try await serve(config: config, extra: [:])
        defer { process.signal(SIGTERM) }

        let address = try #require(try await variable("AWS_XRAY_DAEMON_ADDRESS", function: "traced", port: port))
        let daemonPort = try #require(Int(address.dropFirst("127.0.0.1:".count)))
        #expect(address == "127.0.0.1:\(daemonPort)")
        #expect(try await variable("_AWS_XRAY_DAEMON_ADDRESS", function: "traced", port: port) == "127.0.0.1")
        #expect(try await variable("_AWS_XRAY_DAEMON_PORT", function: "traced", port: port) == String(daemonPort))
        #expect(try await variable("AWS_XRAY_CONTEXT_MISSING", function: "traced", port: port) == "LOG_ERROR")

        let segment = Array(#"{"format":"json","version":1}"#.utf8) + [10] + Array(repeating: 120, count: 2_000)
        for _ in 0..<200 { try sendDatagram(segment, port: daemonPort) }
        #expect(try udpReceiveQueue(port: daemonPort) != nil, "no UDP socket bound on 127.0.0.1:\(daemonPort)")
        #expect(try await eventually { try udpReceiveQueue(port: daemonPort) == 0 })
        #expect(try await variable("AWS_XRAY_DAEMON_ADDRESS", function: "traced", port: port) == address)

        process.signal(SIGTERM)
        #expect(try await process.waitForExit() != nil)
    }
}

/// Sends `bytes` as one UDP datagram to `127.0.0.1:port`.
private func sendDatagram(_ bytes: [UInt8], port: Int) throws {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let sent = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard sent == bytes.count else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
}

/// Bytes waiting in the receive queue of the UDP socket bound on `127.0.0.1:port` (`/proc/net/udp`), or nil when
/// no such socket exists.
private func udpReceiveQueue(port: Int) throws -> Int? {
    let table = try String(contentsOfFile: "/proc/net/udp", encoding: .utf8)
    let local = String(format: "0100007F:%04X", port)
    for line in table.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ")
        guard fields.count > 4, fields[1] == local else { continue }
        return Int(fields[4].split(separator: ":")[1], radix: 16)
    }
    return nil
}
