/// A read-only view over every origin of a store: ours and every origin adopted from peers
/// (`log/<origin-id>/`), merged in the order of contract 6: (hlc, origin id, lsn).
///
/// Concurrency rule: a `StoreReader` belongs to one thread at a time (it is a snapshot that `refresh()`
/// moves forward). Why: it holds one read-only `EventLog` per origin and swaps them on refresh. Practical
/// advice: one reader per command or per `tail -f` loop. Readers never take the writer lock, so they never
/// slow a writer down; they see each origin only up to its writer's published watermark.
public final class StoreReader {
    public let paths: StorePaths
    public let fs: any FileSystem
    public let config: StoreConfig
    /// One read-only log per origin, sorted by origin id.
    public private(set) var logs: [EventLog] = []
    let blockCacheBytes: Int

    public init(root: String, fs: any FileSystem = PosixFileSystem(), blockCacheBytes: Int = 64 << 20)
        throws(EventLogError)
    {
        paths = StorePaths(root: root)
        self.fs = fs
        self.blockCacheBytes = blockCacheBytes
        let local = try EventLog(
            root: root, fs: fs, options: OpenOptions(readOnly: true, blockCacheBytes: blockCacheBytes))
        config = local.config
        logs = [local]
        try discoverOrigins()
    }

    public var localOrigin: OriginID { config.origin }

    /// The log of one origin, if this store holds it.
    public func log(_ origin: OriginID) -> EventLog? { logs.first { $0.origin == origin } }

    /// Picks up what writers appended and sealed, and origins adopted since the last call.
    public func refresh() throws(EventLogError) {
        for log in logs { try log.refresh() }
        try discoverOrigins()
    }

    func discoverOrigins() throws(EventLogError) {
        let names = try fs.attempt("listing the log", path: paths.log) { () throws(SystemError) in
            try fs.listDirectory(paths.log)
        }
        var added = false
        for n in names {
            guard let o = OriginID(hex: n), log(o) == nil else { continue }
            logs.append(
                try EventLog(
                    root: paths.root, fs: fs,
                    options: OpenOptions(readOnly: true, origin: o, blockCacheBytes: blockCacheBytes)))
            added = true
        }
        if added { logs.sort { $0.origin < $1.origin } }
    }

    /// Every event of a stream or key across all origins, in merged order (stream tables and CATALOG,
    /// never a scan).
    public func history(stream: String) throws(EventLogError) -> [Event] {
        var all: [Event] = []
        for log in logs { all += try log.history(stream: stream) }
        if logs.count > 1 { all.sort(by: Self.mergedOrder) }
        return all
    }

    /// Contract 6's total order over all origins.
    public static func mergedOrder(_ a: Event, _ b: Event) -> Bool {
        if a.hlc != b.hlc { return a.hlc < b.hlc }
        if a.origin != b.origin { return a.origin < b.origin }
        return a.lsn < b.lsn
    }

    /// Visits events in merged order, starting per origin at `start[origin]` (default LSN 1); stop early by
    /// returning false. Memory stays bounded: each origin is read in chunks.
    public func forEachMerged(from start: [OriginID: UInt64] = [:], _ body: (Event) throws -> Bool) throws {
        struct Source {
            let log: EventLog
            var next: UInt64
            var buffer: [Event] = []
            var at = 0
            var exhausted = false
        }
        if logs.count == 1 {
            // One origin: its LSN order is the merged order; stream it in one pass.
            try logs[0].read(from: start[logs[0].origin] ?? 1) { e in try body(e) }
            return
        }
        // Chunks of whole segments' worth: a sealed segment is read once per chunk that touches it.
        let chunk: UInt64 = 65_536
        var sources = logs.map { Source(log: $0, next: start[$0.origin] ?? 1) }
        func fill(_ i: Int) throws {
            sources[i].buffer.removeAll(keepingCapacity: true)
            sources[i].at = 0
            let from = sources[i].next
            guard from <= sources[i].log.headLSN else {
                sources[i].exhausted = true
                return
            }
            var got: [Event] = []
            try sources[i].log.read(from: from, through: from + chunk - 1) { e in
                got.append(e)
                return true
            }
            sources[i].buffer = got
            if let last = got.last { sources[i].next = last.lsn + 1 } else { sources[i].exhausted = true }
        }
        for i in sources.indices { try fill(i) }
        while true {
            var best = -1
            for i in sources.indices where sources[i].at < sources[i].buffer.count {
                if best < 0
                    || Self.mergedOrder(sources[i].buffer[sources[i].at], sources[best].buffer[sources[best].at])
                {
                    best = i
                }
            }
            guard best >= 0 else { return }
            let e = sources[best].buffer[sources[best].at]
            sources[best].at += 1
            if sources[best].at == sources[best].buffer.count && !sources[best].exhausted { try fill(best) }
            if try !body(e) { return }
        }
    }
}
