import SimDomain

extension Sandbox {
    /// Invokes placed here and not finished (several in a managed instance), for the pool's figures.
    package var invokesInFlight: Int { machine.inFlightCount }

    /// How many thaws were decided so far (a freeze decided before the last one is dropped), for status output.
    package var freezeEpoch: UInt64 { machine.freezeEpoch }
}
