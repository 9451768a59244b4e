import BrainEvents
import EventLog

/// Token and dollar totals of one group (an agent, a team, a project, a task, a work-item attempt).
public struct CostBucket: Sendable, Equatable, SnapshotCodable {
    public var events = 0
    public var input: Int64 = 0
    public var cached: Int64 = 0
    public var output: Int64 = 0
    /// Billionths of a dollar, summed exactly.
    public var nanoUSD: Int64 = 0
    /// Events whose price was unknown (their tokens are counted, their dollars are not).
    public var unpriced = 0

    public init() {}

    mutating func add(_ u: NormalizedUsage) {
        events += 1
        input += u.input
        cached += u.cached
        output += u.output
        if let n = u.nanoUSD { nanoUSD += n } else { unpriced += 1 }
    }

    /// Dollars as exact decimal text with 6 places (rounded half up from nano-dollars).
    public var usd: String {
        let micro = (nanoUSD + 500) / 1000
        let whole = micro / 1_000_000
        let frac = String(micro % 1_000_000)
        return "\(whole)." + String(repeating: "0", count: 6 - frac.count) + frac
    }

    public func encode(_ w: inout SnapshotWriter) {
        w.int(events)
        w.sint(input)
        w.sint(cached)
        w.sint(output)
        w.sint(nanoUSD)
        w.int(unpriced)
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        events = try r.int()
        input = try r.sint()
        cached = try r.sint()
        output = try r.sint()
        nanoUSD = try r.sint()
        unpriced = try r.int()
    }
}

/// Cost by agent, team, project, task and work-item attempt, from `usage.recorded` events and from usage
/// blocks flagged in the envelope (flag bit 0), so the fold never parses a payload just to look for costs.
public final class CostProjection: Projection {
    public static let name = "cost"
    public static let version: UInt16 = 1

    public enum Dimension: String, CaseIterable, Sendable {
        case agent, team, project, task, attempt, model
    }

    public private(set) var total = CostBucket()
    public private(set) var groups: [Dimension: [String: CostBucket]] = [:]
    /// Work item → attempts begun, so usage during an attempt is charged to it ("WI-7#2").
    public private(set) var attempts: [String: Int] = [:]
    /// Task → project, learned from events that name both (usage events often name only the task).
    public private(set) var taskProjects: [String: String] = [:]

    public init() {
        for d in Dimension.allCases { groups[d] = [:] }
    }

    public func apply(_ e: FoldEvent) -> Bool {
        let f = e.fields
        let item = e.kind == .usageRecorded || e.kind?.isQueueTransition == true || e.kind == .workItemTransitionedV1
            ? e.id(.workItemID) : ""
        if !item.isEmpty {
            if e.kind == .workItemLeased || (e.kind == .workItemTransitionedV1 && f.string(.to) == "claimed") {
                attempts[item, default: 0] += 1
            }
        }
        var project = f.string(.project) ?? ""
        if project.isEmpty, let repo = f.string(.repo) {
            project = repo.firstIndex(of: "/").map { String(repo[..<$0]) } ?? repo
        }
        if !project.isEmpty, !e.task.isEmpty, taskProjects[e.task] != project { taskProjects[e.task] = project }
        guard e.kind == .usageRecorded || e.flags & Format.EnvelopeFlag.usage != 0,
            let u = NormalizedUsage.read(f, kind: e.kind)
        else { return !item.isEmpty }
        if project.isEmpty { project = taskProjects[e.task] ?? "" }
        total.add(u)
        add(.agent, e.actor, u)
        add(.team, e.team, u)
        add(.project, project, u)
        add(.task, e.task, u)
        if e.kind == .usageRecorded { add(.model, f.string(.model) ?? "", u) }
        if !item.isEmpty {
            let n = f.int(.attempt).map(Int.init) ?? attempts[item] ?? 0
            add(.attempt, "\(item)#\(n)", u)
        }
        return true
    }

    private func add(_ d: Dimension, _ key: String, _ u: NormalizedUsage) {
        groups[d, default: [:]][key.isEmpty ? "(none)" : key, default: CostBucket()].add(u)
    }

    /// Groups of one dimension, most expensive first.
    public func breakdown(_ d: Dimension) -> [(key: String, bucket: CostBucket)] {
        (groups[d] ?? [:]).map { (key: $0.key, bucket: $0.value) }.sorted {
            if $0.bucket.nanoUSD != $1.bucket.nanoUSD { return $0.bucket.nanoUSD > $1.bucket.nanoUSD }
            return $0.key < $1.key
        }
    }

    public func encode(_ w: inout SnapshotWriter) {
        total.encode(&w)
        for d in Dimension.allCases { w.map(groups[d] ?? [:]) }
        w.varint(UInt64(attempts.count))
        for k in attempts.keys.sorted() {
            w.string(k)
            w.int(attempts[k]!)
        }
        w.varint(UInt64(taskProjects.count))
        for k in taskProjects.keys.sorted() {
            w.string(k)
            w.string(taskProjects[k]!)
        }
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        total = try CostBucket(decoding: &r)
        for d in Dimension.allCases { groups[d] = try r.map(CostBucket.self) }
        var n = try r.count()
        for _ in 0..<n {
            let k = try r.string()
            attempts[k] = try r.int()
        }
        n = try r.count()
        for _ in 0..<n {
            let k = try r.string()
            taskProjects[k] = try r.string()
        }
    }
}
