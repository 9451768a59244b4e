import BrainEvents
import EventLog

/// One recorded decision; its rationale and alternatives stay in the log (read back through `ref`).
/// A class so the decision list grows and is encoded without copying each decision's strings.
public final class Decision: SnapshotCodable {
    public var eventID: String
    public var task: String
    public var kind: String
    public var value: String
    public var severity: String
    public var approver: String
    /// As written (decimal text), "" when absent.
    public var confidence: String
    public var actor: String
    public var team: String
    public var ref: EventRef
    public var hlc: UInt64
    /// Event id of the decision that superseded this one ("" while current).
    public var supersededBy: String

    public func encode(_ w: inout SnapshotWriter) {
        w.string(eventID)
        w.string(task)
        w.string(kind)
        w.string(value)
        w.string(severity)
        w.string(approver)
        w.string(confidence)
        w.string(actor)
        w.string(team)
        ref.encode(&w)
        w.varint(hlc)
        w.string(supersededBy)
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        eventID = try r.string()
        task = try r.repeatedString()
        kind = try r.repeatedString()
        value = try r.repeatedString()
        severity = try r.repeatedString()
        approver = try r.repeatedString()
        confidence = try r.repeatedString()
        actor = try r.repeatedString()
        team = try r.repeatedString()
        ref = try EventRef(decoding: &r)
        hlc = try r.varint()
        supersededBy = try r.string()
    }

    init(_ e: FoldEvent) {
        let f = e.fields
        let labels = e.symbols.labels
        eventID = e.eventID
        task = e.task
        // Kinds, severities and approvers repeat: their strings come from the symbol table (no allocation).
        kind = e.symbol(.kind, labels).map { labels[$0] } ?? ""
        value = f.string(.value) ?? ""
        severity = e.symbol(.severity, labels).map { labels[$0] } ?? ""
        approver = e.symbol(.approver, labels).map { labels[$0] } ?? ""
        confidence = f.raw(.confidence).map { String(decoding: $0, as: UTF8.self) } ?? ""
        actor = e.actor
        team = e.team
        ref = e.ref
        hlc = e.hlc
        supersededBy = ""
    }
}

/// The decision log: every decision in merged order, by task and kind, with supersessions.
public final class DecisionProjection: Projection {
    public static let name = "decisions"
    public static let version: UInt16 = 1

    public private(set) var decisions: [Decision] = []
    /// Event id → index, built at the first supersession (rare) and kept up to date after it. (Cross-origin
    /// duplicates never get here: the engine drops them, contract 9.)
    private var index: [String: Int]?
    /// Supersessions that named an unknown decision, listed for audit.
    public private(set) var unresolved: [String] = []

    public init(symbols: SymbolTables) {}

    public func apply(_ e: FoldEvent) -> Bool {
        switch e.kind {
        case .decisionRecorded:
            let d = Decision(e)
            index?[d.eventID] = decisions.count
            decisions.append(d)
            return true
        case .decisionSuperseded:
            let target = e.fields.string(.decisionID) ?? ""
            if index == nil {
                var m: [String: Int] = [:]
                m.reserveCapacity(decisions.count)
                for (i, d) in decisions.enumerated() { m[d.eventID] = i }
                index = m
            }
            guard let i = index?[target] else {
                unresolved.append("supersession at \(e.ref.lsn) names unknown decision \(target)")
                return true
            }
            if decisions[i].supersededBy.isEmpty { decisions[i].supersededBy = e.fields.string(.by) ?? e.eventID }
            return true
        default:
            return false
        }
    }

    /// Decisions filtered by task and kind, oldest first.
    public func select(task: String?, kind: String?) -> [Decision] {
        decisions.filter { (task == nil || $0.task == task) && (kind == nil || $0.kind == kind) }
    }

    public func encode(_ w: inout SnapshotWriter) {
        w.list(decisions)
        w.strings(unresolved)
    }

    public init(decoding r: inout SnapshotReader, symbols: SymbolTables) throws(SnapshotReader.Failure) {
        decisions = try r.list(Decision.self)
        unresolved = try r.strings()
    }
}
