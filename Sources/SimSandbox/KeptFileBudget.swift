import Synchronization

/// How many descriptors one kind of kept-open file may hold across the whole simulator (the `/proc` files of
/// `ProcessTree`, the cgroup freezer's files of `SandboxCgroup`), so that thousands of sandboxes do not spend their
/// descriptors on them: beyond the limit each access opens and closes its own. Safe from any thread.
final class KeptFileBudget: Sendable {
    /// Most files kept open at once.
    let limit: Int
    private let kept = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Takes room for `count` more files; false (and nothing taken) when that would pass the limit.
    func take(_ count: Int) -> Bool {
        guard kept.add(count, ordering: .relaxed).newValue <= limit else {
            kept.subtract(count, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Gives back room taken for `count` files.
    func give(_ count: Int) {
        kept.subtract(count, ordering: .relaxed)
    }
}
