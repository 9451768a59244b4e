import BrainEvents
import Foundation
import StorageTesting
import Testing

@testable import EventLog
@testable import Projections

/// One store on a (shared) simulated file system, with helpers to append catalogue events.
final class TestStore {
    let root: String
    let fs: any FileSystem
    let clock: ManualClock
    let log: EventLog
    var origin: OriginID { log.origin }

    init(_ name: String, fs: any FileSystem, clock: ManualClock, origin: OriginID = .random()) throws {
        root = "/\(name)/.aibrain"
        self.fs = fs
        self.clock = clock
        _ = try EventLog.create(at: root, name: name, fs: fs, origin: origin)
        log = try EventLog(root: root, fs: fs, options: OpenOptions(clock: clock.function, autoSeal: false))
    }

    /// A draft of `type` for `task` with `payload` (JSON text), keys derived like the CLI does.
    func draft(
        _ type: String, task: String?, actor: String = "agent", team: String = "", id: String? = nil, _ payload: String
    )
        -> EventDraft
    {
        var d = EventDraft(
            eventID: id ?? EventDraft.randomEventID(), type: type, stream: task.map { "task/" + $0 } ?? "",
            actor: actor, team: team, payload: Array(payload.utf8))
        d.keys = CatalogueKeys.derive(type: type, payload: d.payload)
        if type.hasPrefix("ko.") || type.hasPrefix("usage.") || type == "task.outcome" { d.flags = 0 }
        if payload.contains("\"usage\"") || payload.contains("\"cost\"") { d.flags |= Format.EnvelopeFlag.usage }
        return d
    }

    /// Appends through the queue's emit-time rules (what the CLI does); returns the refusal, if any.
    @discardableResult
    func emit(
        _ type: String, task: String?, actor: String = "agent", team: String = "", id: String? = nil, _ payload: String
    )
        throws -> String?
    {
        let d = draft(type, task: task, actor: actor, team: team, id: id, payload)
        let reader = try StoreReader(root: root, fs: fs)
        do throws(EventLogError) {
            try log.append([d]) { ctx in try QueueGuard.check([d], reader: reader, context: ctx) }
            return nil
        } catch {
            guard error.code == .preconditionFailed else { throw error }
            return error.message
        }
    }

    /// Appends without any check (older writers, imports).
    func raw(_ drafts: [EventDraft]) throws { try log.append(drafts) }

    func reader() throws -> StoreReader { try StoreReader(root: root, fs: fs) }

    /// The projections from scratch.
    func rebuild() throws -> ReplayEngine { try ProjectionStore.rebuild(try reader()) }

    /// The projections through the snapshots (saved again).
    func incremental() throws -> (ReplayEngine, ProjectionStore.Outcome) {
        let r = try reader()
        return try ProjectionStore(paths: r.paths, fs: fs).open(r, save: .always)
    }

    /// Sealed segment file names of this store's own origin, oldest first.
    func sealedSegments() throws -> [String] {
        try fs.listDirectory(root + "/log/" + origin.hex).filter { $0.hasSuffix(".seg") }.sorted()
    }

    /// Copies one sealed segment of `other` into this store's `log/<origin>/` (what adoption does).
    func adopt(_ name: String, from other: TestStore) throws {
        let dir = root + "/log/" + other.origin.hex
        try fs.makeDirectories(dir)
        let bytes = try fs.readFile(other.root + "/log/" + other.origin.hex + "/" + name)
        try fs.writeFileAtomically(dir + "/" + name, bytes, permissions: 0o444)
    }
}

/// The bytes of every snapshot file of an engine, by name.
func snapshotBytes(_ e: ReplayEngine) -> [String: [UInt8]] {
    Dictionary(uniqueKeysWithValues: ProjectionStore.encode(e).map { ($0.name, $0.bytes) })
}
