import EventLog
import Foundation
import Trust

/// `encryption`: the cost of encryption at rest, measured in the same run against the same engine without it.
/// Every event is given the team `bench`; one store has a key for it (every payload region is encrypted with
/// ChaCha20-Poly1305, sealed blocks are compressed then encrypted), the other has none (plaintext, the format
/// without the `encryptedRegions` flag). Append: durable batches of 1000. Replay: a full `scan` of the sealed
/// store in a fresh read-only open (page cache warm), decrypting every region.
enum EncryptionScenario {
    static let name = "encryption"
    static let plainName = "aibrain, no team key (plaintext)"
    static let encryptedName = "aibrain, team key (ChaCha20-Poly1305)"

    static func run(_ c: BenchContext) throws {
        let m = min(c.workload.count, 200_000)
        let batches = stride(from: 0, to: m, by: 1000).map { start in
            c.workload.drafts[start..<min(start + 1000, m)].map { d -> EventDraft in
                var e = d
                e.team = "bench"
                return e
            }
        }
        progress("\(name): \(m) events, append and scan, plaintext vs encrypted × \(c.options.runs) runs")
        var append: [Bool: [Double]] = [false: [], true: []]
        var scan: [Bool: [Double]] = [false: [], true: []]
        var sizes: [Bool: Int] = [:]
        for r in 0..<c.options.runs {
            for encrypted in (r % 2 == 0 ? [false, true] : [true, false]) {
                append[encrypted]!.append(try appendRate(c, batches, encrypted: encrypted, run: r))
                let (rate, bytes) = try scanRate(c, batches, encrypted: encrypted, count: m)
                scan[encrypted]!.append(rate)
                sizes[encrypted] = bytes
            }
        }
        let rep = c.report
        rep.add(name, plainName, "append events/s (durable, batches of 1000)", .perSecond, append[false]!)
        rep.add(name, encryptedName, "append events/s (durable, batches of 1000)", .perSecond, append[true]!)
        rep.add(name, plainName, "scan events/s", .perSecond, scan[false]!)
        rep.add(name, encryptedName, "scan events/s", .perSecond, scan[true]!)
        let a = Samples(append[true]!).median / Samples(append[false]!).median
        let s = Samples(scan[true]!).median / Samples(scan[false]!).median
        rep.note(
            "\(name): encrypted ÷ plaintext, medians: append \(fixed(a, 3)), scan \(fixed(s, 3)); sealed bytes "
                + "\(grouped(Double(sizes[false] ?? 0))) plaintext, \(grouped(Double(sizes[true] ?? 0))) encrypted "
                + "(37 bytes per region: mode, key id, nonce, tag).")
    }

    static func store(_ c: BenchContext, encrypted: Bool, durability: Durability) throws -> (EventLog, String) {
        let dir = try c.scratch.fresh("\(name)-\(encrypted ? "enc" : "plain")")
        let root = dir + "/.aibrain"
        try EventLog.create(at: root, name: "bench", policies: BenchStore.policies)
        if encrypted { _ = try TeamKeyOperations.add(team: "bench", files: TeamKeyFiles(storeRoot: root), now: 0) }
        var p = BenchStore.policies
        p.durability = durability
        let log = try EventLog(
            root: root, options: OpenOptions(policies: p, cipher: TeamCipher(storeRoot: root)))
        return (log, dir)
    }

    static func appendRate(_ c: BenchContext, _ batches: [[EventDraft]], encrypted: Bool, run: Int) throws -> Double {
        let (log, dir) = try store(c, encrypted: encrypted, durability: .always)
        defer { c.scratch.remove(dir) }
        try log.append([BenchStore.warmupDraft(run)])
        var n = 0
        let seconds = try MonotonicClock.seconds {
            for b in batches {
                try log.append(b)
                n += b.count
            }
        }
        return Double(n) / seconds
    }

    static func scanRate(_ c: BenchContext, _ batches: [[EventDraft]], encrypted: Bool, count: Int) throws -> (
        Double, Int
    ) {
        let (writer, dir) = try store(c, encrypted: encrypted, durability: .none)
        defer { c.scratch.remove(dir) }
        for b in batches { try writer.append(b) }
        try writer.seal()
        let root = dir + "/.aibrain"
        let bytes = BenchStore.fileBytes(under: root + "/log") { $0.hasSuffix(".seg") }
        let reader = try EventLog(root: root, options: OpenOptions(readOnly: true, cipher: TeamCipher(storeRoot: root)))
        var seen = 0
        var sum: UInt64 = 0
        let seconds = try MonotonicClock.seconds {
            try reader.scan { r in
                guard r.payloadState == .plain else { throw BenchError("\(name): an event did not decrypt") }
                seen &+= 1
                sum &+= r.lsn &+ UInt64(r.payload.count) &+ UInt64(r.payload.first ?? 0)
            }
        }
        guard seen == count, sum != 0 else { throw BenchError("\(name): scan visited \(seen) of \(count)") }
        return (Double(count) / seconds, bytes)
    }
}
