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

    /// The crash states that first showed it, replayed through the whole stack.
    @Test(arguments: [(UInt64(0), 190), (0, 248), (1, 8)])
    func stackCrashStatesThatFailedBefore(_ seed: UInt64, _ point: Int) throws {
        let (problems, _) = try StackCrashTests.runCase(seed: seed, point: point, recovery: nil)
        #expect(problems.isEmpty, "\(problems)")
    }
}
