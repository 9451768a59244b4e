/// The SQLite peer's schema and its two ways of filling it, shared by every scenario that uses SQLite.
/// Each event is one row; `payload` holds the whole input line, so the peer keeps every field of the event
/// (it has no columns for event id and actor) — the same information aibrain stores.
struct SQLiteEventTable {
    let database: SQLiteDatabase
    let begin: SQLiteStatement
    let commit: SQLiteStatement
    let insert: SQLiteStatement

    /// Creates the table in a new database: WAL, `synchronous=FULL` unless `bulkLoad` (setup only).
    static func create(path: String, bulkLoad: Bool = false) throws(SQLiteError) -> SQLiteEventTable {
        let db = try SQLiteDatabase(path: path)
        try db.execute("PRAGMA journal_mode=WAL")
        try db.execute(bulkLoad ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=FULL")
        try db.execute("CREATE TABLE events(lsn INTEGER PRIMARY KEY, stream TEXT, type TEXT, ts TEXT, payload BLOB)")
        try db.execute("CREATE INDEX events_stream_lsn ON events(stream, lsn)")
        return SQLiteEventTable(
            database: db, begin: try db.prepare("BEGIN"), commit: try db.prepare("COMMIT"),
            insert: try db.prepare("INSERT INTO events(stream, type, ts, payload) VALUES (?, ?, ?, ?)"))
    }

    /// Inserts events `range` in one transaction, binding straight from the workload's memory.
    @inline(__always)
    func insertTransaction(_ range: Range<Int>, _ w: Workload.Memory) throws(SQLiteError) {
        try begin.run()
        for i in range {
            let f = w.fields[i]
            try insert.bindText(1, w.arenaBytes(f.stream))
            try insert.bindText(2, w.arenaBytes(f.type))
            try insert.bindText(3, w.arenaBytes(f.ts))
            try insert.bindBlob(4, w.lineBytes(i))
            _ = try insert.step()
            insert.reset()
        }
        try commit.run()
    }
}
