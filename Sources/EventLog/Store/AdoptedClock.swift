/// `log/ADOPTED_HLC`: the highest clock of any segment adopted from a peer (contract 6).
///
/// Rule: the local writer assigns `hlc = max(now, last + 1, adopted + 1)`, with `adopted` counted only up to
/// `now + maxSkewMilliseconds`. Why: an event written after a peer's events were adopted must sort after
/// them in the merged order (an agent that read them and then acted is causally later), and one peer with
/// a clock far ahead must not drag every writer's clock with it. What if broken: a decision recorded after
/// reading an adopted checkpoint would replay before it. The file is written by adoption (under the
/// adoption lock, atomically, capped at now + skew) and read by the writer under `LOCK` at every commit (24 bytes).
///
/// ```
/// "AIBHLC01" | u64 highest adopted hlc | u64 XXH3-64 of the 16 bytes before
/// ```
public enum AdoptedClock {
    public static let fileName = "ADOPTED_HLC"
    public static let magic: [UInt8] = Array("AIBHLC01".utf8)
    /// Adopted clocks beyond now + this count only up to it, and `ship status` flags them.
    public static let maxSkewMilliseconds: Int64 = 60_000

    public static func path(_ paths: StorePaths) -> String { paths.log + "/" + fileName }

    public static func encode(_ hlc: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 24)
        w.raw(magic)
        w.u64(hlc)
        let sum = XXH3.hash(w.bytes)
        w.u64(sum)
        return w.bytes
    }

    /// The stored clock, or nil for a missing or damaged file (a damaged one is rewritten by the next
    /// adoption; until then the writer falls back to its own clock, which is still monotonic per origin).
    public static func read(_ fs: any FileSystem, _ paths: StorePaths) -> UInt64? {
        guard let bytes = try? fs.readFile(path(paths)), bytes.count == 24, Array(bytes[0..<8]) == magic else {
            return nil
        }
        return bytes.withUnsafeBytes { raw -> UInt64? in
            var r = ByteReader(raw, offset: 8)
            guard let v = try? r.u64("hlc"), let sum = try? r.u64("checksum"),
                sum == XXH3.hash(UnsafeRawBufferPointer(rebasing: raw[0..<16]))
            else { return nil }
            return v
        }
    }

    /// Raises the stored clock to `hlc` (never lowers it). Call under the adoption lock.
    public static func raise(to hlc: UInt64, _ fs: any FileSystem, _ paths: StorePaths) throws(EventLogError) {
        if let current = read(fs, paths), current >= hlc { return }
        let p = path(paths)
        try fs.attempt("writing the adopted clock", path: p) { () throws(SystemError) in
            try fs.writeFileAtomically(p, encode(hlc), tmpSuffix: ".tmp")
        }
    }

    /// The floor a writer's next clock must exceed at `now`: the adopted clock, capped at now + skew.
    public static func floor(_ fs: any FileSystem, _ paths: StorePaths, now: Int64) -> UInt64 {
        guard let adopted = read(fs, paths) else { return 0 }
        return min(adopted, HLC.make(milliseconds: now + maxSkewMilliseconds, counter: 0))
    }

    /// True when `hlc` lies beyond what the writer would count at `now`.
    public static func isBeyondSkew(_ hlc: UInt64, now: Int64) -> Bool {
        HLC.milliseconds(hlc) > now + maxSkewMilliseconds
    }
}

extension EventLog {
    /// The active `.open` segment of the local origin: bytes of data and when it was created (writer clock),
    /// or nil when there is none or it holds no event. `ship push --seal` decides from this.
    public var openSegmentStatus: (bytes: Int64, createdAt: Int64, events: UInt64)? {
        lock.lock()
        defer { lock.unlock() }
        guard let active = opens.last, !active.isEmpty else { return nil }
        let first = opens.first!.firstLSN
        return (opens.reduce(0) { $0 + $1.dataEnd }, opens.first!.header.createdAt, active.lastLSN - first + 1)
    }

    /// The sealed segments of this origin as CATALOG lists them (read from the directory when CATALOG was
    /// stale), oldest first.
    public var sealedCatalog: [Catalog.Entry] {
        lock.lock()
        defer { lock.unlock() }
        return catalog.entries
    }

    /// True when opening found a damaged or discontinuous sealed segment (the catalog stops before it).
    public var sealedLogDamaged: Bool {
        lock.lock()
        defer { lock.unlock() }
        return catalogDamaged
    }

    /// Writes CATALOG of an adopted origin after adoption linked new segments into its folder. Only for a
    /// read-only view of another origin (the local writer keeps its own CATALOG), under the adoption lock.
    public func persistAdoptedCatalog() throws(EventLogError) {
        lock.lock()
        defer { lock.unlock() }
        guard options.readOnly, origin != storedConfig.origin else {
            throw EventLogError(.readOnly, "only adoption writes an adopted origin's CATALOG")
        }
        if catalogDamaged {
            throw EventLogError.corrupt(
                "an adopted segment of origin \(origin.hex) does not verify; CATALOG is not rewritten", path: directory)
        }
        try writeCatalog()
    }
}

extension EventLog {
    /// Brings CATALOG of an adopted origin up to date after adoption linked segments into its folder:
    /// reads only the seals CATALOG does not list yet (adoption of one segment into a long log costs one
    /// seal read, not one per segment), and rebuilds from every seal when CATALOG does not list a prefix of
    /// the folder. For other origins only, under the adoption lock.
    public static func refreshAdoptedCatalog(root: String, origin: OriginID, fs: any FileSystem) throws(EventLogError) {
        let paths = StorePaths(root: root)
        let dir = paths.originDirectory(origin)
        let listed = try fs.attempt("listing the log directory", path: dir) { () throws(SystemError) in
            try fs.listDirectory(dir)
        }
        var sealed: [(epoch: UInt32, lsn: UInt64, name: String)] = []
        for n in listed { if let p = SegmentName.parse(n), p.sealed { sealed.append((p.epoch, p.firstLSN, n)) } }
        sealed.sort { ($0.epoch, $0.lsn) < ($1.epoch, $1.lsn) }
        let names = sealed.map(\.name)
        let path = dir + "/CATALOG"
        if let bytes = try? fs.readFile(path), var c = try? Catalog.decode(bytes), c.entries.count <= names.count,
            zip(c.entries, names).allSatisfy({ $0.0.fileName == $0.1 })
        {
            if c.entries.count == names.count { return }
            var extended = true
            for n in names[c.entries.count...] {
                let seg = try SealedSegment(fs: fs, path: dir + "/" + n)
                let previous = c.entries.last
                guard seg.header.origin == origin, seg.footer.firstLSN == (previous?.lastLSN ?? 0) + 1,
                    seg.footer.previousSealHash == (previous?.sealHash ?? [UInt8](repeating: 0, count: 32))
                else {
                    extended = false
                    break
                }
                c.add(seg)
            }
            if extended {
                let encoded = c.encode()
                try fs.attempt("writing CATALOG", path: path) { () throws(SystemError) in
                    try fs.writeFileAtomically(path, encoded)
                }
                return
            }
        }
        let log = try EventLog(root: root, fs: fs, options: OpenOptions(readOnly: true, origin: origin))
        try log.persistAdoptedCatalog()
    }
}
