import EventLog

/// `scan`: a full replay of every sealed segment through `scan`'s zero-copy `RecordRef`s, in a freshly
/// opened read-only store (files in the page cache: this measures decode, not the disk). Each record is
/// consumed cheaply into a checksum so the loop cannot be optimized away.
enum ScanScenario {
    static let name = "scan"
    static let sqliteName = "SQLite (SELECT every row, all columns)"

    static func run(_ c: BenchContext, _ stores: LoadedStores) throws {
        let n = c.workload.count
        progress("\(name): full scan of \(n) events × \(c.options.runs) runs")
        var mine: [Double] = []
        var opens: [Double] = []
        var sqlite: [Double] = []
        var sums: Set<UInt64> = []
        for r in 0..<c.options.runs {
            for s in 0..<2 {
                if (r + s) % 2 == 0 {
                    var log: EventLog?
                    opens.append(try MonotonicClock.seconds { log = try stores.reader() } * 1000)
                    var count = 0
                    var sum: UInt64 = 0
                    let seconds = try MonotonicClock.seconds {
                        try log!.scan { rec in
                            count &+= 1
                            sum &+= rec.lsn &+ UInt64(rec.payload.count) &+ UInt64(rec.payload.first ?? 0)
                        }
                    }
                    guard count == n else { throw BenchError("\(name): scan visited \(count) records, expected \(n)") }
                    sums.insert(sum)
                    mine.append(Double(n) / seconds)
                } else {
                    sqlite.append(try sqliteScan(stores, n))
                }
            }
        }
        guard sums.count == 1 else { throw BenchError("\(name): the scan checksum differs between runs") }
        let rep = c.report
        rep.add(name, Report.engine, "events/s", .perSecond, mine)
        rep.add(name, sqliteName, "events/s", .perSecond, sqlite)
        rep.add(name, Report.engine, "read-only open", .milliseconds, opens)
        rep.check(
            name, "\(Report.engine) scan ≥ 3,500,000 events/s (one core)", measured: Samples(mine).median, .perSecond,
            .atLeast, 3_500_000)
    }

    static func sqliteScan(_ stores: LoadedStores, _ n: Int) throws -> Double {
        guard let path = stores.sqlitePath else { throw BenchError("\(name): the SQLite peer was not loaded") }
        let db = try SQLiteDatabase(path: path)
        var count = 0
        var sum: UInt64 = 0
        let seconds = try MonotonicClock.seconds {
            let stmt = try db.prepare("SELECT lsn, stream, type, ts, payload FROM events")
            while try stmt.step() {
                let payload = stmt.bytes(4)
                count &+= 1
                sum &+=
                    UInt64(stmt.int64(0)) &+ UInt64(stmt.bytes(1).count &+ stmt.bytes(2).count &+ stmt.bytes(3).count)
                sum &+= UInt64(payload.count) &+ UInt64(payload.first ?? 0)
            }
        }
        guard count == n, sum != 0 else { throw BenchError("\(name): SQLite returned \(count) rows, expected \(n)") }
        return Double(n) / seconds
    }
}
