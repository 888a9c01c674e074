import Foundation
import Synchronization
import Testing

@testable import SimLoad

/// The open model's memory stays bounded when the target stops answering.
@Suite struct BacklogTests {
    /// A listener that completes connections in the kernel and never reads them: every invoke hangs until the
    /// client timeout.
    private func stalledListener(backlog: Int32 = 64) throws -> (fd: Int32, port: Int) {
        let socket = try LoopbackSocket(backlog: backlog)
        return (socket.fd, socket.port)
    }

    /// With every connection stalled, invokes due meanwhile wait in a backlog of at most its limit; the schedule
    /// pauses instead of growing it, and still starts every invoke it owes (all end as other errors).
    @Test(.timeLimit(.minutes(1))) func backlogIsCapped() async throws {
        let listener = try stalledListener()
        defer { close(listener.fd) }
        let plan = LoadPlan(
            model: .rate(400), stop: StopCondition(seconds: 0.1, requests: nil), payload: Array("{}".utf8),
            invocationType: "RequestResponse", clientTimeoutSeconds: 0.05)
        let generator = try LoadGenerator(
            plan: plan, endpoint: InvokeEndpoint(host: "127.0.0.1", port: listener.port, function: "fn"),
            askTail: false, maxConnections: 4, maxBacklog: 8)
        _ = await generator.run(progress: nil)
        let recorder = await generator.finishRecording()
        #expect(recorder.requests == 40)
        #expect(recorder.count(.otherError) == 40)
        #expect(generator.peakBacklog <= 8, "peak backlog \(generator.peakBacklog)")
    }

    /// A connect that hangs (the target's accept queue is full, so its SYNs are dropped) ends the invoke at the
    /// client timeout like an unanswered request: three invokes with a 100 ms timeout take well under a second,
    /// unsent, instead of waiting for TCP to give up.
    @Test(.timeLimit(.minutes(1))) func hangingConnectsTimeOut() async throws {
        let listener = try stalledListener(backlog: 0)
        defer { close(listener.fd) }
        // Fill the accept queue: further connects get no answer.
        var fillers: [Int32] = []
        defer { for fd in fillers { close(fd) } }
        for _ in 0..<4 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(listener.port).bigEndian
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            fillers.append(fd)
        }
        try await Task.sleep(for: .milliseconds(100))
        let plan = LoadPlan(
            model: .concurrency(1), stop: StopCondition(seconds: nil, requests: 3), payload: Array("{}".utf8),
            invocationType: "RequestResponse", clientTimeoutSeconds: 0.1)
        let generator = try LoadGenerator(
            plan: plan, endpoint: InvokeEndpoint(host: "127.0.0.1", port: listener.port, function: "fn"),
            askTail: false)
        let unsent = Mutex(0)
        generator.onAnswer = { answer in if answer.sentNanoseconds == nil { unsent.withLock { $0 += 1 } } }
        let started = ContinuousClock.now
        _ = await generator.run(progress: nil)
        let elapsed = ContinuousClock.now - started
        let recorder = await generator.finishRecording()
        #expect(recorder.requests == 3 && recorder.count(.otherError) == 3)
        #expect(unsent.withLock { $0 } == 3)
        #expect(elapsed < .milliseconds(900), "\(elapsed)")
    }
}
