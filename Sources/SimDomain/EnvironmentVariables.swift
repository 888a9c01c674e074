/// Environment variables in the order they were given (a later one with the same name wins where they are merged).
///
/// `Equatable`, so that a type holding it (`FunctionSpec`) gets a synthesised `==` that cannot forget a field. Two
/// lists are equal when they hold the same names with the same values in the same order.
public struct EnvironmentVariables: Sendable, Equatable, Sequence, ExpressibleByArrayLiteral {
    /// One `NAME=value` pair.
    public struct Variable: Sendable, Equatable {
        /// The variable's name.
        public var name: String
        /// Its value (may be empty).
        public var value: String
    }

    /// The variables, in order.
    public private(set) var variables: [Variable]

    /// The variables `pairs` (name, value), in order.
    public init(_ pairs: [(String, String)] = []) {
        variables = pairs.map { Variable(name: $0.0, value: $0.1) }
    }

    /// The variables of an array literal of (name, value) pairs, in order.
    public init(arrayLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// The variables as (name, value) pairs, in order.
    public var pairs: [(String, String)] { variables.map { ($0.name, $0.value) } }

    /// Whether there are none.
    public var isEmpty: Bool { variables.isEmpty }

    /// How many there are.
    public var count: Int { variables.count }

    /// The value of the last variable named `name`, if any.
    public subscript(name: String) -> String? { variables.last { $0.name == name }?.value }

    /// Adds `name=value` at the end.
    public mutating func append(_ name: String, _ value: String) {
        variables.append(Variable(name: name, value: value))
    }

    /// Iterates over the variables as (name, value) pairs, in order.
    public func makeIterator() -> some IteratorProtocol<(String, String)> {
        variables.lazy.map { ($0.name, $0.value) }.makeIterator()
    }
}
