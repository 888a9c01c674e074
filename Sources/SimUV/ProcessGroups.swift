#if canImport(Glibc)
    import Glibc
#endif

/// Every live process group the simulator started, so that even a crashing simulator thaws and kills them.
///
/// The table is a fixed C array written on the loop thread and read by a fatal-signal handler, which may
/// only make async-signal-safe calls (`kill`). Slots hold a pgid or 0.
package enum ProcessGroups {
    private static let capacity = 65_536
    // SAFETY: written only on the loop thread; the fatal-signal handler reads it while the process dies.
    nonisolated(unsafe) private static let table: UnsafeMutablePointer<Int32> = {
        let table = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        table.initialize(repeating: 0, count: capacity)
        return table
    }()
    nonisolated(unsafe) private static var highWater = 0

    /// Records a group the simulator owns.
    package static func register(_ pgid: Int32) {
        for i in 0..<capacity where table[i] == 0 {
            table[i] = pgid
            highWater = max(highWater, i + 1)
            return
        }
    }

    /// Forgets a group once it is dead.
    package static func unregister(_ pgid: Int32) {
        for i in 0..<highWater where table[i] == pgid { table[i] = 0 }
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
