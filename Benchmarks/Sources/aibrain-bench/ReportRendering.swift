import Foundation

extension Report {
    /// The markdown report: method line, measurements with ratios, targets, notes.
    func markdown(_ method: RunMethod) -> String {
        var s = "# aibrain benchmarks\n\n" + method.line + "\n\n"
        s += "| scenario | subject | metric | median | min | max | aibrain ÷ subject |\n"
        s += "|---|---|---|---:|---:|---:|---:|\n"
        for m in measurements {
            let r = ratio(m).map { fixed($0, 2) + "×" } ?? ""
            s +=
                "| \(m.scenario) | \(m.subject) | \(m.metric) | \(m.format.render(m.samples.median)) | "
                + "\(m.format.render(m.samples.min)) | \(m.format.render(m.samples.max)) | \(r) |\n"
        }
        s += "\n| scenario | target | measured | result |\n|---|---|---:|---|\n"
        for t in targets {
            // Ratios get a third decimal here, so that 0.998× does not print as a failing "1.00×".
            let measured = t.format == .ratio ? fixed(t.measured, 3) + "×" : t.format.render(t.measured)
            s += "| \(t.scenario) | \(t.target) | \(measured) | \(t.pass ? "PASS" : "**MISS**") |\n"
        }
        let missed = targets.filter { !$0.pass }.count
        s += "\n\(targets.count - missed) of \(targets.count) targets met.\n"
        if !notes.isEmpty {
            s += "\nNotes:\n"
            for n in notes { s += "- \(n)\n" }
        }
        return s
    }

    /// The `--json` document: the same content, machine-readable.
    func json(_ method: RunMethod) throws -> Data {
        struct MeasurementJSON: Encodable {
            var scenario, subject, metric: String
            var format: ValueFormat
            var median, min, max: Double
            var values: [Double]
            var ratio: Double?
        }
        struct TargetJSON: Encodable {
            var scenario, target: String
            var measured, required: Double
            var comparison: TargetCheck.Comparison
            var pass: Bool
        }
        struct Document: Encodable {
            var method: RunMethod
            var measurements: [MeasurementJSON]
            var targets: [TargetJSON]
            var notes: [String]
            var allTargetsMet: Bool
        }
        let doc = Document(
            method: method,
            measurements: measurements.map {
                MeasurementJSON(
                    scenario: $0.scenario, subject: $0.subject, metric: $0.metric, format: $0.format,
                    median: $0.samples.median, min: $0.samples.min, max: $0.samples.max, values: $0.samples.values,
                    ratio: ratio($0))
            },
            targets: targets.map {
                TargetJSON(
                    scenario: $0.scenario, target: $0.target, measured: $0.measured, required: $0.required,
                    comparison: $0.comparison, pass: $0.pass)
            },
            notes: notes, allTargetsMet: targets.allSatisfy(\.pass))
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(doc)
    }
}
