import BrainEvents
import CXXHash
import EventLog

/// One checkpoint of a task's tree.
public struct Checkpoint: Sendable, Equatable, SnapshotCodable {
    public var id: String
    public var iteration: Int
    public var verdict: String
    /// "" for a root.
    public var parent: String
    public var branch: String
    public var session: String
    public var ref: EventRef
    public var hlc: UInt64
    /// XXH3-64 of the `state` member's JSON text as stored (0: no state).
    public var stateHash: UInt64
    public var filesTouched: Int

    public func encode(_ w: inout SnapshotWriter) {
        w.string(id)
        w.int(iteration)
        w.string(verdict)
        w.string(parent)
        w.string(branch)
        w.string(session)
        ref.encode(&w)
        w.varint(hlc)
        w.u64(stateHash)
        w.int(filesTouched)
    }

    public init(
        id: String, iteration: Int, verdict: String, parent: String, branch: String, session: String,
        ref: EventRef, hlc: UInt64, stateHash: UInt64, filesTouched: Int
    ) {
        self.id = id
        self.iteration = iteration
        self.verdict = verdict
        self.parent = parent
        self.branch = branch
        self.session = session
        self.ref = ref
        self.hlc = hlc
        self.stateHash = stateHash
        self.filesTouched = filesTouched
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        id = try r.string()
        iteration = try r.int()
        verdict = try r.repeatedString()
        parent = try r.string()
        branch = try r.repeatedString()
        session = try r.repeatedString()
        ref = try EventRef(decoding: &r)
        hlc = try r.varint()
        stateHash = try r.u64()
        filesTouched = try r.int()
    }
}

public struct Fork: Sendable, Equatable, SnapshotCodable {
    public var from: String
    public var branch: String
    public var reason: String
    public var ref: EventRef

    public func encode(_ w: inout SnapshotWriter) {
        w.string(from)
        w.string(branch)
        w.string(reason)
        ref.encode(&w)
    }

    public init(from: String, branch: String, reason: String, ref: EventRef) {
        self.from = from
        self.branch = branch
        self.reason = reason
        self.ref = ref
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        from = try r.string()
        branch = try r.string()
        reason = try r.string()
        ref = try EventRef(decoding: &r)
    }
}

/// A task's sessions and checkpoint tree (LangGraph's tree, not a list: forks never rewrite history).
public struct TaskSessions: Sendable, SnapshotCodable {
    /// Every checkpoint in merged order.
    public var checkpoints: [Checkpoint] = []
    /// Checkpoint id → index, kept only past `indexThreshold` checkpoints; a short list is searched through
    /// `idHashes` (FNV-1a of each id, compared before the strings: an id check per checkpoint stays cheap).
    private var index: [String: Int] = [:]
    private var idHashes: [UInt64] = []
    /// Branch → index of its newest checkpoint; few per task, so a list.
    public private(set) var branches: [(name: String, head: Int)] = []
    public var activeBranch = "main"
    public var forks: [Fork] = []
    /// Session ids in the order they started; `ended` those that ended.
    public var sessions: [String] = []
    public var ended: [String] = []
    /// Checkpoint events refused (duplicate id, unknown parent), listed for audit.
    public var conflicts: [String] = []
    public var events = 0

    static let indexThreshold = 64

    public init() {}

    /// The index of a checkpoint by id.
    public func position(of id: String) -> Int? {
        if checkpoints.count > Self.indexThreshold { return index[id] }
        let h = Self.hash(id)
        var i = idHashes.count - 1
        while i >= 0 {
            if idHashes[i] == h && checkpoints[i].id == id { return i }
            i -= 1
        }
        return nil
    }

    static func hash(_ id: String) -> UInt64 {
        var s = id
        return s.withUTF8 { FNV.hash(UnsafeRawBufferPointer($0)) }
    }

    /// The newest checkpoint index of a branch.
    public func head(_ branch: String) -> Int? { branches.first { $0.name == branch }?.head }

    mutating func setHead(_ branch: String, _ i: Int) {
        if let k = branches.firstIndex(where: { $0.name == branch }) {
            branches[k].head = i
        } else {
            branches.append((branch, i))
        }
    }

    mutating func append(_ c: Checkpoint) {
        checkpoints.append(c)
        if checkpoints.count <= Self.indexThreshold { idHashes.append(Self.hash(c.id)) }
        if checkpoints.count > Self.indexThreshold {
            if index.isEmpty {
                for (i, x) in checkpoints.enumerated() { index[x.id] = i }
                idHashes = []
            } else {
                index[c.id] = checkpoints.count - 1
            }
        }
    }

    /// The resume point: the newest checkpoint of the active branch.
    public var latest: Checkpoint? { head(activeBranch).map { checkpoints[$0] } }

    public func encode(_ w: inout SnapshotWriter) {
        w.list(checkpoints)
        let sorted = branches.sorted { utf8Less($0.name, $1.name) }
        w.varint(UInt64(sorted.count))
        for b in sorted {
            w.string(b.name)
            w.int(b.head)
        }
        w.string(activeBranch)
        w.list(forks)
        w.strings(sessions)
        w.strings(ended)
        w.strings(conflicts)
        w.int(events)
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        checkpoints = try r.list(Checkpoint.self)
        if checkpoints.count > Self.indexThreshold {
            for (i, c) in checkpoints.enumerated() { index[c.id] = i }
        } else {
            idHashes = checkpoints.map { Self.hash($0.id) }
        }
        let n = try r.count()
        var previous: String?
        for _ in 0..<n {
            let b = try r.string()
            if let p = previous, !utf8Less(p, b) { throw r.failure("branches out of order") }
            previous = b
            let i = try r.int()
            guard i >= 0, i < checkpoints.count else { throw r.failure("branch head out of range") }
            branches.append((b, i))
        }
        activeBranch = try r.string()
        forks = try r.list(Fork.self)
        sessions = try r.strings()
        ended = try r.strings()
        conflicts = try r.strings()
        events = try r.int()
    }
}

extension SnapshotReader {
    func failure(_ reason: String) -> Failure { Failure(offset: offset, reason: reason) }
}

/// Per task: the active branch's latest checkpoint, the iteration count, verdict history and the tree.
public final class SessionProjection: Projection {
    public static let name = "sessions"
    public static let version: UInt16 = 1

    let symbols: SymbolTables
    /// By task symbol; a task with no session event has `events == 0`.
    private var slots: [TaskSessions] = []

    public init(symbols: SymbolTables) { self.symbols = symbols }

    /// One task's sessions, if it has any session event.
    public func task(_ id: String) -> TaskSessions? {
        guard let s = symbols.tasks.lookup(id), Int(s) < slots.count, slots[Int(s)].events > 0 else { return nil }
        return slots[Int(s)]
    }

    /// Every task with session events, by task id (built on each call: reports and tests).
    public var tasks: [String: TaskSessions] {
        var m: [String: TaskSessions] = [:]
        for (i, t) in slots.enumerated() where t.events > 0 { m[symbols.tasks[Int32(i)]] = t }
        return m
    }

    public func apply(_ e: FoldEvent) -> Bool {
        guard let kind = e.kind else { return false }
        switch kind {
        case .sessionStarted, .sessionCheckpointed, .sessionForked, .sessionEnded: break
        default: return false
        }
        guard e.taskID >= 0 else { return false }
        let i = Int(e.taskID)
        if i >= slots.count { slots.append(contentsOf: repeatElement(TaskSessions(), count: i - slots.count + 1)) }
        // In place: a copy of the task would copy its checkpoint list every event.
        Self.fold(&slots[i], kind, e)
        return true
    }

    static func fold(_ t: inout TaskSessions, _ kind: EventKind, _ e: FoldEvent) {
        let f = e.fields
        t.events += 1
        switch kind {
        case .sessionStarted:
            if let s = f.string(.sessionID), !t.sessions.contains(s) { t.sessions.append(s) }
        case .sessionEnded:
            if let s = f.string(.sessionID), !t.ended.contains(s) { t.ended.append(s) }
        case .sessionForked:
            let from = f.string(.fromCheckpoint) ?? ""
            guard let at = t.position(of: from) else {
                t.conflicts.append("fork at \(e.ref.lsn): checkpoint \(from) is unknown")
                break
            }
            // A branch name already in use gets a suffix that is not (the fork never moves another head).
            let asked = f.string(.branch) ?? "fork-\(t.forks.count + 1)"
            var branch = asked
            var n = t.forks.count + 1
            while t.head(branch) != nil || (branch == "main" && !t.checkpoints.isEmpty) {
                branch = "\(asked)-\(n)"
                n += 1
            }
            t.forks.append(Fork(from: from, branch: branch, reason: f.string(.reason) ?? "", ref: e.ref))
            // The new branch starts at the fork point; its first checkpoint's parent is `from`.
            t.setHead(branch, at)
            t.activeBranch = branch
        case .sessionCheckpointed:
            let namedBranch = f.string(.branch)
            let iteration = Int(f.int(.iteration) ?? Int64((t.latest?.iteration ?? 0) + 1))
            let branch = namedBranch ?? t.activeBranch
            if namedBranch != nil, t.head(branch) == nil, !t.checkpoints.isEmpty, branch != "main",
                let active = t.head(t.activeBranch)
            {
                // A checkpoint naming a new branch starts it from the active head.
                t.setHead(branch, active)
            }
            let parent: String
            if let p = f.string(.parentCheckpoint) {
                guard t.position(of: p) != nil else {
                    t.conflicts.append("checkpoint at \(e.ref.lsn): parent \(p) is unknown")
                    break
                }
                parent = p
            } else {
                parent = t.head(branch).map { t.checkpoints[$0].id } ?? ""
            }
            let given = f.string(.checkpointID)
            var id = given ?? (branch == "main" ? "i" + String(iteration) : "\(branch).i\(iteration)")
            if given == nil, t.position(of: id) != nil {
                // An iteration run again without a checkpoint id: the next free "-N" suffix.
                let base = id
                var n = 2
                repeat {
                    id = "\(base)-\(n)"
                    n += 1
                } while t.position(of: id) != nil
            }
            guard t.position(of: id) == nil else {
                t.conflicts.append("checkpoint at \(e.ref.lsn): id \(id) already used in this task")
                break
            }
            var stateHash: UInt64 = 0
            if let s = f.raw(.state), let base = s.baseAddress { stateHash = XXH3_64bits(base, s.count) }
            let session = f.string(.sessionID) ?? ""
            let c = Checkpoint(
                id: id, iteration: iteration, verdict: f.string(.verdict) ?? "", parent: parent, branch: branch,
                session: session, ref: e.ref, hlc: e.hlc, stateHash: stateHash,
                filesTouched: f.arrayCount(.filesTouched))
            t.setHead(branch, t.checkpoints.count)
            t.append(c)
            if !session.isEmpty, t.sessions.last != session, !t.sessions.contains(session) {
                t.sessions.append(session)
            }
            if namedBranch != nil { t.activeBranch = branch }
        default:
            break
        }
    }

    public func encode(_ w: inout SnapshotWriter) {
        let live = slots.indices.filter { slots[$0].events > 0 }.map { (symbols.tasks[Int32($0)], $0) }
            .sorted { utf8Less($0.0, $1.0) }
        w.varint(UInt64(live.count))
        for (k, i) in live {
            w.string(k)
            slots[i].encode(&w)
        }
    }

    public init(decoding r: inout SnapshotReader, symbols: SymbolTables) throws(SnapshotReader.Failure) {
        self.symbols = symbols
        for (k, t) in try r.entries(TaskSessions.self) {
            let i = Int(symbols.tasks.id(k))
            if i >= slots.count { slots.append(contentsOf: repeatElement(TaskSessions(), count: i - slots.count + 1)) }
            slots[i] = t
        }
    }
}
