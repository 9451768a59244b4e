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
        // Saturating: absurd reported counts pin a total at Int64.max instead of trapping the fold.
        input = Self.sum(input, u.input)
        cached = Self.sum(cached, u.cached)
        output = Self.sum(output, u.output)
        if let n = u.nanoUSD { nanoUSD = Self.sum(nanoUSD, n) } else { unpriced += 1 }
    }

    @inline(__always)
    static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (s, o) = a.addingReportingOverflow(b)
        return o ? (b < 0 ? .min : .max) : s
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

    let symbols: SymbolTables
    public private(set) var total = CostBucket()
    /// Buckets by symbol: agents, teams, projects and models are label symbols, tasks task symbols.
    private var byAgent: [CostBucket] = []
    private var byTeam: [CostBucket] = []
    private var byProject: [CostBucket] = []
    private var byModel: [CostBucket] = []
    private var byTask: [CostBucket] = []
    /// By item symbol, then attempt number (0: usage before the first lease).
    private var byAttempt: [[CostBucket]] = []
    /// Project label per task symbol (-1: unknown), learned from events that name it; usage events often
    /// name only the task.
    private var taskProjects: [Int32] = []

    /// The label symbol of "" (usage without a project), interned once.
    private let noLabel: Int32

    public init(symbols: SymbolTables) {
        self.symbols = symbols
        noLabel = symbols.labels.id("")
    }

    @inline(__always)
    private static func add(_ list: inout [CostBucket], _ i: Int32, _ u: NormalizedUsage) {
        let i = Int(i)
        if i >= list.count { list.append(contentsOf: repeatElement(CostBucket(), count: i - list.count + 1)) }
        list[i].add(u)
    }

    public func apply(_ e: FoldEvent) -> Bool { apply(e, attempts: { _ in 0 }) }

    /// Folds one event; `attempts` gives the queue's count of leases granted to an item (after this event),
    /// so usage is charged to the attempt the queue knows ("WI-7#2"), refused leases not counted.
    func apply(_ e: FoldEvent, attempts: (Int32) -> Int) -> Bool {
        let f = e.fields
        var item: Int32 = -1
        if e.kind == .usageRecorded || e.kind?.isQueueTransition == true || e.kind == .workItemTransitionedV1,
            let s = e.symbol(.workItemID, symbols.items)
        {
            item = s
        }
        let hasUsage = e.kind == .usageRecorded || e.flags & Format.EnvelopeFlag.usage != 0
        // The task's project: from the event, else what an earlier event of the task said.
        var project: Int32 = -1
        if e.taskID >= 0, Int(e.taskID) < taskProjects.count { project = taskProjects[Int(e.taskID)] }
        if project < 0 || f.has(.project) {
            if let p = e.symbol(.project, symbols.labels) {
                project = p
            } else if hasUsage, project < 0, let repo = f.string(.repo) {
                project = symbols.labels.id(repo.firstIndex(of: "/").map { String(repo[..<$0]) } ?? repo)
            }
            if project >= 0, e.taskID >= 0 {
                let t = Int(e.taskID)
                if t >= taskProjects.count {
                    taskProjects.append(contentsOf: repeatElement(-1, count: t - taskProjects.count + 1))
                }
                taskProjects[t] = project
            }
        }
        guard hasUsage, let u = NormalizedUsage.read(f, kind: e.kind) else { return item >= 0 }
        total.add(u)
        Self.add(&byAgent, e.actorID, u)
        Self.add(&byTeam, e.teamID, u)
        Self.add(&byProject, project >= 0 ? project : noLabel, u)
        if e.taskID >= 0 { Self.add(&byTask, e.taskID, u) }
        if e.kind == .usageRecorded { Self.add(&byModel, symbols.labels.id(f.string(.model) ?? ""), u) }
        if item >= 0 {
            // An attempt number beyond what the queue has granted is not believed (it would size a table);
            // the queue's count is used instead.
            let known = attempts(item)
            let given = f.int(.attempt).flatMap { $0 >= 0 && $0 <= Int64(known) ? Int32($0) : nil }
            let n = given ?? Int32(clamping: known)
            let i = Int(item)
            if i >= byAttempt.count { byAttempt.append(contentsOf: repeatElement([], count: i - byAttempt.count + 1)) }
            Self.add(&byAttempt[i], max(0, n), u)
        }
        return true
    }

    /// The project a task's events named last ("" if none).
    public func project(ofTask task: String) -> String {
        guard let t = symbols.tasks.lookup(task), Int(t) < taskProjects.count, taskProjects[Int(t)] >= 0 else {
            return ""
        }
        return symbols.labels[taskProjects[Int(t)]]
    }

    /// The buckets of one dimension by key ("(none)" for usage without that key).
    public func groups(_ d: Dimension) -> [String: CostBucket] {
        var m: [String: CostBucket] = [:]
        for (k, b) in groupList(d) { m[k.isEmpty ? "(none)" : k] = b }
        return m
    }

    /// The buckets of one dimension, one entry per distinct key (byte strings: never merged by Unicode
    /// equivalence, unlike a String-keyed map).
    func groupList(_ d: Dimension) -> [(String, CostBucket)] {
        var m: [(String, CostBucket)] = []
        func put(_ list: [CostBucket], _ names: Symbols) {
            for (i, b) in list.enumerated() where b.events > 0 {
                let k = names[Int32(i)]
                m.append((k, b))
            }
        }
        switch d {
        case .agent: put(byAgent, symbols.labels)
        case .team: put(byTeam, symbols.labels)
        case .project: put(byProject, symbols.labels)
        case .model: put(byModel, symbols.labels)
        case .task: put(byTask, symbols.tasks)
        case .attempt:
            for (i, list) in byAttempt.enumerated() {
                for (n, b) in list.enumerated() where b.events > 0 { m.append(("\(symbols.items[Int32(i)])#\(n)", b)) }
            }
        }
        return m
    }

    /// Groups of one dimension, most expensive first.
    public func breakdown(_ d: Dimension) -> [(key: String, bucket: CostBucket)] {
        groupList(d).map { (key: $0.0.isEmpty ? "(none)" : $0.0, bucket: $0.1) }.sorted {
            if $0.bucket.nanoUSD != $1.bucket.nanoUSD { return $0.bucket.nanoUSD > $1.bucket.nanoUSD }
            return utf8Less($0.key, $1.key)
        }
    }

    public func encode(_ w: inout SnapshotWriter) {
        total.encode(&w)
        for d in Dimension.allCases { w.entries(groupList(d)) }
        var projects: [(String, String)] = []
        for (t, p) in taskProjects.enumerated() where p >= 0 {
            projects.append((symbols.tasks[Int32(t)], symbols.labels[p]))
        }
        projects.sort { utf8Less($0.0, $1.0) }
        w.varint(UInt64(projects.count))
        for (t, p) in projects {
            w.string(t)
            w.string(p)
        }
    }

    public init(decoding r: inout SnapshotReader, symbols: SymbolTables) throws(SnapshotReader.Failure) {
        self.symbols = symbols
        noLabel = symbols.labels.id("")
        total = try CostBucket(decoding: &r)
        for d in Dimension.allCases {
            for (k, b) in try r.entries(CostBucket.self) {
                let key = k
                switch d {
                case .agent: Self.put(&byAgent, symbols.labels.id(key), b)
                case .team: Self.put(&byTeam, symbols.labels.id(key), b)
                case .project: Self.put(&byProject, symbols.labels.id(key), b)
                case .model: Self.put(&byModel, symbols.labels.id(key), b)
                case .task: Self.put(&byTask, symbols.tasks.id(key), b)
                case .attempt:
                    guard let hash = k.lastIndex(of: "#"), let n = Int(k[k.index(after: hash)...]), n >= 0,
                        n < 1_000_000
                    else { throw r.failure("attempt key \(k) is not ITEM#N") }
                    let i = Int(symbols.items.id(String(k[..<hash])))
                    if i >= byAttempt.count {
                        byAttempt.append(contentsOf: repeatElement([], count: i - byAttempt.count + 1))
                    }
                    Self.put(&byAttempt[i], Int32(n), b)
                }
            }
        }
        let n = try r.count()
        for _ in 0..<n {
            let t = Int(symbols.tasks.id(try r.string()))
            if t >= taskProjects.count {
                taskProjects.append(contentsOf: repeatElement(-1, count: t - taskProjects.count + 1))
            }
            taskProjects[t] = symbols.labels.id(try r.string())
        }
    }

    private static func put(_ list: inout [CostBucket], _ i: Int32, _ b: CostBucket) {
        let i = Int(i)
        if i >= list.count { list.append(contentsOf: repeatElement(CostBucket(), count: i - list.count + 1)) }
        list[i] = b
    }
}
