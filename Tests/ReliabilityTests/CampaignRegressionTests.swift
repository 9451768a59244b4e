import EventLog
import Foundation
import StorageTesting
import Testing

/// Every bug a campaign found, as a test that failed before its fix (RELIABILITY.md, "Found and fixed").
@Suite struct CampaignRegressionTests {
    /// Found by the stack crash simulator (48 of its first 300 crash states): `LOCK` is never synced, so a power
    /// cut can bring back an older watermark for the active segment; recovery found every acknowledged batch,
    /// but readers (tail, replay, projections, shipping's manifest) go by the watermark and missed the newest
    /// acknowledged events until the next commit. Recovery now syncs what it found and publishes its end.
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
        _ = try EventLog(root: root, fs: fs)  // the next writer process: recovery
        var seen: [String] = []
        try EventLog(root: root, fs: fs, options: OpenOptions(readOnly: true)).read {
            seen.append($0.eventID)
            return true
        }
        #expect(seen == ["first", "second"], "a reader after recovery sees \(seen)")
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
    @Test func underLazyDurabilityATornBatchBeforeAKeptOneIsATornTail() throws {
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
        for i in 40..<44 { bytes[Int(scan.batches[1].offset) + i] ^= 0xFF }
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
}
