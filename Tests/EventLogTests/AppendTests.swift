import Foundation
import StorageTesting
import Testing

@testable import EventLog

@Suite struct AppendTests {
    static let root = "/s/.aibrain"
    var dir: String { Self.root + "/log/" + testOrigin.hex }

    func segmentFiles(_ fs: SimulatedFileSystem) throws -> [String] {
        try fs.listDirectory(dir).filter { SegmentName.parse($0) != nil }
    }

    @Test func reappendingAnIDFromTheOldestOfAHundredSegmentsReturnsTheOriginalLSN() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 600
        let fs = try simulatedStore(seed: 11, policies: p)
        var firstLSN: UInt64 = 0
        do {
            let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p, preallocationBytes: 512))
            firstLSN = try log.append([draft("oldest-event")]).events[0].lsn
            var i = 0
            while try segmentFiles(fs).filter({ $0.hasSuffix(".seg") }).count < 100 {
                try log.append([draft("filler-\(i)"), draft("filler-\(i)-b")])
                i += 1
            }
        }
        // A fresh process: the id is found through EVENTIDS, not a scan.
        let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        #expect(log.catalog.entries.count >= 100)
        #expect(log.idIndex?.coveredSegments == UInt64(log.catalog.entries.count))
        let head = log.headLSN
        let r = try log.append([draft("oldest-event"), draft("brand-new")])
        #expect(r.events[0] == Appended(eventID: "oldest-event", lsn: firstLSN, hlc: r.events[0].hlc, duplicate: true))
        #expect(r.events[1].duplicate == false && r.events[1].lsn == head + 1)
        // Within one batch, the second copy is a duplicate of the first.
        let twice = try log.append([draft("twin"), draft("twin")])
        #expect(
            twice.events[0].duplicate == false && twice.events[1].duplicate
                && twice.events[1].lsn == twice.events[0].lsn)
        // Duplicates of events still in the open segment.
        #expect(
            try log.append([draft("brand-new")]).events[0]
                == Appended(eventID: "brand-new", lsn: head + 1, hlc: r.events[1].hlc, duplicate: true))
    }

    @Test func theEventIndexIsRebuiltWhenMissingOrDamaged() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 600
        let fs = try simulatedStore(seed: 12, policies: p)
        do {
            let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p, preallocationBytes: 512))
            for i in 0..<30 { try log.append([draft("e-\(i)")]) }
        }
        try fs.unlink(dir + "/EVENTIDS")
        let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        #expect(log.recoveryReport.actions.contains(.rebuiltEventIndex))
        #expect(try log.append([draft("e-0")]).events[0].duplicate)
        // Damaged CATALOG: rebuilt from the seals.
        try overwriteDurably(fs, dir + "/CATALOG", [0xFF, 0xFF], at: 20)
        let again = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        #expect(again.recoveryReport.actions.contains(.rebuiltCatalog))
        #expect(try allEvents(again).map(\.eventID) == (0..<30).map { "e-\($0)" })
    }

    /// Contract 2: EIO on fdatasync → no acknowledgement, and the next append goes to a new segment
    /// whose header records where the acknowledged data ended; nothing acknowledged is lost.
    @Test func eioOnFsyncIsNeverAcknowledgedAndMovesToANewSegment() throws {
        let fs = try simulatedStore(seed: 13)
        let log = try EventLog(root: Self.root, fs: fs)
        try log.append([draft("a"), draft("b")])
        let ackedEnd = log.opens.last!.dataEnd
        fs.faultPlan.failSync(errno: 5, .once, paths: .suffix(".open"))
        do {
            try log.append([draft("c")])
            Issue.record("append acknowledged after a failed fsync")
        } catch let e {
            #expect(e.code == .writeFailed)
            #expect(e.description.contains("nothing was acknowledged"))
            #expect(e.underlying?.errno == 5)
        }
        let r = try log.append([draft("d")])
        #expect(r.events[0].lsn == 3)
        let files = try segmentFiles(fs)
        #expect(files.contains("00000001-00000000000000000003.open"), "\(files)")
        let successor = try #require(fs.contents(of: dir + "/00000001-00000000000000000003.open"))
        let header = try successor.withUnsafeBytes { try SegmentHeader.decode($0) }
        #expect(header.compatibleFeatures & Format.CompatibleFeature.followsFailedSync != 0)
        #expect(header.predecessorEndOffset == UInt64(ackedEnd))
        // Power loss now: the acknowledged events survive, "c" may not, and LSNs stay gap-free.
        fs.crash()
        let after = try EventLog(root: Self.root, fs: fs)
        let ids = try allEvents(after).map(\.eventID)
        #expect(ids == ["a", "b", "d"])
        #expect(try StoreVerifier.verify(root: Self.root, fs: fs).ok)
    }

    @Test func enospcIsAClearErrorAndLosesNothing() throws {
        let fs = try simulatedStore(seed: 14)
        let log = try EventLog(root: Self.root, fs: fs)
        try log.append([draft("a")])
        fs.faultPlan.failWrites(errno: 28, .times(2))
        do {
            try log.append([draft("b", payload: "{\"big\":\"\(String(repeating: "x", count: 5000))\"}")])
            Issue.record("append acknowledged without space")
        } catch let e {
            #expect(e.code == .noSpace)
            #expect(e.description.contains("free disk space"))
        }
        // Still full: creating the next segment fails clearly too.
        #expect(throws: EventLogError.self) { try log.append([draft("c")]) }
        // Space is back.
        try log.append([draft("d")])
        fs.crash()
        let after = try EventLog(root: Self.root, fs: fs)
        #expect(try allEvents(after).map(\.eventID) == ["a", "d"])
    }

    @Test func thePreconditionSeesTheTailUnderTheLockAndCanRefuse() throws {
        let fs = try simulatedStore(seed: 15)
        let log = try EventLog(root: Self.root, fs: fs)
        try log.append([draft("a", stream: "task/T-9"), draft("b", stream: "task/T-9")])
        struct VersionMismatch: Error, CustomStringConvertible {
            var current: Int
            var description: String { "expected version 5, stream is at \(current)" }
        }
        do {
            try log.append([draft("c", stream: "task/T-9")]) { ctx in
                let v = try ctx.version(ofStream: "task/T-9")
                if v != 5 { throw VersionMismatch(current: v) }
            }
            Issue.record("precondition ignored")
        } catch let e {
            #expect(e.code == .preconditionFailed)
            #expect(e.message.contains("stream is at 2"))
        }
        let r = try log.append([draft("c", stream: "task/T-9")]) { ctx in
            #expect(ctx.nextLSN == 3)
            if try ctx.version(ofStream: "task/T-9") != 2 { throw VersionMismatch(current: 0) }
        }
        #expect(r.events[0].lsn == 3)
        #expect(try allEvents(log).map(\.eventID) == ["a", "b", "c"])
    }

    @Test func limitsAreEnforcedBeforeAnythingIsWritten() throws {
        let fs = try simulatedStore(seed: 16)
        let log = try EventLog(root: Self.root, fs: fs)
        let before = fs.mutatingOperationCount
        let huge = EventDraft(
            eventID: "huge", type: "test.event", payload: [UInt8](repeating: 0x61, count: (1 << 20) + 1))
        #expect(throws: EventLogError.self) { try log.append([huge]) }
        let many = (0...Limits.maxBatchEvents).map { EventDraft(eventID: "m\($0)", type: "test.event") }
        #expect(throws: EventLogError.self) { try log.append(many) }
        for bad in ["", "has space", String(repeating: "x", count: 129), "ümlaut"] {
            #expect(throws: EventLogError.self) { try log.append([EventDraft(eventID: bad, type: "test.event")]) }
        }
        for bad in ["Type.x", "single", "a..b", "a.", "a.B"] {
            #expect(throws: EventLogError.self) { try log.append([EventDraft(eventID: "ok", type: bad)]) }
        }
        #expect(throws: EventLogError.self) {
            try log.append([EventDraft(eventID: "k", type: "a.b", keys: ["1", "2", "3", "4", "5"])])
        }
        for keys in [["task/T-1"], ["item/1", "item/1"]] {
            #expect(throws: EventLogError.self) {
                try log.append([EventDraft(eventID: "dup-keys", type: "a.b", stream: "task/T-1", keys: keys)])
            }
        }
        #expect(fs.mutatingOperationCount == before, "a refused batch must not write")
        // Exactly at the limit is fine.
        let max = EventDraft(eventID: "max", type: "test.event")
        let room = Limits.maxEventBytes - EnvelopeCodec.encodedSize(max)
        try log.append([EventDraft(eventID: "max", type: "test.event", payload: [UInt8](repeating: 0x61, count: room))])
    }

    @Test func aHeldLockTimesOutNamingTheHolder() throws {
        let dir = temporaryDirectory()
        var p = StoreConfig.Policies()
        p.lockTimeoutMilliseconds = 150
        try EventLog.create(at: dir + "/.aibrain", name: "t", policies: p, origin: testOrigin)
        let log = try EventLog(root: dir + "/.aibrain")
        let fs = PosixFileSystem()
        let other = try fs.open(dir + "/.aibrain/log/\(testOrigin.hex)/LOCK", .readWrite)
        defer { fs.close(other) }
        #expect(try fs.lock(other, nonBlocking: true))
        try fs.writeAll(other, Array("4242           \n".utf8), at: 0)
        do {
            try log.append([draft("x")])
            Issue.record("append while the lock is held elsewhere")
        } catch let e {
            #expect(e.code == .lockTimeout)
            #expect(e.message.contains("pid 4242"))
        }
        fs.unlock(other)
        try log.append([draft("x")])
    }

    @Test func aCopiedStoreRefusesToAppend() throws {
        let dir = temporaryDirectory()
        try EventLog.create(at: dir + "/a/.aibrain", name: "a")
        do {
            let original = try EventLog(root: dir + "/a/.aibrain")
            try original.append([draft("x")])
            try original.seal()  // the copy's newest .open is empty, the usual state
        }
        let cp = Process()
        cp.executableURL = URL(fileURLWithPath: "/bin/cp")
        cp.arguments = ["-a", dir + "/a", dir + "/b"]
        try cp.run()
        cp.waitUntilExit()
        let copy = try EventLog(root: dir + "/b/.aibrain")
        do {
            try copy.append([draft("y")])
            Issue.record("a copy appended")
        } catch let e {
            #expect(e.code == .copiedStore)
            #expect(e.hint?.contains("recover --new-epoch") == true)
        }
        #expect(try allEvents(copy).map(\.eventID) == ["x"], "reads still work")
        try EventLog(root: dir + "/a/.aibrain").append([draft("y")])
        // recover --new-epoch: the copy becomes a writer under epoch 2, LSNs continue, nothing is lost.
        let config = try copy.startNewEpoch()
        #expect(config.epoch == 2)
        let r = try copy.append([draft("z")])
        #expect(r.epoch == 2 && r.events[0].lsn == 2)
        let reopened = try EventLog(root: dir + "/b/.aibrain")
        #expect(try allEvents(reopened).map { "\($0.eventID)@\($0.epoch):\($0.lsn)" } == ["x@1:1", "z@2:2"])
        try reopened.append([draft("w")])
        #expect(try StoreVerifier.verify(root: dir + "/b/.aibrain").ok)
    }

    @Test func readersSeeNewDataAfterRefreshAndHistoriesMatchAFullRead() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 2000
        let fs = try simulatedStore(seed: 17, policies: p)
        let writer = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        for i in 0..<40 {
            try writer.append([draft("e\(i)", stream: "task/T-\(i % 3)", team: i % 2 == 0 ? "dev" : "")])
        }
        let reader = try EventLog(root: Self.root, fs: fs, options: OpenOptions(readOnly: true))
        #expect(try allEvents(reader).count == 40)
        for i in 40..<50 { try writer.append([draft("e\(i)", stream: "task/T-\(i % 3)")]) }
        #expect(try allEvents(reader).count == 40)
        try reader.refresh()
        let all = try allEvents(reader)
        #expect(all.map(\.lsn) == Array(1...50))
        for t in 0..<3 {
            let h = try reader.history(stream: "task/T-\(t)")
            #expect(h == all.filter { $0.stream == "task/T-\(t)" })
        }
        #expect(try reader.event(lsn: 17) == all[16])
        #expect(try reader.event(lsn: 51) == nil)
        let range = all[10].hlc...all[20].hlc
        #expect(try reader.events(hlcIn: range) == Array(all[10...20]))
        #expect(throws: EventLogError.self) { try reader.append([draft("no")]) }
    }

    /// `tail -f` refreshes after every commit: while the writer only appends to the same segment, a
    /// refresh reads just the new batches; a roll, a seal or a new segment falls back to a full reload.
    /// Either way the reader's view equals a fresh open's, indexes included.
    @Test func incrementalRefreshEqualsAFreshOpenAcrossAppendsRollsAndSeals() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 6000
        let fs = try simulatedStore(seed: 23, policies: p)
        let writer = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        let reader = try EventLog(root: Self.root, fs: fs, options: OpenOptions(readOnly: true))
        var n = 0
        for round in 0..<30 {
            for _ in 0..<(1 + round % 4) {
                try writer.append([draft("r\(n)", stream: "task/T-\(n % 3)"), draft("r\(n)b", stream: "task/T-9")])
                n += 1
            }
            if round % 11 == 10 { try writer.seal() }
            try reader.refresh()
            let fresh = try EventLog(root: Self.root, fs: fs, options: OpenOptions(readOnly: true))
            #expect(reader.headLSN == UInt64(2 * n) && fresh.headLSN == reader.headLSN, "round \(round)")
            #expect(try allEvents(reader) == allEvents(fresh), "round \(round)")
            for t in ["task/T-0", "task/T-1", "task/T-9"] {
                #expect(try reader.history(stream: t) == fresh.history(stream: t), "round \(round) \(t)")
            }
        }
    }

    @Test func concurrentAppendersInOneProcessShareCommitsAndStayGapFree() throws {
        let dir = temporaryDirectory()
        try EventLog.create(at: dir + "/.aibrain", name: "t")
        let log = try EventLog(root: dir + "/.aibrain")
        let threads = 8
        let per = 150
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<per { _ = try! log.append([draft("t\(t)-\(i)")]) }
        }
        let events = try allEvents(log)
        #expect(events.count == threads * per)
        #expect(events.map(\.lsn) == Array(1...UInt64(threads * per)))
        for t in 0..<threads {
            let mine = events.filter { $0.eventID.hasPrefix("t\(t)-") }.map(\.eventID)
            #expect(mine == (0..<per).map { "t\(t)-\($0)" }, "per-thread order")
        }
        #expect(try StoreVerifier.verify(root: dir + "/.aibrain").ok)
    }
}
