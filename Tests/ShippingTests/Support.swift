import Foundation
import StorageTesting
import Testing

@testable import EventLog
@testable import Shipping

/// One store for shipping tests: a writer that seals when told, on the real or the simulated file system.
final class ShipStore: @unchecked Sendable {
    let root: String
    let fs: any FileSystem
    let log: EventLog
    var origin: OriginID { log.origin }
    private var counter = 0

    init(root: String, fs: any FileSystem, origin: OriginID = .random(), clock: ManualClock? = nil, name: String = "s")
        throws
    {
        self.root = root
        self.fs = fs
        _ = try EventLog.create(at: root, name: name, fs: fs, origin: origin)
        var options = OpenOptions(autoSeal: false)
        if let clock { options.clock = clock.function }
        log = try EventLog(root: root, fs: fs, options: options)
    }

    /// Appends `n` events (one commit) with a payload tagged by `tag`, then optionally seals.
    func emit(_ n: Int, tag: String = "x", seal: Bool = true) throws {
        var drafts: [EventDraft] = []
        for _ in 0..<n {
            counter += 1
            drafts.append(
                EventDraft(
                    eventID: EventDraft.randomEventID(), type: "task.note", stream: "task/T-\(counter % 5)",
                    actor: "agent", team: "dev", payload: Array(#"{"n":\#(counter),"tag":"\#(tag)"}"#.utf8)))
        }
        try log.append(drafts)
        if seal { try log.seal() }
    }

    /// Sealed segment names of this store's own origin, oldest first.
    func segments() throws -> [String] {
        try fs.listDirectory(root + "/log/" + origin.hex).filter { $0.hasSuffix(".seg") }.sorted()
    }

    func segmentBytes(_ name: String) throws -> [UInt8] { try fs.readFile(root + "/log/" + origin.hex + "/" + name) }

    /// What rsync does for one file: a temporary dot-name in the destination, renamed into place when complete.
    func receive(_ bytes: [UInt8], origin: OriginID, name: String) throws {
        let dir = root + "/incoming/" + origin.hex
        try fs.makeDirectories(dir)
        try fs.writeFileAtomically(dir + "/" + name, bytes, tmpSuffix: ".rsync-tmp")
    }

    /// Delivers `names` (default: all) of `other`'s own segments into this store's incoming/.
    func receive(from other: ShipStore, _ names: [String]? = nil) throws {
        for n in try names ?? other.segments() { try receive(try other.segmentBytes(n), origin: other.origin, name: n) }
    }

    func adopter() -> Adopter { Adopter(root: root, fs: fs, lockTimeoutMilliseconds: 2000) }

    /// Every event this store reads, per origin, in LSN order (payload text).
    func events(of origin: OriginID) throws -> [String] {
        let reader = try StoreReader(root: root, fs: fs)
        guard let log = reader.log(origin) else { return [] }
        var out: [String] = []
        try log.read {
            out.append(String(decoding: $0.payload, as: UTF8.self))
            return true
        }
        return out
    }

    /// Runs the verifier over every origin: nothing adopted may be damaged.
    func verifyClean() throws -> Bool {
        let report = try StoreVerifier.verify(root: root, fs: fs)
        return report.problems.isEmpty
    }

    func incomingNames(_ origin: OriginID) -> [String] {
        ((try? fs.listDirectory(root + "/incoming/" + origin.hex)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }
}

/// A fresh directory under /tmp.
func temporaryDirectory(_ name: String = #function) -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "aibrain-ship-\(safe)-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The package root (fixtures, schemas).
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Finds a command on PATH, failing loudly (never skipping) when it is missing.
func requireTool(_ name: String) throws -> String {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    Issue.record("\(name) is not installed: run `make deps` (it installs everything the tests need)")
    throw CocoaError(.fileNoSuchFile)
}
