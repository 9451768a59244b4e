import BrainEvents
import EventLog

/// One event as the projections see it during a fold: the envelope fields they use and the payload already
/// scanned. Valid only inside the fold callback (the payload bytes belong to the reader).
public struct FoldEvent {
    public var ref: EventRef
    public var hlc: UInt64
    public var kind: EventKind?
    public var typeVersion: UInt16
    public var flags: UInt8
    /// The task of a `task/<id>` stream; empty otherwise.
    public var task: String
    public var actor: String
    public var team: String
    /// False when the payload is not a JSON object the scanner could walk.
    public var payloadOK: Bool
    public let fields: PayloadFields
    /// The fold's origin numbering (`ref.origin` indexes it).
    public let origins: OriginTable
    /// Where the event id comes from: a stored record's envelope (built on demand: only decisions keep
    /// it) or an event already materialized.
    let idSource: IDSource

    enum IDSource {
        case record(EnvelopeView, UnsafeRawBufferPointer)
        case text(String)
    }

    public var eventID: String {
        switch idSource {
        case .record(let view, let envelopes): view.eventID(in: envelopes)
        case .text(let s): s
        }
    }

    /// The writer clock in Unix milliseconds: leases and backoffs are measured on it, never on a clock read.
    public var millis: Int64 { HLC.milliseconds(hlc) }
}

/// A projection: a pure fold over the merged order, with a deterministic snapshot encoding.
public protocol Projection: AnyObject {
    /// File name under `.aibrain/projections/` (without extension) and the name `rebuild` prints.
    static var name: String { get }
    /// Bumped whenever the fold or the encoding changes: older snapshots are rebuilt, never upcast.
    static var version: UInt16 { get }
    init()
    /// Folds one event. Returns true if the event changed (or was recorded by) this projection.
    func apply(_ e: FoldEvent) -> Bool
    func encode(_ w: inout SnapshotWriter)
    init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure)
}

extension String {
    /// The id of a `task/<id>` stream, or "".
    static func task(ofStream s: String) -> String {
        s.hasPrefix("task/") ? String(s.dropFirst(5)) : ""
    }
}

extension FoldEvent {
    /// An id-like payload member, or "" (ids are short: Swift keeps them inline, without allocating).
    func id(_ k: FieldKey) -> String { fields.string(k) ?? "" }
}
