import AIBrainCLI
import BrainEvents
import EventLog
import Foundation
import Projections
import Shipping
import StorageTesting
import Trust

/// Two repositories on one simulated disk, driven through the whole stack the way the CLI drives it: a
/// signing, encrypting writer (`repo-a`), its projections' snapshots, a tail's cursor file, a handoff file,
/// shipping to `repo-b` (rsync's temporary-then-rename delivery and the sender's manifest, then adoption), team
/// key rotation and crypto-shredding. A seeded workload runs until the simulated machine dies (a crash point)
/// or an injected fault refuses a step; `StackOracle` then reboots it and checks what survived.
final class StackWorld {
    static let rootA = "/repo-a/.aibrain"
    static let rootB = "/repo-b/.aibrain"
    static let originA = OriginID(hex: "a11ce000000000000000000000000001")!
    static let originB = OriginID(hex: "b0b00000000000000000000000000002")!
    static let phiStream = "task/T-PHI"
    static let cursorPath = "/repo-a/audit.cursor"
    static let handoffTask = "T-1"

    let fs: SimulatedFileSystem
    let seed: UInt64

    /// What the workload did, for the oracles.
    struct Record {
        /// Event id → (payload, stream) of everything handed to `append`.
        var submitted: [String: (payload: [UInt8], stream: String)] = [:]
        /// Ids whose `append` returned (in order).
        var acknowledged: [String] = []
        /// Events the tail delivered (ids, in order).
        var delivered: [String] = []
        /// Cursor tokens: the last whose write returned, and one being written when the machine stopped.
        var cursorSaved: String?
        var cursorInFlight: String?
        /// A cursor save failed (an injected fault): the next tail re-delivers from the older cursor, which is
        /// the at-least-once promise, so duplicates before the crash are allowed from then on.
        var cursorSaveFailed = false
        /// Handoff files (path, text): the last whose write returned, and one being written.
        var handoffSaved: (path: String, text: [UInt8])?
        var handoffInFlight: (path: String, text: [UInt8])?
        var shredAttempted = false
        var shredAcknowledged = false
        var rotations = 0
        var seals = 0
        var shipments = 0
        var snapshots = 0
        /// Appends that returned although an fsync or a write failed while they ran.
        var acknowledgedAfterFault: [String] = []
        /// The step that stopped the workload (nil: it ran to the end).
        var stoppedBy: String?
        var steps = 0
    }

    var record = Record()

    init(seed: UInt64) throws {
        self.seed = seed
        fs = SimulatedFileSystem(seed: seed)
        var policies = StoreConfig.Policies()
        policies.rollBytes = 3000
        policies.lockTimeoutMilliseconds = 100
        try EventLog.create(at: Self.rootA, name: "repo-a", fs: fs, policies: policies, origin: Self.originA)
        try EventLog.create(at: Self.rootB, name: "repo-b", fs: fs, origin: Self.originB)
        let keysA = KeyStore(storeRoot: Self.rootA, origin: Self.originA, fs: fs)
        let signing = try keysA.generateOriginKey()
        _ = try KeyStore(storeRoot: Self.rootB, origin: Self.originB, fs: fs).generateOriginKey()
        _ = try KeyStore(storeRoot: Self.rootB, origin: Self.originB, fs: fs).trust(
            Self.originA, key: signing.verifier, since: SignedPosition(epoch: 1, firstLSN: 1))
        let files = TeamKeyFiles(storeRoot: Self.rootA, fs: fs)
        _ = try TeamKeyOperations.add(team: "dev", files: files, now: 1)
        _ = try StreamKeys.create(stream: Self.phiStream, team: "dev", files: files, now: 1)
    }

    /// The writer the CLI opens: the origin key as seal signer, the team keyring as cipher.
    func writer() throws -> EventLog {
        var options = OpenOptions(preallocationBytes: 900)
        options.signer = try OriginSigner.load(storeRoot: Self.rootA, fs: fs)
        options.cipher = TeamCipher(storeRoot: Self.rootA, fs: fs)
        return try EventLog(root: Self.rootA, fs: fs, options: options)
    }

    /// A reader with every key (what the writer's host sees).
    func keyedReader() throws -> EventLog {
        try EventLog(
            root: Self.rootA, fs: fs,
            options: OpenOptions(readOnly: true, cipher: TeamCipher(storeRoot: Self.rootA, fs: fs)))
    }

    func draft(_ rng: inout SplitMix64, step: Int, k: Int) -> EventDraft {
        let task = "T-\(1 + rng.next(below: 3))"
        let id = "s\(seed)-\(step)-\(k)"
        let team = ["dev", "", "ops"][rng.next(below: 3)]
        let pad = String(repeating: "x", count: rng.next(below: 160))
        switch rng.next(below: 4) {
        case 0:
            return EventDraft(
                eventID: id, type: "session.checkpointed", stream: "task/" + task, actor: "claude-dev-1", team: team,
                payload: Array(
                    #"{"checkpoint_id":"CP-\#(step)-\#(k)","iteration":\#(step),"verdict":"PARTIAL","summary":"step \#(step) \#(pad)"}"#
                        .utf8))
        case 1:
            return EventDraft(
                eventID: id, type: "decision.recorded", stream: "task/" + task, actor: "claude-qa-1", team: team,
                payload: Array(#"{"kind":"APPROACH","value":"v\#(step)","rationale":"\#(pad)"}"#.utf8))
        case 2 where !record.shredAttempted:
            return EventDraft(
                eventID: id, type: "task.note", stream: Self.phiStream, actor: "claude-dev-1", team: "dev",
                payload: Array(#"{"note":"protected detail \#(step)","pad":"\#(pad)"}"#.utf8))
        default:
            return EventDraft(
                eventID: id, type: "session.started", stream: "task/" + task, actor: "claude-dev-1", team: team,
                payload: Array(#"{"session_id":"S-\#(step)-\#(k)","goal":"\#(pad)"}"#.utf8))
        }
    }

    /// One tail step: every event after the cursor, then the cursor file replaced.
    func tail() throws {
        var cursor = try CursorFile.read(Self.cursorPath, fs: fs) ?? TailCursor()
        let reader = try StoreReader(root: Self.rootA, fs: fs)
        guard let log = reader.log(Self.originA) else { return }
        try log.read(from: cursor.startLSNs[Self.originA] ?? 1) { e in
            record.delivered.append(e.eventID)
            cursor.advance(to: e)
            return true
        }
        record.cursorInFlight = cursor.token
        do { try CursorFile.write(Self.cursorPath, cursor, fs: fs) } catch {
            record.cursorSaveFailed = true
            throw error
        }
        record.cursorSaved = cursor.token
        record.cursorInFlight = nil
    }

    /// `rsync` of every sealed segment of A into B's incoming/ (a temporary name, renamed when complete) and
    /// the sender's manifest last; then `ship adopt` on B.
    func ship() throws {
        let dir = Self.rootA + "/log/" + Self.originA.hex
        let incoming = Self.rootB + "/incoming/" + Self.originA.hex
        try fs.makeDirectories(incoming)
        for name in try fs.listDirectory(dir).filter({ $0.hasSuffix(".seg") }).sorted() {
            let held = (try? fs.readFile(Self.rootB + "/log/" + Self.originA.hex + "/" + name)) != nil
            if held { continue }
            try fs.writeFileAtomically(incoming + "/" + name, try fs.readFile(dir + "/" + name), tmpSuffix: ".rsync")
        }
        let manifest = try Manifest.local(root: Self.rootA, fs: fs)
        try fs.writeFileAtomically(
            Self.rootB + "/incoming/" + Self.originA.hex + ".manifest.json", manifest.encoded(), tmpSuffix: ".rsync")
        _ = try Adopter(root: Self.rootB, fs: fs, lockTimeoutMilliseconds: 100, clock: { 1_800_000_000_000 }).run()
        record.shipments += 1
    }

    func handoff() throws {
        let reader = try StoreReader(root: Self.rootA, fs: fs)
        let (engine, _) = try ProjectionStore(paths: reader.paths, fs: fs).open(reader, save: .never)
        guard let h = try Handoff.render(task: Self.handoffTask, engine: engine, reader: reader, version: "sim")
        else { return }
        record.handoffInFlight = (Self.rootA + "/" + h.fileName, Array(h.text.utf8))
        _ = try HandoffFile.write(h, root: Self.rootA, fs: fs, force: false)
        record.handoffSaved = record.handoffInFlight
        record.handoffInFlight = nil
    }

    func shred(_ log: EventLog) throws {
        record.shredAttempted = true
        _ = try StreamShredding.shred(
            stream: Self.phiStream, reason: "erasure request", actor: "human:dpo",
            cipher: TeamCipher(storeRoot: Self.rootA, fs: fs), log: log)
        record.shredAcknowledged = true
    }

    /// The inode of a file whose fsync or fdatasync the plan failed while it held unsynced writes (which the
    /// failure poisoned: they never become durable), from its fault-log line. A failure with nothing unsynced
    /// (a seal's or a roll's sync after the commit's own sync succeeded) puts no acknowledgement at risk.
    static func failedSyncInode(_ line: String) -> UInt64? {
        guard line.contains("injected"), line.contains(": fdatasync(") || line.contains(": fsync("),
            !line.contains(", 0 unsynced changes"), line.contains(" unsynced changes"),
            let at = line.range(of: "(inode ", options: .backwards)
        else { return nil }
        return UInt64(line[at.upperBound...].dropLast())
    }

    /// The `.open` segment of repo-a that holds `lsn` (the newest whose first LSN is at or below it).
    func segmentPath(holding lsn: UInt64) -> String {
        let dir = Self.rootA + "/log/" + Self.originA.hex
        let names = ((try? fs.listDirectory(dir)) ?? []).filter { $0.hasSuffix(".open") }
        let holder = names.compactMap { n in SegmentName.parse(n).map { (n, $0.firstLSN) } }
            .filter { $0.1 <= lsn }.max { $0.1 < $1.1 }
        return dir + "/" + (holder?.0 ?? "?")
    }

    /// The workload: `steps` seeded steps. With `continueAfterErrors` (the fault runs) a failed step is
    /// reported and the next step opens a fresh writer, as a restarted agent would; otherwise the first error
    /// (the machine dying at its crash point) ends it.
    func run(steps: Int, continueAfterErrors: Bool = false) {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 17)
        var log: EventLog?
        for step in 0..<steps {
            record.steps = step + 1
            let choice = rng.next(below: 20)
            var name = "append"
            do {
                let w = try log ?? writer()
                log = w
                switch choice {
                case 0..<9:
                    let drafts = (0..<(1 + rng.next(below: 3))).map { draft(&rng, step: step, k: $0) }
                    for d in drafts { record.submitted[d.eventID] = (d.payload, d.stream) }
                    let faultsBefore = fs.faultLog.count
                    let result = try w.append(drafts)
                    let fresh = result.events.filter { !$0.duplicate }
                    record.acknowledged += fresh.map(\.eventID)
                    // An append may outlive a failed fsync only by writing to a new segment (the writer starts
                    // one after a failure, perhaps under the same name once the failed file is set aside): an
                    // acknowledged event in the very file (inode) whose fsync failed is a violation.
                    let failed = Set(fs.faultLog[faultsBefore...].compactMap(Self.failedSyncInode))
                    if !failed.isEmpty {
                        record.acknowledgedAfterFault += fresh.filter { e in
                            ((try? fs.stat(segmentPath(holding: e.lsn))) ?? nil).map(\.inode)
                                .map(failed.contains) ?? false
                        }.map(\.eventID)
                    }
                case 9, 10:
                    name = "seal"
                    try w.seal()
                    record.seals += 1
                case 11:
                    name = "snapshot"
                    let reader = try StoreReader(root: Self.rootA, fs: fs)
                    _ = try ProjectionStore(paths: reader.paths, fs: fs).open(reader, save: .always)
                    record.snapshots += 1
                case 12, 13:
                    name = "tail"
                    try tail()
                case 14:
                    name = "handoff"
                    try handoff()
                case 15, 16:
                    name = "ship"
                    try ship()
                case 17:
                    name = "rotate"
                    _ = try TeamKeyOperations.rotate(
                        team: "dev", files: TeamKeyFiles(storeRoot: Self.rootA, fs: fs), now: Int64(step))
                    try w.adoptKeyGeneration()
                    record.rotations += 1
                case 18 where !record.shredAttempted && step > steps / 3:
                    name = "shred"
                    try shred(w)
                default:
                    name = "tail"
                    try tail()
                }
            } catch {
                record.stoppedBy = "step \(step) (\(name)): \(error)"
                if !continueAfterErrors { return }
                log = nil
            }
        }
    }
}
