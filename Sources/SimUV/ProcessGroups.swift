import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Every live process group the simulator started, so that even a crashing simulator thaws and kills them.
///
/// The table is a fixed C array read by a fatal-signal handler, which may only make async-signal-safe calls
/// (`kill`). Slots hold a pgid or 0. Writers (any loop thread) hold `slots`, which finds a free slot and a group's
/// slot in O(1), so registering stays cheap with 10,000 sandboxes.
package enum ProcessGroups {
    private static let capacity = 65_536
    // SAFETY: written only under `slots`; the fatal-signal handler reads it while the process dies.
    nonisolated(unsafe) private static let table: UnsafeMutablePointer<Int32> = {
        let table = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        table.initialize(repeating: 0, count: capacity)
        return table
    }()
    // SAFETY: written only under `slots`; read by the fatal-signal handler.
    nonisolated(unsafe) private static var highWater = 0
    /// The slot of each registered group, and the slots below `highWater` that are free again.
    private static let slots = Mutex<(byGroup: [Int32: Int], free: [Int])>(([:], []))

    /// Records a group the simulator owns.
    package static func register(_ pgid: Int32) {
        slots.withLock { slots in
            guard slots.byGroup[pgid] == nil else { return }
            let slot: Int
            if let reused = slots.free.popLast() {
                slot = reused
            } else {
                guard highWater < capacity else { return }
                slot = highWater
                highWater += 1
            }
            table[slot] = pgid
            slots.byGroup[pgid] = slot
        }
    }

    /// Forgets a group once it is dead.
    package static func unregister(_ pgid: Int32) {
        slots.withLock { slots in
            guard let slot = slots.byGroup.removeValue(forKey: pgid) else { return }
            table[slot] = 0
            slots.free.append(slot)
        }
    }

    /// SIGCONT then SIGKILL to every registered group. Async-signal-safe.
    package static func killAll() {
        for i in 0..<highWater where table[i] > 0 {
            kill(-table[i], SIGCONT)
            kill(-table[i], SIGKILL)
        }
    }

    /// The handlers that were installed before ours (the Swift runtime's backtracer, say), restored before
    /// the signal is raised again.
    nonisolated(unsafe) private static let previous: UnsafeMutablePointer<sigaction> = {
        let table = UnsafeMutablePointer<sigaction>.allocate(capacity: 32)
        table.initialize(repeating: sigaction(), count: 32)
        return table
    }()
    private static let fatalSignals = [SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE, SIGTRAP]

    /// Installs handlers for the signals a crashing process dies of: they kill every registered group, then
    /// restore the previous handler and raise the signal again, so nothing is left frozen or orphaned.
    package static func installFatalSignalHandlers() {
        for number in fatalSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                ProcessGroups.killAll()
                sigaction(number, ProcessGroups.previous + Int(number), nil)
                raise(number)
            }
            action.sa_flags = Int32(bitPattern: UInt32(SA_NODEFER))
            sigaction(number, &action, previous + Int(number))
        }
    }
}
