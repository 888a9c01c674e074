import SimCore
import Synchronization
import Testing

@testable import SimUV

#if canImport(Glibc)
    import Glibc
#endif

/// Hands a loop-confined value across a Sendable boundary in tests.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

@Suite(.timeLimit(.minutes(1))) struct EventLoopTests {
    /// Work submitted from other threads runs on the loop thread, in order.
    @Test func submitRunsOnLoopInOrder() async throws {
        let loop = try EventLoop()
        let seen = Mutex<[Int]>([])
        for i in 0..<100 {
            loop.submit {
                precondition(loop.inLoop)
                seen.withLock { $0.append(i) }
            }
        }
        let onLoop = try await loop.run { loop.inLoop }
        #expect(onLoop)
        #expect(seen.withLock { $0 } == Array(0..<100))
        #expect(!loop.inLoop)
        await loop.shutdown()
    }

    /// A timer fires after its delay.
    @Test func timerFires() async throws {
        let loop = try EventLoop()
        let start = EventLoop.nanoseconds()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.submit { loop.schedule(afterMilliseconds: 20) { continuation.resume() } }
        }
        #expect(EventLoop.nanoseconds() - start >= 19_000_000)
        await loop.shutdown()
    }

    /// A child's output, exit status and its own process group are reported; a missing program is ENOENT.
    @Test func childProcess() async throws {
        let loop = try EventLoop()
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<(SimCore.ExitStatus, String, Bool), Never>) in
            loop.submit {
                let output = Box("")
                let spec = ProcessSpec(arguments: ["/bin/sh", "-c", "echo hi; echo err >&2; exit 7"], environment: [])
                let child = try! ChildProcess(loop: loop, spec: spec)
                let ownGroup = getpgid(child.pid) == child.pid
                child.onStdout = { output.value += String(decoding: $0, as: UTF8.self) }
                child.onExit = { status in
                    loop.schedule(afterMilliseconds: 20) {
                        continuation.resume(returning: (status, output.value, ownGroup))
                    }
                }
            }
        }
        #expect(result.0 == .exited(7))
        #expect(result.1 == "hi\n")
        #expect(result.2)
        let missing = try await loop.run { () -> Int32 in
            do {
                _ = try ChildProcess(loop: loop, spec: ProcessSpec(arguments: ["/nonexistent/x"], environment: []))
                return 0
            } catch {
                return (error as? UVError)?.code ?? 0
            }
        }
        #expect(missing == -2)
        await loop.shutdown()
    }

    /// Signalling the group kills children the process forked; the exit reads `signal: killed`.
    @Test func groupKill() async throws {
        let loop = try EventLoop()
        let status = await withCheckedContinuation { (continuation: CheckedContinuation<SimCore.ExitStatus, Never>) in
            loop.submit {
                let spec = ProcessSpec(arguments: ["/bin/sh", "-c", "sleep 30 & sleep 30"], environment: [])
                let child = try! ChildProcess(loop: loop, spec: spec)
                child.onExit = { continuation.resume(returning: $0) }
                loop.schedule(afterMilliseconds: 50) { child.signalGroup(SIGKILL) }
            }
        }
        #expect(status == .signaled(SIGKILL))
        #expect(status.description == "signal: killed")
        #expect(SimCore.ExitStatus.exited(1).description == "exit status 1")
        await loop.shutdown()
    }
}

@Suite(.timeLimit(.minutes(1))) struct UDPSinkTests {
    /// Datagrams sent to the sink's loopback port, an empty one among them, are each read and counted.
    @Test func discardsAndCountsDatagrams() async throws {
        let loop = try EventLoop()
        let sink = Box<UDPSink?>(nil)
        let port = try await loop.run { () throws -> Int in
            sink.value = try UDPSink(loop: loop)
            return sink.value!.port
        }
        #expect(port > 0)
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        for size in [0, 1, 1_000, 60_000] {
            let bytes = [UInt8](repeating: 7, count: size)
            let sent = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes, size, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            #expect(sent == size)
        }
        var discarded = 0
        for _ in 0..<200 where discarded < 4 {
            discarded = try await loop.run { sink.value!.discardedDatagrams }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(discarded == 4)
        try await loop.run { sink.value!.close() }
        await loop.shutdown()
    }
}
