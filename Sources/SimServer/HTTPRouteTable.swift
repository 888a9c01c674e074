import SimDomain

/// API Gateway routes of the HTTP front end and how a request finds one: the most specific path wins (a literal
/// segment over `{param}`, `{param}` over `{proxy+}`), then a named method over `ANY`; an HTTP API's `$default`
/// route takes what nothing else matches.
package struct HTTPRouteTable: Sendable {
    /// One route (the domain's `APIGatewayRoute`).
    package typealias Route = APIGatewayRoute

    /// A route a request matched, with the path parameters it captured.
    package struct Match: Equatable {
        /// The route.
        package var route: Route
        /// `{name}` → segment; `{name+}` → the rest of the path, in pattern order.
        package var pathParameters: [(String, String)]

        package static func == (lhs: Match, rhs: Match) -> Bool {
            lhs.route == rhs.route && lhs.pathParameters.elementsEqual(rhs.pathParameters, by: ==)
        }
    }

    private let routes: [Route]

    package init(_ routes: [Route]) { self.routes = routes }

    /// Whether there are any routes.
    package var isEmpty: Bool { routes.isEmpty }

    /// The route `method` and `path` (percent-encoded, without the query) reach, if any.
    package func match(method: String, path: String) -> Match? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        var best: (score: [Int], match: Match)?
        for route in routes where route.path != "$default" {
            guard route.method == "ANY" || route.method == method,
                let (score, parameters) = Self.score(pattern: route.path, segments: segments)
            else { continue }
            let ranked = score + [route.method == "ANY" ? 0 : 1]
            if best.map({ $0.score.lexicographicallyPrecedes(ranked) }) ?? true {
                best = (ranked, Match(route: route, pathParameters: parameters))
            }
        }
        if let best { return best.match }
        return routes.first { $0.path == "$default" }.map { Match(route: $0, pathParameters: []) }
    }

    /// How well `pattern` matches `segments` (per segment: 3 literal, 2 `{param}`, 1 `{proxy+}`) and what it
    /// captures; nil when it does not match.
    private static func score(pattern: String, segments: [String]) -> ([Int], [(String, String)])? {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        var score: [Int] = []
        var parameters: [(String, String)] = []
        for (index, part) in parts.enumerated() {
            if part.hasPrefix("{") && part.hasSuffix("+}") {
                guard index < segments.count, !segments[index...].joined(separator: "/").isEmpty else { return nil }
                parameters.append((String(part.dropFirst().dropLast(2)), segments[index...].joined(separator: "/")))
                score.append(1)
                return (score, parameters)
            }
            guard index < segments.count else { return nil }
            if part.hasPrefix("{") && part.hasSuffix("}") {
                guard !segments[index].isEmpty else { return nil }
                parameters.append((String(part.dropFirst().dropLast()), segments[index]))
                score.append(2)
            } else {
                guard part == segments[index] else { return nil }
                score.append(3)
            }
        }
        guard parts.count == segments.count else { return nil }
        return (score, parameters)
    }
}
