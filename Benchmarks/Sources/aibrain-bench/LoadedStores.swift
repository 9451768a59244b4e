import EventLog

/// The whole workload loaded once (untimed) for the read scenarios (`scan`, `size`, `history`): an aibrain
/// store, fully sealed, and, when a scenario compares with SQLite, an SQLite database. Removed at the end.
final class LoadedStores {
    let directory: String
    let root: String
    let sqlitePath: String?
    let scratch: ScratchSpace

    private init(directory: String, root: String, sqlitePath: String?, scratch: ScratchSpace) {
        self.directory = directory
        self.root = root
        self.sqlitePath = sqlitePath
        self.scratch = scratch
    }

    deinit { scratch.remove(directory) }

    static func build(_ c: BenchContext, sqlite: Bool) throws -> LoadedStores {
        let dir = try c.scratch.fresh("loaded")
        let n = c.workload.count
        let ranges = stride(from: 0, to: n, by: 1000).map { $0..<min($0 + 1000, n) }
        do {
            // Durability .none is enough for setup: sealing fsyncs every segment anyway.
            let writer = try BenchStore.createWriter(in: dir, fs: PosixFileSystem(), durability: .none)
            let seconds = try MonotonicClock.seconds {
                for r in ranges { try writer.append(Array(c.workload.drafts[r])) }
                try writer.seal()
            }
            let segments = try writer.fs.listDirectory(writer.directory).filter { $0.hasSuffix(".seg") }.count
            progress("loaded the aibrain store: \(n) events, \(segments) sealed segments in \(fixed(seconds, 1)) s")
            c.report.note(
                "setup (untimed): loading \(grouped(Double(n))) events into aibrain (batches of 1000, durability none, "
                    + "auto-seal at 16 MiB, final seal) took \(fixed(seconds, 2)) s = \(grouped(Double(n) / seconds)) events/s, "
                    + "\(segments) sealed segments.")
        }
        var sqlitePath: String?
        if sqlite {
            let path = dir + "/events.db"
            let table = try SQLiteEventTable.create(path: path, bulkLoad: true)
            let seconds = try c.workload.withMemory { m in
                try MonotonicClock.seconds {
                    for r in ranges { try table.insertTransaction(r, m) }
                }
            }
            try table.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            progress("loaded the SQLite peer in \(fixed(seconds, 1)) s")
            sqlitePath = path
        }
        return LoadedStores(directory: dir, root: dir + "/.aibrain", sqlitePath: sqlitePath, scratch: c.scratch)
    }

    func reader() throws -> EventLog {
        try EventLog(root: root, options: OpenOptions(readOnly: true))
    }
}
