import Foundation
import StorageTesting
import Testing

@testable import EventLog

/// Paths found in review: retries, limits of one block, versions from the future, round trips.
@Suite struct RobustnessTests {
    static let root = "/s/.aibrain"
    static let dir = root + "/log/" + testOrigin.hex

    @Test func aSealThatFailedHalfwayIsFinishedNotRebuilt() throws {
        let fs = try simulatedStore(seed: 21)
        let log = try EventLog(root: Self.root, fs: fs)
        try log.append([draft("a"), draft("b")])
        try log.seal()
        try log.append([draft("c")])
        // The .seg is renamed into place, then writing CATALOG fails: the seal is incomplete.
        fs.faultPlan.failWrites(errno: 5, .once, paths: .suffix("CATALOG.tmp"))
        #expect(throws: EventLogError.self) { try log.seal() }
        try log.seal()
        try log.append([draft("d")])
        try log.seal()
        let report = try StoreVerifier.verify(root: Self.root, fs: fs)
        #expect(report.ok, "\(report.problems)")
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(try allEvents(EventLog(root: Self.root, fs: fs)).map(\.eventID) == ["a", "b", "c", "d"])
    }

    @Test func aBlockHoldsAtMost255Teams() throws {
        let fs = try simulatedStore(seed: 22)
        let log = try EventLog(root: Self.root, fs: fs)
        for chunk in 0..<3 {
            try log.append(
                (0..<200).map { i in draft("t\(chunk)-\(i)", team: "team-\(chunk * 200 + i)", payload: "{}") })
        }
        try log.seal()
        let seg = try #require(try fs.listDirectory(Self.dir).first { $0.hasSuffix(".seg") })
        let dump = try SegmentDump.dump(path: Self.dir + "/" + seg, fs: fs, records: false)
        #expect(dump.units.count >= 3)
        #expect(dump.units.allSatisfy { $0.teams.count <= 255 })
        let events = try allEvents(log)
        #expect(events.count == 600)
        #expect(events[450].draft.team == "team-450")
    }

    @Test func aSegmentFromANewerFormatIsUnsupportedNotDamaged() throws {
        let fs = try simulatedStore(seed: 23)
        try EventLog(root: Self.root, fs: fs).append([draft("a")])
        let path = Self.dir + "/00000001-00000000000000000001.open"
        var b = try #require(fs.contents(of: path))
        b[24] = 0x80  // an incompatible feature this build does not know
        let sum = XXH3.hash(Array(b[0..<88]))
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { b[88 + i] = $0[i] } }
        try overwriteDurably(fs, path, b)
        do {
            _ = try EventLog(root: Self.root, fs: fs)
            Issue.record("opened a segment with an unknown incompatible feature")
        } catch let e {
            #expect(e.code == .unsupported)
            #expect(e.hint?.contains("newer") == true)
        }
        #expect(fs.contents(of: path) == b, "an unsupported segment is never touched")
    }

    /// A reader whose read of an open segment fails, or that meets a segment of a newer format, leaves no
    /// descriptor open (a `tail -f` retrying every poll would otherwise run out of them).
    @Test func aFailedOpenLeavesNoDescriptorOpen() throws {
        let fs = try simulatedStore(seed: 25)
        do {
            let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(autoSeal: false))
            for i in 0..<12 {
                try log.append([draft("e\(i)", payload: #"{"n":"\#(String(repeating: "x", count: 60))"}"#)])
            }
        }
        let opens = try fs.listDirectory(Self.dir).filter { $0.hasSuffix(".open") }.sorted()
        #expect(opens.count == 1, "\(opens)")
        let before = fs.openDescriptorCount
        fs.faultPlan.failReads(.forever, paths: .suffix(".open"))
        for _ in 0..<3 {
            #expect(throws: EventLogError.self) {
                _ = try EventLog(root: Self.root, fs: fs, options: OpenOptions(readOnly: true))
            }
        }
        #expect(fs.openDescriptorCount == before)
        fs.faultPlan.removeAll()
        // The newest open segment from a newer format: refused as unsupported, nothing left open.
        let path = Self.dir + "/" + opens.last!
        var b = try #require(fs.contents(of: path))
        b[24] = 0x80
        let sum = XXH3.hash(Array(b[0..<88]))
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { b[88 + i] = $0[i] } }
        try overwriteDurably(fs, path, b)
        #expect(throws: EventLogError.self) {
            _ = try EventLog(root: Self.root, fs: fs, options: OpenOptions(readOnly: true))
        }
        #expect(fs.openDescriptorCount == before)
    }

    @Test func aRefusedAppendNeverSealsADamagedSegment() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 300
        let fs = try simulatedStore(seed: 24, policies: p)
        var opts = OpenOptions(policies: p)
        opts.autoSeal = false
        do {
            let log = try EventLog(root: Self.root, fs: fs, options: opts)
            for id in ["a", "b", "c"] { try log.append([draft(id)]) }
        }
        let path = Self.dir + "/00000001-00000000000000000001.open"
        var b = try #require(fs.contents(of: path))
        let s = try b.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: path) }
        b[Int(s.batches[1].offset) + 50] ^= 0x10
        try overwriteDurably(fs, path, b)
        let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        #expect(throws: EventLogError.self) { try log.append([draft("d")]) }
        #expect(throws: EventLogError.self) { try log.seal() }
        #expect(fs.contents(of: path) == b)
        #expect(try fs.listDirectory(Self.dir).filter { $0.hasSuffix(".seg") }.isEmpty)
    }

    @Test func exportedLinesParseBackToTheSameDraft() throws {
        let fs = try simulatedStore(seed: 25)
        let log = try EventLog(root: Self.root, fs: fs)
        var drafts = Golden.drafts + Golden.openDrafts
        drafts[0].flags = Format.EnvelopeFlag.usage
        try log.append(drafts)
        for (e, d) in zip(try allEvents(log), drafts) {
            let line = EventJSON.line(e)
            let back = try EventJSON.draft(fromLine: line, lineNumber: 1)
            #expect(back == d, "\(String(decoding: line, as: UTF8.self))")
        }
    }

    @Test func flatAndNestedInputFormsMapToTheEnvelope() throws {
        let flat = Array(
            #"{"event_id":"e-1","type":"work_item.transitioned","ts":"2025-01-01T00:00:00.109Z","agent":"claude-dev-2","task_id":"T-1","from":"pending","n":1.50,"cost":{"usd":0.1}}"#
                .utf8)
        let d = try EventJSON.draft(fromLine: flat, lineNumber: 7)
        #expect(d.eventID == "e-1" && d.stream == "task/T-1" && d.actor == "claude-dev-2")
        #expect(d.occurredAt == "2025-01-01T00:00:00.109Z")
        #expect(String(decoding: d.payload, as: UTF8.self) == #"{"from":"pending","n":1.50,"cost":{"usd":0.1}}"#)
        #expect(d.flags == Format.EnvelopeFlag.usage)
        let nested = Array(
            #"{"type":"decision.recorded","task_id":"T-2","data":{ "kind" : "APPROACH" },"actor":"x"}"#.utf8)
        let n = try EventJSON.draft(fromLine: nested, lineNumber: 1)
        #expect(String(decoding: n.payload, as: UTF8.self) == #"{"kind":"APPROACH"}"#)
        #expect(n.eventID.count == 32, "a random 128-bit id when none is given")
        for (bad, field) in [
            (#"{"type":"a.b","agent":"x","actor":"y"}"#, "agent"), (#"{"type":"a.b","data":{},"extra":1}"#, "beside"),
            (#"{"type":"a.b","data":[]}"#, "data"), (#"{"event_id":1,"type":"a.b"}"#, "event_id"), (#"[1]"#, "object"),
            (#"{"type":"a.b","x":01}"#, "JSON"), (#"{"type":"a.b","type":"c.d"}"#, "duplicate"),
        ] {
            do {
                _ = try EventJSON.draft(fromLine: Array(bad.utf8), lineNumber: 3)
                Issue.record("accepted \(bad)")
            } catch let e {
                #expect(e.message.contains("line 3"), "\(e.message)")
                #expect(e.message.contains(field), "\(e.message) should name \(field)")
            }
        }
    }

    @Test func lazyPoliciesAreSyncedOnRequestAndAtClose() throws {
        var p = StoreConfig.Policies()
        p.durability = .none
        let fs = try simulatedStore(seed: 26, policies: p)
        do {
            let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
            let r = try log.append([draft("a")])
            #expect(r.durable == false)
            try log.sync()
            try log.append([draft("b")])
        }  // closing syncs
        fs.crash()
        let log = try EventLog(root: Self.root, fs: fs)
        #expect(try allEvents(log).map(\.eventID) == ["a", "b"])
    }
}

/// Two writers ("processes": separate EventLog instances with their own descriptors and locks) on one
/// store, with failures in between.
@Suite struct TwoWriterTests {
    static let root = "/s/.aibrain"

    @Test func aWriterWhoseSyncFailedNeverHidesAnotherWritersEvents() throws {
        let fs = try simulatedStore(seed: 31)
        let a = try EventLog(root: Self.root, fs: fs)
        let b = try EventLog(root: Self.root, fs: fs)
        try a.append([draft("a1")])
        try b.append([draft("b1")])
        try a.append([draft("a1b")])  // A picks up B's batch first
        fs.faultPlan.failSync(errno: 5, .once, paths: .suffix(".open"))
        #expect(throws: EventLogError.self) { try a.append([draft("a-failed")]) }
        let b2 = try b.append([draft("b2")])
        let a2 = try a.append([draft("a2")])
        #expect(b2.events[0].lsn != a2.events[0].lsn)
        fs.crash()
        let log = try EventLog(root: Self.root, fs: fs)
        let events = try allEvents(log)
        let ids = events.map(\.eventID)
        for acked in ["a1", "b1", "a1b", "b2", "a2"] { #expect(ids.contains(acked), "\(acked) lost: \(ids)") }
        #expect(Set(ids).count == ids.count)
        #expect(events.map(\.lsn) == Array(1...UInt64(events.count)))
        #expect(try StoreVerifier.verify(root: Self.root, fs: fs).ok)
    }

    @Test func writersFollowEachOthersRollsAndSeals() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 700
        let fs = try simulatedStore(seed: 32, policies: p)
        let a = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        let b = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        var acked: [String: UInt64] = [:]
        for i in 0..<40 {
            let w = i % 3 == 0 ? b : a
            let r = try w.append([draft("w\(i)", stream: "task/T-\(i % 2)")])
            acked["w\(i)"] = r.events[0].lsn
        }
        try b.seal()
        try a.append([draft("after-seal")])
        let reader = try EventLog(root: Self.root, fs: fs, options: OpenOptions(readOnly: true))
        let events = try allEvents(reader)
        #expect(events.map(\.lsn) == Array(1...UInt64(events.count)))
        for (id, lsn) in acked { #expect(events[Int(lsn) - 1].eventID == id) }
        #expect(try reader.history(stream: "task/T-0").count == 20)
        #expect(try StoreVerifier.verify(root: Self.root, fs: fs).ok)
    }
}
