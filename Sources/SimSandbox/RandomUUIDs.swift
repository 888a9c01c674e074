import SimCore
import SimDomain

/// Random version 4 UUIDs: the simulator's identifiers.
package struct RandomUUIDs: IdentifierSource {
    package init() {}

    package func next() -> String { Identifiers.uuid() }
}
