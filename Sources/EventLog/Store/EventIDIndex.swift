/// `log/<origin>/EVENTIDS`: the persistent, rebuildable event-id index over all of an origin's sealed
/// segments (contract 9). A lookup reads O(1) files: this one (a bucket directory entry and one bucket)
/// and, on a hit, the one segment holding the candidate, to compare the id verbatim.
///
/// ```
/// "AIBIDX01" | u32 version 1 | u32 bucket bits b | u64 entry count N | u64 covered segments
/// | 32 seal hash of the last covered segment | (2^b + 1) × u32 first entry of each bucket
/// | u64 XXH3-64 of the header and directory (checked before the directory is used)
/// | N × (u64 XXH3-64 of the id, u64 LSN, u32 epoch, u32 reserved) sorted by hash, bucket = top b bits
/// | u64 XXH3-64 of everything before
/// ```
public final class EventIDIndex: @unchecked Sendable {
    public struct Entry: Sendable, Equatable, Comparable {
        public var hash: UInt64
        public var lsn: UInt64
        public var epoch: UInt32
        public static func < (a: Entry, b: Entry) -> Bool { (a.hash, a.epoch, a.lsn) < (b.hash, b.epoch, b.lsn) }
    }

    public static let magic: [UInt8] = Array("AIBIDX01".utf8)
    static let headerSize = 64
    static let entrySize = 24

    public let path: String
    public let count: UInt64
    public let coveredSegments: UInt64
    public let lastSealHash: [UInt8]
    private let bucketBits: Int
    private let fs: any FileSystem
    private var fd: FileDescriptor?
    /// Loaded whole after many lookups (batch appends); nil while lookups read buckets with pread.
    private var loaded: [UInt8]?
    /// The bucket directory, read and checked at the first lookup.
    private var directory: [UInt32]?
    private var entriesAt: Int { Self.headerSize + ((1 << bucketBits) + 1) * 4 + 8 }
    private var lookups = 0

    public static func bucketBits(for count: Int) -> Int {
        var b = 0
        while (1 << b) * 8 < count && b < 24 { b += 1 }
        return b
    }

    /// Merges two sorted entry lists.
    public static func merge(_ a: [Entry], _ b: [Entry]) -> [Entry] {
        var out: [Entry] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count && j < b.count {
            if b[j] < a[i] {
                out.append(b[j])
                j += 1
            } else {
                out.append(a[i])
                i += 1
            }
        }
        out += a[i...]
        out += b[j...]
        return out
    }

    /// Encodes entries (sorted here unless `alreadySorted`).
    public static func encode(
        _ entries: [Entry], coveredSegments: UInt64, lastSealHash: [UInt8], alreadySorted: Bool = false
    ) -> [UInt8] {
        let sorted = alreadySorted ? entries : entries.sorted()
        let b = bucketBits(for: sorted.count)
        var w = ByteWriter(capacity: headerSize + ((1 << b) + 1) * 4 + sorted.count * entrySize + 8)
        w.raw(magic)
        w.u32(1)
        w.u32(UInt32(b))
        w.u64(UInt64(sorted.count))
        w.u64(coveredSegments)
        w.raw(lastSealHash)
        var starts = [UInt32](repeating: 0, count: (1 << b) + 1)
        var i = 0
        for bucket in 0..<(1 << b) {
            starts[bucket] = UInt32(i)
            while i < sorted.count && bucketOf(sorted[i].hash, b) == bucket { i += 1 }
        }
        starts[1 << b] = UInt32(sorted.count)
        for s in starts { w.u32(s) }
        w.u64(XXH3.hash(w.bytes))
        for e in sorted {
            w.u64(e.hash)
            w.u64(e.lsn)
            w.u32(e.epoch)
            w.u32(0)
        }
        w.u64(XXH3.hash(w.bytes))
        return w.bytes
    }

    @inline(__always) static func bucketOf(_ hash: UInt64, _ bits: Int) -> Int {
        bits == 0 ? 0 : Int(hash >> (64 - bits))
    }

    /// Opens the index, reading only its header (the directory and buckets are read per lookup).
    public init(fs: any FileSystem, path: String) throws(EventLogError) {
        self.fs = fs
        self.path = path
        let fd = try fs.attempt("opening event-id index", path: path) { () throws(SystemError) in
            try fs.open(path, .readOnly)
        }
        self.fd = fd
        let head = try fs.attempt("reading event-id index", path: path) { () throws(SystemError) in
            try fs.read(fd, count: Self.headerSize, at: 0)
        }
        let size = (try? fs.size(fd)) ?? 0
        guard head.count == Self.headerSize, Array(head[0..<8]) == Self.magic else {
            fs.close(fd)
            throw EventLogError.corrupt("not an event-id index (rebuilt automatically)", path: path, offset: 0)
        }
        let v = head.withUnsafeBytes { b in
            (
                UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
                UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 12, as: UInt32.self)),
                UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            )
        }
        bucketBits = Int(v.1)
        count = v.2
        coveredSegments = v.3
        lastSealHash = Array(head[32..<64])
        let expected =
            Int64(Self.headerSize + ((1 << bucketBits) + 1) * 4 + 8) + Int64(count) * Int64(Self.entrySize) + 8
        guard v.0 == 1, bucketBits <= 24, size == expected else {
            fs.close(fd)
            self.fd = nil
            throw EventLogError.corrupt(
                "event-id index size \(size) != \(expected) (rebuilt automatically)", path: path)
        }
    }

    deinit { if let fd { fs.close(fd) } }

    /// Verifies the whole file's checksum (used by `verify` and before bulk loading).
    public func verifyChecksum() throws(EventLogError) {
        let bytes = try wholeFile()
        let ok = bytes.withUnsafeBytes { b in
            XXH3.hash(UnsafeRawBufferPointer(rebasing: b[..<(b.count - 8)]))
                == UInt64(littleEndian: b.loadUnaligned(fromByteOffset: b.count - 8, as: UInt64.self))
        }
        guard ok else {
            throw EventLogError.corrupt("event-id index checksum mismatch (rebuilt automatically)", path: path)
        }
    }

    private func wholeFile() throws(EventLogError) -> [UInt8] {
        if let loaded { return loaded }
        guard let fd else { return [] }
        return try fs.attempt("reading event-id index", path: path) { () throws(SystemError) in
            try fs.read(fd, count: Int(try fs.size(fd)), at: 0)
        }
    }

    /// Reads and checks the bucket directory (once).
    private func bucketDirectory() throws(EventLogError) -> [UInt32] {
        if let directory { return directory }
        guard let fd else { throw EventLogError.corrupt("event-id index is closed", path: path) }
        let n = (1 << bucketBits) + 1
        let size = entriesAt
        let bytes: [UInt8]
        if let loaded {
            bytes = Array(loaded[..<size])
        } else {
            bytes = try fs.attempt("reading event-id index", path: path) { () throws(SystemError) in
                try fs.read(fd, count: size, at: 0)
            }
        }
        guard bytes.count == entriesAt else {
            throw EventLogError.corrupt("event-id index directory cut short", path: path)
        }
        let dir: [UInt32]? = bytes.withUnsafeBytes { b in
            guard
                XXH3.hash(UnsafeRawBufferPointer(rebasing: b[..<(entriesAt - 8)]))
                    == UInt64(littleEndian: b.loadUnaligned(fromByteOffset: entriesAt - 8, as: UInt64.self))
            else { return nil }
            let d = (0..<n).map {
                UInt32(littleEndian: b.loadUnaligned(fromByteOffset: Self.headerSize + $0 * 4, as: UInt32.self))
            }
            // Starts must rise and end at the entry count.
            for k in 1..<n where d[k] < d[k - 1] { return nil }
            return d.last == UInt32(count) ? d : nil
        }
        guard let dir else {
            throw EventLogError.corrupt(
                "event-id index directory checksum mismatch (rebuilt automatically)", path: path)
        }
        directory = dir
        return dir
    }

    /// Candidate (epoch, LSN) pairs whose id hashes to `hash`; the caller compares ids to rule out collisions.
    public func candidates(hash: UInt64) throws(EventLogError) -> [(epoch: UInt32, lsn: UInt64)] {
        guard count > 0 else { return [] }
        lookups += 1
        if loaded == nil && lookups > 64 {
            let bytes = try wholeFile()
            loaded = bytes
            try verifyChecksum()
        }
        let bucket = Self.bucketOf(hash, bucketBits)
        if directory == nil, loaded == nil, lookups <= 8, let found = try probeBucket(bucket, hash: hash) {
            return found
        }
        let dir = try bucketDirectory()
        let (lo, hi) = (Int(dir[bucket]), Int(dir[bucket + 1]))
        if lo == hi { return [] }
        let bytes: [UInt8]
        let base: Int
        if let loaded {
            bytes = loaded
            base = entriesAt + lo * Self.entrySize
        } else {
            guard let fd else { return [] }
            let at = entriesAt
            bytes = try fs.attempt("reading event-id index", path: path) { () throws(SystemError) in
                try fs.read(fd, count: (hi - lo) * Self.entrySize, at: Int64(at + lo * Self.entrySize))
            }
            base = 0
            guard bytes.count == (hi - lo) * Self.entrySize else {
                throw EventLogError.corrupt("event-id index bucket cut short", path: path)
            }
        }
        var out: [(epoch: UInt32, lsn: UInt64)] = []
        bytes.withUnsafeBytes { b in
            for k in 0..<(hi - lo) {
                let at = base + k * Self.entrySize
                if UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt64.self)) == hash {
                    out.append(
                        (
                            UInt32(littleEndian: b.loadUnaligned(fromByteOffset: at + 16, as: UInt32.self)),
                            UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self))
                        ))
                }
            }
        }
        return out
    }

    /// A lookup for a process that makes only a few (`aibrain emit` runs once per event): reads the
    /// bucket's two directory words and its entries with one neighbour on each side, instead of the whole
    /// directory (8 MiB at 10M events) and its checksum. The neighbours prove the range: every entry in it
    /// belongs to the bucket, in order, and the entries just outside belong to the buckets before and after,
    /// so no entry of the bucket lies outside it. Returns nil when that does not hold (the caller then reads
    /// and checks the whole directory, which reports corruption).
    private func probeBucket(_ bucket: Int, hash: UInt64) throws(EventLogError) -> [(epoch: UInt32, lsn: UInt64)]? {
        guard let fd else { return nil }
        let words = try fs.attempt("reading event-id index", path: path) { () throws(SystemError) in
            try fs.read(fd, count: 8, at: Int64(Self.headerSize + bucket * 4))
        }
        guard words.count == 8 else { return nil }
        let lo = Int(
            words.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) })
        let hi = Int(
            words.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) })
        guard lo <= hi, hi <= Int(count) else { return nil }
        let from = max(lo - 1, 0)
        let to = min(hi + 1, Int(count))
        if from == to { return [] }
        let at = entriesAt
        let bytes = try fs.attempt("reading event-id index", path: path) { () throws(SystemError) in
            try fs.read(fd, count: (to - from) * Self.entrySize, at: Int64(at + from * Self.entrySize))
        }
        guard bytes.count == (to - from) * Self.entrySize else { return nil }
        var out: [(epoch: UInt32, lsn: UInt64)] = []
        let valid: Bool = bytes.withUnsafeBytes { b in
            var previous: UInt64 = 0
            for k in from..<to {
                let off = (k - from) * Self.entrySize
                let h = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: off, as: UInt64.self))
                let owner = Self.bucketOf(h, bucketBits)
                if k < lo {
                    guard owner < bucket else { return false }
                } else if k >= hi {
                    guard owner > bucket else { return false }
                } else {
                    guard owner == bucket, k == lo || h >= previous else { return false }
                    previous = h
                    if h == hash {
                        out.append(
                            (
                                UInt32(littleEndian: b.loadUnaligned(fromByteOffset: off + 16, as: UInt32.self)),
                                UInt64(littleEndian: b.loadUnaligned(fromByteOffset: off + 8, as: UInt64.self))
                            ))
                    }
                }
            }
            return true
        }
        return valid ? out : nil
    }

    /// All entries (to merge in a newly sealed segment).
    public func allEntries() throws(EventLogError) -> [Entry] {
        try verifyChecksum()
        let bytes = try wholeFile()
        let entriesAt = self.entriesAt
        var out: [Entry] = []
        out.reserveCapacity(Int(count))
        bytes.withUnsafeBytes { b in
            for k in 0..<Int(count) {
                let at = entriesAt + k * Self.entrySize
                out.append(
                    Entry(
                        hash: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt64.self)),
                        lsn: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self)),
                        epoch: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: at + 16, as: UInt32.self))))
            }
        }
        return out
    }
}
