import SimSandbox

extension FunctionPool {
    /// The function's code changed (`serve --watch`): idle sandboxes get SHUTDOWN now, busy ones as soon as their
    /// invokes are done, and later invokes cold-start sandboxes that load the new code. Provisioned sandboxes are
    /// replaced the same way.
    package func reload() {
        guard !stopping else { return }
        reloadCutoff = clock.monotonicNanoseconds
        for id in placement.idle(before: UInt64.max) { retireStale(id) }
    }

    /// Shuts `sandbox` down if it is idle and older than the last `reload`.
    func retireIfStale(_ sandbox: Sandbox) {
        guard !stopping, let cutoff = reloadCutoff, (createdAt[sandbox.id] ?? UInt64.max) <= cutoff else { return }
        retireStale(sandbox.id)
    }

    private func retireStale(_ id: String) {
        guard placement.retire(id), let sandbox = live[id] else { return }
        sandbox.shutdown()
    }
}
