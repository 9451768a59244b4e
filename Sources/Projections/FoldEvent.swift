import BrainEvents
import EventLog
import Foundation

/// One event as the projections see it during a fold: the envelope fields they use and the payload already
/// scanned. Valid only inside the fold callback (the payload bytes belong to the reader).
public struct FoldEvent {
    public var ref: EventRef
    public var hlc: UInt64
    public var kind: EventKind?
    public var typeVersion: UInt16
    public var flags: UInt8
    /// The task of a `task/<id>` stream (-1: none), the actor and the team, as symbols.
    public var taskID: Int32
    public var actorID: Int32
    public var teamID: Int32
    /// (`unowned(unsafe)`: the engine outlives every event it folds; no retain/release per projection call.)
    public unowned(unsafe) let symbols: SymbolTables
    /// False when the payload is not a JSON object the scanner could walk.
    public var payloadOK: Bool
    public unowned(unsafe) let fields: PayloadFields
    /// The fold's origin numbering (`ref.origin` indexes it).
    public unowned(unsafe) let origins: OriginTable
    /// Where the event id comes from: a stored record's envelope (built on demand: only decisions keep
    /// it) or an event already materialized.
    let idSource: IDSource
    /// The envelope's `occurred_at` (the client's own time claim; imports keep legacy timestamps there).
    let occurredSource: IDSource

    /// Only the id's bytes and form are kept, not the whole envelope view (twelve ranges: copying it per
    /// projection call showed in callgrind).
    enum IDSource {
        case record(UnsafeRawBufferPointer, hex: Bool)
        case text(String)
    }

    public var eventID: String {
        switch idSource {
        case .record(let bytes, let hex): hex ? hexString(bytes) : String(decoding: bytes, as: UTF8.self)
        case .text(let s): s
        }
    }

    /// The envelope's `occurred_at`, "" when absent.
    public var occurredAt: String {
        switch occurredSource {
        case .record(let bytes, _): String(decoding: bytes, as: UTF8.self)
        case .text(let s): s
        }
    }

    /// The task id text ("" for none).
    public var task: String { taskID < 0 ? "" : symbols.tasks[taskID] }
    public var actor: String { symbols.labels[actorID] }
    public var team: String { symbols.labels[teamID] }

    /// The writer clock in Unix milliseconds: leases and backoffs are measured on it, never on a clock read.
    public var millis: Int64 { HLC.milliseconds(hlc) }
}

/// A projection: a pure fold over the merged order, with a deterministic snapshot encoding.
public protocol Projection: AnyObject {
    /// File name under `.aibrain/projections/` (without extension) and the name `rebuild` prints.
    static var name: String { get }
    /// Bumped whenever the fold or the encoding changes: older snapshots are rebuilt, never upcast.
    static var version: UInt16 { get }
    init(symbols: SymbolTables)
    /// Folds one event. Returns true if the event changed (or was recorded by) this projection.
    func apply(_ e: FoldEvent) -> Bool
    func encode(_ w: inout SnapshotWriter)
    init(decoding r: inout SnapshotReader, symbols: SymbolTables) throws(SnapshotReader.Failure)
}

extension FoldEvent {
    /// An id-like payload member, or "" (ids are short: Swift keeps them inline, without allocating).
    func id(_ k: FieldKey) -> String { fields.string(k) ?? "" }

    /// A string member interned in `table` (nil when absent or not a string).
    @inline(__always)
    func symbol(_ k: FieldKey, _ table: Symbols) -> Int32? {
        guard let r = fields.raw(k), r.count >= 2, r[0] == UInt8(ascii: "\""), r[r.count - 1] == UInt8(ascii: "\"")
        else { return nil }
        let inner = UnsafeRawBufferPointer(rebasing: r[1..<r.count - 1])
        if inner.isEmpty || memchr(inner.baseAddress!, Int32(UInt8(ascii: "\\")), inner.count) == nil {
            return table.id(inner)
        }
        return fields.string(k).map { table.id($0) }
    }
}
