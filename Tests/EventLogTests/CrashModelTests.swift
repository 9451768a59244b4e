import Foundation
import StorageTesting
import Testing

@testable import EventLog

/// The crash model: a seeded workload of appends, rolls and seals on the simulated file system is
/// cut at a crash point (power loss: unsynced writes dropped, torn or reordered, unsynced directory
/// entries forgotten), sometimes cut again during recovery, then recovered. The oracles: every
/// acknowledged event is present exactly once; every present event was submitted; LSNs are gap-free;
/// `verify` finds no corruption; the log accepts appends and still knows every acknowledged id.
///
/// A failing case prints a one-line repro: `AIBRAIN_CRASH_SEED=s AIBRAIN_CRASH_POINT=k swift test --filter CrashModel`.
@Suite struct CrashModelTests {
    struct Outcome {
        var submitted: Set<String> = []
        var acknowledged: [String] = []
    }

    static let root = "/s/.aibrain"

    static func policies() -> StoreConfig.Policies {
        var p = StoreConfig.Policies()
        p.rollBytes = 3000  // rolls and seals every few appends
        p.lockTimeoutMilliseconds = 100
        return p
    }

    /// The workload; stops at the first error (the crash point, or an injected fault).
    static func workload(_ fs: SimulatedFileSystem, seed: UInt64, steps: Int = 24) -> Outcome {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15)
        var out = Outcome()
        let clock = ManualClock()
        do {
            let log = try EventLog(
                root: root, fs: fs,
                options: OpenOptions(policies: policies(), clock: clock.function, preallocationBytes: 700))
            for step in 0..<steps {
                let n = 1 + rng.next(below: 4)
                let drafts = (0..<n).map { k in
                    draft(
                        "s\(seed)-\(step)-\(k)", stream: "task/T-\(rng.next(below: 3))",
                        team: ["", "dev", "qa"][rng.next(below: 3)],
                        payload:
                            "{\"step\":\(step),\"k\":\(k),\"pad\":\"\(String(repeating: "p", count: rng.next(below: 300)))\"}"
                    )
                }
                out.submitted.formUnion(drafts.map(\.eventID))
                let r = try log.append(drafts)
                out.acknowledged += r.events.filter { !$0.duplicate }.map(\.eventID)
                clock.advance(1)
                if rng.next(below: 9) == 0 { try log.seal() }
            }
        } catch {}
        return out
    }

    /// Checks the oracles after recovery; returns problems (empty when all hold).
    static func check(_ fs: SimulatedFileSystem, _ outcome: Outcome) -> [String] {
        var problems: [String] = []
        do {
            let log = try EventLog(root: root, fs: fs, options: OpenOptions(policies: policies()))
            let events = try allEvents(log)
            let ids = events.map(\.eventID)
            if Set(ids).count != ids.count { problems.append("duplicate events after recovery") }
            let missing = Set(outcome.acknowledged).subtracting(ids)
            if !missing.isEmpty { problems.append("acknowledged events lost: \(missing.sorted().prefix(5))") }
            let phantom = Set(ids).subtracting(outcome.submitted)
            if !phantom.isEmpty { problems.append("phantom events: \(phantom.sorted().prefix(5))") }
            if events.map(\.lsn) != Array(stride(from: UInt64(1), through: UInt64(events.count), by: 1)) {
                problems.append("LSNs not gap-free: \(events.map(\.lsn).prefix(20))")
            }
            let report = try StoreVerifier.verify(root: root, fs: fs)
            if !report.ok {
                problems.append("verify: \(report.problems.filter { $0.kind == .corruption }.map(\.message))")
            }
            if let some = outcome.acknowledged.first {
                let again = try log.append([draft(some)])
                if again.events.first?.duplicate != true {
                    problems.append("acknowledged id \(some) not known as duplicate")
                }
            }
            try log.append([draft("after-recovery")])
            if try allEvents(log).count != events.count + 1 { problems.append("append after recovery not visible") }
        } catch {
            problems.append("recovery failed: \(error)")
        }
        return problems
    }

    static func runCase(seed: UInt64, point: Int, crashDuringRecovery: Int?) -> [String] {
        let fs = try! simulatedStore(seed: seed, policies: policies())
        if seed % 5 == 0 { fs.faultPlan.shortWriteProbability = 0.2 }
        fs.armCrash(afterOperations: point)
        let outcome = workload(fs, seed: seed)
        fs.crash()
        if let again = crashDuringRecovery {
            fs.armCrash(afterOperations: again)
            _ = try? EventLog(root: root, fs: fs, options: OpenOptions(policies: policies()))
            fs.crash()
        }
        return check(fs, outcome)
    }

    static func operationCount(seed: UInt64) -> Int {
        let fs = try! simulatedStore(seed: seed, policies: policies())
        let start = fs.mutatingOperationCount
        _ = workload(fs, seed: seed)
        return fs.mutatingOperationCount - start
    }

    @Test func acknowledgedEventsSurviveEveryCrashPoint() {
        let env = ProcessInfo.processInfo.environment
        if let s = env["AIBRAIN_CRASH_SEED"].flatMap(UInt64.init), let k = env["AIBRAIN_CRASH_POINT"].flatMap(Int.init)
        {
            let problems = Self.runCase(
                seed: s, point: k, crashDuringRecovery: env["AIBRAIN_CRASH_RECOVERY"].flatMap(Int.init))
            #expect(problems.isEmpty, "\(problems)")
            return
        }
        let seeds = UInt64(env["AIBRAIN_CRASH_SEEDS"].flatMap(Int.init) ?? 25)
        var cases = 0
        var failures: [String] = []
        for seed in 0..<seeds {
            let total = Self.operationCount(seed: seed)
            var rng = SplitMix64(seed: seed)
            let points = 20
            for i in 0..<points {
                // Spread the points over the whole run, jittered.
                let point = min(total, i * total / points + rng.next(below: max(1, total / points)))
                let recoveryCrash: Int? = rng.next(below: 4) == 0 ? rng.next(below: 12) : nil
                let problems = Self.runCase(seed: seed, point: point, crashDuringRecovery: recoveryCrash)
                cases += 1
                if !problems.isEmpty {
                    failures.append(
                        "repro: AIBRAIN_CRASH_SEED=\(seed) AIBRAIN_CRASH_POINT=\(point)\(recoveryCrash.map { " AIBRAIN_CRASH_RECOVERY=\($0)" } ?? "") swift test --filter CrashModel — \(problems)"
                    )
                }
            }
        }
        #expect(cases >= 500)
        #expect(
            failures.count == 0,
            "\(failures.count) of \(cases) crash cases failed:\n\(failures.prefix(5).joined(separator: "\n"))")
        print("crash model: \(cases) crash points over \(seeds) seeds, \(failures.count) failures")
    }
}
