import SimCore

/// Small SVG charts for the load report: axes with round ticks, line series, stacked bars, markers and a legend.
/// Everything is inline SVG text, so the report opens offline.
struct SVGChart {
    /// One named, coloured series.
    struct Series {
        var name: String
        var color: String
        /// (x, y) points; a nil y breaks the line.
        var points: [(Double, Double?)]
        var dashed = false
    }

    static let width = 880.0
    static let height = 270.0
    static let left = 64.0
    static let right = 16.0
    static let top = 44.0
    static let bottom = 40.0

    var title: String
    var xLabel: String
    var yLabel: String
    var xRange: ClosedRange<Double>
    var yRange: ClosedRange<Double>
    var logY = false
    /// The smallest step between x ticks (1 for whole seconds).
    var minimumXStep = 0.0
    /// The smallest step between y ticks (1 for counts).
    var minimumYStep = 0.0
    /// Tick labels below this are left out (a log axis of counts starts below 1 so that a count of 1 shows).
    var minimumYLabel = -Double.infinity
    private var body = ""
    private var legend: [(String, String, Bool)] = []

    init(
        title: String, xLabel: String, yLabel: String, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>,
        logY: Bool = false
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        let xSpan = xRange.upperBound > xRange.lowerBound ? xRange : xRange.lowerBound...(xRange.lowerBound + 1)
        self.xRange = xSpan
        if logY {
            let low = max(yRange.lowerBound, 1e-3)
            let high = max(yRange.upperBound, low * 10)
            self.yRange = pow10(floor(log10(low)))...pow10(ceil(log10(high)))
        } else {
            let high = yRange.upperBound > yRange.lowerBound ? yRange.upperBound : yRange.lowerBound + 1
            self.yRange = yRange.lowerBound...niceCeiling(high)
        }
        self.logY = logY
    }

    private var plotWidth: Double { Self.width - Self.left - Self.right }
    private var plotHeight: Double { Self.height - Self.top - Self.bottom }

    func x(_ value: Double) -> Double {
        Self.left + (value - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * plotWidth
    }

    func y(_ value: Double) -> Double {
        let fraction: Double
        if logY {
            let v = max(value, yRange.lowerBound)
            fraction = (log10(v) - log10(yRange.lowerBound)) / (log10(yRange.upperBound) - log10(yRange.lowerBound))
        } else {
            fraction = (value - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound)
        }
        return Self.top + plotHeight * (1 - min(max(fraction, 0), 1))
    }

    mutating func line(_ series: Series) {
        legend.append((series.name, series.color, series.dashed))
        var path = ""
        var penDown = false
        for (px, py) in series.points {
            guard let py else {
                penDown = false
                continue
            }
            path += (penDown ? "L" : "M") + f(x(px)) + " " + f(y(py)) + " "
            penDown = true
        }
        let dash = series.dashed ? " stroke-dasharray=\"6 4\"" : ""
        body +=
            "<path d=\"\(path)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"2\"\(dash)>"
            + "<title>\(escape(series.name))</title></path>\n"
        // Lone points (a single second) would be invisible as a path: draw them as dots.
        if series.points.compactMap(\.1).count == 1, let point = series.points.first(where: { $0.1 != nil }) {
            body += "<circle cx=\"\(f(x(point.0)))\" cy=\"\(f(y(point.1!)))\" r=\"3\" fill=\"\(series.color)\"/>\n"
        }
    }

    /// Bars stacked per x: `layers` from the bottom up, each (name, color, values by x).
    mutating func stackedBars(_ layers: [(String, String, [Double])], xs: [Double]) {
        let barWidth = max(1, plotWidth / Double(max(xs.count, 1)) * 0.8)
        for (name, color, _) in layers { legend.append((name, color, false)) }
        for (index, xValue) in xs.enumerated() {
            var base = 0.0
            for (name, color, values) in layers {
                let value = index < values.count ? values[index] : 0
                guard value > 0 else { continue }
                let y0 = y(base)
                let y1 = y(base + value)
                body +=
                    "<rect x=\"\(f(x(xValue) - barWidth / 2))\" y=\"\(f(y1))\" width=\"\(f(barWidth))\" "
                    + "height=\"\(f(max(0.5, y0 - y1)))\" fill=\"\(color)\"><title>\(escape(name)) at "
                    + "\(LambdaLog.fixed(xValue, decimals: 0)) s: \(Int(value))</title></rect>\n"
                base += value
            }
        }
    }

    /// Side-by-side bars per category (a histogram, or p50/p99 per mode): `groups` of (name, color, values).
    mutating func groupedBars(_ groups: [(String, String, [Double])], categories: [String]) {
        let slot = plotWidth / Double(max(categories.count, 1))
        let barWidth = slot * 0.8 / Double(max(groups.count, 1))
        for (name, color, _) in groups { legend.append((name, color, false)) }
        for (index, category) in categories.enumerated() {
            for (g, (name, color, values)) in groups.enumerated() {
                let value = index < values.count ? values[index] : 0
                guard value > 0 else { continue }
                let left = Self.left + slot * Double(index) + slot * 0.1 + barWidth * Double(g)
                let top = y(value)
                body +=
                    "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(max(1, barWidth - 1)))\" "
                    + "height=\"\(f(max(0.5, Self.top + plotHeight - top)))\" fill=\"\(color)\"><title>"
                    + "\(escape(name)) \(escape(category)): \(LambdaLog.fixed(value, decimals: value < 10 ? 2 : 0))"
                    + "</title></rect>\n"
            }
        }
        categoryLabels = categories
    }

    private var categoryLabels: [String]?

    /// Markers along the x axis (cold starts): a triangle at each x with a count.
    mutating func markers(_ name: String, color: String, at points: [(Double, Int)]) {
        legend.append((name, color, false))
        let base = Self.top + plotHeight
        for (px, count) in points where count > 0 {
            let cx = x(px)
            body +=
                "<path d=\"M\(f(cx)) \(f(base - 10)) L\(f(cx - 5)) \(f(base)) L\(f(cx + 5)) \(f(base)) Z\" "
                + "fill=\"\(color)\"><title>\(count) \(escape(name)) at \(Int(px)) s</title></path>\n"
            if count > 1 {
                body +=
                    "<text x=\"\(f(cx))\" y=\"\(f(base - 13))\" class=\"tick\" text-anchor=\"middle\" "
                    + "fill=\"\(color)\">\(count)</text>\n"
            }
        }
    }

    /// The whole chart as an `<svg>` element.
    func render() -> String {
        var out =
            "<svg viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" "
            + "role=\"img\" aria-label=\"\(escape(title))\">\n"
        out +=
            "<text x=\"\(f(Self.left))\" y=\"16\" class=\"chart-title\">\(escape(title))</text>\n"
        // Grid and y ticks.
        for tick in yTicks() where tick >= minimumYLabel {
            let py = y(tick)
            out +=
                "<line x1=\"\(f(Self.left))\" x2=\"\(f(Self.width - Self.right))\" y1=\"\(f(py))\" y2=\"\(f(py))\" "
                + "class=\"grid\"/>\n"
            out +=
                "<text x=\"\(f(Self.left - 6))\" y=\"\(f(py + 4))\" class=\"tick\" text-anchor=\"end\">"
                + "\(label(tick))</text>\n"
        }
        if let categoryLabels {
            let slot = plotWidth / Double(max(categoryLabels.count, 1))
            let every = max(1, categoryLabels.count / 12)
            for (index, text) in categoryLabels.enumerated() where index % every == 0 {
                out +=
                    "<text x=\"\(f(Self.left + slot * (Double(index) + 0.5)))\" y=\"\(f(Self.height - Self.bottom + 16))\" "
                    + "class=\"tick\" text-anchor=\"middle\">\(escape(text))</text>\n"
            }
        } else {
            for tick in xTicks() {
                out +=
                    "<text x=\"\(f(x(tick)))\" y=\"\(f(Self.height - Self.bottom + 16))\" class=\"tick\" "
                    + "text-anchor=\"middle\">\(label(tick))</text>\n"
            }
        }
        out +=
            "<line x1=\"\(f(Self.left))\" x2=\"\(f(Self.width - Self.right))\" y1=\"\(f(Self.top + plotHeight))\" "
            + "y2=\"\(f(Self.top + plotHeight))\" class=\"axis\"/>\n"
        out +=
            "<text x=\"\(f(Self.left + plotWidth / 2))\" y=\"\(f(Self.height - 6))\" class=\"axis-label\" "
            + "text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out +=
            "<text transform=\"translate(14 \(f(Self.top + plotHeight / 2))) rotate(-90)\" class=\"axis-label\" "
            + "text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        out += body
        // Legend, on its own line under the title.
        var legendX = Self.left
        for (name, color, dashed) in legend {
            let dash = dashed ? " stroke-dasharray=\"4 3\"" : ""
            out +=
                "<line x1=\"\(f(legendX))\" x2=\"\(f(legendX + 16))\" y1=\"30\" y2=\"30\" stroke=\"\(color)\" "
                + "stroke-width=\"4\"\(dash)/><text x=\"\(f(legendX + 20))\" y=\"34\" class=\"legend\">"
                + "\(escape(name))</text>\n"
            legendX += Double(name.count) * 6.2 + 34
        }
        return out + "</svg>\n"
    }

    private func yTicks() -> [Double] {
        if logY {
            var ticks: [Double] = []
            var value = yRange.lowerBound
            while value <= yRange.upperBound * 1.0001 {
                ticks.append(value)
                value *= 10
            }
            return ticks
        }
        let step = max(minimumYStep, niceStep(yRange.upperBound - yRange.lowerBound, count: 5))
        return stride(from: yRange.lowerBound, through: yRange.upperBound + step / 1000, by: step).map {
            ($0 / step).rounded() * step
        }
    }

    private func xTicks() -> [Double] {
        let step = max(minimumXStep, niceStep(xRange.upperBound - xRange.lowerBound, count: 10))
        let first = (xRange.lowerBound / step).rounded(.up) * step
        return stride(from: first, through: xRange.upperBound + step / 1000, by: step).map {
            ($0 / step).rounded() * step
        }
    }

    private func label(_ value: Double) -> String {
        if abs(value - value.rounded()) < 1e-9 && abs(value) < 1e9 { return String(Int(value.rounded())) }
        return LambdaLog.fixed(value, decimals: value < 0.01 ? 3 : value < 1 ? 2 : 1)
    }
}

/// A round step that cuts `span` into about `count` pieces (1, 2 or 5 times a power of ten).
func niceStep(_ span: Double, count: Int) -> Double {
    guard span > 0 else { return 1 }
    let raw = span / Double(count)
    let magnitude = pow10(floor(log10(raw)))
    for factor in [1.0, 2, 5, 10] where raw <= factor * magnitude { return factor * magnitude }
    return 10 * magnitude
}

/// A round value at or above `value`.
func niceCeiling(_ value: Double) -> Double {
    guard value > 0 else { return 1 }
    let step = niceStep(value, count: 5)
    return (value / step).rounded(.up) * step
}

func pow10(_ exponent: Double) -> Double { exp(exponent * log(10)) }

/// A coordinate with one decimal.
func f(_ value: Double) -> String { LambdaLog.fixed(value, decimals: 1) }

/// Text safe inside HTML and SVG.
func escape(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "&": out += "&amp;"
        case "\"": out += "&quot;"
        default: out.append(character)
        }
    }
    return out
}

#if canImport(Glibc)
    import Glibc
#endif
