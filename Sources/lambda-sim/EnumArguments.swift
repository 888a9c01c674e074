import ArgumentParser
import LambdaSim

// The closed sets a function flag takes, parsed by ArgumentParser once: a value outside the set is refused before
// anything starts, naming the flag and listing the values (`--help` lists them too).

extension LogLevel: ExpressibleByArgument {
    /// A level by its name, in any case (`debug`, `DEBUG`).
    public init?(argument: String) { self.init(rawValue: argument.uppercased()) }
}

extension FreezeMode: ExpressibleByArgument {}

extension LogFormat: ExpressibleByArgument {}

extension RuntimeAPIAccess: ExpressibleByArgument {}
