import Foundation

/// `value` with `digits` decimals.
func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

/// An integer with thousands separators (`1,234,567`).
func grouped(_ value: Double) -> String {
    let n = Int(value.rounded())
    let digits = String(abs(n))
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

extension ValueFormat {
    func render(_ v: Double) -> String {
        switch self {
        case .perSecond: return grouped(v) + "/s"
        case .microseconds: return fixed(v, 1) + " µs"
        case .milliseconds: return fixed(v, 2) + " ms"
        case .bytes: return grouped(v) + " B"
        case .bytesPerEvent: return fixed(v, 1) + " B/event"
        case .ratio: return fixed(v, 2) + "×"
        case .count: return v == v.rounded() ? grouped(v) : fixed(v, 3)
        case .perAcknowledgement: return fixed(v, 3)
        }
    }
}

/// What the numbers mean: how they were taken, on what.
struct RunMethod: Codable {
    var build: String
    var cpusAllowed: String
    var nproc: Int
    var runs: Int
    var events: Int
    var meanEventBytes: Double
    var workDirectory: String
    var date: String
    var kernel: String
    /// The engine's source: git commit of the repository this harness was built from, `+dirty` when
    /// `Sources/` had uncommitted changes.
    var engineRevision: String

    static func current(_ o: BenchOptions, _ w: Workload) -> RunMethod {
        #if DEBUG
            let build = "DEBUG build (numbers are not meaningful; use Benchmarks/run.sh)"
        #else
            let build = "release build"
        #endif
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let allowed =
            status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
            .map { $0.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces) } ?? "?"
        let kernel = ((try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)) ?? "?")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let f = ISO8601DateFormatter()
        return RunMethod(
            build: build, cpusAllowed: allowed, nproc: ProcessInfo.processInfo.activeProcessorCount, runs: o.runs,
            events: w.count, meanEventBytes: w.meta.meanEventBytes, workDirectory: o.work, date: f.string(from: Date()),
            kernel: kernel, engineRevision: engineRevision())
    }

    /// `git rev-parse --short HEAD` of the repository holding this source file, plus `+dirty`.
    static func engineRevision() -> String {
        var repo = "\(#filePath)"
        for _ in 0..<4 { repo = String(repo[..<(repo.lastIndex(of: "/") ?? repo.startIndex)]) }
        func git(_ args: [String]) -> String? {
            let p = Process()
            let out = Pipe()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["git", "-C", repo] + args
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { return nil }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { return nil }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let head = git(["rev-parse", "--short", "HEAD"]) else { return "unknown" }
        let dirty = git(["status", "--porcelain", "--", "Sources", "Package.swift"]).map { !$0.isEmpty } ?? false
        return head + (dirty ? "+dirty" : "")
    }

    var line: String {
        let pinned =
            cpusAllowed.contains(",") || cpusAllowed.contains("-")
            ? "NOT pinned (CPUs \(cpusAllowed))" : "taskset to CPU \(cpusAllowed)"
        return "Method: \(build), \(pinned), medians of \(runs) runs (min–max beside), machine nproc=\(nproc), "
            + "\(grouped(Double(events))) events (mean \(fixed(meanEventBytes, 1)) B, gen_events.py seed 42), "
            + "engine \(engineRevision), work dir \(workDirectory), Linux \(kernel), \(date)."
    }
}
