import Foundation
import StorageTesting
import Testing

@testable import EventLog

/// Byte surgery on the golden segments (LevelDB `log_test.cc` style): every flipped bit and every
/// truncation is either detected or, where FORMAT.md says so, harmless; nothing crashes.
@Suite struct CorruptionTests {
    static let sealed = try! [UInt8](Data(contentsOf: URL(fileURLWithPath: Golden.directory + "/sealed.seg")))
    static let open = try! [UInt8](Data(contentsOf: URL(fileURLWithPath: Golden.directory + "/open.open")))

    /// Sets the readers' watermark in LOCK, as a writer that crashed between writing a batch and syncing
    /// it would have left it.
    static func setWatermark(_ fs: SimulatedFileSystem, end: Int64) throws {
        try overwriteDurably(
            fs, "/s/.aibrain/log/\(testOrigin.hex)/LOCK",
            LockWatermark(epoch: 1, segmentFirstLSN: 1, end: end).encode(),
            at: LockWatermark.offset)
    }

    func flipped(_ b: [UInt8], bit: Int) -> [UInt8] {
        var c = b
        c[bit / 8] ^= 1 << UInt8(bit % 8)
        return c
    }

    @Test func everySingleBitFlipInASealedSegmentIsDetected() throws {
        let b = Self.sealed
        var undetected: [Int] = []
        for bit in 0..<(b.count * 8) {
            do {
                try SealedSegmentVerifier.verify(flipped(b, bit: bit), path: "flip")
                undetected.append(bit)
            } catch let e {
                if e.code != .corruption { undetected.append(bit) }
            }
        }
        #expect(undetected.isEmpty, "bits not detected: \(undetected.prefix(20))")
    }

    /// In an open segment whose last batch was written but not yet synced (the watermark in LOCK ends
    /// before it): a flip in that batch is a torn tail (R2: unacknowledged, nothing valid follows), in the
    /// synced batch before it corruption (R3), in the header a header error, in the zeros right after the
    /// data a torn tail. Flips in the header's rewritable area (reserved bytes, successor marker) only
    /// invalidate an advisory value, and flips deep in the preallocated zeros (beyond a batch header's
    /// reach) are not data.
    @Test func everySingleBitFlipInAnOpenSegmentIsDetectedOrHarmless() throws {
        // Two batches, so both "last batch" and "earlier batch" are covered.
        let fs = try simulatedStore(seed: 3)
        let log = try EventLog(root: "/s/.aibrain", fs: fs, options: OpenOptions(preallocationBytes: 64))
        try log.append(Golden.openDrafts)
        try log.append([draft("x-1"), draft("x-2", team: "qa")])
        let path = "/s/.aibrain/log/\(testOrigin.hex)/00000001-00000000000000000001.open"
        let b = try #require(fs.contents(of: path))
        let clean0 = try b.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: path) }
        let mark = clean0.batches[0].end  // the second batch was written but never synced
        let clean = try b.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: path, watermark: mark) }
        #expect(clean.tail == .clean && clean.batches.count == 2)
        let firstEnd = Int(clean.batches[0].end)
        let dataEnd = Int(clean.dataEnd)
        var problems: [String] = []
        for bit in 0..<(b.count * 8) {
            let byte = bit / 8
            let c = flipped(b, bit: bit)
            let result: Result<OpenScan, Error> = Result {
                try c.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: path, watermark: mark) }
            }
            switch byte {
            case 0..<88:
                if case .success = result { problems.append("header bit \(bit) undetected") }
            case 88..<96:
                if case .success = result { problems.append("header checksum bit \(bit) undetected") }
            case 96..<128:
                guard case .success(let s) = result, s.batches.count == 2, s.tail == .clean else {
                    problems.append("rewritable-area bit \(bit) changed the data")
                    continue
                }
            case 128..<firstEnd:
                guard case .success(let s) = result, case .corrupt = s.tail, s.batches.isEmpty else {
                    problems.append("first-batch bit \(bit) not reported as corruption")
                    continue
                }
            case firstEnd..<dataEnd:
                guard case .success(let s) = result, case .torn = s.tail, s.batches.count == 1 else {
                    problems.append("last-batch bit \(bit) not reported as a torn tail")
                    continue
                }
            case dataEnd..<(dataEnd + Format.batchHeaderSize):
                guard case .success(let s) = result, case .torn = s.tail, s.batches.count == 2 else {
                    problems.append("bit \(bit) right after the data not reported as a torn tail")
                    continue
                }
            default:
                guard case .success(let s) = result, s.batches.count == 2 else {
                    problems.append("bit \(bit) in the zeros lost data")
                    continue
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.count) problems, first: \(problems.prefix(10))")
    }

    @Test func truncatingASealedSegmentAnywhereIsAHardError() throws {
        let b = Self.sealed
        let fs = SimulatedFileSystem(seed: 1)
        for n in 0..<b.count {
            let prefix = Array(b[..<n])
            #expect(throws: EventLogError.self) { try SealedSegmentVerifier.verify(prefix, path: "t") }
            let fd = try fs.open("/t-\(n).seg", .createExclusive(permissions: 0o644))
            try fs.writeAll(fd, prefix, at: 0)
            fs.close(fd)
            do {
                _ = try SealedSegment(fs: fs, path: "/t-\(n).seg")
                Issue.record("truncation at \(n) opened")
            } catch let e {
                #expect(e.code == .corruption)
                #expect(e.path == "/t-\(n).seg")
            }
        }
    }

    /// Open segments recover their longest valid prefix: exactly the batches that end before the cut
    /// (here without a watermark, as after a crash before the first sync completed).
    @Test func truncatingAnOpenSegmentKeepsTheLongestValidPrefix() throws {
        let b = Self.open
        let full = try b.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: "o") }
        let ends = full.batches.map { Int($0.end) }
        for n in 0..<b.count {
            let prefix = Array(b[..<n])
            if n < Format.headerSize {
                #expect(throws: EventLogError.self) {
                    try prefix.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: "o") }
                }
                continue
            }
            let s = try prefix.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: "o") }
            let expected = ends.filter { $0 <= n }.count
            #expect(s.batches.count == expected, "cut at \(n)")
            if ends.contains(n) || n == Format.headerSize || n > ends.last! {
                #expect(s.tail == .clean, "cut at \(n)")
            } else if case .torn = s.tail {
            } else {
                Issue.record("cut at \(n): expected a torn tail, got \(s.tail)")
            }
        }
    }

    /// With the watermark, a cut below it is never a torn tail: acknowledged bytes are missing (R19).
    @Test func truncatingBelowTheWatermarkIsCorruption() throws {
        let b = Self.open
        let full = try b.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: "o") }
        let end = Int(full.batches.last!.end)
        for n in stride(from: Format.headerSize, to: end, by: 1) {
            let s = try Array(b[..<n]).withUnsafeBytes {
                try OpenSegmentScanner.scan($0, path: "o", watermark: Int64(end))
            }
            guard case .corrupt(let offset, let reason) = s.tail else {
                Issue.record("cut at \(n): \(s.tail)")
                continue
            }
            #expect(offset <= Int64(n) && reason.contains("acknowledged"))
            #expect(s.batches.count == full.batches.filter { $0.end <= Int64(n) }.count)
        }
    }

    /// Recovery end to end: a torn last batch is cut, its bytes kept aside, and the log stays appendable.
    @Test func recoveryCutsATornTailAndKeepsTheBytes() throws {
        let fs = try simulatedStore(seed: 5)
        do {
            let log = try EventLog(root: "/s/.aibrain", fs: fs)
            try log.append([draft("a")])
            try log.append([draft("b"), draft("c")])
        }
        let path = "/s/.aibrain/log/\(testOrigin.hex)/00000001-00000000000000000001.open"
        var b = try #require(fs.contents(of: path))
        let s = try b.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: path) }
        let lastStart = Int(s.batches[1].offset)
        try Self.setWatermark(fs, end: s.batches[0].end)  // the last batch was written, never synced
        b[lastStart + 40] ^= 0xFF  // and torn
        try overwriteDurably(fs, path, b)
        let log = try EventLog(root: "/s/.aibrain", fs: fs)
        #expect(try allEvents(log).map(\.eventID) == ["a"])
        guard case .cutTornTail(_, let offset, _, _, let kept) = log.recoveryReport.actions.first else {
            Issue.record("no torn-tail action: \(log.recoveryReport.actions)")
            return
        }
        #expect(offset == Int64(lastStart))
        #expect(fs.exists("/s/.aibrain/log/\(testOrigin.hex)/" + kept))
        try log.append([draft("d")])
        #expect(try allEvents(log).map(\.lsn) == [1, 2])
    }

    /// A bad batch with a valid batch after it is corruption: a hard error naming file and offset,
    /// earlier events still readable, appends refused.
    @Test func aBadBatchBeforeAValidOneIsCorruption() throws {
        let fs = try simulatedStore(seed: 6)
        do {
            let log = try EventLog(root: "/s/.aibrain", fs: fs)
            for id in ["a", "b", "c"] { try log.append([draft(id)]) }
        }
        let path = "/s/.aibrain/log/\(testOrigin.hex)/00000001-00000000000000000001.open"
        var b = try #require(fs.contents(of: path))
        let s = try b.withUnsafeBytes { try OpenSegmentScanner.scan($0, path: path) }
        b[Int(s.batches[1].offset) + 60] ^= 0x01
        try overwriteDurably(fs, path, b)
        let log = try EventLog(root: "/s/.aibrain", fs: fs)
        #expect(try allEvents(log).map(\.eventID) == ["a"])
        do {
            try log.append([draft("d")])
            Issue.record("append after corruption succeeded")
        } catch let e {
            #expect(e.code == .corruption)
            #expect(e.path == path)
            #expect(e.offset == s.batches[1].offset)
        }
        let report = try StoreVerifier.verify(root: "/s/.aibrain", fs: fs)
        #expect(!report.ok)
        #expect(report.problems.first?.offset == s.batches[1].offset)
        #expect(fs.contents(of: path) == b, "recovery must not touch a corrupt segment")
    }
}
