import SimDomain

extension Sandbox {
    /// Invokes placed here and not finished (several in a managed instance), for the pool's figures.
    package var invokesInFlight: Int { machine.inFlightCount }
}
