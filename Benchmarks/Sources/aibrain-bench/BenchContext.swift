import EventLog
import Foundation

/// What every scenario gets: the options, the workload in memory, the report, and scratch space.
struct BenchContext {
    let options: BenchOptions
    let workload: Workload
    let report: Report
    let scratch: ScratchSpace
}

/// Fresh directories under `<work>/scratch-<pid>/`, removed after each use. Per process, so that a second
/// harness sharing the work directory (and its cached workload) cannot delete this one's stores.
struct ScratchSpace {
    let root: String

    init(work: String) throws {
        root = work + "/scratch-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func fresh(_ name: String) throws -> String {
        let path = root + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func remove(_ path: String) {
        // Sealed segments are 0444; removal needs only the directory's write bit.
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Stores the way the brief creates them: `durability: .always` and 16 MiB segments in store.json.
enum BenchStore {
    static let policies = StoreConfig.Policies(durability: .always, rollBytes: 16 << 20)

    /// Creates a store at `<dir>/.aibrain` and opens its writer; `durability` overrides store.json's for
    /// this process only (setup loads use `.none`).
    static func createWriter(in dir: String, fs: any FileSystem, durability: Durability = .always) throws -> EventLog {
        let root = dir + "/.aibrain"
        try EventLog.create(at: root, name: "bench", fs: fs, policies: policies)
        var p = policies
        p.durability = durability
        return try EventLog(
            root: root, fs: fs,
            options: OpenOptions(
                readOnly: false, policies: durability == policies.durability ? nil : p, blockCacheBytes: 64 << 20))
    }

    /// A synthetic event appended before the timed region, so that segment creation (file + directory
    /// fsync, first preallocation) is not counted as steady state.
    static func warmupDraft(_ run: Int) -> EventDraft {
        EventDraft(eventID: "warmup-\(run)", type: "bench.warmup", stream: "bench/warmup", payload: Array("{}".utf8))
    }

    /// Sum of the sizes of the regular files under `path` (what `du -b` counts for files).
    static func fileBytes(under path: String, matching: (String) -> Bool = { _ in true }) -> Int {
        guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        while let rel = e.nextObject() as? String {
            guard let attrs = e.fileAttributes, attrs[.type] as? FileAttributeType == .typeRegular, matching(rel) else {
                continue
            }
            total += (attrs[.size] as? Int) ?? 0
        }
        return total
    }
}
