import EventLog
import Foundation
import StorageTesting
import Testing
import Trust

/// Every bug a campaign found, as a test that failed before its fix (RELIABILITY.md, "Found and fixed").
@Suite struct CampaignRegressionTests {
    /// Found by the stack crash simulator (48 of its first 300 crash states): `LOCK` is never synced, so a power
    /// cut can bring back an older watermark for the active segment; recovery found every acknowledged batch,
    /// but readers (tail, replay, projections, shipping's manifest) go by the watermark and missed the newest
    /// acknowledged events until the next commit. Recovery now syncs what it found and publishes its end, and a
    /// reader that finds data past the watermark while no writer holds LOCK syncs it and reads it.
    @Test func aWatermarkRevertedByAPowerCutDoesNotHideAcknowledgedEvents() throws {
        let fs = SimulatedFileSystem(seed: 7)
        let root = "/w/.aibrain"
        let origin = OriginID(hex: "0123456789abcdef0123456789abcdef")!
        try EventLog.create(at: root, name: "w", fs: fs, origin: origin)
        let lock = root + "/log/" + origin.hex + "/LOCK"
        do {
            let log = try EventLog(root: root, fs: fs)
            try log.append([EventDraft(eventID: "first", type: "task.note")])
            let early = try #require(fs.contents(of: lock))
            try log.append([EventDraft(eventID: "second", type: "task.note")])
            // What the power cut can leave: LOCK's unsynced watermark write lost, the older value back.
            fs.crash()
            let fd = try fs.open(lock, .readWrite)
            try fs.writeAll(fd, Array(early[16..<48]), at: 16)
            fs.close(fd)
        }
        func reader() throws -> [String] {
            var seen: [String] = []
            try EventLog(root: root, fs: fs, options: OpenOptions(readOnly: true)).read {
                seen.append($0.eventID)
                return true
            }
            return seen
        }
        // A reader before any writer opened (it syncs what lies past the watermark under LOCK, then reads it).
        let beforeRecovery = try reader()
        #expect(beforeRecovery == ["first", "second"], "a reader after the reboot sees \(beforeRecovery)")
        _ = try EventLog(root: root, fs: fs)  // the next writer process: recovery
        let afterRecovery = try reader()
        #expect(afterRecovery == ["first", "second"], "a reader after recovery sees \(afterRecovery)")
    }

    /// The crash states that first showed it, replayed through the whole stack. (They were found with the
    /// crash point counted from the simulated disk's creation; `runCase` counts from the workload's start.)
    @Test(arguments: [(UInt64(0), 190), (0, 248), (1, 8)])
    func stackCrashStatesThatFailedBefore(_ seed: UInt64, _ point: Int) throws {
        let setup = try StackWorld(seed: seed).fs.mutatingOperationCount
        let (problems, _) = try StackCrashTests.runCase(seed: seed, point: point + setup, recovery: nil)
        #expect(problems.isEmpty, "\(problems)")
    }

    /// Found when the rotation crash loop armed its power cut after the writer's open: under `durability: none`
    /// (and `interval`) unsynced batches reach the disk in any order, so a power cut can tear one batch and
    /// keep a later one. Recovery called that corruption (R3) and refused every append, although no synced byte
    /// was damaged. Past the watermark it is now a torn tail (R3a): cut, kept aside, appends continue.
    /// (Also the case where the power cut dropped the middle batch whole: zeros where it was, R15 otherwise.)
    @Test(arguments: [false, true])
    func underLazyDurabilityATornBatchBeforeAKeptOneIsATornTail(_ zeroed: Bool) throws {
        let fs = SimulatedFileSystem(seed: 8)
        let root = "/z/.aibrain"
        let origin = OriginID(hex: "0123456789abcdef0123456789abcdef")!
        var policies = StoreConfig.Policies()
        policies.durability = .none
        try EventLog.create(at: root, name: "z", fs: fs, policies: policies, origin: origin)
        let dir = root + "/log/" + origin.hex
        var bytes: [UInt8] = []
        var name = ""
        do {
            let log = try EventLog(root: root, fs: fs)
            for k in 0..<3 { try log.append([EventDraft(eventID: "e\(k)", type: "task.note")]) }
            name = try #require(try fs.listDirectory(dir).first { $0.hasSuffix(".open") })
            bytes = try #require(fs.contents(of: dir + "/" + name))
            fs.crash()  // before the close, which would sync them
            _ = log
        }
        // What the power cut can leave of the three unsynced batches: the middle one torn, the last one whole.
        let scan = try bytes.withBytes { (b) throws(EventLogError) in try OpenSegmentScanner.scan(b, path: name) }
        try #require(scan.batches.count == 3)
        let middle = Int(scan.batches[1].offset)
        if zeroed {
            for i in middle..<Int(scan.batches[1].end) { bytes[i] = 0 }
        } else {
            for i in 40..<44 { bytes[middle + i] ^= 0xFF }
        }
        let fd = try fs.open(dir + "/" + name, .readWrite)
        try fs.writeAll(fd, bytes, at: 0)
        try fs.fdatasync(fd)
        fs.close(fd)
        let log = try EventLog(root: root, fs: fs)
        #expect(log.recoveryReport.actions.contains { if case .cutTornTail = $0 { true } else { false } })
        try log.append([EventDraft(eventID: "after", type: "task.note")])
        var seen: [String] = []
        try log.read {
            seen.append($0.eventID)
            return true
        }
        #expect(seen == ["e0", "after"])
        #expect(try StoreVerifier.verify(root: root, fs: fs).ok)
    }

    /// Found by the fault-injection run (fault seed 1514 of 1000): the directory fsync after a key rotation's
    /// rename failed, so `keys team rotate` failed, but the new keyring was already visible; the writer's next
    /// segment was encrypted under the new key and its events acknowledged. A power cut then brought the old
    /// keyring back and those events could never be read. A writer now makes the keyring durable (file and
    /// directory fsyncs) before it creates a segment under a generation, and a stream's data key before it seals
    /// a payload under it.
    @Test(arguments: UInt64(0)..<16)
    func aKeyWhoseWriteFailedIsNeverUsedUnlessItIsDurable(_ seed: UInt64) throws {
        let fs = SimulatedFileSystem(seed: seed)
        let root = "/k/.aibrain"
        try EventLog.create(at: root, name: "k", fs: fs, origin: OriginID(hex: "0123456789abcdef0123456789abcdef")!)
        let files = TeamKeyFiles(storeRoot: root, fs: fs)
        _ = try TeamKeyOperations.add(team: "dev", files: files, now: 1)
        let log = try EventLog(root: root, fs: fs, options: OpenOptions(cipher: TeamCipher(storeRoot: root, fs: fs)))
        try log.append([EventDraft(eventID: "before", type: "task.note", team: "dev", payload: Array(#"{"a":1}"#.utf8))]
        )
        fs.faultPlan.failSync(errno: 5, .once, paths: .path(root + "/keys/teams"))
        #expect(throws: (any Error).self) { _ = try TeamKeyOperations.rotate(team: "dev", files: files, now: 2) }
        let acked =
            (try? log.append([
                EventDraft(eventID: "after", type: "task.note", team: "dev", payload: Array(#"{"b":2}"#.utf8))
            ])) != nil
        fs.crash()
        var states: [String: PayloadState] = [:]
        try EventLog(
            root: root, fs: fs, options: OpenOptions(readOnly: true, cipher: TeamCipher(storeRoot: root, fs: fs))
        )
        .read {
            states[$0.eventID] = $0.payloadState
            return true
        }
        #expect(states["before"] == .plain)
        if acked {
            #expect(
                states["after"] == .plain,
                "an acknowledged event reads as \(states["after"].map { "\($0)" } ?? "missing")")
        }
    }

    /// Found by the 600-second kill -9 campaign (seed 1): a roll created the next `.open` and only then marked the
    /// old segment superseded. A writer killed between the two left an empty `.open`; the other writers, seeing
    /// no mark, kept appending to the old segment; the next open bounded the old segment by the empty one and
    /// refused the store (R19, "valid data ends at offset 203560 but data up to offset 760448 was
    /// acknowledged"). The mark is now written first, and a marked segment without its successor is completed
    /// by the next commit (R20). Every kill point of a roll and seal, with another writer going on after it.
    @Test func aWriterKilledAnywhereInARollNeverWedgesTheStore() throws {
        var point = 0
        var killed = 0
        while true {
            let fs = SimulatedFileSystem(seed: UInt64(point))
            let root = "/k/.aibrain"
            try EventLog.create(at: root, name: "k", fs: fs, origin: OriginID(hex: "00112233445566778899aabbccddeeff")!)
            var acked: [String] = []
            let other = try EventLog(root: root, fs: fs)
            do {
                let roller = try EventLog(root: root, fs: fs)
                for n in 0..<3 {
                    try roller.append([EventDraft(eventID: "r\(n)", type: "task.note")])
                    try other.append([EventDraft(eventID: "o\(n)", type: "task.note")])
                    acked += ["r\(n)", "o\(n)"]
                }
                fs.armCrash(afterOperations: point)
                do { try roller.seal() } catch {}
                guard fs.isCrashed else { break }  // the seal ran to its end: every point was tried
                fs.kill()
            }
            killed += 1
            // The surviving writer goes on (it holds the old segment open), then a fresh process opens the store.
            for n in 0..<3 {
                try other.append([EventDraft(eventID: "after\(n)", type: "task.note")])
                acked.append("after\(n)")
            }
            let fresh = try EventLog(root: root, fs: fs)
            try fresh.append([EventDraft(eventID: "fresh", type: "task.note")])
            acked.append("fresh")
            try fresh.seal()
            var seen: [String] = []
            try EventLog(root: root, fs: fs, options: OpenOptions(readOnly: true)).read {
                seen.append($0.eventID)
                return true
            }
            #expect(seen.sorted() == acked.sorted(), "kill point \(point): read \(seen), acknowledged \(acked)")
            let report = try StoreVerifier.verify(root: root, fs: fs)
            #expect(report.ok && report.problems.isEmpty, "kill point \(point): \(report.problems)")
            point += 1
        }
        #expect(killed > 10, "only \(killed) kill points inside a roll and seal")
    }

    /// The state the bug above left in stores written before the fix: an empty `.open` inside the events of the
    /// segment before it, which has no successor mark. `verify` names it without failing, readers see every
    /// event, and a writer's open sets it aside (R20) and goes on.
    @Test func anOrphanSegmentOfAnInterruptedRollIsSetAside() throws {
        let fs = SimulatedFileSystem(seed: 20)
        let root = "/o/.aibrain"
        let origin = OriginID(hex: "ffeeddccbbaa99887766554433221100")!
        try EventLog.create(at: root, name: "o", fs: fs, origin: origin)
        let dir = root + "/log/" + origin.hex
        let writer = try EventLog(root: root, fs: fs)
        try writer.append([EventDraft(eventID: "a", type: "task.note")])
        // What the killed roller left: its new segment, created durably at LSN 2, the old one not marked.
        let orphan = dir + "/" + SegmentName.make(epoch: 1, firstLSN: 2, sealed: false)
        let header = SegmentHeader(
            kind: .open, codec: .none, epoch: 1, origin: origin, segmentID: [UInt8](repeating: 7, count: 16),
            firstLSN: 2, createdAt: 1)
        try fs.writeFileAtomically(orphan, header.encode() + [UInt8](repeating: 0, count: 4096))
        // The other writer did not see it: its events went on in the old segment.
        try writer.append([EventDraft(eventID: "b", type: "task.note"), EventDraft(eventID: "c", type: "task.note")])
        let before = try StoreVerifier.verify(root: root, fs: fs)
        #expect(before.ok, "\(before.problems)")
        #expect(before.problems.map(\.kind) == [.interruptedRoll], "\(before.problems)")
        func read() throws -> [String] {
            var seen: [String] = []
            try EventLog(root: root, fs: fs, options: OpenOptions(readOnly: true)).read {
                seen.append($0.eventID)
                return true
            }
            return seen
        }
        #expect(try read() == ["a", "b", "c"])
        let fresh = try EventLog(root: root, fs: fs)
        guard case .setAsideOrphanSegment(let file, let keptIn)? = fresh.recoveryReport.actions.first else {
            Issue.record("recovery did not set the orphan aside: \(fresh.recoveryReport.actions)")
            return
        }
        #expect(file == lastPathComponent(orphan) && keptIn.hasPrefix(file + ".failed-"))
        #expect(!fs.exists(orphan))
        try fresh.append([EventDraft(eventID: "d", type: "task.note")])
        try fresh.seal()
        #expect(try read() == ["a", "b", "c", "d"])
        let after = try StoreVerifier.verify(root: root, fs: fs)
        #expect(after.ok && after.problems.isEmpty, "\(after.problems)")
    }
}
