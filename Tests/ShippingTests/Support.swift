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

    /// Event ids `<idPrefix>-<n>` instead of random ones, for golden files.
    let idPrefix: String?

    init(
        root: String, fs: any FileSystem, origin: OriginID = .random(), clock: ManualClock? = nil, name: String = "s",
        idPrefix: String? = nil
    ) throws {
        self.root = root
        self.fs = fs
        self.idPrefix = idPrefix
        _ = try EventLog.create(at: root, name: name, fs: fs, origin: origin)
        var options = OpenOptions(autoSeal: false)
        if let clock { options.clock = clock.function }
        if idPrefix != nil {
            options.segmentIDs = CountingSegmentIDs().function
        }
        log = try EventLog(root: root, fs: fs, options: options)
    }

    /// Appends `n` events (one commit) with a payload tagged by `tag`, then optionally seals.
    func emit(_ n: Int, tag: String = "x", seal: Bool = true) throws {
        var drafts: [EventDraft] = []
        for _ in 0..<n {
            counter += 1
            drafts.append(
                EventDraft(
                    eventID: idPrefix.map { "\($0)-\(counter)" } ?? EventDraft.randomEventID(), type: "task.note",
                    stream: "task/T-\(counter % 5)",
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

    /// Arrivals not adopted yet: in incoming/<origin>/ or claimed by an adoption that was cut short.
    func incomingNames(_ origin: OriginID) -> [String] {
        let dir = root + "/incoming/" + origin.hex
        let waiting = ((try? fs.listDirectory(dir)) ?? []).filter { !$0.hasPrefix(".") }
        let claimed = (try? fs.listDirectory(dir + "/" + Adopter.claimFolder)) ?? []
        return (waiting + claimed).sorted()
    }
}

/// Runs python3 on `schema_check.py`: the schema's verdict on `documents` (empty = all valid).
func schemaErrors(_ schema: String, _ documents: [String]) throws -> String {
    let python = try requireTool("python3")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments =
        [packageRoot + "/Tests/ShippingTests/schema_check.py", packageRoot + "/schemas/" + schema] + documents
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    if p.terminationStatus != 0 && text.isEmpty {
        return "schema_check.py failed (python3-jsonschema missing? run `make deps`)"
    }
    return text
}
