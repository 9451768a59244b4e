import Foundation
import StorageTesting
import Testing

@testable import EventLog

/// Open segments of 1 MiB or more are scanned through a read-only mapping on the real file system
/// (`SegmentBytes`). The same answers as a read, and a torn tail is still cut with its bytes kept aside.
struct MappedOpenSegmentTests {
    func filled(_ dir: String, events: Int) throws -> (root: String, all: [Event]) {
        let root = dir + "/.aibrain"
        try EventLog.create(at: root, name: "map")
        let log = try EventLog(root: root, options: OpenOptions(autoSeal: false))
        let filler = String(repeating: "m", count: 600)
        for b in 0..<(events / 100) {
            try log.append(
                (0..<100).map { i in
                    draft("m\(b)-\(i)", stream: "task/T-\(i % 7)", payload: "{\"i\":\(i),\"fill\":\"\(filler)\"}")
                })
        }
        return (root, try allEvents(log))
    }

    @Test func writerAndReaderOpensOfALargeOpenSegmentSeeEveryEvent() throws {
        let (root, all) = try filled(temporaryDirectory(), events: 3000)
        let dir = try FileManager.default.contentsOfDirectory(atPath: root + "/log")[0]
        let open = try FileManager.default.contentsOfDirectory(atPath: root + "/log/" + dir).first {
            $0.hasSuffix(".open")
        }!
        let size = try FileManager.default.attributesOfItem(atPath: root + "/log/\(dir)/\(open)")[.size] as! Int
        #expect(size > 1 << 20, "the open segment is large enough to be mapped (SegmentBytes maps from 1 MiB)")
        let writer = try EventLog(root: root)
        #expect(try allEvents(writer) == all)
        #expect(try writer.append([draft("m0-5")]).events[0].duplicate, "ids found through the mapped scan")
        let reader = try EventLog(root: root, options: OpenOptions(readOnly: true))
        #expect(try allEvents(reader) == all)
        #expect(try reader.history(stream: "task/T-3") == all.filter { $0.stream == "task/T-3" })
    }

    @Test func aTornTailAfterALargeMappedSegmentIsCutAndKept() throws {
        let dir = temporaryDirectory()
        let (root, all) = try filled(dir, events: 2000)
        let origin = try FileManager.default.contentsOfDirectory(atPath: root + "/log")[0]
        let name = try FileManager.default.contentsOfDirectory(atPath: root + "/log/" + origin).first {
            $0.hasSuffix(".open")
        }!
        let path = root + "/log/\(origin)/\(name)"
        // A dead writer's half-written batch: garbage right after the last batch (and nothing valid after).
        let end = try EventLog(root: root, options: OpenOptions(readOnly: true)).opens[0].dataEnd
        let fs = PosixFileSystem()
        let fd = try fs.open(path, .readWrite)
        try fs.writeAll(fd, [UInt8](repeating: 0xAB, count: 700), at: end)
        try fs.fsync(fd)
        fs.close(fd)
        let writer = try EventLog(root: root)
        #expect(
            writer.recoveryReport.actions.contains { if case .cutTornTail = $0 { return true } else { return false } })
        #expect(try allEvents(writer) == all)
        #expect(try writer.append([draft("after-cut")]).events[0].lsn == UInt64(all.count + 1))
        #expect(try StoreVerifier.verify(root: root).ok)
    }
}
