extension FunctionPool {
    /// The function's code changed (`serve --watch`): idle sandboxes get SHUTDOWN now, busy ones as soon as their
    /// invokes are done, and later invokes cold-start sandboxes that load the new code. Provisioned sandboxes are
    /// replaced the same way.
    package func reload() {
        perform(machine.reload(now: clock.monotonicNanoseconds))
    }
}
