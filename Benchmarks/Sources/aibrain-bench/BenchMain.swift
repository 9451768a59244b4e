import Foundation

/// The harness: generate or reuse the workload, load it into memory, run the chosen scenarios, print the
/// markdown report (and `--json`). Exits 0 whatever the timings (no timing assertions); 2 when a correctness
/// check fails (round trip, histories, one fdatasync per acknowledgement); 1 on errors.
@main
struct BenchMain {
    static func main() {
        do {
            exit(try run())
        } catch BenchExit.help {
            exit(0)
        } catch {
            progress("error: \(error)")
            exit(1)
        }
    }

    static func run() throws -> Int32 {
        let o = try BenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
        try FileManager.default.createDirectory(atPath: o.work, withIntermediateDirectories: true)
        let workload = try Workload.load(events: o.events, dir: o.work, generator: o.generator)
        let c = BenchContext(options: o, workload: workload, report: Report(), scratch: try ScratchSpace(work: o.work))
        defer { c.scratch.remove(c.scratch.root) }
        let method = RunMethod.current(o, workload)
        progress(method.line)
        if o.wants(Append1Scenario.name) { try Append1Scenario.run(c) }
        if o.wants(Append1000Scenario.name) { try Append1000Scenario.run(c) }
        if o.wants(EncryptionScenario.name) { try EncryptionScenario.run(c) }
        let readers = [ScanScenario.name, SizeScenario.name, HistoryScenario.name].filter(o.wants)
        if !readers.isEmpty {
            let stores = try LoadedStores.build(c, sqlite: o.wants(ScanScenario.name) || o.wants(HistoryScenario.name))
            if o.wants(ScanScenario.name) { try ScanScenario.run(c, stores) }
            if o.wants(SizeScenario.name) { try SizeScenario.run(c, stores) }
            if o.wants(HistoryScenario.name) { try HistoryScenario.run(c, stores) }
        }
        print(c.report.markdown(method))
        if let path = o.json {
            try c.report.json(method).write(to: URL(fileURLWithPath: path))
            progress("wrote \(path)")
        }
        let correctness = c.report.targets.filter { $0.comparison == .exactly && !$0.pass }
        return correctness.isEmpty ? 0 : 2
    }
}
