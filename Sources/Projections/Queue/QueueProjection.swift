import BrainEvents
import EventLog
import Foundation

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
    /// 2: `work_item.enqueued` carries an imported legacy retry count and error log.
    public static let version: UInt16 = 2

    let symbols: SymbolTables
    /// Items by item symbol (nil: a symbol seen only in events that were refused).
    private var slots: [WorkItem?] = []
    /// unique key → item holding it (while the item is in a state that holds keys).
    public private(set) var uniqueKeys: [String: String] = [:]
    public private(set) var conflicts: [QueueConflict] = []

    public init(symbols: SymbolTables) { self.symbols = symbols }

    /// One item by id.
    public func item(_ id: String) -> WorkItem? {
        guard let s = symbols.items.lookup(id), Int(s) < slots.count else { return nil }
        return slots[Int(s)]
    }

    /// Leases granted so far to the item with this symbol (0 if unknown).
    @inline(__always)
    func attempts(ofSymbol s: Int32) -> Int {
        let i = Int(s)
        return i < slots.count ? slots[i]?.attempts ?? 0 : 0
    }

    /// Every item, in no particular order.
    public var allItems: [WorkItem] { slots.compactMap { $0 } }

    /// Every item by id (built on each call: for reports and tests, not the fold).
    public var items: [String: WorkItem] {
        var m: [String: WorkItem] = [:]
        m.reserveCapacity(slots.count)
        for case let i? in slots { m[i.id] = i }
        return m
    }

    @inline(__always)
    private func slot(_ e: FoldEvent) -> Int? {
        guard let s = e.symbol(.workItemID, symbols.items) else { return nil }
        let i = Int(s)
        while i >= slots.count { slots.append(nil) }
        return i
    }

    public func apply(_ e: FoldEvent) -> Bool {
        guard let kind = e.kind else { return false }
        switch kind {
        case .workItemTransitionedV1:
            guard let i = slot(e) else {
                conflict(e, item: "", reason: "work_item.transitioned without work_item_id")
                return true
            }
            var item = slots[i]
            applyLegacy(e, &item, id: symbols.items[Int32(i)])
            slots[i] = item
            return true
        case .workItemEnqueued, .workItemLeased, .workItemHeartbeat, .workItemCompleted, .workItemFailed,
            .workItemRetryScheduled, .workItemRescued, .workItemDiscarded, .workItemCancelled:
            guard let i = slot(e) else {
                conflict(e, item: "", reason: "no work_item_id in the payload")
                return true
            }
            var item = slots[i]
            let id = symbols.items[Int32(i)]
            if let reason = applyCurrent(kind, e, &item, id: id) {
                conflict(e, item: id, state: item?.status.name ?? "unknown", reason: reason)
            }
            slots[i] = item
            return true
        default:
            return false
        }
    }

    func conflict(_ e: FoldEvent, item: String, state: String = "unknown", reason: String) {
        conflicts.append(
            QueueConflict(
                ref: e.ref, hlc: e.hlc, item: item, type: e.kind?.typeName ?? "", state: state, reason: reason))
    }

    /// Applies a current-version event; returns why it cannot be applied, or nil.
    func applyCurrent(_ kind: EventKind, _ e: FoldEvent, _ slot: inout WorkItem?, id: String) -> String? {
        let f = e.fields
        guard !id.isEmpty else { return "no work_item_id in the payload" }
        if kind == .workItemEnqueued {
            if let existing = slot {
                return "work item \(id) was already enqueued (it is \(existing.status.name))"
            }
            let item = WorkItem(id: id, at: e.ref, hlc: e.hlc)
            item.task = e.task
            item.project = f.string(.project) ?? ""
            item.orchestrator = f.string(.orchestratorID) ?? ""
            item.team = f.string(.team) ?? e.team
            item.uniqueKey = f.string(.uniqueKey) ?? ""
            if !item.uniqueKey.isEmpty, let holder = uniqueKeys[item.uniqueKey],
                let h = self.item(holder), h.status.holdsUniqueKey
            {
                return "unique key \(item.uniqueKey) is held by \(holder) (\(h.status.name))"
            }
            if let hex = f.string(.homeOrigin) {
                guard let o = OriginID(hex: hex) else { return "home_origin is not a 32-hex origin id" }
                guard e.origins.lookup(o) != nil || !e.origins.isFull else {
                    return "home_origin \(hex): too many distinct origins named"
                }
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
            if let legacy = f.nested(.legacy) {
                // `import legacy`: the legacy file's retry count and its whole error log.
                if let r = legacy.int(.retryCount), r >= 0 { item.retryCount = Int(min(r, Int64(Int32.max))) }
                if let log = legacy.strings(.errorLog) { item.errors = log }
            }
            item.events = 1
            slot = item
            if !item.uniqueKey.isEmpty { uniqueKeys[item.uniqueKey] = id }
            return nil
        }
        guard let item = slot else { return "work item \(id) was never enqueued" }
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
        touch(item, e)
        return nil
    }

    private func touch(_ item: WorkItem, _ e: FoldEvent) {
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
    func applyLegacy(_ e: FoldEvent, _ slot: inout WorkItem?, id: String) {
        let f = e.fields
        guard !id.isEmpty, let fromRaw = f.raw(.from), let toRaw = f.raw(.to), let from = LegacyState(fromRaw),
            let to = LegacyState(toRaw)
        else {
            conflict(e, item: id, reason: "work_item.transitioned without a work_item_id and known from/to states")
            return
        }
        let item: WorkItem
        if let existing = slot {
            item = existing
        } else {
            guard from == .pending else {
                conflict(e, item: id, reason: "first transition of \(id) is from \(from.name), not pending")
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
        // An item is kept once an event applied to it (a refused first transition leaves no item).
        defer { if item.events > 0 { slot = item } }
        let current = Self.legacyState(item)
        guard current == from else {
            conflict(
                e, item: id, state: item.status.name,
                reason: "transition from \(from.name), but the item is \(current.name)")
            return
        }
        let now = e.millis
        switch (current, to) {
        case (.pending, .claimed), (.retrying, .claimed):
            item.attempts += 1
            item.lease = Lease(
                id: "legacy", worker: e.actor, origin: e.ref.origin, grantedMS: now, expiresMS: .max, ttlMS: 0,
                started: false)
            item.status = .leased
        case (.claimed, .inProgress):
            item.lease!.started = true
        case (.inProgress, .completed):
            item.status = .completed
            item.lease = nil
        case (.inProgress, .retrying):
            item.retryCount = Int(f.int(.retryCount) ?? Int64(item.retryCount + 1))
            item.logError(f.string(.error) ?? "")
            item.lease = nil
            item.status = .retryable
            item.retryAtMS = now
        case (.inProgress, .failed):
            let error = f.string(.error) ?? ""
            item.logError(error)
            item.lease = nil
            item.status = .discarded
            item.reason = error.isEmpty ? "failed" : error
        default:
            conflict(e, item: id, state: item.status.name, reason: "no transition from \(from.name) to \(to.name)")
            return
        }
        touch(item, e)
    }

    /// The v1 state of an item.
    static func legacyState(_ item: WorkItem) -> LegacyState {
        switch item.status {
        case .available: .pending
        case .leased: item.lease?.started == true ? .inProgress : .claimed
        case .retryable: .retrying
        case .failed, .discarded: .failed
        case .completed: .completed
        case .cancelled: .cancelled
        }
    }

    // MARK: queries (computed at `now`, never folded)

    /// Claimable items of a team (all teams when nil), best first: priority, then oldest enqueue.
    public func claimable(team: String?, atMS now: Int64) -> [WorkItem] {
        allItems.filter { ($0.team == team || team == nil) && $0.claimable(atMS: now) }
            .sorted {
                if $0.priority != $1.priority { return $0.priority > $1.priority }
                if $0.enqueuedHLC != $1.enqueuedHLC { return $0.enqueuedHLC < $1.enqueuedHLC }
                return $0.id < $1.id
            }
    }

    // MARK: snapshot

    public func encode(_ w: inout SnapshotWriter) {
        let all = slots.compactMap { $0 }.sorted { utf8Less($0.id, $1.id) }
        w.varint(UInt64(all.count))
        for i in all {
            w.string(i.id)
            i.encode(&w)
        }
        w.varint(UInt64(uniqueKeys.count))
        for k in uniqueKeys.keys.sorted(by: utf8Less) {
            w.string(k)
            w.string(uniqueKeys[k]!)
        }
        w.list(conflicts)
    }

    public init(decoding r: inout SnapshotReader, symbols: SymbolTables) throws(SnapshotReader.Failure) {
        self.symbols = symbols
        let n = try r.count()
        var previous: String?
        for _ in 0..<n {
            let k = try r.string()
            if let p = previous, !utf8Less(p, k) { throw r.failure("work items out of order") }
            previous = k
            let item = try WorkItem(decoding: &r)
            let i = Int(symbols.items.id(k))
            if i >= slots.count { slots.append(contentsOf: repeatElement(nil, count: i - slots.count + 1)) }
            slots[i] = item
        }
        let u = try r.count()
        for _ in 0..<u {
            let k = try r.string()
            uniqueKeys[k] = try r.string()
        }
        conflicts = try r.list(QueueConflict.self)
    }
}

/// The states of `work_item.transitioned` v1, recognised from the raw JSON string without allocating.
enum LegacyState: UInt8 {
    case pending, claimed, inProgress, completed, failed, retrying, cancelled

    var name: String {
        switch self {
        case .pending: "pending"
        case .claimed: "claimed"
        case .inProgress: "in_progress"
        case .completed: "completed"
        case .failed: "failed"
        case .retrying: "retrying"
        case .cancelled: "cancelled"
        }
    }

    static let names: [(LegacyState, [UInt8])] = [
        LegacyState.pending, .claimed, .inProgress, .completed, .failed, .retrying, .cancelled,
    ].map { ($0, Array("\"\($0.name)\"".utf8)) }

    /// From a raw JSON value (quotes included).
    init?(_ raw: UnsafeRawBufferPointer) {
        for (s, n) in Self.names where n.count == raw.count && n[1] == raw[1] && n[2] == raw[2] {
            if n.withUnsafeBytes({ memcmp($0.baseAddress!, raw.baseAddress!, n.count) == 0 }) {
                self = s
                return
            }
        }
        return nil
    }
}
