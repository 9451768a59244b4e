#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `log/<origin>/CATALOG`: the derived index of an origin's sealed segments (LSN and time ranges, seal
/// hashes, stream → segments). Opening a store reads it instead of every seal; it is rebuilt from the
/// seals whenever it does not match the directory (contract: derived data never fails startup).
///
/// ```
/// "AIBCAT01" | u32 version 1 | u32 segment count N
/// N × (u32 epoch, u64 first LSN, u64 last LSN, u64 first HLC, u64 last HLC, i64 min recorded at,
///      i64 max recorded at, u64 file size, 32 seal hash, 32 previous seal hash, 16 segment id)   = 140 bytes
/// u32 stream count S | S × (LEB128 name length, name, LEB128 n, n × LEB128 segment index delta)
/// u64 XXH3-64 of everything before
/// ```
public struct Catalog: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var epoch: UInt32
        public var firstLSN: UInt64
        public var lastLSN: UInt64
        public var firstHLC: UInt64
        public var lastHLC: UInt64
        public var minRecordedAt: Int64
        public var maxRecordedAt: Int64
        public var fileSize: Int64
        public var sealHash: [UInt8]
        public var previousSealHash: [UInt8]
        public var segmentID: [UInt8]
        public var fileName: String { SegmentName.make(epoch: epoch, firstLSN: firstLSN, sealed: true) }
        public var eventCount: UInt64 { lastLSN - firstLSN + 1 }
    }

    public var entries: [Entry] = []

    /// A stream or key name by its UTF-8 bytes. Why bytes, not `String`: Swift's `String` equality is
    /// canonical equivalence, so "café" in NFC and in NFD would be one key in a dictionary but two entries in
    /// the sorted, byte-ordered table; CATALOG must mean the same whichever way it was built.
    struct StreamKey: Hashable {
        let bytes: [UInt8]
        init(_ s: String) { bytes = Array(s.utf8) }
        init(bytes: [UInt8]) { self.bytes = bytes }
    }

    /// Stream or key → indexes into `entries`, ascending (names that differ only by Unicode normalization
    /// fold together here; the table itself keeps them apart). Decoded lazily: opening a store for one
    /// query scans the encoded table (`segments(ofStream:)`) instead of building a map.
    public var streams: [String: [Int]] {
        var out: [String: [Int]] = [:]
        for (k, v) in streamKeys { out[String(decoding: k.bytes, as: UTF8.self), default: []] += v }
        return out
    }

    /// How many distinct names (by bytes) the table holds.
    public var streamCount: Int { streamKeys.count }

    var streamKeys: [StreamKey: [Int]] { streamMap ?? Self.decodeStreams(rawStreams, segments: entries.count) }
    private var streamMap: [StreamKey: [Int]]? = [:]
    /// The encoded stream table (count, then entries) as read from CATALOG, while `streamMap` is nil.
    private var rawStreams: [UInt8] = []
    private var rawLookups = 0

    public static func == (a: Catalog, b: Catalog) -> Bool { a.entries == b.entries && a.streamKeys == b.streamKeys }

    public static let magic: [UInt8] = Array("AIBCAT01".utf8)
    static let entrySize = 140

    public init() {}

    public mutating func add(_ seg: SealedSegment) {
        let f = seg.footer
        if streamMap == nil {
            // Still in its encoded form (read from CATALOG): merge the new segment's names into the sorted
            // table without decoding it. A seal or an adoption into a long log then costs one pass over the
            // bytes, not a dictionary of every stream (measured: 210 ms of a 393 ms seal at 1M events).
            mergeEncoded(f.streams.map { Array($0.name.utf8) }, index: entries.count)
            appendEntry(seg)
            return
        }
        let index = entries.count
        appendEntry(seg)
        for s in f.streams { streamMap![StreamKey(s.name), default: []].append(index) }
    }

    private mutating func appendEntry(_ seg: SealedSegment) {
        let f = seg.footer
        entries.append(
            Entry(
                epoch: seg.header.epoch, firstLSN: f.firstLSN, lastLSN: f.lastLSN, firstHLC: f.firstHLC,
                lastHLC: f.lastHLC, minRecordedAt: f.minRecordedAt, maxRecordedAt: f.maxRecordedAt,
                fileSize: seg.fileSize, sealHash: seg.sealHash, previousSealHash: f.previousSealHash,
                segmentID: seg.header.segmentID))
    }

    /// Adds segment `index` to the lists of `names` in the encoded stream table (sorted by UTF-8 bytes, as
    /// `encode` writes it): existing names get one more index, new ones are inserted in order.
    mutating func mergeEncoded(_ names: [[UInt8]], index: Int) {
        let sorted = names.sorted { $0.lexicographicallyPrecedes($1) }
        var out = ByteWriter(capacity: rawStreams.count + sorted.reduce(0) { $0 + $1.count + 4 } + 8)
        out.u32(0)
        var count: UInt32 = 0
        var j = 0
        func emitNew(_ name: [UInt8]) {
            out.varint(UInt64(name.count))
            out.raw(name)
            out.varint(1)
            out.varint(UInt64(index))
            count += 1
        }
        rawStreams.withUnsafeBytes { b in
            var r = ByteReader(b)
            let n = rawStreams.isEmpty ? 0 : ((try? r.u32("count")) ?? 0)
            for _ in 0..<n {
                // The table passed its structure check when CATALOG was read.
                guard let range = try? r.stringRange("stream", maxLength: Limits.maxStreamLength),
                    let k = try? r.varint("count")
                else { break }
                let name = UnsafeRawBufferPointer(rebasing: b[range])
                let deltasStart = r.offset
                var last = 0
                for _ in 0..<k { last += Int((try? r.varint("segment index")) ?? 0) }
                let deltas = UnsafeRawBufferPointer(rebasing: b[deltasStart..<r.offset])
                while j < sorted.count && sorted[j].lexicographicallyPrecedes(name) {
                    emitNew(sorted[j])
                    j += 1
                }
                out.varint(UInt64(name.count))
                out.raw(name)
                if j < sorted.count && sorted[j].elementsEqual(name) {
                    out.varint(k + 1)
                    out.raw(deltas)
                    out.varint(UInt64(index - last))
                    j += 1
                } else {
                    out.varint(k)
                    out.raw(deltas)
                }
                count += 1
            }
        }
        while j < sorted.count {
            emitNew(sorted[j])
            j += 1
        }
        var bytes = out.bytes
        withUnsafeBytes(of: count.littleEndian) { for i in 0..<4 { bytes[i] = $0[i] } }
        rawStreams = bytes
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(
            capacity: 16 + entries.count * Self.entrySize + (streamMap.map { $0.count * 24 } ?? rawStreams.count))
        w.raw(Self.magic)
        w.u32(1)
        w.u32(UInt32(entries.count))
        for e in entries {
            w.u32(e.epoch)
            w.u64(e.firstLSN)
            w.u64(e.lastLSN)
            w.u64(e.firstHLC)
            w.u64(e.lastHLC)
            w.i64(e.minRecordedAt)
            w.i64(e.maxRecordedAt)
            w.i64(e.fileSize)
            w.raw(e.sealHash)
            w.raw(e.previousSealHash)
            w.raw(e.segmentID)
        }
        if streamMap == nil {
            // Never decoded: the encoded table is written as it is (it is already sorted).
            if rawStreams.isEmpty { w.u32(0) } else { w.raw(rawStreams) }
            w.u64(XXH3.hash(w.bytes))
            return w.bytes
        }
        let streams = streamMap!
        w.u32(UInt32(streams.count))
        for key in streams.keys.sorted(by: { $0.bytes.lexicographicallyPrecedes($1.bytes) }) {
            let list = streams[key]!
            w.varint(UInt64(key.bytes.count))
            w.raw(key.bytes)
            w.varint(UInt64(list.count))
            var prev = 0
            for i in list {
                w.varint(UInt64(i - prev))
                prev = i
            }
        }
        w.u64(XXH3.hash(w.bytes))
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeFailure) -> Catalog {
        try bytes.withBytes { (b) throws(DecodeFailure) -> Catalog in
            guard b.count >= 24, Array(b[0..<8]) == magic else {
                throw DecodeFailure(field: "catalog magic", offset: 0, reason: "not a CATALOG file")
            }
            let stored = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: b.count - 8, as: UInt64.self))
            guard XXH3.hash(UnsafeRawBufferPointer(rebasing: b[..<(b.count - 8)])) == stored else {
                throw DecodeFailure(field: "catalog checksum", offset: b.count - 8, reason: "mismatch")
            }
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: b[..<(b.count - 8)]), offset: 8)
            guard try r.u32("version") == 1 else { throw DecodeFailure(field: "version", offset: 8, reason: "unknown") }
            let n = Int(try r.u32("segment count"))
            guard n <= r.remaining / Self.entrySize else {
                throw DecodeFailure(field: "segment count", offset: 12, reason: "too large")
            }
            var c = Catalog()
            for _ in 0..<n {
                c.entries.append(
                    Entry(
                        epoch: try r.u32("epoch"), firstLSN: try r.u64("first lsn"), lastLSN: try r.u64("last lsn"),
                        firstHLC: try r.u64("first hlc"), lastHLC: try r.u64("last hlc"),
                        minRecordedAt: try r.i64("min recorded at"), maxRecordedAt: try r.i64("max recorded at"),
                        fileSize: try r.i64("file size"), sealHash: try r.array(32, "seal hash"),
                        previousSealHash: try r.array(32, "previous seal hash"),
                        segmentID: try r.array(16, "segment id")))
            }
            // Validate the stream table once (so later lazy scans can trust its structure), keep it encoded.
            let tableStart = r.offset
            let s = Int(try r.u32("stream count"))
            for _ in 0..<s {
                _ = try r.stringRange("stream", maxLength: Limits.maxStreamLength)
                let k = Int(try r.varint("count"))
                guard k <= n else {
                    throw DecodeFailure(field: "stream segments", offset: r.offset, reason: "too many")
                }
                var prev = 0
                for _ in 0..<k {
                    prev += Int(try r.varint("segment index"))
                    guard prev < n else {
                        throw DecodeFailure(field: "segment index", offset: r.offset, reason: "out of range")
                    }
                }
            }
            c.rawStreams = Array(b[tableStart..<r.offset])
            c.streamMap = nil
            guard r.remaining == 0 else {
                throw DecodeFailure(field: "catalog", offset: r.offset, reason: "trailing bytes")
            }
            return c
        }
    }

    /// The segments (indexes into `entries`) holding a stream or key. Scans the encoded table while it is
    /// not decoded (a one-query open stays cheap); from the third lookup on (a long-lived reader) the map is built once.
    public mutating func segments(ofStream name: String) -> [Int] {
        if let streamMap { return streamMap[StreamKey(name)] ?? [] }
        rawLookups += 1
        if rawLookups > 2 {
            streamMap = Self.decodeStreams(rawStreams, segments: entries.count)
            rawStreams = []
            return streamMap?[StreamKey(name)] ?? []
        }
        var target = name
        return target.withUTF8 { want in
            rawStreams.withUnsafeBytes { raw in Self.scan(raw, for: UnsafeRawBufferPointer(want)) }
        }
    }

    /// Linear scan of an encoded (already validated) stream table.
    static func scan(_ raw: UnsafeRawBufferPointer, for want: UnsafeRawBufferPointer) -> [Int] {
        var r = ByteReader(raw)
        guard let count = try? r.u32("count") else { return [] }
        for _ in 0..<count {
            guard let name = try? r.stringRange("stream", maxLength: Limits.maxStreamLength),
                let k = try? r.varint("count")
            else { return [] }
            let match =
                name.count == want.count
                && (name.isEmpty || memcmp(raw.baseAddress! + name.lowerBound, want.baseAddress!, name.count) == 0)
            var list: [Int] = []
            var prev = 0
            for _ in 0..<k {
                guard let d = try? r.varint("segment index") else { return [] }
                prev += Int(d)
                if match { list.append(prev) }
            }
            if match { return list }
        }
        return []
    }

    static func decodeStreams(_ raw: [UInt8], segments: Int) -> [StreamKey: [Int]] {
        guard !raw.isEmpty else { return [:] }
        return raw.withUnsafeBytes { b in
            var r = ByteReader(b)
            var out: [StreamKey: [Int]] = [:]
            guard let count = try? r.u32("count") else { return [:] }
            out.reserveCapacity(Int(count))
            for _ in 0..<count {
                // The table passed its checksum and structure check at load; names are kept as their bytes.
                guard let range = try? r.stringRange("stream", maxLength: Limits.maxStreamLength),
                    let k = try? r.varint("count")
                else { return out }
                let name = StreamKey(bytes: Array(UnsafeRawBufferPointer(rebasing: b[range])))
                var list: [Int] = []
                var prev = 0
                for _ in 0..<k {
                    guard let d = try? r.varint("segment index") else { return out }
                    prev += Int(d)
                    list.append(prev)
                }
                out[name] = list
            }
            return out
        }
    }

    /// Index of the entry holding `lsn` (LSNs continue across epochs, so they are unique in one origin).
    public func entryIndex(lsn: UInt64) -> Int? {
        var lo = 0
        var hi = entries.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            let e = entries[mid]
            if e.lastLSN < lsn {
                lo = mid + 1
            } else if e.firstLSN > lsn {
                hi = mid - 1
            } else {
                return mid
            }
        }
        return nil
    }
}
