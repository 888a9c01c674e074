/// Who holds one function's units of concurrency, as pure logic.
///
/// Lambda counts an execution environment as busy from the moment an invoke is placed on it until it is ready
/// for the next one — the runtime's next `/next` and every INVOKE-subscribed extension's `/event/next` — or it
/// ends, not until the response is sent (lambda-behaviour.md §1.8, §6.1): work after the response still occupies
/// the environment. So a unit taken for an invoke passes to its environment when the invoke is placed there and
/// comes back only when that environment is ready or gone. A managed instance serves several invokes at once
/// and its concurrency is counted per invoke, so there the invoke keeps its unit until it finishes.
///
/// ```
/// admit(request) ──► the request holds a unit (being placed, or queued)
/// bind(request, environment) ──► the environment holds it
/// finished(request) ──the request still holds it──► release ; ──its environment does──► nothing
/// environmentFree(environment) (ready for the next invoke, or ended) ──it holds one──► release
/// ```
package struct ConcurrencyUnits: Sendable, Equatable {
    /// Units held by invokes not (yet) placed on an environment, or by managed-instance invokes, by request id.
    private var requests: [String: ConcurrencyLimits.Kind] = [:]
    /// Units held by classic environments, by sandbox id.
    private var environments: [String: ConcurrencyLimits.Kind] = [:]

    package init() {}

    /// Units held: the function's concurrency as Lambda counts it.
    package var count: Int { requests.count + environments.count }

    /// Whether the environment `id` holds a unit (it is busy with an invoke or finishing one).
    package func isHeld(byEnvironment id: String) -> Bool { environments[id] != nil }

    /// An invoke was granted a unit of `kind`.
    package mutating func admit(_ requestID: String, kind: ConcurrencyLimits.Kind) {
        requests[requestID] = kind
    }

    /// The invoke `requestID` was placed on the classic environment `environment`, which holds its unit from now
    /// on. Nothing happens for an invoke that holds no unit (run mode has no account limits).
    package mutating func bind(_ requestID: String, to environment: String) {
        // An environment serves one classic invoke at a time; were it to hold a unit already, the invoke keeps its
        // own (given back with its answer) so that no unit is ever lost.
        assert(environments[environment] == nil, "environment \(environment) already holds a unit")
        guard environments[environment] == nil, let kind = requests.removeValue(forKey: requestID) else { return }
        environments[environment] = kind
    }

    /// The invoke `requestID` has its answer: the unit to give back if the invoke still holds it (it was never
    /// placed, or it ran on a managed instance); nil when its environment holds it.
    package mutating func finished(_ requestID: String) -> ConcurrencyLimits.Kind? {
        requests.removeValue(forKey: requestID)
    }

    /// The environment `id` is ready for the next invoke, or it ended: the unit to give back, if it held one.
    package mutating func environmentFree(_ id: String) -> ConcurrencyLimits.Kind? {
        environments.removeValue(forKey: id)
    }
}
