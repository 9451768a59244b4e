import AIBrainCLI
import BrainEvents
import EventLog
import Foundation
import Projections
import Shipping
import StorageTesting
import Trust

/// Reboots a `StackWorld` after its power cut and checks what survived, the way an operator would find it:
/// read it (a reader before any recovery sees every acknowledged event), open the writer (recovery), retry
/// what was cut short (adoption, the shred), then the oracles:
/// - every acknowledged event is present exactly once and reads back as submitted (or `[shredded]` on the
///   shredded stream); every present event was submitted (no phantoms);
/// - no event was acknowledged while an fsync of it failed (it would be lost at the next power cut);
/// - the tail never delivered an event that did not survive; the cursor file parses, names a surviving record,
///   and is the last cursor whose write returned or the one in flight, never an older one or a torn one;
/// - the handoff file is whole (the last written or the one in flight) and reads as untouched;
/// - projections opened from the snapshots equal a fresh rebuild, byte for byte;
/// - the store verifies: every sealed segment, every seal signature (repo-a's own and repo-b's adopted copies);
/// - repo-b holds a whole prefix of repo-a's sealed segments, each byte-identical (no partial adoption),
///   and after one more shipment exactly all of them;
/// - a shred, once retried, leaves the key gone, exactly one `stream.shredded` event, and the stream closed;
/// - the store accepts, seals and ships a new event afterwards.
enum StackOracle {
    static func check(_ world: StackWorld) -> [String] {
        var problems: [String] = []
        let fs = world.fs
        let record = world.record
        let dirA = StackWorld.rootA + "/log/" + StackWorld.originA.hex
        let dirB = StackWorld.rootB + "/log/" + StackWorld.originA.hex
        do {
            // A reader right after the reboot, before any writer recovers the store, sees every acknowledged event.
            var early: Set<String> = []
            try world.keyedReader().read {
                early.insert($0.eventID)
                return true
            }
            let hidden = record.acknowledged.filter { !early.contains($0) }
            if !hidden.isEmpty { problems.append("a reader before recovery misses acknowledged \(hidden.prefix(3))") }
            let log = try world.writer()
            // The operator's retries of what was cut short.
            if record.shredAttempted {
                do { try world.shred(log) } catch { problems.append("shred retry failed: \(error)") }
            }
            var events: [Event] = []
            try world.keyedReader().read {
                events.append($0)
                return true
            }
            var count: [String: Int] = [:]
            for e in events { count[e.eventID, default: 0] += 1 }
            for id in record.acknowledged where count[id] != 1 {
                problems.append("acknowledged \(id) present \(count[id] ?? 0) times")
            }
            for id in record.acknowledgedAfterFault {
                problems.append("\(id) was acknowledged although an fsync failed during its append")
            }
            let shreddedKey = record.shredAttempted
            for e in events {
                if e.eventID.hasPrefix("shred:") { continue }
                guard let sent = record.submitted[e.eventID] else {
                    problems.append("phantom event \(e.eventID) at LSN \(e.lsn)")
                    continue
                }
                switch e.payloadState {
                case .plain:
                    if e.payload != sent.payload { problems.append("\(e.eventID) reads back different bytes") }
                case .shredded where shreddedKey && sent.stream == StackWorld.phiStream:
                    break
                default:
                    problems.append("\(e.eventID) reads back as \(e.payloadState)")
                }
            }
            let present = Set(events.map(\.eventID))
            for id in record.delivered where !present.contains(id) {
                problems.append("the tail delivered \(id), which did not survive")
            }
            if Set(record.delivered).count != record.delivered.count && !record.cursorSaveFailed {
                problems.append("the tail delivered an event twice before the crash")
            }

            let reader = try StoreReader(root: StackWorld.rootA, fs: fs)
            // Cursor file.
            do {
                let saved = try CursorFile.read(StackWorld.cursorPath, fs: fs)
                let allowed = [record.cursorSaved, record.cursorInFlight].compactMap { $0 }
                if let saved {
                    if !allowed.contains(saved.token) {
                        problems.append("the cursor file holds an older cursor than the last one saved")
                    }
                    try saved.check(against: reader)
                } else if record.cursorSaved != nil {
                    problems.append("the cursor file is gone although a save returned")
                }
            } catch {
                problems.append("cursor file: \(error)")
            }
            // Handoff files: whole, and the last one written holds its text (or the one in flight).
            for name in try fs.listDirectory(StackWorld.rootA) where name.hasPrefix("session-") && name.hasSuffix(".md")
            {
                let text = String(decoding: try fs.readFile(StackWorld.rootA + "/" + name), as: UTF8.self)
                if !Handoff.isUntouched(text) { problems.append("\(name) is not a whole handoff file") }
            }
            if let saved = record.handoffSaved {
                let now = try? fs.readFile(saved.path)
                let inFlight = record.handoffInFlight.flatMap { $0.path == saved.path ? $0.text : nil }
                if now != saved.text && (inFlight == nil || now != inFlight) {
                    problems.append("\(saved.path) holds neither the last handoff written nor the one in flight")
                }
            }
            // Projections: the snapshots plus the events after them equal a fresh fold.
            let (incremental, _) = try ProjectionStore(paths: reader.paths, fs: fs).open(reader, save: .never)
            let fresh = try ProjectionStore.rebuild(reader)
            let inc = Dictionary(uniqueKeysWithValues: ProjectionStore.encode(incremental).map { ($0.name, $0.bytes) })
            for (name, bytes) in ProjectionStore.encode(fresh) where inc[name] != bytes {
                problems.append("projection \(name) from the snapshots differs from a fresh rebuild")
            }
            // Verification and signatures, both repositories.
            let cipher = TeamCipher(storeRoot: StackWorld.rootA, fs: fs)
            let verifyA = try StoreVerifier.verify(root: StackWorld.rootA, fs: fs, cipher: cipher)
            if !verifyA.ok { problems.append("repo-a verify: \(verifyA.problems)") }
            let auditA = try SignatureAudit.audit(reader, root: StackWorld.rootA, fs: fs)
            if !auditA.findings.isEmpty { problems.append("repo-a signatures: \(auditA.findings.map(\.message))") }

            // Adoption: rerun (an adoption cut short resumes), then compare with repo-a's sealed segments.
            _ = try Adopter(root: StackWorld.rootB, fs: fs, lockTimeoutMilliseconds: 100, clock: { 1_800_000_000_000 })
                .run()
            let sealedA = try fs.listDirectory(dirA).filter { $0.hasSuffix(".seg") }.sorted()
            let adopted = ((try? fs.listDirectory(dirB)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
            if Array(sealedA.prefix(adopted.count)) != adopted {
                problems.append("repo-b adopted \(adopted), not a prefix of repo-a's \(sealedA)")
            }
            for name in adopted where (try? fs.readFile(dirB + "/" + name)) != (try? fs.readFile(dirA + "/" + name)) {
                problems.append("repo-b's \(name) differs from repo-a's")
            }
            let verifyB = try StoreVerifier.verify(root: StackWorld.rootB, fs: fs)
            if !verifyB.ok { problems.append("repo-b verify: \(verifyB.problems)") }
            let readerB = try StoreReader(root: StackWorld.rootB, fs: fs)
            let auditB = try SignatureAudit.audit(readerB, root: StackWorld.rootB, fs: fs)
            if !auditB.findings.isEmpty { problems.append("repo-b signatures: \(auditB.findings.map(\.message))") }
            let quarantined = (try? fs.listDirectory(StackWorld.rootB + "/quarantine")) ?? []
            if !quarantined.isEmpty { problems.append("repo-b quarantined \(quarantined)") }

            // Shredding, once retried.
            if record.shredAttempted {
                let shredEvents = events.filter { $0.type == StreamShredded.eventType }
                if shredEvents.count > 1 { problems.append("\(shredEvents.count) stream.shredded events, not 1") }
                var after: [Event] = []
                try world.keyedReader().read {
                    after.append($0)
                    return true
                }
                if after.filter({ $0.type == StreamShredded.eventType }).count != 1 {
                    problems.append("no single stream.shredded event after the retry")
                }
                if (try? fs.readFile(
                    StackWorld.rootA + "/keys/streams/" + StreamKeys.fileStem(StackWorld.phiStream) + ".key")) != nil
                {
                    problems.append("the shredded stream's data key is still on disk")
                }
                let stray = EventDraft(
                    eventID: "after-shred", type: "task.note", stream: StackWorld.phiStream, team: "dev",
                    payload: Array(#"{"note":"new"}"#.utf8))
                if (try? log.append([stray])) != nil { problems.append("the shredded stream accepted a new payload") }
            }
        } catch {
            problems.append("after the crash: \(error)")
        }
        // The store still works: append, seal, ship, adopt.
        do {
            let log = try world.writer()
            _ = try log.append([
                EventDraft(eventID: "after-crash-\(world.seed)", type: "task.note", stream: "task/T-9", team: "dev")
            ])
            try log.seal()
            try world.ship()
            let sealedA = try fs.listDirectory(dirA).filter { $0.hasSuffix(".seg") }.sorted()
            let adopted = try fs.listDirectory(dirB).filter { $0.hasSuffix(".seg") }.sorted()
            if sealedA != adopted { problems.append("after one more shipment repo-b holds \(adopted) of \(sealedA)") }
        } catch {
            problems.append("the store does not work after recovery: \(error)")
        }
        return problems
    }
}
