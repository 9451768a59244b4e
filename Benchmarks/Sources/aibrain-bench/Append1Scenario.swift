import EventLog

/// `append1`: single-event durable appends, one commit (and one fdatasync) per event, against SQLite with a
/// transaction per event and a raw loop over a preallocated file. The disk's flush latency dominates, so
/// only ratios measured in this run mean anything.
enum Append1Scenario {
    static let name = "append1"
    static let sqliteName = "SQLite (WAL, synchronous=FULL, txn per event)"
    static let rawName = "raw loop (preallocated file, fdatasync per event)"

    static func run(_ c: BenchContext) throws {
        let k = min(c.workload.count, 3000)
        progress("\(name): \(k) single-event durable appends × \(c.options.runs) runs")
        var mine: [Double] = []
        var sqlite: [Double] = []
        var raw: [Double] = []
        var syncs: [(fdatasyncs: Int, fsyncs: Int)] = []
        for r in 0..<c.options.runs {
            // Rotate the order so that no subject always runs first (or right after another's writeback).
            for s in 0..<3 {
                switch (r + s) % 3 {
                case 0:
                    let (rate, counted) = try aibrain(c, k, r)
                    mine.append(rate)
                    syncs.append(counted)
                case 1: sqlite.append(try sqlitePeer(c, k, r))
                default: raw.append(try rawLoop(c, k, r))
                }
            }
        }
        let rep = c.report
        rep.add(name, Report.engine, "events/s", .perSecond, mine)
        rep.add(name, sqliteName, "events/s", .perSecond, sqlite)
        rep.add(name, rawName, "events/s", .perSecond, raw)
        rep.checkRatio(name, "events/s", peer: sqliteName, .atLeast, 1.0)
        rep.checkRatio(name, "events/s", peer: rawName, .atLeast, 0.85)
        let perAck = syncs.map { Double($0.fdatasyncs) / Double(k) }
        let fsyncs = syncs.map { Double($0.fsyncs) }
        rep.add(name, Report.engine, "fdatasync per ack", .perAcknowledgement, perAck)
        rep.add(name, Report.engine, "fsync calls in timed region", .count, fsyncs)
        rep.check(
            name, "fdatasync per acknowledgement == 1.00 (every run)", measured: perAck.max()!, .perAcknowledgement,
            .exactly, 1.0)
        rep.note(
            "\(name): \(k) events per run after one untimed warm-up commit; fdatasyncs per run \(syncs.map(\.fdatasyncs)), "
                + "fsyncs per run \(syncs.map(\.fsyncs)) (fsyncs are directory/segment-creation syncs only).")
    }

    static func aibrain(_ c: BenchContext, _ k: Int, _ run: Int) throws -> (Double, (Int, Int)) {
        let dir = try c.scratch.fresh("\(name)-aibrain")
        defer { c.scratch.remove(dir) }
        let fs = CountingFileSystem()
        let log = try BenchStore.createWriter(in: dir, fs: fs)
        try log.append([BenchStore.warmupDraft(run)])
        let before = fs.counts
        var acks = 0
        let seconds = try c.workload.drafts.withUnsafeBufferPointer { drafts in
            try MonotonicClock.seconds {
                for i in 0..<k where try log.append([drafts[i]]).durable { acks += 1 }
            }
        }
        let after = fs.counts
        guard acks == k else { throw BenchError("\(name): \(k - acks) of \(k) acknowledgements were not durable") }
        return (Double(k) / seconds, (after.fdatasyncs - before.fdatasyncs, after.fsyncs - before.fsyncs))
    }

    static func sqlitePeer(_ c: BenchContext, _ k: Int, _ run: Int) throws -> Double {
        let dir = try c.scratch.fresh("\(name)-sqlite")
        defer { c.scratch.remove(dir) }
        let table = try SQLiteEventTable.create(path: dir + "/events.db")
        try table.database.execute(
            "INSERT INTO events(stream, type, ts, payload) VALUES ('bench/warmup', 'bench.warmup', '', x'7b7d')")
        let seconds = try c.workload.withMemory { m in
            try MonotonicClock.seconds {
                for i in 0..<k { try table.insertTransaction(i..<i + 1, m) }
            }
        }
        return Double(k) / seconds
    }

    static func rawLoop(_ c: BenchContext, _ k: Int, _ run: Int) throws -> Double {
        let dir = try c.scratch.fresh("\(name)-raw")
        defer { c.scratch.remove(dir) }
        let file = try PlainFile(path: dir + "/events.raw", append: false)
        let warmup: [UInt8] = Array("{}\n".utf8)
        let bytes = try c.workload.withMemory { m in m.linesWithNewlines(0..<k).count }
        try file.preallocateZeros((warmup.count + bytes + (1 << 20) + 4095) / 4096 * 4096)
        try warmup.withUnsafeBytes { try file.write($0, at: 0) }
        try file.fdatasync()
        let seconds = try c.workload.withMemory { m in
            try MonotonicClock.seconds {
                var offset = warmup.count
                for i in 0..<k {
                    let line = m.linesWithNewlines(i..<i + 1)
                    try file.write(line, at: offset)
                    offset += line.count
                    try file.fdatasync()
                }
            }
        }
        return Double(k) / seconds
    }
}
