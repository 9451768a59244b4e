import EventLog

/// `history`: one task's events, oldest first, for 50 tasks drawn with a seeded generator (the meta file's
/// query task among them). Warm: a store opened once, each task queried once right before its timed query.
/// Cold: a fresh read-only open plus the query, timed together (process-cold; the page cache stays warm).
enum HistoryScenario {
    static let name = "history"
    static let sqliteName = "SQLite (WHERE stream=? ORDER BY lsn, indexed, warm)"
    static let taskCount = 50

    /// 50 distinct task streams: the query task, then seeded draws (SplitMix64, seed 42) from the workload.
    static func tasks(_ w: Workload) -> [String] {
        let all = w.streams.filter { $0.hasPrefix("task/") }
        var chosen = ["task/" + w.meta.queryTaskID]
        var rng = SplitMix64(seed: 42)
        while chosen.count < min(taskCount, all.count) {
            let s = all[Int(rng.next() % UInt64(all.count))]
            if !chosen.contains(s) { chosen.append(s) }
        }
        return chosen
    }

    static func run(_ c: BenchContext, _ stores: LoadedStores) throws {
        let w = c.workload
        let tasks = tasks(w)
        guard w.streamEvents[tasks[0]] != nil else {
            throw BenchError("\(name): the query task \(tasks[0]) is not in the workload")
        }
        let expected = tasks.map { w.streamEvents[$0]!.map { w.drafts[$0].eventID } }
        progress("\(name): \(tasks.count) tasks × \(c.options.runs) runs")
        var warm: [Double] = []
        var warmAll: [Double] = []
        var sqlite: [Double] = []
        var coldMedian: [Double] = []
        var coldP90: [Double] = []
        var wrong: [String] = []
        func verify(_ what: String, _ t: Int, _ ids: [String]) {
            if ids != expected[t] && wrong.count < 3 {
                wrong.append("\(what) \(tasks[t]): \(ids.count) events, expected \(expected[t].count)")
            }
        }
        for r in 0..<c.options.runs {
            for s in 0..<2 {
                if (r + s) % 2 == 0 {
                    let log = try stores.reader()
                    var times: [Double] = []
                    for (t, task) in tasks.enumerated() {
                        _ = try log.history(stream: task)
                        var events: [Event] = []
                        times.append(try MonotonicClock.seconds { events = try log.history(stream: task) } * 1e6)
                        verify("warm", t, events.map(\.eventID))
                    }
                    warm.append(Samples(times).median)
                    // All 50 warmed first, then all 50 timed: shows whether the block cache holds them.
                    for task in tasks { _ = try log.history(stream: task) }
                    times = []
                    for task in tasks {
                        times.append(try MonotonicClock.seconds { _ = try log.history(stream: task) } * 1e6)
                    }
                    warmAll.append(Samples(times).median)
                } else {
                    sqlite.append(try sqliteWarm(c, stores, tasks))
                }
            }
            var times: [Double] = []
            for (t, task) in tasks.enumerated() {
                var log: EventLog?
                var events: [Event] = []
                times.append(
                    try MonotonicClock.seconds {
                        log = try stores.reader()
                        events = try log!.history(stream: task)
                    } * 1000)
                log = nil  // closed outside the timed region
                verify("cold", t, events.map(\.eventID))
            }
            let sorted = times.sorted()
            coldMedian.append(Samples.percentile(sorted, 0.5))
            coldP90.append(Samples.percentile(sorted, 0.9))
        }
        let rep = c.report
        rep.add(name, Report.engine, "warm per-query median", .microseconds, warm)
        rep.add(name, sqliteName, "warm per-query median", .microseconds, sqlite)
        rep.add(name, Report.engine, "warm, all 50 warmed then timed, median", .microseconds, warmAll)
        rep.add(name, Report.engine, "cold open+query median", .milliseconds, coldMedian)
        rep.add(name, Report.engine, "cold open+query p90", .milliseconds, coldP90)
        rep.checkRatio(name, "warm per-query median", peer: sqliteName, .atMost, 2.0)
        rep.check(
            name, "\(Report.engine) cold open+query median ≤ 5 ms", measured: Samples(coldMedian).median, .milliseconds,
            .atMost, 5)
        rep.check(
            name, "histories equal the input's events (count and ids in order; wrong tasks == 0)",
            measured: Double(wrong.count), .count, .exactly, 0)
        let counts = tasks.map { w.streamEvents[$0]!.count }
        rep.note(
            "\(name): \(tasks.count) tasks of \(counts.min()!)–\(counts.max()!) events (median \(Int(Samples(counts.map(Double.init)).median))); "
                + "query task \(w.meta.queryTaskID) has \(counts[0]) events (meta says \(w.meta.queryTaskCount)); "
                + "block cache 64 MiB (default)" + (wrong.isEmpty ? "." : "; WRONG: " + wrong.joined(separator: "; ")))
    }

    /// One SQLite row, copied out like aibrain's `Event` (strings and payload bytes owned by Swift).
    struct SQLiteRow {
        var lsn: Int64
        var stream: String
        var type: String
        var ts: String
        var payload: [UInt8]
    }

    static func sqliteWarm(_ c: BenchContext, _ stores: LoadedStores, _ tasks: [String]) throws -> Double {
        guard let path = stores.sqlitePath else { throw BenchError("\(name): the SQLite peer was not loaded") }
        let db = try SQLiteDatabase(path: path)
        let stmt = try db.prepare("SELECT lsn, stream, type, ts, payload FROM events WHERE stream = ? ORDER BY lsn")
        func query(_ task: [UInt8]) throws -> [SQLiteRow] {
            var rows: [SQLiteRow] = []
            try task.withUnsafeBytes { t in
                try stmt.bindText(1, t)
                while try stmt.step() {
                    rows.append(
                        SQLiteRow(
                            lsn: stmt.int64(0), stream: String(decoding: stmt.bytes(1), as: UTF8.self),
                            type: String(decoding: stmt.bytes(2), as: UTF8.self),
                            ts: String(decoding: stmt.bytes(3), as: UTF8.self), payload: Array(stmt.bytes(4))))
                }
                stmt.reset()
            }
            return rows
        }
        var times: [Double] = []
        for task in tasks {
            let key = Array(task.utf8)
            _ = try query(key)
            var rows: [SQLiteRow] = []
            times.append(try MonotonicClock.seconds { rows = try query(key) } * 1e6)
            guard rows.map({ Int($0.lsn) - 1 }) == c.workload.streamEvents[task]! else {
                throw BenchError("\(name): SQLite returned the wrong rows for \(task)")
            }
        }
        return Samples(times).median
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator, so the task sample is the same every run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
