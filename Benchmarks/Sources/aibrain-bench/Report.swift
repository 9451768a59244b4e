/// How a metric's numbers are printed.
enum ValueFormat: String, Codable, Sendable {
    case perSecond, microseconds, milliseconds, bytes, bytesPerEvent, ratio, count, perAcknowledgement
}

/// One metric of one subject (aibrain or a peer) in one scenario, over the runs.
struct Measurement {
    var scenario: String
    var subject: String
    var metric: String
    var format: ValueFormat
    var samples: Samples
}

/// A target from the brief, checked against medians measured in this run.
struct TargetCheck {
    enum Comparison: String, Codable, Sendable {
        case atLeast = ">="
        case atMost = "<="
        case exactly = "=="
    }

    var scenario: String
    var target: String
    var measured: Double
    var format: ValueFormat
    var comparison: Comparison
    var required: Double

    var pass: Bool {
        switch comparison {
        case .atLeast: return measured >= required
        case .atMost: return measured <= required
        case .exactly: return measured == required
        }
    }
}

/// Everything one run of the harness measured and checked, in the order it happened.
final class Report {
    static let engine = "aibrain"

    var measurements: [Measurement] = []
    var targets: [TargetCheck] = []
    var notes: [String] = []

    @discardableResult
    func add(_ scenario: String, _ subject: String, _ metric: String, _ format: ValueFormat, _ values: [Double])
        -> Samples
    {
        let s = Samples(values)
        measurements.append(
            Measurement(scenario: scenario, subject: subject, metric: metric, format: format, samples: s))
        return s
    }

    func median(_ scenario: String, _ subject: String, _ metric: String) -> Double? {
        measurements.first { $0.scenario == scenario && $0.subject == subject && $0.metric == metric }?.samples.median
    }

    /// aibrain's median divided by the peer's, for the same scenario and metric.
    func ratio(_ m: Measurement) -> Double? {
        guard m.subject != Self.engine, let mine = median(m.scenario, Self.engine, m.metric), m.samples.median != 0
        else { return nil }
        return mine / m.samples.median
    }

    func check(
        _ scenario: String, _ target: String, measured: Double, _ format: ValueFormat,
        _ comparison: TargetCheck.Comparison,
        _ required: Double
    ) {
        targets.append(
            TargetCheck(
                scenario: scenario, target: target, measured: measured, format: format, comparison: comparison,
                required: required))
    }

    /// Checks `aibrain ÷ peer` of a metric against a required ratio.
    func checkRatio(
        _ scenario: String, _ metric: String, peer: String, _ comparison: TargetCheck.Comparison, _ required: Double
    ) {
        guard let mine = median(scenario, Self.engine, metric), let theirs = median(scenario, peer, metric), theirs != 0
        else { return }
        let sign = comparison == .atLeast ? "≥" : "≤"
        check(
            scenario, "\(Self.engine) \(metric) \(sign) \(fixed(required, 2))× \(peer)", measured: mine / theirs,
            .ratio,
            comparison, required)
    }

    func note(_ s: String) { notes.append(s) }
}
