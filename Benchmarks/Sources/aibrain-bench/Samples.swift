/// The values of one metric over the runs of a scenario. Reports use the median (robust to one disturbed
/// run) with min and max beside it, never the mean.
struct Samples: Codable, Sendable {
    var values: [Double]

    init(_ values: [Double]) {
        precondition(!values.isEmpty, "a metric needs at least one sample")
        self.values = values
    }

    var sorted: [Double] { values.sorted() }
    var median: Double { Samples.percentile(sorted, 0.5) }
    var min: Double { values.min()! }
    var max: Double { values.max()! }

    /// Linear interpolation between closest ranks (the "R-7" definition, numpy's default).
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        precondition(!sorted.isEmpty && p >= 0 && p <= 1)
        let rank = p * Double(sorted.count - 1)
        let lo = Int(rank.rounded(.down))
        let hi = Swift.min(lo + 1, sorted.count - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - Double(lo))
    }
}
