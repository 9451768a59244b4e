import EventLog

/// `append1000`: durable batches of 1000 events, against SQLite with a transaction per 1000 rows and a JSONL
/// file appended with write() and one fdatasync per 1000 lines. With 16 MiB segments the engine rolls and
/// seals inside the timed region (auto-seal on the commit path), as it would in production.
enum Append1000Scenario {
    static let name = "append1000"
    static let batch = 1000
    static let sqliteName = "SQLite (WAL, synchronous=FULL, txn per 1000)"
    static let jsonlName = "JSONL (write + fdatasync per 1000)"

    static func run(_ c: BenchContext) throws {
        let m = min(c.workload.count, 200_000)
        let ranges = stride(from: 0, to: m, by: batch).map { $0..<min($0 + batch, m) }
        // Built before timing: the batches are what a client hands over.
        let batches = ranges.map { Array(c.workload.drafts[$0]) }
        progress("\(name): \(m) events in \(batches.count) durable batches × \(c.options.runs) runs")
        var mine: [Double] = []
        var sqlite: [Double] = []
        var jsonl: [Double] = []
        var syncs: [(fdatasyncs: Int, fsyncs: Int, seals: Int)] = []
        for r in 0..<c.options.runs {
            for s in 0..<3 {
                switch (r + s) % 3 {
                case 0:
                    let (rate, counted) = try aibrain(c, batches, r)
                    mine.append(rate)
                    syncs.append(counted)
                case 1: sqlite.append(try sqlitePeer(c, ranges, r))
                default: jsonl.append(try jsonlPeer(c, ranges, r))
                }
            }
        }
        let rep = c.report
        rep.add(name, Report.engine, "events/s", .perSecond, mine)
        rep.add(name, sqliteName, "events/s", .perSecond, sqlite)
        rep.add(name, jsonlName, "events/s", .perSecond, jsonl)
        rep.checkRatio(name, "events/s", peer: sqliteName, .atLeast, 5.0)
        rep.checkRatio(name, "events/s", peer: jsonlName, .atLeast, 0.7)
        rep.add(
            name, Report.engine, "fdatasync per ack", .perAcknowledgement,
            syncs.map { Double($0.fdatasyncs) / Double(batches.count) })
        rep.note(
            "\(name): \(m) events, \(batches.count) acknowledgements per run; segments sealed during the timed region "
                + "per run \(syncs.map(\.seals)); fdatasyncs \(syncs.map(\.fdatasyncs)) (one per commit, one per new segment), "
                + "fsyncs \(syncs.map(\.fsyncs)) (sealed file, directory, CATALOG/EVENTIDS/store.json rewrites at each seal)."
        )
    }

    static func aibrain(_ c: BenchContext, _ batches: [[EventDraft]], _ run: Int) throws -> (Double, (Int, Int, Int)) {
        let dir = try c.scratch.fresh("\(name)-aibrain")
        defer { c.scratch.remove(dir) }
        let fs = CountingFileSystem()
        let log = try BenchStore.createWriter(in: dir, fs: fs)
        try log.append([BenchStore.warmupDraft(run)])
        let before = fs.counts
        var acks = 0
        let seconds = try MonotonicClock.seconds {
            for b in batches where try log.append(b).durable { acks += 1 }
        }
        let after = fs.counts
        guard acks == batches.count else {
            throw BenchError("\(name): \(batches.count - acks) of \(batches.count) acknowledgements were not durable")
        }
        let seals = try log.fs.listDirectory(log.directory).filter { $0.hasSuffix(".seg") }.count
        let events = batches.reduce(0) { $0 + $1.count }
        return (Double(events) / seconds, (after.fdatasyncs - before.fdatasyncs, after.fsyncs - before.fsyncs, seals))
    }

    static func sqlitePeer(_ c: BenchContext, _ ranges: [Range<Int>], _ run: Int) throws -> Double {
        let dir = try c.scratch.fresh("\(name)-sqlite")
        defer { c.scratch.remove(dir) }
        let table = try SQLiteEventTable.create(path: dir + "/events.db")
        try table.database.execute(
            "INSERT INTO events(stream, type, ts, payload) VALUES ('bench/warmup', 'bench.warmup', '', x'7b7d')")
        let seconds = try c.workload.withMemory { m in
            try MonotonicClock.seconds {
                for r in ranges { try table.insertTransaction(r, m) }
            }
        }
        return Double(ranges.last!.upperBound) / seconds
    }

    static func jsonlPeer(_ c: BenchContext, _ ranges: [Range<Int>], _ run: Int) throws -> Double {
        let dir = try c.scratch.fresh("\(name)-jsonl")
        defer { c.scratch.remove(dir) }
        let file = try PlainFile(path: dir + "/events.jsonl", append: true)
        try Array("{}\n".utf8).withUnsafeBytes { try file.append($0) }
        try file.fdatasync()
        let seconds = try c.workload.withMemory { m in
            try MonotonicClock.seconds {
                for r in ranges {
                    try file.append(m.linesWithNewlines(r))
                    try file.fdatasync()
                }
            }
        }
        return Double(ranges.last!.upperBound) / seconds
    }
}
