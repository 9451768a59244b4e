import BrainEvents
import EventLog

/// The work queue: every item's state, leases, retries, dead letters and the conflicts met on the way.
///
/// Rules (checked here for the fold and, through the same code, at emit time by `QueueGuard`):
/// - Only an item's home origin (where it was enqueued, or `home_origin`) leases, rescues and discards it.
/// - Heartbeat, complete and fail may come from any origin, citing a lease that is current and unexpired at
///   that event's clock.
/// - An event that breaks a rule is not applied and is listed as a conflict; the earlier state stands
///   (the merged order puts the earliest HLC first, so the earliest event wins).
public final class QueueProjection: Projection {
    public static let name = "queue"
    public static let version: UInt16 = 1

    public private(set) var items: [String: WorkItem] = [:]
    /// unique key → item holding it (while the item is in a state that holds keys).
    public private(set) var uniqueKeys: [String: String] = [:]
    public private(set) var conflicts: [QueueConflict] = []

    public init() {}

    public func apply(_ e: FoldEvent) -> Bool {
        guard let kind = e.kind else { return false }
        switch kind {
        case .workItemTransitionedV1:
            applyLegacy(e)
            return true
        case .workItemEnqueued, .workItemLeased, .workItemHeartbeat, .workItemCompleted, .workItemFailed,
            .workItemRetryScheduled, .workItemRescued, .workItemDiscarded, .workItemCancelled:
            if let reason = applyCurrent(kind, e) {
                conflict(e, item: e.id(.workItemID), reason: reason)
            }
            return true
        default:
            return false
        }
    }

    func conflict(_ e: FoldEvent, item: String, reason: String) {
        let state = items[item].map { $0.status.name } ?? "unknown"
        conflicts.append(
            QueueConflict(
                ref: e.ref, hlc: e.hlc, item: item, type: e.kind?.typeName ?? "", state: state, reason: reason))
    }

    /// Applies a current-version event; returns why it cannot be applied, or nil.
    func applyCurrent(_ kind: EventKind, _ e: FoldEvent) -> String? {
        let f = e.fields
        let id = e.id(.workItemID)
        guard !id.isEmpty else { return "no work_item_id in the payload" }
        if kind == .workItemEnqueued {
            if let existing = items[id] {
                return "work item \(id) was already enqueued (it is \(existing.status.name))"
            }
            var item = WorkItem(id: id, at: e.ref, hlc: e.hlc)
            item.task = e.task
            item.project = f.string(.project) ?? ""
            item.orchestrator = f.string(.orchestratorID) ?? ""
            item.team = f.string(.team) ?? e.team
            item.uniqueKey = f.string(.uniqueKey) ?? ""
            if !item.uniqueKey.isEmpty, let holder = uniqueKeys[item.uniqueKey],
                let h = items[holder], h.status.holdsUniqueKey
            {
                return "unique key \(item.uniqueKey) is held by \(holder) (\(h.status.name))"
            }
            if let hex = f.string(.homeOrigin) {
                guard let o = OriginID(hex: hex) else { return "home_origin is not a 32-hex origin id" }
                item.home = e.origins.index(of: o)
            } else {
                item.home = e.ref.origin
            }
            item.sessionRef = f.string(.sessionRef) ?? ""
            if let m = f.int(.maxAttempts) { item.maxAttempts = Int(max(1, min(m, 100))) }
            if let p = f.int(.priority) { item.priority = Int(max(-1000, min(p, 1000))) }
            if let meta = f.raw(.metadata), meta.first == UInt8(ascii: "{") {
                item.metadata = String(decoding: meta, as: UTF8.self)
            }
            item.events = 1
            items[id] = item
            if !item.uniqueKey.isEmpty { uniqueKeys[item.uniqueKey] = id }
            return nil
        }
        guard var item = items[id] else { return "work item \(id) was never enqueued" }
        let home = item.home == e.ref.origin
        let now = e.millis
        let leaseID = f.string(.leaseID)
        /// The cited lease must be the current one and unexpired at this event's clock.
        func checkLease(required: Bool) -> String? {
            guard item.status == .leased, let l = item.lease else {
                return "work item \(id) is \(item.status.name), not leased"
            }
            if let c = leaseID, c != l.id { return "lease \(c) is not the current lease (\(l.id))" }
            if leaseID == nil && required { return "lease_id is required" }
            if leaseID == nil && e.ref.origin != l.origin && !home {
                return "lease_id is required from an origin other than the lease's"
            }
            if now > l.expiresMS { return "lease \(l.id) expired at \(l.expiresMS) ms, before this event" }
            return nil
        }
        switch kind {
        case .workItemLeased:
            guard home else { return "only the item's home origin may lease it" }
            guard item.claimable(atMS: now) else {
                if item.status == .retryable { return "work item \(id) is retryable only from \(item.retryAtMS) ms" }
                return "work item \(id) is \(item.status.name), not claimable"
            }
            guard let lid = leaseID, !lid.isEmpty else { return "lease_id is required" }
            let ttl = max(1, f.int(.ttlMS) ?? 300_000)
            item.attempts += 1
            item.lease = Lease(
                id: lid, worker: f.string(.worker) ?? e.actor, origin: e.ref.origin, grantedMS: now,
                expiresMS: now + ttl, ttlMS: ttl, started: false)
            item.status = .leased
        case .workItemHeartbeat:
            if let why = checkLease(required: true) { return why }
            let ttl = max(1, f.int(.ttlMS) ?? item.lease!.ttlMS)
            item.lease!.expiresMS = now + ttl
            item.lease!.ttlMS = ttl
        case .workItemCompleted:
            if let why = checkLease(required: false) { return why }
            item.status = .completed
            item.lease = nil
            if let s = f.string(.sessionRef) { item.sessionRef = s }
        case .workItemFailed:
            if let why = checkLease(required: false) { return why }
            item.retryCount += 1
            item.logError(f.string(.error) ?? "")
            item.lease = nil
            if f.bool(.retryable) ?? true, item.attempts < item.maxAttempts {
                item.status = .retryable
                item.retryAtMS = now + retryBackoffMS(item: id, attempt: item.attempts)
            } else {
                item.status = .failed
            }
        case .workItemRetryScheduled:
            guard item.status == .retryable else { return "work item \(id) is \(item.status.name), not retryable" }
            item.retryAtMS = now + max(0, f.int(.backoffMS) ?? 0)
        case .workItemRescued:
            guard home else { return "only the item's home origin may rescue it" }
            guard item.status == .leased, let l = item.lease else { return "work item \(id) is not leased" }
            if let c = leaseID, c != l.id { return "lease \(c) is not the current lease (\(l.id))" }
            guard now > l.expiresMS else { return "lease \(l.id) is valid until \(l.expiresMS) ms" }
            item.retryCount += 1
            item.logError("lease \(l.id) of \(l.worker) expired (rescued)")
            item.lease = nil
            if item.attempts < item.maxAttempts {
                item.status = .retryable
                item.retryAtMS = now
            } else {
                item.status = .failed
            }
        case .workItemDiscarded:
            guard home else { return "only the item's home origin may discard it" }
            guard !item.status.isTerminal else { return "work item \(id) is already \(item.status.name)" }
            if item.status == .leased, let l = item.lease, now <= l.expiresMS {
                return "work item \(id) holds an unexpired lease \(l.id)"
            }
            item.status = .discarded
            item.lease = nil
            item.reason = f.string(.reason) ?? ""
        case .workItemCancelled:
            guard !item.status.isTerminal else { return "work item \(id) is already \(item.status.name)" }
            item.status = .cancelled
            item.lease = nil
            item.reason = f.string(.reason) ?? ""
        default:
            return "not a work item event"
        }
        touch(&item, e)
        items[id] = item
        return nil
    }

    private func touch(_ item: inout WorkItem, _ e: FoldEvent) {
        item.last = e.ref
        item.updatedHLC = e.hlc
        item.events += 1
        if !item.uniqueKey.isEmpty, !item.status.holdsUniqueKey, uniqueKeys[item.uniqueKey] == item.id {
            uniqueKeys[item.uniqueKey] = nil
        }
    }

    /// `work_item.transitioned` v1 (the benchmark workload): upcast to the lease events. pending→claimed is
    /// an enqueue plus a lease, in_progress the worker's start, retrying a retryable failure, failed a
    /// failure into the dead letters. A `from` that is not the item's state is a conflict.
    func applyLegacy(_ e: FoldEvent) {
        let f = e.fields
        let id = e.id(.workItemID)
        guard !id.isEmpty, let from = f.string(.from), let to = f.string(.to) else {
            conflict(e, item: id, reason: "work_item.transitioned without work_item_id, from and to")
            return
        }
        var item: WorkItem
        if let existing = items[id] {
            item = existing
        } else {
            guard from == "pending" else {
                conflict(e, item: id, reason: "first transition of \(id) is from \(from), not pending")
                return
            }
            item = WorkItem(id: id, at: e.ref, hlc: e.hlc)
            item.task = e.task
            item.project = f.string(.project) ?? ""
            item.team = e.team
            item.home = e.ref.origin
            item.legacy = true
            item.maxAttempts = 100
        }
        let current = Self.legacyState(item)
        guard current == from else {
            conflict(e, item: id, reason: "transition from \(from), but the item is \(current)")
            return
        }
        let now = e.millis
        switch to {
        case "claimed":
            item.attempts += 1
            item.lease = Lease(
                id: "legacy-\(item.attempts)", worker: e.actor, origin: e.ref.origin, grantedMS: now,
                expiresMS: .max, ttlMS: 0, started: false)
            item.status = .leased
        case "in_progress" where current == "claimed":
            item.lease!.started = true
        case "completed" where current == "in_progress":
            item.status = .completed
            item.lease = nil
        case "retrying" where current == "in_progress":
            item.retryCount = Int(f.int(.retryCount) ?? Int64(item.retryCount + 1))
            item.logError(f.string(.error) ?? "")
            item.lease = nil
            item.status = .retryable
            item.retryAtMS = now
        case "failed" where current == "in_progress":
            item.logError(f.string(.error) ?? "")
            item.lease = nil
            item.status = .discarded
            item.reason = f.string(.error) ?? "failed"
        default:
            conflict(e, item: id, reason: "no transition from \(from) to \(to)")
            return
        }
        touch(&item, e)
        items[id] = item
    }

    /// The v1 state name of an item.
    static func legacyState(_ item: WorkItem) -> String {
        switch item.status {
        case .available: "pending"
        case .leased: item.lease?.started == true ? "in_progress" : "claimed"
        case .retryable: "retrying"
        case .failed, .discarded: "failed"
        case .completed: "completed"
        case .cancelled: "cancelled"
        }
    }

    // MARK: queries (computed at `now`, never folded)

    /// Claimable items of a team (all teams when nil), best first: priority, then oldest enqueue.
    public func claimable(team: String?, atMS now: Int64) -> [WorkItem] {
        items.values.filter { ($0.team == team || team == nil) && $0.claimable(atMS: now) }
            .sorted {
                if $0.priority != $1.priority { return $0.priority > $1.priority }
                if $0.enqueuedHLC != $1.enqueuedHLC { return $0.enqueuedHLC < $1.enqueuedHLC }
                return $0.id < $1.id
            }
    }

    public func expiredLeases(atMS now: Int64) -> [WorkItem] {
        items.values.filter { $0.leaseExpired(atMS: now) }.sorted { $0.id < $1.id }
    }

    // MARK: snapshot

    public func encode(_ w: inout SnapshotWriter) {
        w.map(items)
        w.varint(UInt64(uniqueKeys.count))
        for k in uniqueKeys.keys.sorted() {
            w.string(k)
            w.string(uniqueKeys[k]!)
        }
        w.list(conflicts)
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        items = try r.map(WorkItem.self)
        let n = try r.count()
        for _ in 0..<n {
            let k = try r.string()
            uniqueKeys[k] = try r.string()
        }
        conflicts = try r.list(QueueConflict.self)
    }
}
