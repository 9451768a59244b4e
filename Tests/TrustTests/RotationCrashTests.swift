import Foundation
import StorageTesting
import Synchronization
import Testing

@testable import EventLog
@testable import Trust

/// Key rotation and nonces under the crash model (power loss on the simulated file system at every point of
/// a workload that appends, rotates, adds a team key and seals). Oracles: nothing acknowledged is lost and
/// every payload reads back as written; every segment is encrypted under exactly the one key version per team
/// that its header's generation names (and no team with a key at that generation is stored in plaintext);
/// `verify` with the keys is clean; the log appends afterwards under the keyring's current generation.
///
/// A failing case prints a repro: `AIBRAIN_ROTATION_SEED=s AIBRAIN_ROTATION_POINT=k swift test --filter RotationCrash`.
@Suite struct RotationCrashTests {
    static func policies() -> StoreConfig.Policies {
        var p = StoreConfig.Policies()
        p.rollBytes = 2500
        p.lockTimeoutMilliseconds = 100
        return p
    }

    struct Outcome {
        var submitted: [String: [UInt8]] = [:]
        var acknowledged: [String] = []
    }

    static func workload(_ fs: SimulatedFileSystem, seed: UInt64, cipher: any RegionCipher) -> Outcome {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15)
        var out = Outcome()
        let files = TeamKeyFiles(storeRoot: encRoot, fs: fs)
        do {
            let log = try encWriter(fs, cipher: cipher, policies: policies())
            for step in 0..<14 {
                let drafts = (0..<(1 + rng.next(below: 3))).map { k in
                    encDraft(
                        "s\(seed)-\(step)-\(k)", team: ["dev", "qa", ""][rng.next(below: 3)],
                        payload: #"{"step":\#(step),"pad":"\#(String(repeating: "x", count: rng.next(below: 200)))"}"#)
                }
                for d in drafts { out.submitted[d.eventID] = d.payload }
                out.acknowledged += try log.append(drafts).events.filter { !$0.duplicate }.map(\.eventID)
                switch step {
                case 4, 9:
                    _ = try TeamKeyOperations.rotate(team: "dev", files: files, now: Int64(step))
                    try log.adoptKeyGeneration()
                case 6:
                    _ = try TeamKeyOperations.add(team: "qa", files: files, now: Int64(step))
                    if rng.next(below: 2) == 0 { try log.adoptKeyGeneration() }  // else the next commit rolls
                case 11:
                    try log.seal()
                default:
                    break
                }
            }
        } catch {}
        return out
    }

    /// The key id (or nil: plaintext) of every payload region of every segment, with the header's generation.
    static func regions(_ fs: SimulatedFileSystem) throws -> [(
        file: String, generation: UInt32?, team: String, keyID: [UInt8]?
    )] {
        var out: [(String, UInt32?, String, [UInt8]?)] = []
        func mode(_ stored: UnsafeRawBufferPointer) -> [UInt8]? {
            stored.first == Format.RegionMode.encrypted ? Array(stored[1..<9]) : nil
        }
        for path in try encSegmentFiles(fs) {
            let bytes = fs.contents(of: path)!
            let header = try bytes.withBytes { (b) throws(DecodeFailure) in try SegmentHeader.decode(b) }
            let generation = header.hasEncryptedRegions ? header.keyVersion : nil
            if header.kind == .open {
                let scan = try bytes.withBytes { (b) throws(EventLogError) in try OpenSegmentScanner.scan(b, path: path)
                }
                for ref in scan.batches {
                    try bytes.withUnsafeBytes { raw in
                        guard
                            case .batch(let layout) = CommitBatch.probe(
                                UnsafeRawBufferPointer(rebasing: raw[Int(ref.offset)...]))
                        else { throw EventLogError.corrupt("batch", path: path) }
                        for (r, range) in layout.regions.enumerated() {
                            let stored = UnsafeRawBufferPointer(
                                rebasing: raw[
                                    (Int(ref.offset) + range.lowerBound)..<(Int(ref.offset) + range.upperBound)])
                            out.append((path, generation, layout.teams[r], generation == nil ? nil : mode(stored)))
                        }
                    }
                }
            } else {
                let seg = try SealedSegment(fs: fs, path: path)
                for i in seg.footer.blocks.indices {
                    let stored = try seg.readBlockBytes(i)
                    try stored.withUnsafeBytes { raw in
                        let layout = try BlockLayout.parse(raw, fileOffset: 0, path: path)
                        for (r, range) in layout.regionFrames.enumerated() {
                            out.append(
                                (
                                    path, generation, layout.teams[r],
                                    generation == nil ? nil : mode(UnsafeRawBufferPointer(rebasing: raw[range]))
                                ))
                        }
                    }
                }
            }
        }
        return out
    }

    static func check(_ fs: SimulatedFileSystem, _ outcome: Outcome) -> [String] {
        var problems: [String] = []
        do {
            let cipher = TeamCipher(storeRoot: encRoot, fs: fs)
            let log = try encWriter(fs, cipher: cipher, policies: policies())
            let events = try encEvents(log)
            let byID = Dictionary(events.map { ($0.eventID, $0) }, uniquingKeysWith: { a, _ in a })
            for id in outcome.acknowledged {
                guard let e = byID[id] else {
                    problems.append("acknowledged \(id) lost")
                    continue
                }
                if e.payloadState != .plain || e.payload != outcome.submitted[id] {
                    problems.append("\(id) reads back wrong")
                }
            }
            let ring = cipher.keyring
            for r in try regions(fs) {
                // Every team here has a key before the first writer opens: an unflagged segment holding its
                // regions would be plaintext written after encryption began.
                guard let g = r.generation else {
                    problems.append("\(lastPathComponent(r.file)): an unflagged segment holds team \(r.team)")
                    continue
                }
                let expected = ring.encryptingVersion(team: r.team, generation: g)?.keyID
                if r.keyID != expected {
                    problems.append(
                        "\(lastPathComponent(r.file)) generation \(g) team \(r.team): key \(r.keyID.map(hexString) ?? "plaintext"), expected \(expected.map(hexString) ?? "plaintext")"
                    )
                }
            }
            let report = try StoreVerifier.verify(root: encRoot, fs: fs, cipher: cipher)
            if !report.ok || !report.unchecked.isEmpty {
                problems.append("verify: \(report.problems) \(report.unchecked)")
            }
            try log.append([encDraft("after-recovery", team: "dev")])
            try log.seal()
            if let last = try regions(fs).last(where: { $0.team == "dev" }),
                last.keyID != ring.team("dev")?.active?.keyID
            {
                problems.append("an append after recovery did not use dev's newest key")
            }
        } catch {
            problems.append("recovery failed: \(error)")
        }
        return problems
    }

    static func runCase(seed: UInt64, point: Int) -> [String] {
        let fs = try! encryptedStore(seed: seed, teams: ["dev"], policies: policies())
        fs.armCrash(afterOperations: point)
        let outcome = workload(fs, seed: seed, cipher: TeamCipher(storeRoot: encRoot, fs: fs))
        fs.crash()
        return check(fs, outcome)
    }

    @Test func everySegmentHasExactlyOneKeyVersionAfterACrashAnywhereInARotation() {
        let env = ProcessInfo.processInfo.environment
        if let s = env["AIBRAIN_ROTATION_SEED"].flatMap(UInt64.init),
            let k = env["AIBRAIN_ROTATION_POINT"].flatMap(Int.init)
        {
            let problems = Self.runCase(seed: s, point: k)
            #expect(problems.isEmpty, "\(problems)")
            return
        }
        var cases = 0
        var failures: [String] = []
        for seed in UInt64(0)..<6 {
            let fs = try! encryptedStore(seed: seed, teams: ["dev"], policies: Self.policies())
            let start = fs.mutatingOperationCount
            let clean = Self.workload(fs, seed: seed, cipher: TeamCipher(storeRoot: encRoot, fs: fs))
            let total = fs.mutatingOperationCount - start
            #expect(Self.check(fs, clean).isEmpty, "no crash, seed \(seed): \(Self.check(fs, clean))")
            var rng = SplitMix64(seed: seed)
            for i in 0..<30 {
                let point = min(total, i * total / 30 + rng.next(below: max(1, total / 30)))
                let problems = Self.runCase(seed: seed, point: point)
                cases += 1
                if !problems.isEmpty {
                    failures.append(
                        "repro: AIBRAIN_ROTATION_SEED=\(seed) AIBRAIN_ROTATION_POINT=\(point) — \(problems)")
                }
            }
        }
        #expect(
            failures.isEmpty, "\(failures.count) of \(cases) failed:\n\(failures.prefix(5).joined(separator: "\n"))")
    }

    /// Records every nonce the cipher draws, including those of batches a power cut tore and recovery cut.
    final class RecordingCipher: RegionCipher {
        let inner: TeamCipher
        let seen = Mutex<[[UInt8]]>([])
        init(_ inner: TeamCipher) { self.inner = inner }
        func currentGeneration() throws(EventLogError) -> UInt32? { try inner.currentGeneration() }
        func encrypt(_ plaintext: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8])
            throws(EventLogError) -> Bool
        {
            let mark = out.count
            guard try inner.encrypt(plaintext, context: context, appendingTo: &out) else { return false }
            // (per-segment key = team key id, segment id, team) ‖ nonce
            let pair =
                Array(out[mark..<mark + 8]) + context.segmentID + Array(context.team.utf8) + [0]
                + Array(out[mark + 8..<mark + 20])
            seen.withLock { $0.append(pair) }
            return true
        }
        func decrypt(
            keyID: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer,
            tag: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8]
        ) -> RegionDecryption {
            inner.decrypt(
                keyID: keyID, nonce: nonce, ciphertext: ciphertext, tag: tag, context: context, appendingTo: &out)
        }
    }

    /// A crash loop: appends, a power cut somewhere in them, recovery (which cuts torn tails and re-appends at
    /// the cut offsets under the same per-segment key), more appends. Every (key, nonce) pair ever used, and
    /// every one stored, is unique.
    @Test func noNonceRepeatsUnderOneKeyAcrossACrashLoop() throws {
        var p = Self.policies()
        p.rollBytes = 1 << 20  // stay in one segment: every re-append after a cut is under the same key
        p.durability = .none  // unsynced batches are torn by the power cuts (store.json's policy: R3a)
        let fs = try encryptedStore(seed: 77, teams: ["dev"], policies: p)
        let recorder = RecordingCipher(TeamCipher(storeRoot: encRoot, fs: fs))
        var rng = SplitMix64(seed: 77)
        var cuts = 0
        for round in 0..<40 {
            // Armed once the writer is open (its recovery syncs what it found): the power cut tears the appends.
            if let log = try? encWriter(fs, cipher: recorder, policies: p) {
                fs.armCrash(afterOperations: 1 + rng.next(below: 6))
                for k in 0..<4 {
                    _ = try? log.append([
                        encDraft("r\(round)-\(k)", team: "dev", payload: #"{"round":\#(round),"k":\#(k)}"#)
                    ])
                }
            }
            fs.crash()
            if let log = try? encWriter(fs, cipher: recorder, policies: p) {
                if log.recoveryReport.actions.contains(where: { if case .cutTornTail = $0 { true } else { false } }) {
                    cuts += 1
                }
                try log.append([encDraft("after-\(round)", team: "dev")])
                try log.sync()
            }
        }
        let all = recorder.seen.withLock { $0 }
        #expect(cuts > 3, "the loop should tear and cut tails (got \(cuts))")
        #expect(Set(all).count == all.count, "a nonce repeated under one key")
        // What survived on disk is a subset of what was drawn, and unique too.
        var stored: [[UInt8]] = []
        for path in try encSegmentFiles(fs) {
            let bytes = fs.contents(of: path)!
            let header = try bytes.withBytes { (b) throws(DecodeFailure) in try SegmentHeader.decode(b) }
            _ = try bytes.withBytes { (b) throws(EventLogError) in
                try OpenSegmentScanner.scan(b, path: path)
            }.batches.map { ref in
                bytes.withUnsafeBytes { raw in
                    if case .batch(let layout) = CommitBatch.probe(
                        UnsafeRawBufferPointer(rebasing: raw[Int(ref.offset)...]))
                    {
                        for (r, range) in layout.regions.enumerated() where raw[Int(ref.offset) + range.lowerBound] == 1
                        {
                            let at = Int(ref.offset) + range.lowerBound + 1
                            stored.append(
                                Array(raw[at..<at + 8]) + header.segmentID + Array(layout.teams[r].utf8) + [0]
                                    + Array(raw[at + 8..<at + 20]))
                        }
                    }
                }
            }
        }
        #expect(!stored.isEmpty && Set(stored).count == stored.count && Set(stored).isSubset(of: Set(all)))
    }
}
