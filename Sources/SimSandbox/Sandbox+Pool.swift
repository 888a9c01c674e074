import SimDomain

extension Sandbox {
    /// How this sandbox stands as it reports itself available, in the terms its pool decides on: without
    /// processes again (its init failed), or initialised with this many invokes in flight.
    package var availability: PoolStateMachine.Availability {
        if case .idle = machine.state { return .uninitialized }
        return .ready(inFlight: machine.inFlightCount)
    }
}
