import CLibUV
import SimCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Reaps the simulator's exited children, each in O(1), for every loop of the process.
///
/// Every `ChildProcess` is registered by pid. Each loop that started children watches `SIGCHLD`; when it
/// arrives, the watcher asks the kernel which child has exited without reaping it (`waitid` with `WNOWAIT`),
/// reaps that pid if it is registered and hands its status to the loop that owns it, and asks again. A zombie
/// that is not registered belongs to other code in the process (it reaps its own children); the watcher then
/// checks its own children one by one instead, which costs O(children) but only while such a zombie waits.
/// Stops and continues raise no `SIGCHLD` (`SA_NOCLDSTOP`), so freezing children costs no wake-up.
package final class ChildReaper {
    /// A registered child and the loop its exit is reported on.
    private struct Registration: @unchecked Sendable {
        // SAFETY: `process` is touched only on `loop`'s thread; the registry only stores and hands it back.
        let loop: EventLoop
        let process: ChildProcess
    }

    /// Every live child of the process, by pid. Held across a spawn, so a child is registered before any
    /// watcher can see it exit.
    private static let registry = Mutex<[pid_t: Registration]>([:])
    private let loop: EventLoop
    private var watcher: SignalWatcher?

    private init(loop: EventLoop) throws(UVError) {
        self.loop = loop
        // Reserve the spawn slots while few descriptors are open (see `clibuv_spawn`).
        ChildProcess.reserveSpawnSlots()
        watcher = try SignalWatcher(loop: loop, signal: SIGCHLD) { [unowned self] _ in reapExited() }
        clibuv_sigchld_exits_only()
    }

    /// The reaper of `loop`, created on first use. Loop thread only.
    static func watch(_ loop: EventLoop) throws(UVError) -> ChildReaper {
        loop.assertInLoop()
        if let existing = loop.childReaper as? ChildReaper { return existing }
        let created = try ChildReaper(loop: loop)
        loop.childReaper = created
        return created
    }

    /// Runs `start`, which spawns a child and returns its pid (or a negative errno), and registers `process`
    /// under that pid; returns what `start` returned.
    func spawn(_ process: ChildProcess, _ start: () -> Int32) -> Int32 {
        let pid = Self.registry.withLock { table -> Int32 in
            let pid = start()
            if pid > 0 { table[pid] = Registration(loop: loop, process: process) }
            return pid
        }
        return pid
    }

    /// Reaps every registered child that has exited.
    private func reapExited() {
        while true {
            let pid = clibuv_peek_exited_child()
            guard pid > 0 else { return }
            if !Self.reap(pid) {
                // Another part of the process owns that zombie: look at this loop's children one by one.
                reapEach()
                return
            }
        }
    }

    /// Reaps `pid` if it is registered and reports its exit to its loop. False for a pid that is not registered
    /// and still waits to be reaped (someone else's child).
    private static func reap(_ pid: pid_t) -> Bool {
        let reaped = registry.withLock { table -> (Registration, Int32)? in
            guard let registration = table[pid] else { return nil }
            var status: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &status, WNOHANG) } while result == -1 && errno == EINTR
            guard result == pid else { return nil }
            table[pid] = nil
            return (registration, status)
        }
        guard let (registration, status) = reaped else {
            // Not registered: perhaps another loop just reaped it.
            return clibuv_child_exited(pid) == 0
        }
        let low = status & 0x7F
        let exit: ExitStatus = low == 0 ? .exited((status >> 8) & 0xFF) : .signaled(low)
        if registration.loop.inLoop {
            registration.process.exited(status: exit)
        } else {
            registration.loop.submit { registration.process.exited(status: exit) }
        }
        return true
    }

    /// Checks each child registered by this loop.
    private func reapEach() {
        let mine = Self.registry.withLock { table in table.filter { $0.value.loop === loop }.map(\.key) }
        for pid in mine where clibuv_child_exited(pid) != 0 { _ = Self.reap(pid) }
    }
}
