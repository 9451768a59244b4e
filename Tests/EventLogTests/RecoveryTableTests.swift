import Foundation
import StorageTesting
import Testing

@testable import EventLog

/// One test per row of the recovery decision table in `schemas/FORMAT.md` ("Recovery").
@Suite struct RecoveryTableTests {
    static let root = "/s/.aibrain"
    static let dir = root + "/log/" + testOrigin.hex
    static let firstOpen = dir + "/00000001-00000000000000000001.open"

    /// A store with `n` single-event commits in its open segment.
    func store(seed: UInt64, events n: Int, policies: StoreConfig.Policies = .init()) throws -> SimulatedFileSystem {
        let fs = try simulatedStore(seed: seed, policies: policies)
        let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: policies))
        for i in 0..<n { try log.append([draft("e\(i)")]) }
        return fs
    }

    func scan(_ fs: SimulatedFileSystem, _ path: String) throws -> OpenScan {
        try fs.contents(of: path)!.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: path) }
    }

    @Test func r1CleanTailNeedsNothing() throws {
        let fs = try store(seed: 1, events: 3)
        let log = try EventLog(root: Self.root, fs: fs)
        #expect(log.recoveryReport.actions.isEmpty)
        #expect(try allEvents(log).count == 3)
    }

    @Test func r2IncompleteLastBatchIsCutAndKept() throws {
        let fs = try store(seed: 2, events: 2)
        let s = try scan(fs, Self.firstOpen)
        // A batch header that promises more bytes than were written (a torn write).
        var w = ByteWriter()
        w.u32(Format.batchMagic)
        w.u32(4096)
        w.u64(0x1234)
        try overwriteDurably(fs, Self.firstOpen, w.bytes, at: s.dataEnd)
        let log = try EventLog(root: Self.root, fs: fs)
        guard case .cutTornTail(_, let offset, let bytes, _, let kept) = log.recoveryReport.actions.first else {
            Issue.record("\(log.recoveryReport.actions)")
            return
        }
        // The kept bytes run to the last nonzero byte (the zeros after a torn write carry nothing).
        #expect(offset == s.dataEnd && bytes == 10)
        #expect(fs.contents(of: Self.dir + "/" + kept) == Array(w.bytes.prefix(10)))
        #expect(try allEvents(log).count == 2)
        try log.append([draft("next")])
        #expect(try allEvents(log).last?.lsn == 3)
        // A second tear at the same offset keeps its bytes in a new file; the first is not replaced.
        let end = try scan(fs, Self.firstOpen).dataEnd
        try overwriteDurably(fs, Self.firstOpen, w.bytes, at: end)
        let second = try EventLog(root: Self.root, fs: fs)
        try overwriteDurably(fs, Self.firstOpen, w.bytes + [0x77], at: end)
        let third = try EventLog(root: Self.root, fs: fs)
        guard case .cutTornTail(_, _, _, _, let k2) = second.recoveryReport.actions.first,
            case .cutTornTail(_, _, _, _, let k3) = third.recoveryReport.actions.first
        else {
            Issue.record("\(second.recoveryReport.actions) \(third.recoveryReport.actions)")
            return
        }
        #expect(k3 == k2 + ".2", "\(k2) \(k3)")
        #expect(fs.contents(of: Self.dir + "/" + k2) == Array(w.bytes.prefix(10)))
        #expect(fs.contents(of: Self.dir + "/" + k3)?.last == 0x77)
    }

    @Test func r3BadBatchFollowedByAValidOneIsCorruption() throws {
        let fs = try store(seed: 3, events: 3)
        let s = try scan(fs, Self.firstOpen)
        try overwriteDurably(fs, Self.firstOpen, [0xEE], at: s.batches[0].offset + 30)
        let log = try EventLog(root: Self.root, fs: fs)
        #expect(try allEvents(log).isEmpty)
        #expect(throws: EventLogError.self) { try log.append([draft("x")]) }
        #expect(log.recoveryReport.actions.contains { if case .corruption = $0 { return true } else { return false } })
    }

    @Test func r4ValidBatchWithTheWrongLSNIsCorruption() throws {
        let fs = try store(seed: 4, events: 2)
        let s = try scan(fs, Self.firstOpen)
        // A checksummed batch claiming LSN 7 where 3 belongs.
        let stray = try CommitBatch.encode(
            [draft("stray")], firstLSN: 7, hlcs: [HLC.make(milliseconds: 1 << 41)], recordedAt: 0)
        try overwriteDurably(fs, Self.firstOpen, stray, at: s.dataEnd)
        let log = try EventLog(root: Self.root, fs: fs)
        #expect(try allEvents(log).count == 2)
        do {
            try log.append([draft("x")])
            Issue.record("appended after an out-of-order batch")
        } catch let e {
            #expect(e.code == .corruption && e.message.contains("expected 3"))
        }
    }

    @Test func r5TornSegmentCreationIsSetAside() throws {
        let fs = try store(seed: 5, events: 0)
        let path = Self.firstOpen
        let fd = try fs.open(path, .createExclusive(permissions: 0o644))
        try fs.writeAll(fd, [UInt8](repeating: 0, count: 40) + Array("AIBL".utf8), at: 0)  // header never completed
        try fs.fdatasync(fd)
        fs.close(fd)
        let log = try EventLog(root: Self.root, fs: fs)
        guard case .removedTornSegment(let file, _) = log.recoveryReport.actions.first else {
            Issue.record("\(log.recoveryReport.actions)")
            return
        }
        #expect(file == "00000001-00000000000000000001.open")
        try log.append([draft("a")])
        #expect(try allEvents(log).map(\.lsn) == [1])
    }

    @Test func r6DamagedHeaderWithDataIsCorruption() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 500
        let fs = try store(seed: 6, events: 8, policies: p)
        let opens = try fs.listDirectory(Self.dir).filter { $0.hasSuffix(".open") }
        let sealedEvents = try EventLog(root: Self.root, fs: fs, options: OpenOptions(readOnly: true)).catalog.entries
            .last!.lastLSN
        let path = Self.dir + "/" + opens.last!
        try overwriteDurably(fs, path, [0xFF], at: 30)
        let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        // Everything before the damaged segment is still readable; appends are refused.
        #expect(try allEvents(log).map(\.lsn) == Array(1...sealedEvents))
        do {
            try log.append([draft("x")])
            Issue.record("appended past a damaged segment")
        } catch let e {
            #expect(e.code == .corruption && e.path == path)
        }
        #expect(fs.contents(of: path)?[30] == 0xFF, "a damaged segment is never rewritten")
    }

    @Test func r7AnUnfinishedSealIsRedone() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 1 << 30
        let fs = try store(seed: 7, events: 4, policies: p)
        // A crash while sealing left a rolled-to successor and a tmp file.
        do {
            let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p, autoSeal: false))
            log.lock.lock()
            try log.acquireFileLock()
            try log.startSegment(afterFailure: false)
            log.releaseFileLock()
            log.lock.unlock()
        }
        let tmp = Self.dir + "/00000001-00000000000000000001.seg.tmp"
        let fd = try fs.open(tmp, .createExclusive(permissions: 0o644))
        try fs.writeAll(fd, [1, 2, 3], at: 0)
        fs.close(fd)
        let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        #expect(
            log.recoveryReport.actions.contains(.removedUnfinishedSeal(file: "00000001-00000000000000000001.seg.tmp")))
        #expect(log.recoveryReport.actions.contains(.redidSeal(file: "00000001-00000000000000000001.open")))
        #expect(fs.exists(Self.dir + "/00000001-00000000000000000001.seg"))
        #expect(!fs.exists(Self.firstOpen))
        #expect(try allEvents(log).count == 4)
        #expect(try StoreVerifier.verify(root: Self.root, fs: fs).ok)
    }

    @Test func r8ASealedOpenIsRemoved() throws {
        let fs = try store(seed: 8, events: 3)
        let before = try #require(fs.contents(of: Self.firstOpen))
        try EventLog(root: Self.root, fs: fs).seal()
        // Crash after the rename, before the unlink: put the .open back.
        let fd = try fs.open(Self.firstOpen, .createExclusive(permissions: 0o644))
        try fs.writeAll(fd, before, at: 0)
        fs.close(fd)
        let log = try EventLog(root: Self.root, fs: fs)
        #expect(log.recoveryReport.actions.contains(.finishedSeal(file: "00000001-00000000000000000001.open")))
        #expect(!fs.exists(Self.firstOpen))
        #expect(try allEvents(log).count == 3)
    }

    @Test func r9AnOlderOpenSegmentIsSealed() throws {
        let fs = try store(seed: 9, events: 3)
        do {
            let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(autoSeal: false))
            log.lock.lock()
            try log.acquireFileLock()
            try log.startSegment(afterFailure: false)
            log.releaseFileLock()
            log.lock.unlock()
            try log.append([draft("in-second")])
        }
        let log = try EventLog(root: Self.root, fs: fs)
        #expect(log.recoveryReport.actions == [.redidSeal(file: "00000001-00000000000000000001.open")])
        #expect(try allEvents(log).map(\.eventID) == ["e0", "e1", "e2", "in-second"])
        #expect(log.catalog.entries.count == 1)
    }

    @Test func r10DataAfterAFailedSyncIsIgnored() throws {
        let fs = try store(seed: 10, events: 2)
        let log = try EventLog(root: Self.root, fs: fs)
        fs.faultPlan.failSync(errno: 5, .once, paths: .suffix(".open"))
        #expect(throws: EventLogError.self) { try log.append([draft("failed")]) }
        // The failed batch is still visible in the page cache of the old segment; put it back to be sure.
        let s = try scan(fs, Self.firstOpen)
        let stray = try CommitBatch.encode([draft("failed")], firstLSN: 3, hlcs: [s.lastHLC + 1], recordedAt: 0)
        try overwriteDurably(fs, Self.firstOpen, stray, at: s.dataEnd)
        try log.append([draft("after")])
        let reopened = try EventLog(root: Self.root, fs: fs)
        #expect(try allEvents(reopened).map(\.eventID) == ["e0", "e1", "after"])
        try reopened.seal()
        #expect(try allEvents(reopened).map(\.eventID) == ["e0", "e1", "after"])
        #expect(try StoreVerifier.verify(root: Self.root, fs: fs).ok)
    }

    @Test func r11AMissingSegmentIsCorruption() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 500
        let fs = try store(seed: 11, events: 12, policies: p)
        let sealed = try fs.listDirectory(Self.dir).filter { $0.hasSuffix(".seg") }
        #expect(sealed.count >= 3)
        try fs.unlink(Self.dir + "/" + sealed[1])
        let report = try StoreVerifier.verify(root: Self.root, fs: fs)
        #expect(!report.ok)
        #expect(report.problems.contains { $0.kind == .corruption && $0.message.contains("missing") })
    }

    @Test func r12ADamagedSealedSegmentIsCorruption() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 500
        let fs = try store(seed: 12, events: 8, policies: p)
        let sealed = try fs.listDirectory(Self.dir).filter { $0.hasSuffix(".seg") }
        let path = Self.dir + "/" + sealed[0]
        let size = fs.contents(of: path)!.count
        try overwriteDurably(fs, path, [0x42], at: Int64(size / 2))
        let report = try StoreVerifier.verify(root: Self.root, fs: fs)
        #expect(report.problems.first { $0.kind == .corruption }?.file == sealed[0])
        let log = try EventLog(root: Self.root, fs: fs)
        #expect(throws: EventLogError.self) { _ = try allEvents(log) }
    }

    @Test func r13DerivedFilesAreRebuilt() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 500
        let fs = try store(seed: 13, events: 8, policies: p)
        try fs.unlink(Self.dir + "/CATALOG")
        try overwriteDurably(fs, Self.dir + "/EVENTIDS", [0xFF], at: 70)
        let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        #expect(log.recoveryReport.actions.contains(.rebuiltCatalog))
        #expect(try allEvents(log).count == 8)
        #expect(try log.append([draft("e3")]).events[0].duplicate)
        #expect(try StoreVerifier.verify(root: Self.root, fs: fs).problems.isEmpty)
    }

    @Test func r14ARolledBackStoreRefusesToAppend() throws {
        var p = StoreConfig.Policies()
        p.rollBytes = 500
        let fs = try store(seed: 14, events: 8, policies: p)
        // Restore an older state: the newest sealed segment disappears but store.json remembers it.
        let sealed = try fs.listDirectory(Self.dir).filter { $0.hasSuffix(".seg") }.sorted()
        for n in try fs.listDirectory(Self.dir) where n.hasSuffix(".open") { try fs.unlink(Self.dir + "/" + n) }
        try fs.unlink(Self.dir + "/" + sealed.last!)
        let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(policies: p))
        do {
            try log.append([draft("x")])
            Issue.record("a rolled-back store appended")
        } catch let e {
            #expect(e.code == .copiedStore && e.message.contains("rolled back"))
        }
    }
}

/// Rows R15–R19 of the recovery table (FORMAT.md).
@Suite struct RecoveryTableMoreTests {
    static let root = RecoveryTableTests.root
    static let dir = RecoveryTableTests.dir
    static let firstOpen = RecoveryTableTests.firstOpen

    func open(_ fs: SimulatedFileSystem) throws -> EventLog { try EventLog(root: Self.root, fs: fs) }

    func expectBlocked(_ log: EventLog, path: String, _ words: String) {
        do {
            try log.append([draft("blocked")])
            Issue.record("appended past damage")
        } catch let e {
            #expect(e.code == .corruption && e.path == path, "\(e)")
            #expect(e.message.contains(words), "\(e.message)")
        }
    }

    @Test func r15AZeroedBatchBeforeValidOnesIsCorruption() throws {
        let fs = try simulatedStore(seed: 15)
        do {
            let log = try open(fs)
            for id in ["a", "b", "c"] { try log.append([draft(id)]) }
        }
        let s = try fs.contents(of: Self.firstOpen)!.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: "") }
        let b = s.batches[1]
        try overwriteDurably(fs, Self.firstOpen, [UInt8](repeating: 0, count: b.paddedLength), at: b.offset)
        let log = try open(fs)
        #expect(try allEvents(log).map(\.eventID) == ["a"])
        expectBlocked(log, path: Self.firstOpen, "zero bytes where a batch belongs")
    }

    @Test func r16EventsMissingBetweenTwoOpenSegmentsIsCorruption() throws {
        let fs = try simulatedStore(seed: 16)
        do {
            let log = try EventLog(root: Self.root, fs: fs, options: OpenOptions(autoSeal: false))
            try log.append([draft("a"), draft("b")])
            log.lock.lock()
            try log.acquireFileLock()
            try log.startSegment(afterFailure: false)
            log.releaseFileLock()
            log.lock.unlock()
            try log.append([draft("c")])
        }
        // The first segment loses its last batch (truncated), so it ends before the second begins.
        let s = try fs.contents(of: Self.firstOpen)!.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: "") }
        try overwriteDurably(
            fs, Self.firstOpen, [UInt8](repeating: 0, count: s.batches[0].paddedLength), at: s.batches[0].offset)
        let log = try open(fs)
        #expect(try allEvents(log).isEmpty)
        expectBlocked(log, path: Self.firstOpen, "its successor starts at 3")
    }

    @Test func r17AnOpenSegmentOfAnotherOriginIsCorruption() throws {
        let fs = try simulatedStore(seed: 17)
        try open(fs).append([draft("a")])
        var b = try #require(fs.contents(of: Self.firstOpen))
        for i in 32..<48 { b[i] ^= 0x5A }  // another origin id, header checksum fixed up
        let sum = XXH3.hash(Array(b[0..<88]))
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { b[88 + i] = $0[i] } }
        try overwriteDurably(fs, Self.firstOpen, b, at: 0)
        let log = try open(fs)
        #expect(try allEvents(log).isEmpty)
        expectBlocked(log, path: Self.firstOpen, "belongs to origin")
    }

    @Test func r18LeftoverTemporariesAreIgnoredAndReplaced() throws {
        let fs = try simulatedStore(seed: 18)
        try open(fs).append([draft("a")])
        for name in ["CATALOG.tmp", "EVENTIDS.tmp"] {
            let fd = try fs.open(Self.dir + "/" + name, .createExclusive(permissions: 0o644))
            try fs.writeAll(fd, [9, 9, 9], at: 0)
            fs.close(fd)
        }
        let log = try open(fs)
        try log.seal()
        #expect(try allEvents(log).map(\.eventID) == ["a"])
        #expect(!fs.exists(Self.dir + "/CATALOG.tmp"), "the next atomic write replaced it")
        #expect(try StoreVerifier.verify(root: Self.root, fs: fs).ok)
    }

    @Test func r19AcknowledgedBytesMissingBelowTheWatermarkIsCorruption() throws {
        let fs = try simulatedStore(seed: 19)
        do {
            let log = try open(fs)
            for id in ["a", "b", "c"] { try log.append([draft(id)]) }
        }
        let s = try fs.contents(of: Self.firstOpen)!.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: "") }
        // The last, acknowledged batch is damaged: a torn tail would be cut, but LOCK says it was synced.
        try overwriteDurably(fs, Self.firstOpen, [0xFF, 0xFF], at: s.batches[2].offset + 60)
        let log = try open(fs)
        #expect(try allEvents(log).map(\.eventID) == ["a", "b"])
        expectBlocked(log, path: Self.firstOpen, "acknowledged bytes are missing")
        #expect(
            !log.recoveryReport.actions.contains { if case .cutTornTail = $0 { return true } else { return false } })
    }
}
