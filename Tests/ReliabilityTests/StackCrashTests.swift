import EventLog
import Foundation
import Shipping
import StorageTesting
import Testing
import Trust

/// The crash simulator over the whole stack (`StackWorld`, `StackOracle`): power cuts at seeded points of a
/// workload that appends, seals, rolls, snapshots projections, saves a tail cursor and a handoff file, ships
/// and adopts, rotates a team key and shreds a stream; a second power cut during recovery in a quarter of the
/// cases; injected fsync/EIO/ENOSPC faults; single-bit flips in sealed segments.
///
/// `make test` runs a few hundred crash points. `make crash-sim` runs thousands
/// (`AIBRAIN_STACK_SEEDS`, `AIBRAIN_STACK_POINTS`, `AIBRAIN_STACK_STEPS`; `AIBRAIN_FAULT_SEEDS`,
/// `AIBRAIN_FLIP_SEEDS`). A failing case prints its one-line repro:
/// `AIBRAIN_STACK_SEED=s AIBRAIN_STACK_POINT=k [AIBRAIN_STACK_RECOVERY=r] swift test --filter StackCrash`.
@Suite struct StackCrashTests {
    static let env = ProcessInfo.processInfo.environment
    static func knob(_ name: String, _ fallback: Int) -> Int { env[name].flatMap(Int.init) ?? fallback }
    static var steps: Int { knob("AIBRAIN_STACK_STEPS", 40) }

    /// One case: the workload dies after `point` operations; optionally recovery dies after `recovery` more.
    static func runCase(seed: UInt64, point: Int, recovery: Int?) throws -> (problems: [String], acknowledged: Int) {
        let world = try StackWorld(seed: seed)
        world.fs.armCrash(afterOperations: point)
        world.run(steps: steps)
        world.fs.crash()
        if let recovery {
            // Recovery itself cut short: open the writer (torn-tail repair, seal recovery), adopt, shred again.
            world.fs.armCrash(afterOperations: recovery)
            do {
                let log = try world.writer()
                _ = try Adopter(root: StackWorld.rootB, fs: world.fs, lockTimeoutMilliseconds: 100).run()
                if world.record.shredAttempted { try world.shred(log) }
            } catch {}
            world.fs.crash()
        }
        return (StackOracle.check(world), world.record.acknowledged.count)
    }

    static func repro(_ seed: UInt64, _ point: Int, _ recovery: Int?) -> String {
        "AIBRAIN_STACK_SEED=\(seed) AIBRAIN_STACK_POINT=\(point)"
            + (recovery.map { " AIBRAIN_STACK_RECOVERY=\($0)" } ?? "") + " swift test --filter StackCrash"
    }

    @Test func everyCrashPointOfTheWholeStackKeepsEveryAcknowledgedEvent() throws {
        if let s = Self.env["AIBRAIN_STACK_SEED"].flatMap(UInt64.init),
            let k = Self.env["AIBRAIN_STACK_POINT"].flatMap(Int.init)
        {
            let (problems, _) = try Self.runCase(
                seed: s, point: k, recovery: Self.env["AIBRAIN_STACK_RECOVERY"].flatMap(Int.init))
            #expect(problems.isEmpty, "\(problems)")
            return
        }
        let seeds = UInt64(Self.knob("AIBRAIN_STACK_SEEDS", 6))
        let pointsPerSeed = Self.knob("AIBRAIN_STACK_POINTS", 50)
        var cases = 0
        var acknowledged = 0
        var failures: [String] = []
        var coverage: [String: Int] = [:]
        for seed in 0..<seeds {
            // The clean run: no crash, no fault; it must finish and pass every oracle.
            let clean = try StackWorld(seed: seed)
            let start = clean.fs.mutatingOperationCount
            clean.run(steps: Self.steps)
            let total = clean.fs.mutatingOperationCount - start
            #expect(clean.record.stoppedBy == nil, "seed \(seed) without a crash: \(clean.record.stoppedBy ?? "")")
            let cleanProblems = StackOracle.check(clean)
            #expect(cleanProblems.isEmpty, "seed \(seed) without a crash: \(cleanProblems)")
            for (what, n) in [
                ("seals", clean.record.seals), ("shipments", clean.record.shipments),
                ("snapshots", clean.record.snapshots), ("rotations", clean.record.rotations),
                ("shreds", clean.record.shredAcknowledged ? 1 : 0),
                ("handoffs", clean.record.handoffSaved == nil ? 0 : 1),
                ("cursor saves", clean.record.cursorSaved == nil ? 0 : 1),
            ] {
                coverage[what, default: 0] += n
            }
            var rng = SplitMix64(seed: seed ^ 0xC0FFEE)
            for i in 0..<pointsPerSeed {
                let point = min(total, i * total / pointsPerSeed + rng.next(below: max(1, total / pointsPerSeed)))
                let recovery = rng.next(below: 4) == 0 ? rng.next(below: 60) : nil
                let (problems, acked) = try Self.runCase(seed: seed, point: point, recovery: recovery)
                cases += 1
                acknowledged += acked
                if !problems.isEmpty {
                    failures.append("repro: \(Self.repro(seed, point, recovery)) — \(problems.prefix(3))")
                }
            }
        }
        print(
            "stack crash simulator: \(cases) crash states over \(seeds) seeds (\(Self.steps) steps each), "
                + "\(acknowledged) acknowledged events checked, \(failures.count) failing; clean runs covered "
                + coverage.keys.sorted().map { "\($0) \(coverage[$0]!)" }.joined(separator: ", "))
        #expect(
            failures.isEmpty, "\(failures.count) of \(cases) failed:\n\(failures.prefix(5).joined(separator: "\n"))")
        // The workload must reach every part it claims to test.
        for part in ["seals", "shipments", "snapshots", "rotations", "shreds", "handoffs", "cursor saves"] {
            #expect(coverage[part, default: 0] > 0, "no seed's workload did any \(part)")
        }
    }

    /// fsync EIO (fsyncgate), pwrite ENOSPC and EIO, short writes, injected at seeded points; the workload
    /// carries on (a failed step reopens the writer). Then the power goes: nothing acknowledged may be missing,
    /// and no append may have returned while an fsync it made failed.
    @Test func injectedFaultsNeverLeadToAnAcknowledgementThatIsLost() throws {
        let seeds = UInt64(Self.knob("AIBRAIN_FAULT_SEEDS", 40))
        var faults = 0
        var acknowledged = 0
        var failures: [String] = []
        for seed in 0..<seeds {
            let world = try StackWorld(seed: 1000 + seed)
            var rng = SplitMix64(seed: seed ^ 0xFA17)
            var plan = FaultPlan()
            for _ in 0..<(2 + rng.next(below: 4)) {
                let skipping = rng.next(below: 25)
                switch rng.next(below: 4) {
                case 0: plan.failSync(errno: 5, .once, skipping: skipping, paths: .suffix(".open"))
                case 1: plan.failSync(errno: 5, .times(2), skipping: skipping)
                case 2: plan.failWrites(errno: 28, .times(1 + rng.next(below: 3)), skipping: skipping)
                default: plan.failWrites(errno: 5, .once, skipping: skipping)
                }
            }
            if rng.next(below: 3) == 0 { plan.shortWriteProbability = 0.2 }
            world.fs.faultPlan = plan
            world.run(steps: Self.steps, continueAfterErrors: true)
            let injected = world.fs.faultLog.filter { $0.contains("injected") }.count
            faults += injected
            world.fs.faultPlan = .none
            world.fs.crash()
            acknowledged += world.record.acknowledged.count
            let problems = StackOracle.check(world)
            if !problems.isEmpty {
                failures.append("fault seed \(1000 + seed) (\(injected) faults): \(problems.prefix(3))")
            }
        }
        print(
            "fault injection: \(faults) injected fsync/EIO/ENOSPC faults over \(seeds) seeds, \(acknowledged) "
                + "acknowledged events, \(failures.count) failing")
        #expect(faults > 0, "the fault plans injected nothing")
        #expect(failures.isEmpty, "\(failures.count) failed:\n\(failures.prefix(5).joined(separator: "\n"))")
    }

    /// Single-bit flips anywhere in a sealed segment (header, blocks, index, footer, trailer, signature):
    /// each one is caught by the verifier or by the seal's signature.
    @Test func everySingleBitFlipInASealedSegmentIsDetected() throws {
        let seeds = UInt64(Self.knob("AIBRAIN_FLIP_SEEDS", 3))
        let flipsPerSegment = Self.knob("AIBRAIN_FLIPS_PER_SEGMENT", 40)
        var flips = 0
        var missed: [String] = []
        for seed in 0..<seeds {
            let world = try StackWorld(seed: 2000 + seed)
            world.run(steps: Self.steps)
            try world.writer().seal()
            let fs = world.fs
            let dir = StackWorld.rootA + "/log/" + StackWorld.originA.hex
            let key = try KeyStore(storeRoot: StackWorld.rootA, origin: StackWorld.originA, fs: fs).requireOriginKey()
            let cipher = TeamCipher(storeRoot: StackWorld.rootA, fs: fs)
            var rng = SplitMix64(seed: seed ^ 0xF11B)
            for name in try fs.listDirectory(dir).filter({ $0.hasSuffix(".seg") }).sorted() {
                let original = try fs.readFile(dir + "/" + name)
                for _ in 0..<flipsPerSegment {
                    let bit = rng.next(below: original.count * 8)
                    var bytes = original
                    bytes[bit / 8] ^= UInt8(1 << (bit % 8))
                    flips += 1
                    if !Self.detects(bytes, name: name, fs: fs, key: key.verifier, cipher: cipher) {
                        missed.append("\(name) bit \(bit) (byte \(bit / 8) of \(original.count))")
                    }
                }
            }
        }
        print("bit flips: \(flips) single-bit flips in sealed segments, \(flips - missed.count) detected")
        #expect(flips > 0)
        #expect(missed.isEmpty, "\(missed.count) flips went unnoticed: \(missed.prefix(10))")
    }

    /// Whether damaged sealed-segment bytes are refused: by the full verifier, or by the seal's signature.
    static func detects(
        _ bytes: [UInt8], name: String, fs: SimulatedFileSystem, key: NoteVerifierKey, cipher: TeamCipher
    ) -> Bool {
        if (try? SealedSegmentVerifier.check(bytes, path: name, cipher: cipher)) == nil { return true }
        let scratch = "/flip/" + name
        do {
            try fs.makeDirectories("/flip")
            try fs.writeFileAtomically(scratch, bytes)
            let segment = try SealedSegment(fs: fs, path: scratch)
            if case .verified = SealNote.check(segment, keys: [key]) { return false }
            return true
        } catch {
            return true
        }
    }
}
