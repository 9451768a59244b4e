import BrainEvents
import EventLog

/// Where a fold stands on one origin.
public struct FoldPosition: Sendable, Equatable {
    public var epoch: UInt32
    public var lsn: UInt64
    /// The record hash of the event at `lsn`: a snapshot is trusted only while every origin still holds
    /// exactly that record there (a restored or rolled-back log that reused the LSN is caught).
    public var recordHash: UInt64
}

/// The last event a fold applied: its place in the merged order. (Its record hash is its origin's
/// `FoldPosition.recordHash`: the last event is always the newest position of its origin.)
public struct LastApplied: Sendable, Equatable {
    public var hlc: UInt64
    public var origin: OriginID
    public var lsn: UInt64

    func precedes(hlc h: UInt64, origin o: OriginID, lsn l: UInt64) -> Bool {
        if hlc != h { return hlc < h }
        if origin != o { return origin < o }
        return lsn < l
    }
}

/// Thrown when an event arrives that sorts before what a fold already applied (a late adoption): the
/// caller rebuilds from scratch, the earliest point that is always right.
public struct LateEvent: Error, CustomStringConvertible {
    public var origin: OriginID
    /// 0: the origin itself is new to a one-origin snapshot (ids must now be tracked across origins).
    public var lsn: UInt64
    public var description: String {
        lsn == 0
            ? "origin \(origin.hex) appeared beside a one-origin snapshot"
            : "event \(origin.hex):\(lsn) sorts before the snapshot's last event"
    }
}

/// The replay engine: folds the merged order of every origin into all projections at once.
///
/// Pure: it reads the log and nothing else — no clock, no environment — so the same segments give the
/// same state and the same snapshot bytes in every store, whatever order they arrived in.
///
/// Concurrency rule: one engine per thread (it owns a reused payload scanner and mutable state).
public final class ReplayEngine {
    public let origins = OriginTable()
    public let symbols: SymbolTables
    public var queue: QueueProjection
    public var sessions: SessionProjection
    public var decisions: DecisionProjection
    public var knowledge: KnowledgeProjection
    public var cost: CostProjection

    public internal(set) var positions: [OriginID: FoldPosition] = [:]
    public internal(set) var last: LastApplied?
    /// Events folded, per catalogue kind; events of types the catalogue does not know, per type.
    public internal(set) var counts: [EventKind: Int] = [:]
    public internal(set) var unknownTypes: [String: Int] = [:]
    public internal(set) var total = 0
    /// Known-type events no projection used (e.g. a checkpoint without a task), and payloads that were not
    /// a JSON object.
    public internal(set) var unused = 0
    public internal(set) var unparsable = 0
    /// Events whose payload this store cannot read (`PayloadState.encrypted` without the team's key, or
    /// `.shredded`): skipped by every projection and counted here, never folded and never an error. Counted
    /// by the events this engine folded in this process (not kept in snapshots).
    public internal(set) var unreadable = 0
    /// Cross-origin duplicates skipped (contract 9: the first occurrence wins).
    public internal(set) var duplicates = 0
    /// Whether event ids are tracked across origins (only needed, and only kept, with more than one origin).
    public internal(set) var dedupe = false
    var seen = Set<ID128>()

    private let fields = PayloadFields()
    private let kinds = EventKindTable()
    private var kindCounts = [Int](repeating: 0, count: EventKind.allCases.count)

    /// The newest `type_version` of every catalogue type (all are at 1; older shapes are their own kinds).
    public static let catalogueVersion: UInt16 = 1

    public init() {
        let s = SymbolTables()
        symbols = s
        queue = QueueProjection(symbols: s)
        sessions = SessionProjection(symbols: s)
        decisions = DecisionProjection(symbols: s)
        knowledge = KnowledgeProjection(symbols: s)
        cost = CostProjection(symbols: s)
    }

    /// All projections, in snapshot order.
    public var projections: [any Projection] { [queue, sessions, decisions, knowledge, cost] }

    // MARK: folding

    /// Folds everything after `positions`, in merged order. Throws `LateEvent` if an origin holds an event
    /// that sorts before `last` (then rebuild from scratch).
    public func catchUp(_ reader: StoreReader) throws {
        if reader.logs.count > 1 && !dedupe {
            guard total == 0 else { throw LateEvent(origin: reader.logs[1].origin, lsn: 0) }
            dedupe = true
        }
        defer { flushCounts() }
        if reader.logs.count == 1 {
            let log = reader.logs[0]
            let origin = log.origin
            let index = origins.index(of: origin)
            let from = (positions[origin]?.lsn ?? 0) + 1
            guard from <= log.headLSN else { return }
            var lastRef: (UInt64, UInt64, UInt32)?
            try log.scan(from: from) { r in
                if let l = last, !l.precedes(hlc: r.hlc, origin: origin, lsn: r.lsn) {
                    throw LateEvent(origin: origin, lsn: r.lsn)
                }
                apply(record: r, originIndex: index)
                lastRef = (r.lsn, r.hlc, r.epoch)
            }
            if let (lsn, hlc, epoch) = lastRef {
                let hash = try log.event(lsn: lsn)?.recordHash ?? 0
                positions[origin] = FoldPosition(epoch: epoch, lsn: lsn, recordHash: hash)
                last = LastApplied(hlc: hlc, origin: origin, lsn: lsn)
            }
            return
        }
        var start: [OriginID: UInt64] = [:]
        for (o, p) in positions { start[o] = p.lsn + 1 }
        var moved: [OriginID: (epoch: UInt32, lsn: UInt64)] = [:]
        var newest: (hlc: UInt64, origin: OriginID, lsn: UInt64)?
        try reader.forEachMerged(from: start) { e in
            if let l = last, !l.precedes(hlc: e.hlc, origin: e.origin, lsn: e.lsn) {
                throw LateEvent(origin: e.origin, lsn: e.lsn)
            }
            apply(event: e)
            moved[e.origin] = (e.epoch, e.lsn)
            newest = (e.hlc, e.origin, e.lsn)
            return true
        }
        // Record hashes of the new positions: one read per origin, not one hash per event.
        for (o, m) in moved {
            let hash = try reader.log(o)?.event(lsn: m.lsn)?.recordHash ?? 0
            positions[o] = FoldPosition(epoch: m.epoch, lsn: m.lsn, recordHash: hash)
        }
        if let n = newest {
            last = LastApplied(hlc: n.hlc, origin: n.origin, lsn: n.lsn)
        }
    }

    /// Folds one stored record (the single-origin fast path: nothing is copied out of the block).
    @inline(__always)
    func apply(record r: RecordRef, originIndex: UInt16) {
        let env = r.envelopes
        let view = r.envelope
        if dedupe {
            guard seen.insert(ID128(eventIDBytes: view, env)).inserted else {
                duplicates += 1
                return
            }
        }
        guard r.payloadState == .plain else {
            unreadable += 1
            return
        }
        let type = UnsafeRawBufferPointer(rebasing: env[view.ranges.1])
        let kind = kinds.kind(type)
        var e = FoldEvent(
            ref: EventRef(origin: originIndex, lsn: r.lsn), hlc: view.hlc, kind: kind,
            typeVersion: view.typeVersion, flags: view.flags,
            taskID: taskSymbol(UnsafeRawBufferPointer(rebasing: env[view.ranges.2])),
            actorID: symbols.labels.id(UnsafeRawBufferPointer(rebasing: env[view.ranges.7])),
            teamID: teamSymbol(r.team),
            symbols: symbols, payloadOK: true, fields: fields, origins: origins,
            idSource: .record(UnsafeRawBufferPointer(rebasing: env[view.ranges.0]), hex: view.hexEventID),
            occurredSource: .record(UnsafeRawBufferPointer(rebasing: env[view.ranges.10]), hex: false))
        foldScanned(&e, payload: r.payload, type: type)
    }

    /// Folds one event outside a catch-up (e.g. one item's history); positions are not moved.
    public func fold(_ e: Event) { apply(event: e) }

    /// Folds one materialized event (the merged multi-origin path).
    func apply(event: Event) {
        if dedupe {
            guard seen.insert(ID128(eventID: event.eventID)).inserted else {
                duplicates += 1
                return
            }
        }
        guard event.payloadState == .plain else {
            unreadable += 1
            return
        }
        var type = event.type
        let kind = type.withUTF8 { kinds.kind(UnsafeRawBufferPointer($0)) }
        var d = event.draft
        let task = d.stream.withUTF8 { taskSymbol(UnsafeRawBufferPointer($0)) }
        let actor = symbols.labels.id(d.actor)
        let team = teamSymbol(d.team)
        d.payload.withUnsafeBytes { payload in
            var e = FoldEvent(
                ref: EventRef(origin: origins.index(of: event.origin), lsn: event.lsn), hlc: event.hlc,
                kind: kind, typeVersion: d.typeVersion, flags: d.flags, taskID: task, actorID: actor, teamID: team,
                symbols: symbols, payloadOK: true, fields: fields, origins: origins, idSource: .text(d.eventID),
                occurredSource: .text(d.occurredAt))
            type.withUTF8 { t in foldScanned(&e, payload: payload, type: UnsafeRawBufferPointer(t)) }
        }
    }

    private func foldScanned(_ e: inout FoldEvent, payload: UnsafeRawBufferPointer, type: UnsafeRawBufferPointer) {
        total += 1
        // A type the catalogue does not know, or a newer version of one it knows (no upcaster from the future),
        // is kept and counted, never folded by rules written for another shape. A usage block it carries
        // (flag bit 0) still counts for cost.
        guard let kind = e.kind, e.typeVersion <= Self.catalogueVersion else {
            let name = String(decoding: type, as: UTF8.self)
            unknownTypes[e.kind == nil ? name : "\(name) v\(e.typeVersion)", default: 0] += 1
            if e.flags & Format.EnvelopeFlag.usage != 0 {
                e.kind = nil
                if fields.scan(payload) {
                    let queue = self.queue
                    _ = cost.apply(e, attempts: { queue.attempts(ofSymbol: $0) })
                } else {
                    unparsable += 1
                }
            }
            return
        }
        kindCounts[Int(kind.rawValue)] += 1
        e.payloadOK = fields.scan(payload)
        if !e.payloadOK { unparsable += 1 }
        var used = false
        switch kind {
        case .sessionStarted, .sessionCheckpointed, .sessionForked, .sessionEnded:
            used = sessions.apply(e)
        case .workItemEnqueued, .workItemLeased, .workItemHeartbeat, .workItemCompleted, .workItemFailed,
            .workItemRetryScheduled, .workItemRescued, .workItemDiscarded, .workItemCancelled,
            .workItemTransitionedV1:
            used = queue.apply(e)
        case .decisionRecorded, .decisionSuperseded:
            used = decisions.apply(e)
        case .koProposed, .koApproved, .koSuperseded, .koRetired, .koConsulted, .taskOutcome, .koOutcomeV1, .koEmbedded:
            used = knowledge.apply(e)
        case .usageRecorded, .streamShredded:
            break
        }
        let queue = self.queue
        if cost.apply(e, attempts: { queue.attempts(ofSymbol: $0) }) { used = true }
        if !used { unused += 1 }
    }

    /// The task symbol of a `task/<id>` stream, or -1.
    @inline(__always)
    private func taskSymbol(_ stream: UnsafeRawBufferPointer) -> Int32 {
        guard stream.count > 5, stream[0] == UInt8(ascii: "t"), stream[1] == UInt8(ascii: "a"),
            stream[2] == UInt8(ascii: "s"), stream[3] == UInt8(ascii: "k"), stream[4] == UInt8(ascii: "/")
        else { return -1 }
        return symbols.tasks.id(UnsafeRawBufferPointer(rebasing: stream[5...]))
    }

    /// Teams come per payload region as a String: the last one is remembered (one region per batch).
    private var lastTeam: (String, Int32) = ("", -1)
    @inline(__always)
    private func teamSymbol(_ team: String) -> Int32 {
        // Compared as bytes (String `==` would equate NFC and NFD spellings, which intern apart).
        if lastTeam.1 >= 0 && lastTeam.0.utf8.elementsEqual(team.utf8) { return lastTeam.1 }
        let id = symbols.labels.id(team)
        lastTeam = (team, id)
        return id
    }

    private func flushCounts() {
        for k in EventKind.allCases where kindCounts[Int(k.rawValue)] > 0 {
            counts[k, default: 0] += kindCounts[Int(k.rawValue)]
            kindCounts[Int(k.rawValue)] = 0
        }
    }
}

extension ID128 {
    /// The key the cross-origin duplicate check uses: XXH3-128 of the id's text form.
    init(eventID: String) {
        var s = eventID
        self = s.withUTF8 { ID128(UnsafeRawBufferPointer($0)) }
    }

    init(eventIDBytes view: EnvelopeView, _ env: UnsafeRawBufferPointer) {
        self.init(eventID: view.eventID(in: env))
    }
}
