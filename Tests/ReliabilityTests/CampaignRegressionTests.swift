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
}
