import SimCore
import Synchronization

@testable import SimDomain
@testable import SimSandbox

/// Identifiers tests can predict: UUID-shaped, numbered from 1 in the order they are taken.
final class SequentialIDs: IdentifierSource {
    private let count = Mutex(0)

    func next() -> String {
        let n = count.withLock { value in
            value += 1
            return value
        }
        let digits = String(n)
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
    }
}

extension SandboxStateMachine {
    /// A machine for `function` reading `clock`, with identifiers numbered from 1.
    init(function: FunctionSpec, clock: any SimClock) {
        self.init(function: function, clock: clock, ids: SequentialIDs())
    }
}
