import Foundation
import Testing

@testable import SimLoad

/// The open model sleeps to its due times and takes the answers that came meanwhile in the same wake, timing each
/// answer by when it arrived rather than when it was read.
@Suite struct PacedOpenModelTests {
    /// An HTTP server that answers every request exactly `delay` after it has read it: a thread per connection
    /// (the generator sends one request at a time on a connection), blocking reads, a precise sleep, one write.
    private final class DelayedServer: Sendable {
        let port: Int
        private let listener: Int32
        private let delay: UInt64

        init(delayNanoseconds: UInt64) throws {
            delay = delayNanoseconds
            let socket = try LoopbackSocket()
            listener = socket.fd
            port = socket.port
            Thread.detachNewThread { [self] in acceptConnections() }
        }

        /// Stops accepting; each connection's thread ends when the generator closes its end.
        func shutdown() {
            Glibc.shutdown(listener, Int32(SHUT_RDWR))
        }

        private func acceptConnections() {
            while true {
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { break }
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                Thread.detachNewThread { [self] in answer(fd) }
            }
            close(listener)
        }

        private func answer(_ fd: Int32) {
            defer { close(fd) }
            let reply = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".utf8)
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                guard count > 0 else { return }
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)
                pending += buffer[..<count]
                while let end = Self.requestEnd(in: pending) {
                    pending.removeFirst(end)
                    let at = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec) + delay
                    var until = timespec(tv_sec: Int(at / 1_000_000_000), tv_nsec: Int(at % 1_000_000_000))
                    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nil)
                    _ = reply.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                }
            }
        }

        /// The length of the first whole request (head and `Content-Length` body) in `bytes`, if there is one.
        private static func requestEnd(in bytes: [UInt8]) -> Int? {
            let separator = Array("\r\n\r\n".utf8)
            guard bytes.count >= 4,
                let head = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<($0 + 4)]) == separator })
            else { return nil }
            let text = String(decoding: bytes[..<head], as: UTF8.self).lowercased()
            let length =
                text.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            let end = head + 4 + length
            return bytes.count >= end ? end : nil
        }
    }

    /// At 500 invokes/s against a server that answers 3 ms after each request, answers arrive 1 ms before the next
    /// invoke is due: the generator takes them when it wakes for that invoke (about one wake per invoke, where
    /// waking for each due time and each answer took two) and still times them by their arrival (p50 about 3 ms,
    /// not the 4 ms at which they are read).
    @Test(.timeLimit(.minutes(1))) func answersShareWakesAndKeepTheirArrivalTime() async throws {
        let server = try DelayedServer(delayNanoseconds: 3_000_000)
        defer { server.shutdown() }
        let plan = LoadPlan(
            model: .rate(500), stop: StopCondition(seconds: 0.8, requests: nil), payload: Array("{}".utf8),
            invocationType: "RequestResponse", clientTimeoutSeconds: 5)
        let generator = try LoadGenerator(
            plan: plan, endpoint: InvokeEndpoint(host: "127.0.0.1", port: server.port, function: "fn"),
            askTail: false)
        _ = await generator.run(progress: nil)
        let recorder = await generator.finishRecording()
        #expect(recorder.requests == 400)
        #expect(recorder.count(.succeeded) == 400)
        let p50 = Double(recorder.all.percentile(0.5)) / 1e6
        #expect(p50 >= 3.0 && p50 < 3.6, "p50 \(p50) ms")
        let wakes = try #require(recorder.generatorWakes)
        #expect(wakes > 0 && Double(wakes) < 1.4 * 400, "\(wakes) wakes for 400 invokes")
    }
}
