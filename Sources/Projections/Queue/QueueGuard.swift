import BrainEvents
import EventLog

/// A queue event refused at emit time: it names the item's current state.
public struct QueueRefusal: Error, CustomStringConvertible {
    public var item: String
    public var state: String
    public var reason: String
    public var description: String {
        reason.contains(" is \(state)") ? reason : "\(reason) (work item \(item) is \(state))"
    }
}

/// Emit-time checks of current-version work-item events, run by the engine's precondition hook under the
/// writer lock: the item's history (this origin's under the lock, adopted origins' as read) is folded by
/// the same `QueueProjection` code as replay, then each new event is applied; a conflict refuses the batch.
///
/// Index keys make this cheap: aibrain's commands give every work-item event the key `item/<id>`, and an
/// enqueue with a unique key the key `unique/<key>` (see `CatalogueKeys`).
public enum QueueGuard {
    /// Throws the first refusal of a batch (a batch is all or nothing).
    public static func check(_ drafts: [EventDraft], reader: StoreReader, context ctx: AppendContext)
        throws
    {
        if let first = try refusals(drafts, reader: reader, context: ctx).first { throw first.refusal }
    }

    /// The drafts that would be refused, by index; a refused draft is not applied, so later drafts are
    /// judged without it (what `emit --stream` appends when it leaves the refused lines out).
    public static func refusals(
        _ drafts: [EventDraft], reader: StoreReader, context ctx: AppendContext
    ) throws -> [(index: Int, refusal: QueueRefusal)] {
        let kinds = drafts.map { EventKind(typeName: $0.type) }
        guard kinds.contains(where: { $0?.isQueueTransition == true }) else { return [] }
        let local = reader.localOrigin
        var streams: [String] = []
        for (d, k) in zip(drafts, kinds) where k?.isQueueTransition == true {
            for key in d.keys where key.hasPrefix("item/") || key.hasPrefix("unique/") {
                if !streams.contains(key) { streams.append(key) }
            }
        }
        // Items sharing a unique key: their own histories decide whether the key is still held.
        var history: [Event] = []
        var seen = Set<String>()
        func add(_ stream: String) throws {
            guard seen.insert(stream).inserted else { return }
            let mine = try ctx.history(ofStream: stream)
            let theirs = try reader.history(stream: stream).filter { $0.origin != local }
            for e in mine + theirs {
                history.append(e)
                if stream.hasPrefix("unique/") {
                    for k in e.draft.keys where k.hasPrefix("item/") { try add(k) }
                }
            }
        }
        for s in streams { try add(s) }
        // Pending requests of the same group commit come first, in order, on this origin.
        // The clocks the writer will assign (AppendContext.now), not a second reading of ours.
        let nowMS = ctx.now
        var lsn = ctx.nextLSN
        var hlc = HLC.next(now: nowMS, last: ctx.lastHLC)
        var drafted: [Event] = []
        for d in ctx.pending where d.keys.contains(where: { streams.contains($0) }) {
            drafted.append(Event(origin: local, epoch: 0, lsn: lsn, hlc: hlc, recordedAt: nowMS, draft: d))
            lsn += 1
            hlc += 1
        }
        var unique: [String: Event] = [:]
        for e in history { unique["\(e.origin.hex):\(e.lsn)"] = e }
        let past = unique.values.sorted(by: StoreReader.mergedOrder)
        let engine = ReplayEngine()
        for e in past + drafted { engine.apply(event: e) }
        var out: [(Int, QueueRefusal)] = []
        for (i, (d, k)) in zip(drafts, kinds).enumerated() {
            guard k?.isQueueTransition == true else { continue }
            // A refused event changes nothing but the conflict list (QueueProjection checks every rule
            // before it writes), so the drafts after it are judged as if it were left out.
            let before = engine.queue.conflicts.count
            engine.apply(event: Event(origin: local, epoch: 0, lsn: lsn, hlc: hlc, recordedAt: nowMS, draft: d))
            if engine.queue.conflicts.count > before, let c = engine.queue.conflicts.last {
                out.append((i, QueueRefusal(item: c.item, state: c.state, reason: c.reason)))
                continue
            }
            lsn += 1
            hlc += 1
        }
        return out
    }
}
