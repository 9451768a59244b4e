import EventLog

/// A work item's state (River's, with leases instead of a fixed rescue timer).
///
/// `available → leased → completed`; a failure or an expired lease (rescued) goes to `retryable` while
/// attempts remain, else to `failed`, which waits for the home origin's `discarded` (the dead letters).
/// `cancelled`, `completed` and `discarded` are terminal.
public enum ItemStatus: UInt8, CaseIterable, Sendable {
    case available, leased, retryable, failed, completed, discarded, cancelled

    public var name: String {
        switch self {
        case .available: "available"
        case .leased: "leased"
        case .retryable: "retryable"
        case .failed: "failed"
        case .completed: "completed"
        case .discarded: "discarded"
        case .cancelled: "cancelled"
        }
    }

    public init?(name: String) {
        guard let s = ItemStatus.allCases.first(where: { $0.name == name }) else { return nil }
        self = s
    }

    public var isTerminal: Bool { self == .completed || self == .discarded || self == .cancelled }
    /// States in which a unique key is held (River's default `unique_states`).
    public var holdsUniqueKey: Bool { self == .available || self == .leased || self == .retryable }
}

public struct Lease: Sendable, Equatable, SnapshotCodable {
    public var id: String
    public var worker: String
    /// The origin that granted the lease (the item's home).
    public var origin: UInt16
    public var grantedMS: Int64
    public var expiresMS: Int64
    public var ttlMS: Int64
    /// Legacy `work_item.transitioned` v1 `in_progress` (the worker said it started).
    public var started: Bool

    public func encode(_ w: inout SnapshotWriter) {
        w.string(id)
        w.string(worker)
        w.varint(UInt64(origin))
        w.sint(grantedMS)
        w.sint(expiresMS)
        w.sint(ttlMS)
        w.bool(started)
    }

    public init(
        id: String, worker: String, origin: UInt16, grantedMS: Int64, expiresMS: Int64, ttlMS: Int64,
        started: Bool
    ) {
        self.id = id
        self.worker = worker
        self.origin = origin
        self.grantedMS = grantedMS
        self.expiresMS = expiresMS
        self.ttlMS = ttlMS
        self.started = started
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        id = try r.string()
        worker = try r.repeatedString()
        origin = UInt16(truncatingIfNeeded: try r.varint())
        grantedMS = try r.sint()
        expiresMS = try r.sint()
        ttlMS = try r.sint()
        started = try r.bool()
    }
}

/// One row of the origin design's `work_items` table, as folded from the log.
///
/// A class: the fold mutates items in place through the queue's array, so neither a lookup nor the array's
/// growth copies an item's dozen strings (perf showed those copies at ~10% of a rebuild).
public final class WorkItem: SnapshotCodable {
    public var id: String
    public var task = ""
    public var project = ""
    public var orchestrator = ""
    public var team = ""
    public var uniqueKey = ""
    /// The origin that owns leasing, rescue and discard for this item.
    public var home: UInt16 = 0
    public var sessionRef = ""
    public var maxAttempts = 3
    public var priority = 0
    public var status = ItemStatus.available
    public var lease: Lease?
    /// Leases granted so far (each lease is an attempt; a rescue ends one).
    public var attempts = 0
    /// Failures and rescues so far.
    public var retryCount = 0
    /// When a retryable item may be leased again (writer clock, ms).
    public var retryAtMS: Int64 = 0
    /// The newest errors, oldest first (at most `errorLogLimit`).
    public var errors: [String] = []
    public var reason = ""
    public var enqueued: EventRef
    public var enqueuedHLC: UInt64
    public var last: EventRef
    public var updatedHLC: UInt64
    public var events = 0
    /// Folded from `work_item.transitioned` v1 (the legacy shape).
    public var legacy = false
    /// The enqueue's `metadata` object as JSON text ("" for none).
    public var metadata = ""

    public static let errorLogLimit = 5

    public init(id: String, at ref: EventRef, hlc: UInt64) {
        self.id = id
        enqueued = ref
        enqueuedHLC = hlc
        last = ref
        updatedHLC = hlc
    }

    /// Whether a worker may lease it at `nowMS`.
    public func claimable(atMS nowMS: Int64) -> Bool {
        status == .available || (status == .retryable && retryAtMS <= nowMS)
    }

    /// Whether its lease has expired at `nowMS` (so the home origin may rescue it).
    public func leaseExpired(atMS nowMS: Int64) -> Bool {
        status == .leased && (lease.map { $0.expiresMS < nowMS } ?? false)
    }

    func logError(_ e: String) {
        guard !e.isEmpty else { return }
        errors.append(e)
        if errors.count > Self.errorLogLimit { errors.removeFirst(errors.count - Self.errorLogLimit) }
    }

    public func encode(_ w: inout SnapshotWriter) {
        w.string(id)
        w.string(task)
        w.string(project)
        w.string(orchestrator)
        w.string(team)
        w.string(uniqueKey)
        w.varint(UInt64(home))
        w.string(sessionRef)
        w.int(maxAttempts)
        w.sint(Int64(priority))
        w.u8(status.rawValue)
        if let l = lease {
            w.u8(1)
            l.encode(&w)
        } else {
            w.u8(0)
        }
        w.int(attempts)
        w.int(retryCount)
        w.sint(retryAtMS)
        w.strings(errors)
        w.string(reason)
        enqueued.encode(&w)
        w.varint(enqueuedHLC)
        last.encode(&w)
        w.varint(updatedHLC)
        w.int(events)
        w.bool(legacy)
        w.string(metadata)
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        id = try r.string()
        task = try r.repeatedString()
        project = try r.repeatedString()
        orchestrator = try r.repeatedString()
        team = try r.repeatedString()
        uniqueKey = try r.string()
        home = UInt16(truncatingIfNeeded: try r.varint())
        sessionRef = try r.string()
        maxAttempts = try r.int()
        priority = Int(try r.sint())
        guard let s = ItemStatus(rawValue: try r.u8()) else {
            throw SnapshotReader.Failure(offset: r.offset, reason: "unknown work item status")
        }
        status = s
        lease = try r.bool() ? try Lease(decoding: &r) : nil
        attempts = try r.int()
        retryCount = try r.int()
        retryAtMS = try r.sint()
        errors = try r.strings()
        reason = try r.string()
        enqueued = try EventRef(decoding: &r)
        enqueuedHLC = try r.varint()
        last = try EventRef(decoding: &r)
        updatedHLC = try r.varint()
        events = try r.int()
        legacy = try r.bool()
        metadata = try r.string()
    }
}

/// An event the queue could not apply: listed, never dropped (the earlier state stands).
public struct QueueConflict: Sendable, Equatable, SnapshotCodable {
    public var ref: EventRef
    public var hlc: UInt64
    public var item: String
    public var type: String
    public var state: String
    public var reason: String

    public init(ref: EventRef, hlc: UInt64, item: String, type: String, state: String, reason: String) {
        self.ref = ref
        self.hlc = hlc
        self.item = item
        self.type = type
        self.state = state
        self.reason = reason
    }

    public func encode(_ w: inout SnapshotWriter) {
        ref.encode(&w)
        w.varint(hlc)
        w.string(item)
        w.string(type)
        w.string(state)
        w.string(reason)
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        ref = try EventRef(decoding: &r)
        hlc = try r.varint()
        item = try r.string()
        type = try r.string()
        state = try r.string()
        reason = try r.string()
    }
}

/// Temporal-style backoff, `min(1 s · 2^(n-1), 100 s)`, with a deterministic ±20% spread by item and
/// attempt (agent retries burn tokens: no thundering herd, and the same log always gives the same time).
public func retryBackoffMS(item: String, attempt: Int) -> Int64 {
    let n = max(1, min(attempt, 8))
    let base = min(Int64(1000) << Int64(n - 1), 100_000)
    let h = XXH3.hash(item + "#" + String(attempt))
    let spread = Int64(h % 401) - 200  // -200…200 per mille of 20%
    return base + base * spread / 1000
}
