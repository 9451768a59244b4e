import CSQLite

/// A failed SQLite call: the result code, SQLite's message and what we were doing.
struct SQLiteError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var doing: String
    var description: String { "SQLite \(doing): \(message) (code \(code))" }
}

/// One connection over the sqlite3 C API directly: the peer pays no wrapper library, one C call per bind or
/// column, like the C peers of LIMITS.md.
final class SQLiteDatabase {
    let handle: OpaquePointer

    init(path: String) throws(SQLiteError) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw SQLiteError(code: rc, message: message, doing: "opening \(path)")
        }
        handle = db
    }

    /// `close_v2` defers the close until every statement is finalized.
    deinit { sqlite3_close_v2(handle) }

    func execute(_ sql: String) throws(SQLiteError) {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw failure(rc, sql) }
    }

    func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw failure(rc, "preparing " + sql) }
        return SQLiteStatement(database: self, handle: stmt)
    }

    func failure(_ rc: Int32, _ doing: String) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)), doing: doing)
    }
}

/// A prepared statement; binds point at caller memory (SQLITE_STATIC, i.e. a nil destructor) that must stay
/// valid until the next `reset`.
final class SQLiteStatement {
    let database: SQLiteDatabase
    let handle: OpaquePointer

    init(database: SQLiteDatabase, handle: OpaquePointer) {
        self.database = database
        self.handle = handle
    }

    deinit { sqlite3_finalize(handle) }

    /// Static storage for binding an empty text (a nil pointer would bind NULL instead).
    private static let emptyText: StaticString = ""

    @inline(__always)
    func bindText(_ index: Int32, _ bytes: UnsafeRawBufferPointer) throws(SQLiteError) {
        let p = (bytes.baseAddress ?? UnsafeRawPointer(Self.emptyText.utf8Start)).assumingMemoryBound(to: CChar.self)
        let rc = sqlite3_bind_text(handle, index, p, Int32(bytes.count), nil)
        guard rc == SQLITE_OK else { throw database.failure(rc, "binding text \(index)") }
    }

    @inline(__always)
    func bindBlob(_ index: Int32, _ bytes: UnsafeRawBufferPointer) throws(SQLiteError) {
        let rc = sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), nil)
        guard rc == SQLITE_OK else { throw database.failure(rc, "binding blob \(index)") }
    }

    /// Steps once: true for a row, false when done.
    @inline(__always)
    func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc: throw database.failure(rc, "stepping")
        }
    }

    /// Steps a statement that returns no rows, then resets it.
    @inline(__always)
    func run() throws(SQLiteError) {
        _ = try step()
        sqlite3_reset(handle)
    }

    @inline(__always)
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    @inline(__always)
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    /// The bytes of a text or blob column, valid until the next step or reset.
    @inline(__always)
    func bytes(_ column: Int32) -> UnsafeRawBufferPointer {
        let p = sqlite3_column_blob(handle, column)
        let n = Int(sqlite3_column_bytes(handle, column))
        return UnsafeRawBufferPointer(start: p, count: n)
    }
}
