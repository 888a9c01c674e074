import SimDomain

extension Sandbox {
    /// How this sandbox stands as it reports itself available, in the terms its pool decides on: without
    /// processes again (its init failed), or initialised with this many invokes in flight.
    package var availability: PoolStateMachine.Availability {
        if case .idle = machine.state { return .uninitialized }
        return .ready(inFlight: machine.inFlightCount)
    }

    /// Invokes placed here and not finished (several in a managed instance), for the pool's figures.
    package var invokesInFlight: Int { machine.inFlightCount }
}
