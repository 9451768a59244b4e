import Foundation

/// `aibrain-bench [--events N] [--runs 5] [--work DIR] [--only NAME[,NAME]] [--json FILE] [--generator PATH]`.
struct BenchOptions {
    static let scenarioNames = ["append1", "append1000", "scan", "size", "history", "encryption"]

    var events = 1_000_000
    var runs = 5
    var work = "/tmp/aibrain-bench"
    var only: Set<String> = Set(scenarioNames)
    var json: String?
    var generator = BenchOptions.defaultGenerator

    static let usage = """
        usage: aibrain-bench [--events N] [--runs R] [--work DIR] [--only NAME[,NAME...]] [--json FILE] [--generator PATH]
          --events N        workload size (default 1000000); generated once per N into the work dir
          --runs R          runs per scenario; the report shows the median, min and max (default 5)
          --work DIR        work directory (default /tmp/aibrain-bench); scenario stores are removed after use
          --only NAMES      comma-separated subset of: \(scenarioNames.joined(separator: ", "))
          --json FILE       also write machine-readable results to FILE
          --generator PATH  gen_events.py (default: Benchmarks/gen_events.py, a copy of shared/bench/gen_events.py)
        Run it through Benchmarks/run.sh, which builds in release mode and pins the process to core 0.
        """

    /// `Benchmarks/gen_events.py` (the repository's copy of `shared/bench/gen_events.py`, so a fresh
    /// clone can run the benchmarks), found from this source file's path
    /// (`<repo>/Benchmarks/Sources/aibrain-bench/BenchOptions.swift`).
    static var defaultGenerator: String {
        var path = "\(#filePath)"
        for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
        return path + "/gen_events.py"
    }

    static func parse(_ args: [String]) throws -> BenchOptions {
        var o = BenchOptions()
        var i = 0
        func value(_ flag: String) throws -> String {
            i += 1
            guard i < args.count else { throw BenchError("\(flag) needs a value\n\(usage)") }
            return args[i]
        }
        func positive(_ flag: String) throws -> Int {
            let v = try value(flag)
            guard let n = Int(v.replacingOccurrences(of: "_", with: "")), n > 0 else {
                throw BenchError("\(flag) must be a positive integer, not \(v)")
            }
            return n
        }
        while i < args.count {
            switch args[i] {
            case "--events": o.events = try positive("--events")
            case "--runs": o.runs = try positive("--runs")
            case "--work": o.work = try value("--work")
            case "--json": o.json = try value("--json")
            case "--generator": o.generator = try value("--generator")
            case "--only":
                let names = try value("--only").split(separator: ",").map(String.init)
                for n in names where !scenarioNames.contains(n) {
                    throw BenchError("unknown scenario \(n); choose from \(scenarioNames.joined(separator: ", "))")
                }
                o.only = Set(names)
            case "-h", "--help":
                print(usage)
                throw BenchExit.help
            case let other:
                throw BenchError("unknown option \(other)\n\(usage)")
            }
            i += 1
        }
        while o.work.count > 1 && o.work.hasSuffix("/") { o.work.removeLast() }
        return o
    }

    func wants(_ scenario: String) -> Bool { only.contains(scenario) }
}

enum BenchExit: Error { case help }
