import BrainEvents
import EventLog
import GRDB

/// `aibrain export sqlite FILE.db`: the projections as SQLite tables (GRDB), in the origin design's shapes
/// (`work_items`, `checkpoints`) plus decisions, costs and knowledge objects, so `sqlite3` can query them.
///
/// SQLite writes its own file, so this is the one durable write that does not go through the FileSystem
/// seam: it builds `FILE.db.tmp-<pid>` and then, through the seam, fsyncs and renames it over `FILE.db`
/// (a reader never sees a half-written database; a crash leaves at most the tmp file).
public enum SQLiteExport {
    public struct Counts: Sendable, Equatable {
        public var workItems = 0
        public var checkpoints = 0
        public var decisions = 0
        public var costs = 0
        public var knowledgeObjects = 0
    }

    public static func write(_ engine: ReplayEngine, to path: String, fs: any FileSystem, tmpSuffix: String) throws
        -> Counts
    {
        let tmp = path + ".tmp-" + tmpSuffix
        if (try? fs.stat(tmp)) != nil { try? fs.unlink(tmp) }
        var counts = Counts()
        do {
            let db = try DatabaseQueue(path: tmp)
            try db.write { db in
                try createTables(db)
                counts = try insert(engine, db)
            }
            try db.close()
        } catch {
            try? fs.unlink(tmp)
            throw error
        }
        try fs.attempt("syncing the exported database", path: tmp) { () throws(SystemError) in
            let fd = try fs.open(tmp, .readWrite)
            defer { fs.close(fd) }
            try fs.fsync(fd)
        }
        try fs.attempt("renaming the exported database", path: path) { () throws(SystemError) in
            try fs.rename(tmp, path)
            try fs.fsyncDirectory(directoryName(of: path))
        }
        return counts
    }

    static func createTables(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE work_items (
                  id TEXT PRIMARY KEY, task_id TEXT, project TEXT, orchestrator_id TEXT, team TEXT,
                  status TEXT NOT NULL, session_ref TEXT, retry_count INTEGER NOT NULL, error_log TEXT NOT NULL,
                  metadata TEXT, attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, priority INTEGER NOT NULL,
                  unique_key TEXT, home_origin TEXT, lease_id TEXT, lease_worker TEXT, lease_expires_at TEXT,
                  retry_at TEXT, reason TEXT, legacy INTEGER NOT NULL, enqueued_at TEXT, updated_at TEXT,
                  origin TEXT, lsn INTEGER);
                CREATE INDEX work_items_status ON work_items(status, team, project);
                CREATE TABLE checkpoints (
                  task_id TEXT NOT NULL, checkpoint_id TEXT NOT NULL, iteration_count INTEGER NOT NULL,
                  verdict TEXT, timestamp TEXT NOT NULL, session_ref TEXT, project TEXT, branch TEXT,
                  parent_checkpoint TEXT, state_hash TEXT, latest INTEGER NOT NULL, origin TEXT, lsn INTEGER,
                  PRIMARY KEY (task_id, checkpoint_id));
                CREATE TABLE decisions (
                  event_id TEXT PRIMARY KEY, task_id TEXT, kind TEXT NOT NULL, value TEXT, severity TEXT,
                  approver TEXT, confidence REAL, actor TEXT, team TEXT, timestamp TEXT NOT NULL,
                  superseded_by TEXT, origin TEXT, lsn INTEGER);
                CREATE INDEX decisions_task ON decisions(task_id, kind);
                CREATE TABLE costs (
                  dimension TEXT NOT NULL, key TEXT NOT NULL, events INTEGER NOT NULL, input_tokens INTEGER NOT NULL,
                  cached_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, usd TEXT NOT NULL,
                  unpriced_events INTEGER NOT NULL, PRIMARY KEY (dimension, key));
                CREATE TABLE knowledge_objects (
                  id TEXT PRIMARY KEY, title TEXT, status TEXT NOT NULL, superseded_by TEXT, tags TEXT NOT NULL,
                  consultations INTEGER NOT NULL, successes INTEGER NOT NULL, failures INTEGER NOT NULL,
                  effectiveness REAL NOT NULL);
                """)
    }

    static func time(_ hlc: UInt64) -> String { ISO8601.format(milliseconds: HLC.milliseconds(hlc)) }

    static func jsonArray(_ list: [String]) -> String {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, s) in list.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONScanner.quote(s, into: &out)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    static func insert(_ e: ReplayEngine, _ db: Database) throws -> Counts {
        var c = Counts()
        let originHex = { (i: UInt16) -> String in e.origins.origin(i)?.hex ?? "" }
        let items = try db.makeStatement(
            sql: "INSERT INTO work_items VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
        let allItems = e.queue.items
        for id in allItems.keys.sorted() {
            let i = allItems[id]!
            let lease = i.lease
            let expires: String? = lease.flatMap {
                $0.expiresMS == .max ? nil : ISO8601.format(milliseconds: $0.expiresMS)
            }
            let values: [(any DatabaseValueConvertible)?] = [
                i.id, i.task, i.project, i.orchestrator, i.team, i.status.name, i.sessionRef, i.retryCount,
                jsonArray(i.errors), i.metadata.isEmpty ? nil : i.metadata, i.attempts, i.maxAttempts, i.priority,
                i.uniqueKey.isEmpty ? nil : i.uniqueKey, originHex(i.home), lease?.id, lease?.worker, expires,
                i.status == .retryable ? ISO8601.format(milliseconds: i.retryAtMS) : nil,
                i.reason.isEmpty ? nil : i.reason, i.legacy ? 1 : 0, time(i.enqueuedHLC), time(i.updatedHLC),
                originHex(i.last.origin), Int64(i.last.lsn),
            ]
            try items.execute(arguments: StatementArguments(values))
            c.workItems += 1
        }
        let checkpoints = try db.makeStatement(sql: "INSERT INTO checkpoints VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")
        let tasks = e.sessions.tasks
        for task in tasks.keys.sorted() {
            let t = tasks[task]!
            let latest = t.latest?.id
            let project: String? = {
                let p = e.cost.project(ofTask: task)
                return p.isEmpty ? nil : p
            }()
            for k in t.checkpoints {
                let values: [(any DatabaseValueConvertible)?] = [
                    task, k.id, k.iteration, k.verdict, time(k.hlc), k.session.isEmpty ? nil : k.session, project,
                    k.branch, k.parent.isEmpty ? nil : k.parent, k.stateHash == 0 ? nil : "xxh3:" + hex64(k.stateHash),
                    k.id == latest ? 1 : 0, originHex(k.ref.origin), Int64(k.ref.lsn),
                ]
                try checkpoints.execute(arguments: StatementArguments(values))
                c.checkpoints += 1
            }
        }
        let decisions = try db.makeStatement(sql: "INSERT INTO decisions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")
        for d in e.decisions.decisions {
            let values: [(any DatabaseValueConvertible)?] = [
                d.eventID, d.task, d.kind, d.value, d.severity.isEmpty ? nil : d.severity,
                d.approver.isEmpty ? nil : d.approver, Double(d.confidence), d.actor, d.team, time(d.hlc),
                d.supersededBy.isEmpty ? nil : d.supersededBy, originHex(d.ref.origin), Int64(d.ref.lsn),
            ]
            try decisions.execute(arguments: StatementArguments(values))
            c.decisions += 1
        }
        let costs = try db.makeStatement(sql: "INSERT INTO costs VALUES (?,?,?,?,?,?,?,?)")
        let all: [(String, [String: CostBucket])] =
            [("total", ["all": e.cost.total])]
            + CostProjection.Dimension.allCases.map { ($0.rawValue, e.cost.groups($0)) }
        for (dimension, groups) in all {
            for key in groups.keys.sorted() {
                let b = groups[key]!
                try costs.execute(arguments: [
                    dimension, key, b.events, b.input, b.cached, b.output, b.usd, b.unpriced,
                ])
                c.costs += 1
            }
        }
        let kos = try db.makeStatement(sql: "INSERT INTO knowledge_objects VALUES (?,?,?,?,?,?,?,?,?)")
        let everyKO = e.knowledge.kos
        for id in everyKO.keys.sorted() {
            let k = everyKO[id]!
            let values: [(any DatabaseValueConvertible)?] = [
                k.id, k.title.isEmpty ? nil : k.title, k.status.name, k.supersededBy.isEmpty ? nil : k.supersededBy,
                jsonArray(k.tags), k.consultations, k.successes, k.failures, k.effectiveness,
            ]
            try kos.execute(arguments: StatementArguments(values))
            c.knowledgeObjects += 1
        }
        return c
    }
}
