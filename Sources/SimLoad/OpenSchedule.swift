/// When each invoke of an open model is due, in seconds from the start.
///
/// The rate r(t) is constant (`--rate`) or piecewise linear (`--stages`, ramping from 0). Invoke k (from 0) is due
/// when the invokes owed so far, ∫₀ᵗ r, reach k: at a constant rate r that is k / r, so a second holds exactly r
/// invokes. Within a stage whose rate goes linearly from a to b over d seconds, the count owed grows as
/// a·τ + (b − a)·τ²/(2d), and τ comes from that quadratic; an invoke due exactly at a stage's end belongs to the
/// next stage, and none is due at the end of the last. Times are computed one after the other, so a whole run
/// costs O(invokes + stages).
package struct OpenSchedule: Sendable {
    private let stages: [Stage]
    private let constant: Double?
    /// The stage the next invoke falls in, when it started and what was owed at its start.
    private var stage = 0
    private var stageStart = 0.0
    private var owedAtStageStart = 0.0
    private var startRate = 0.0
    /// The index of the next invoke.
    package private(set) var next = 0

    /// A schedule for `model` (`.rate` or `.stages`; nil for the closed model).
    package init?(_ model: LoadModel) {
        switch model {
        case .rate(let rate):
            constant = rate
            stages = []
        case .stages(let list):
            constant = nil
            stages = list
        case .concurrency:
            return nil
        }
    }

    /// The due time of the next invoke, in seconds from the start; nil once the stages are over.
    package mutating func nextTime() -> Double? {
        let owed = Double(next)
        if let constant {
            next += 1
            return owed / constant
        }
        while stage < stages.count {
            let current = stages[stage]
            let a = startRate
            let b = current.target
            let d = current.seconds
            let owedInStage = (a + b) / 2 * d
            if owed < owedAtStageStart + owedInStage, d > 0 {
                let need = owed - owedAtStageStart
                let tau: Double
                let slope = (b - a) / d
                if need <= 0 {
                    tau = 0
                } else if abs(slope) < 1e-12 {
                    tau = need / a
                } else {
                    // slope/2 · τ² + a·τ − need = 0, the root in [0, d].
                    let discriminant = max(0, a * a + 2 * slope * need)
                    tau = (-a + discriminant.squareRoot()) / slope
                }
                next += 1
                return stageStart + min(max(tau, 0), d)
            }
            owedAtStageStart += owedInStage
            stageStart += d
            startRate = b
            stage += 1
        }
        return nil
    }

    /// The rate the schedule asks for at `seconds` from the start.
    package func rate(at seconds: Double) -> Double {
        if let constant { return constant }
        var start = 0.0
        var from = 0.0
        for current in stages {
            if seconds < start + current.seconds, current.seconds > 0 {
                return from + (current.target - from) * (seconds - start) / current.seconds
            }
            start += current.seconds
            from = current.target
        }
        return stages.last?.target ?? 0
    }
}
