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
        /// Dotted instead of solid (a third style next to solid and dashed).
        var dotted = false
        /// Drawn as steps: each point's y holds until the next point's x (a count per bin).
        var steps = false
    }

    static let width = 880.0
    static let height = 270.0
    static let left = 64.0
    static let right = 16.0
    /// The space above the plot for the title and one line of legend; each further legend line adds 16.
    static let top = 44.0
    static let bottom = 40.0

    var title: String
    var xLabel: String
    var yLabel: String
    var xRange: ClosedRange<Double>
    var yRange: ClosedRange<Double>
    var logY = false
    /// A log x axis (latency distributions), ticked at 1, 2 and 5 times powers of ten.
    var logX = false
    /// The smallest step between x ticks (1 for whole seconds).
    var minimumXStep = 0.0
    /// The smallest step between y ticks (1 for counts).
    var minimumYStep = 0.0
    /// Tick labels below this are left out (a log axis of counts starts below 1 so that a count of 1 shows).
    var minimumYLabel = -Double.infinity
    private var body = ""
    private var legend: [(name: String, color: String, dash: String?)] = []

    init(
        title: String, xLabel: String, yLabel: String, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>,
        logY: Bool = false, logX: Bool = false
    ) {
        self.title = title
        self.logX = logX
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
    /// The legend's lines: entries wrapped to the chart's width.
    private var legendRows: [[(x: Double, entry: (name: String, color: String, dash: String?))]] {
        var rows: [[(x: Double, entry: (name: String, color: String, dash: String?))]] = [[]]
        var legendX = Self.left
        for entry in legend {
            let width = Double(entry.name.count) * 6.2 + 34
            if legendX + width > Self.width - Self.right && !rows[rows.count - 1].isEmpty {
                rows.append([])
                legendX = Self.left
            }
            rows[rows.count - 1].append((legendX, entry))
            legendX += width
        }
        return rows
    }
    /// How much lower everything sits to make room for legend lines beyond the first.
    private var shift: Double { Double(max(0, legendRows.count - 1)) * 16 }

    func x(_ value: Double) -> Double {
        guard logX else {
            return Self.left + (value - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * plotWidth
        }
        let low = log10(max(xRange.lowerBound, 1e-9))
        let high = log10(max(xRange.upperBound, 1e-9))
        return Self.left + (log10(max(value, 1e-9)) - low) / max(high - low, 1e-9) * plotWidth
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
        let pattern = series.dotted ? "2 3" : series.dashed ? "6 4" : nil
        legend.append((series.name, series.color, pattern))
        var path = ""
        var penDown = false
        for (index, (px, py)) in series.points.enumerated() {
            guard let py else {
                penDown = false
                continue
            }
            if series.steps {
                // From this point's x to the next point's (or as far again) at this y.
                let next =
                    index + 1 < series.points.count
                    ? series.points[index + 1].0 : px + (index > 0 ? px - series.points[index - 1].0 : 1)
                path += (penDown ? "L" : "M") + f(x(px)) + " " + f(y(py)) + " L" + f(x(next)) + " " + f(y(py)) + " "
            } else {
                path += (penDown ? "L" : "M") + f(x(px)) + " " + f(y(py)) + " "
            }
            penDown = true
        }
        let dash = pattern.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        body +=
            "<path d=\"\(path)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"2\"\(dash)>"
            + "<title>\(escape(series.name))</title></path>\n"
        // Lone points (a single second) would be invisible as a path: draw them as dots.
        if !series.steps, series.points.compactMap(\.1).count == 1,
            let point = series.points.first(where: { $0.1 != nil })
        {
            body += "<circle cx=\"\(f(x(point.0)))\" cy=\"\(f(y(point.1!)))\" r=\"3\" fill=\"\(series.color)\"/>\n"
        }
    }

    /// Bars stacked per x: `layers` from the bottom up, each (name, color, values by x).
    mutating func stackedBars(_ layers: [(String, String, [Double])], xs: [Double]) {
        let barWidth = max(1, plotWidth / Double(max(xs.count, 1)) * 0.8)
        for (name, color, _) in layers { legend.append((name, color, nil)) }
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
                    + "\(label(xValue)) s: \(LambdaLog.fixed(value, decimals: value < 10 ? 1 : 0))</title></rect>\n"
                base += value
            }
        }
    }

    /// Side-by-side bars per category (a histogram, or p50/p99 per mode): `groups` of (name, color, values).
    mutating func groupedBars(_ groups: [(String, String, [Double])], categories: [String]) {
        let slot = plotWidth / Double(max(categories.count, 1))
        let barWidth = slot * 0.8 / Double(max(groups.count, 1))
        for (name, color, _) in groups { legend.append((name, color, nil)) }
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

    /// Markers along the x axis (cold starts): a triangle at each x, moved `offset` units sideways, with a count.
    mutating func markers(_ name: String, color: String, at points: [(Double, Int)], offset: Double = 0) {
        legend.append((name, color, nil))
        let base = Self.top + plotHeight
        for (px, count) in points where count > 0 {
            let cx = x(px) + offset
            body +=
                "<path d=\"M\(f(cx)) \(f(base - 10)) L\(f(cx - 5)) \(f(base)) L\(f(cx + 5)) \(f(base)) Z\" "
                + "fill=\"\(color)\"><title>\(count) \(escape(name)) at \(label(px)) s</title></path>\n"
            if count > 1 {
                body +=
                    "<text x=\"\(f(cx))\" y=\"\(f(base - 13))\" class=\"tick\" text-anchor=\"middle\" "
                    + "fill=\"\(color)\">\(count)</text>\n"
            }
        }
    }

    /// The whole chart as an `<svg>` element.
    func render() -> String {
        let rows = legendRows
        var out =
            "<svg viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height + shift))\" "
            + "role=\"img\" aria-label=\"\(escape(title))\">\n"
        out +=
            "<text x=\"\(f(Self.left))\" y=\"16\" class=\"chart-title\">\(escape(title))</text>\n"
        // The legend under the title, wrapped to the width; the plot below it.
        for (row, entries) in rows.enumerated() {
            let lineY = 30 + 16 * Double(row)
            for (legendX, entry) in entries {
                let dash = entry.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
                out +=
                    "<line x1=\"\(f(legendX))\" x2=\"\(f(legendX + 16))\" y1=\"\(f(lineY))\" y2=\"\(f(lineY))\" "
                    + "stroke=\"\(entry.color)\" stroke-width=\"\(entry.dash == nil ? 4 : 3)\"\(dash)/>"
                    + "<text x=\"\(f(legendX + 20))\" y=\"\(f(lineY + 4))\" class=\"legend\">"
                    + "\(escape(entry.name))</text>\n"
            }
        }
        out += "<g transform=\"translate(0 \(f(shift)))\">\n"
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
        return out + "</g></svg>\n"
    }

    /// A horizontal line across the plot at `value` (a limit), named in the legend.
    mutating func rule(_ name: String, color: String, at value: Double) {
        legend.append((name, color, "8 3 2 3"))
        let py = y(value)
        body +=
            "<line x1=\"\(f(Self.left))\" x2=\"\(f(Self.width - Self.right))\" y1=\"\(f(py))\" y2=\"\(f(py))\" "
            + "stroke=\"\(color)\" stroke-width=\"1.5\" stroke-dasharray=\"8 3 2 3\"><title>\(escape(name))</title></line>\n"
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
        if logX && xRange.upperBound > xRange.lowerBound * 5 {
            var ticks: [Double] = []
            var decade = pow10(floor(log10(max(xRange.lowerBound, 1e-9))))
            while decade <= xRange.upperBound {
                for factor in [1.0, 2, 5] where xRange.contains(decade * factor) { ticks.append(decade * factor) }
                decade *= 10
            }
            return ticks
        }
        // A narrow log axis (less than a factor of 5) is ticked as a linear one.
        let step = max(minimumXStep, niceStep(xRange.upperBound - xRange.lowerBound, count: logX ? 8 : 10))
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
