import EventLog

/// Little-endian, length-prefixed encoding for projection snapshots (layout in schemas/FORMAT.md,
/// "Projection snapshots"). Deterministic by construction: callers write maps in sorted key order, so equal
/// states give equal bytes.
public struct SnapshotWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    @inline(__always)
    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    /// LEB128 unsigned varint.
    @inline(__always)
    public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func int(_ v: Int) { varint(UInt64(bitPattern: Int64(v))) }
    /// Zig-zag signed varint.
    public mutating func sint(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }

    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { u in
            varint(UInt64(u.count))
            bytes.append(contentsOf: u)
        }
    }

    public mutating func bool(_ b: Bool) { bytes.append(b ? 1 : 0) }

    public mutating func strings(_ list: [String]) {
        varint(UInt64(list.count))
        for s in list { string(s) }
    }

    public mutating func raw(_ b: [UInt8]) { bytes += b }

    /// Overwrites 8 bytes written earlier (a length known only after what follows it).
    public mutating func patchU64(at offset: Int, _ v: UInt64) {
        for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
    }
}

/// Reads what `SnapshotWriter` wrote, bounds-checked: a damaged snapshot is an error naming the offset,
/// never a crash (the caller then rebuilds from the log).
public struct SnapshotReader {
    public struct Failure: Error, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "at byte \(offset): \(reason)" }
    }

    let bytes: [UInt8]
    public private(set) var offset: Int
    let end: Int
    /// Strings that repeat (verdicts, branches, agents, teams) are decoded once and shared.
    let cache: Symbols?

    public init(_ bytes: [UInt8], from: Int = 0, to: Int? = nil, cache: Symbols? = nil) {
        self.bytes = bytes
        offset = from
        end = to ?? bytes.count
        self.cache = cache
    }

    public var atEnd: Bool { offset == end }

    func fail(_ reason: String) -> Failure { Failure(offset: offset, reason: reason) }

    public mutating func u8() throws(Failure) -> UInt8 {
        guard offset < end else { throw fail("ends inside a value") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func varint() throws(Failure) -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8()
            guard shift < 64 else { throw fail("varint longer than 10 bytes") }
            v |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
    }

    public mutating func int() throws(Failure) -> Int { Int(Int64(bitPattern: try varint())) }

    public mutating func sint() throws(Failure) -> Int64 {
        let u = try varint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// A count of items that follow; bounded by the bytes left (each item takes at least one byte).
    public mutating func count() throws(Failure) -> Int {
        let n = try varint()
        guard n <= UInt64(end - offset) else { throw fail("count \(n) exceeds the \(end - offset) bytes left") }
        return Int(n)
    }

    public mutating func u64() throws(Failure) -> UInt64 {
        guard end - offset >= 8 else { throw fail("ends inside a u64") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return v
    }

    public mutating func string() throws(Failure) -> String {
        let n = try count()
        defer { offset += n }
        return String(decoding: bytes[offset..<offset + n], as: UTF8.self)
    }

    /// A string that repeats across records: one `String` per distinct value (through `cache`), so decoding
    /// a snapshot neither validates nor allocates "PASS" 400,000 times.
    public mutating func repeatedString() throws(Failure) -> String {
        guard let cache else { return try string() }
        let n = try count()
        defer { offset += n }
        let id = bytes.withUnsafeBytes { cache.id(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
        return cache[id]
    }

    public mutating func bool() throws(Failure) -> Bool {
        switch try u8() {
        case 0: false
        case 1: true
        default: throw fail("a boolean must be 0 or 1")
        }
    }

    public mutating func strings() throws(Failure) -> [String] {
        let n = try count()
        var out: [String] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try string()) }
        return out
    }

    /// Moves past `n` bytes without reading them.
    public mutating func skip(_ n: Int) throws(Failure) {
        guard n >= 0, n <= end - offset else { throw fail("\(n) bytes to skip, \(end - offset) left") }
        offset += n
    }

    public mutating func raw(_ n: Int) throws(Failure) -> [UInt8] {
        guard n >= 0, end - offset >= n else { throw fail("ends inside a \(n)-byte field") }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }
}

/// Byte order of UTF-8, the order snapshots sort keys in. Not `String.<`: Swift compares strings by
/// canonical equivalence, so "José" in NFC and in NFD would be equal there and their order (and a map keyed by
/// them) would depend on which came first; bytes keep two distinct ids distinct in every store.
@inline(__always)
public func utf8Less(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// A type that projections keep in snapshots.
public protocol SnapshotCodable {
    func encode(_ w: inout SnapshotWriter)
    init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure)
}

extension SnapshotWriter {
    /// Entries in UTF-8 byte order of their keys (the keys must be distinct byte strings).
    public mutating func entries<V: SnapshotCodable>(_ list: [(String, V)]) {
        let sorted = list.sorted { utf8Less($0.0, $1.0) }
        varint(UInt64(sorted.count))
        for (k, v) in sorted {
            string(k)
            v.encode(&self)
        }
    }

    public mutating func list<V: SnapshotCodable>(_ l: [V]) {
        varint(UInt64(l.count))
        for v in l { v.encode(&self) }
    }
}

extension SnapshotReader {
    /// What `entries` wrote, checked to be in strictly ascending byte order.
    public mutating func entries<V: SnapshotCodable>(_: V.Type) throws(Failure) -> [(String, V)] {
        let n = try count()
        var out: [(String, V)] = []
        out.reserveCapacity(n)
        var previous: String?
        for _ in 0..<n {
            let k = try string()
            if let p = previous, !utf8Less(p, k) { throw fail("keys out of order") }
            previous = k
            out.append((k, try V(decoding: &self)))
        }
        return out
    }

    public mutating func list<V: SnapshotCodable>(_: V.Type) throws(Failure) -> [V] {
        let n = try count()
        var l: [V] = []
        l.reserveCapacity(n)
        for _ in 0..<n { l.append(try V(decoding: &self)) }
        return l
    }
}

/// Where an event sits: the snapshot's origin table index and the LSN. Commands read the full event back
/// from the log with it (summaries, rationales): projections keep what they fold, not every payload.
public struct EventRef: Hashable, Sendable, SnapshotCodable {
    public var origin: UInt16
    public var lsn: UInt64

    public init(origin: UInt16, lsn: UInt64) {
        self.origin = origin
        self.lsn = lsn
    }

    public func encode(_ w: inout SnapshotWriter) {
        w.varint(UInt64(origin))
        w.varint(lsn)
    }

    public init(decoding r: inout SnapshotReader) throws(SnapshotReader.Failure) {
        origin = UInt16(truncatingIfNeeded: try r.varint())
        lsn = try r.varint()
    }
}
