/// The seal of a sealed segment: footer (covered by the seal hash) and fixed-size trailer at end of file.
///
/// ```
/// Footer (at `footer offset`, `footer length` bytes)
///   0  4  magic "AIBF"                  104 32  SHA-256 of the logical record stream
///   4  4  footer version (1)            136 32  SHA-256 of the file bytes [0, footer offset)
///   8  8  event count                   168 32  Merkle root (reserved: zeros until the trust layer)
///  16  8  first LSN                     200  4  block count B
///  24  8  last LSN                      204  4  stream count S
///  32  8  first HLC                     208  8  uncompressed record bytes
///  40  8  last HLC                      216     B × block index entry (u64 offset, u64 first LSN,
///  48  8  min recorded at                          u64 first HLC, u32 count, u32 stored length) = 32 bytes
///  56  8  max recorded at                       S × stream entry: LEB128 name length, name, LEB128 count,
///  64  8  reserved (0)                             count × LEB128 LSN delta (first from the first LSN)
///  72 32  previous seal hash (zeros: first segment of the origin)
///
/// Trailer (last 256 bytes of the file)
///   0  8  footer offset                  16 32  seal hash = SHA-256 of the footer bytes
///   8  4  footer length                  48 192 signature area (reserved: zeros; C2SP signed note)
///  12  2  signature length (0)          240  8  XXH3-64 of bytes [0, 240)
///  14  2  signature algorithm (0)       248  8  magic "AIBSEAL1"
/// ```
public struct SealFooter: Sendable, Equatable {
    public struct BlockEntry: Sendable, Equatable {
        public var offset: UInt64
        public var firstLSN: UInt64
        public var firstHLC: UInt64
        public var count: UInt32
        public var storedLength: UInt32
    }

    public var eventCount: UInt64
    public var firstLSN: UInt64
    public var lastLSN: UInt64
    public var firstHLC: UInt64
    public var lastHLC: UInt64
    public var minRecordedAt: Int64
    public var maxRecordedAt: Int64
    public var previousSealHash: [UInt8]
    public var logicalHash: [UInt8]
    public var fileHash: [UInt8]
    public var merkleRoot: [UInt8]
    public var recordBytes: UInt64
    public var blocks: [BlockEntry]
    /// Stream or key name → LSNs, ascending. Sorted by name in the file.
    public var streams: [(name: String, lsns: [UInt64])]

    public static let magic: UInt32 = 0x4642_4941  // "AIBF"
    public static let fixedSize = 216

    public static func == (a: SealFooter, b: SealFooter) -> Bool {
        a.eventCount == b.eventCount && a.firstLSN == b.firstLSN && a.lastLSN == b.lastLSN
            && a.firstHLC == b.firstHLC && a.lastHLC == b.lastHLC && a.minRecordedAt == b.minRecordedAt
            && a.maxRecordedAt == b.maxRecordedAt && a.previousSealHash == b.previousSealHash
            && a.logicalHash == b.logicalHash && a.fileHash == b.fileHash && a.merkleRoot == b.merkleRoot
            && a.recordBytes == b.recordBytes && a.blocks == b.blocks
            && a.streams.map(\.name) == b.streams.map(\.name) && a.streams.map(\.lsns) == b.streams.map(\.lsns)
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Self.fixedSize + blocks.count * 32 + streams.count * 32)
        w.u32(Self.magic)
        w.u32(1)
        w.u64(eventCount)
        w.u64(firstLSN)
        w.u64(lastLSN)
        w.u64(firstHLC)
        w.u64(lastHLC)
        w.i64(minRecordedAt)
        w.i64(maxRecordedAt)
        w.u64(0)
        w.raw(previousSealHash)
        w.raw(logicalHash)
        w.raw(fileHash)
        w.raw(merkleRoot)
        w.u32(UInt32(blocks.count))
        w.u32(UInt32(streams.count))
        w.u64(recordBytes)
        precondition(w.count == Self.fixedSize)
        for b in blocks {
            w.u64(b.offset)
            w.u64(b.firstLSN)
            w.u64(b.firstHLC)
            w.u32(b.count)
            w.u32(b.storedLength)
        }
        for s in streams {
            w.string(s.name)
            w.varint(UInt64(s.lsns.count))
            var prev = firstLSN
            for l in s.lsns {
                w.varint(l - prev)
                prev = l
            }
        }
        return w.bytes
    }

    public static func decode(_ b: UnsafeRawBufferPointer, base: Int) throws(DecodeFailure) -> SealFooter {
        var r = ByteReader(b, base: base)
        guard try r.u32("footer magic") == magic else {
            throw DecodeFailure(field: "footer magic", offset: base, reason: "not a seal footer")
        }
        let version = try r.u32("footer version")
        guard version == 1 else {
            throw DecodeFailure(field: "footer version", offset: base + 4, reason: "unknown version \(version)")
        }
        let count = try r.u64("event count")
        let first = try r.u64("first lsn")
        let last = try r.u64("last lsn")
        let firstHLC = try r.u64("first hlc")
        let lastHLC = try r.u64("last hlc")
        let minRec = try r.i64("min recorded at")
        let maxRec = try r.i64("max recorded at")
        _ = try r.u64("reserved")
        let prev = try r.array(32, "previous seal hash")
        let logical = try r.array(32, "logical hash")
        let file = try r.array(32, "file hash")
        let merkle = try r.array(32, "merkle root")
        let blockCount = Int(try r.u32("block count"))
        let streamCount = Int(try r.u32("stream count"))
        let recordBytes = try r.u64("record bytes")
        // (Checked without overflow: a crafted footer from a peer must be refused, never trap.)
        guard count >= 1, first >= 1, last < UInt64.max, count - 1 <= last, last - (count - 1) == first,
            blockCount >= 1,
            blockCount <= r.remaining / 32, streamCount <= r.remaining
        else {
            throw DecodeFailure(field: "footer counts", offset: base + 8, reason: "inconsistent counts or ranges")
        }
        var blocks: [BlockEntry] = []
        blocks.reserveCapacity(blockCount)
        var expected = first
        for _ in 0..<blockCount {
            let e = BlockEntry(
                offset: try r.u64("block offset"), firstLSN: try r.u64("block first lsn"),
                firstHLC: try r.u64("block first hlc"), count: try r.u32("block count"),
                storedLength: try r.u32("block length"))
            guard e.firstLSN == expected, e.count >= 1 else {
                throw DecodeFailure(
                    field: "block index", offset: base + r.offset - 32, reason: "LSNs are not contiguous")
            }
            guard UInt64(e.count) <= last + 1 - expected else {
                throw DecodeFailure(
                    field: "block index", offset: base + r.offset - 32,
                    reason: "blocks cover more than the footer's \(count) events")
            }
            expected += UInt64(e.count)
            blocks.append(e)
        }
        guard expected == last + 1 else {
            throw DecodeFailure(
                field: "block index", offset: base + r.offset,
                reason: "blocks cover \(expected - first) of \(count) events")
        }
        var streams: [(name: String, lsns: [UInt64])] = []
        streams.reserveCapacity(streamCount)
        for _ in 0..<streamCount {
            let name = try r.string("stream name", maxLength: Limits.maxStreamLength)
            let n = try r.varint("stream event count")
            // (Each LSN delta takes at least one byte: a count beyond the bytes left is refused before any
            // allocation is sized by it.)
            guard n >= 1, n <= count, n <= UInt64(r.remaining) else {
                throw DecodeFailure(field: "stream event count", offset: base + r.offset, reason: "\(n) is impossible")
            }
            var lsns: [UInt64] = []
            lsns.reserveCapacity(Int(n))
            var prev = first
            for i in 0..<Int(n) {
                let d = try r.varint("stream lsn delta")
                let l = prev &+ d
                guard i == 0 || d > 0, l <= last, l >= prev else {
                    throw DecodeFailure(
                        field: "stream lsn", offset: base + r.offset, reason: "not ascending within the segment")
                }
                lsns.append(l)
                prev = l
            }
            streams.append((name, lsns))
        }
        guard r.remaining == 0 else {
            throw DecodeFailure(field: "footer", offset: base + r.offset, reason: "\(r.remaining) trailing bytes")
        }
        return SealFooter(
            eventCount: count, firstLSN: first, lastLSN: last, firstHLC: firstHLC, lastHLC: lastHLC,
            minRecordedAt: minRec, maxRecordedAt: maxRec, previousSealHash: prev, logicalHash: logical,
            fileHash: file, merkleRoot: merkle, recordBytes: recordBytes, blocks: blocks, streams: streams)
    }
}

public struct SealTrailer: Sendable, Equatable {
    public static let size = 256
    public static let magic: [UInt8] = Array("AIBSEAL1".utf8)

    public var footerOffset: UInt64
    public var footerLength: UInt32
    public var sealHash: [UInt8]
    public var signatureAlgorithm: UInt16
    public var signature: [UInt8]

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Self.size)
        w.u64(footerOffset)
        w.u32(footerLength)
        w.u16(UInt16(signature.count))
        w.u16(signatureAlgorithm)
        w.raw(sealHash)
        w.raw(signature)
        w.zeros(192 - signature.count)
        precondition(w.count == 240)
        w.u64(XXH3.hash(w.bytes))
        w.raw(Self.magic)
        return w.bytes
    }

    public static func decode(_ b: UnsafeRawBufferPointer, base: Int) throws(DecodeFailure) -> SealTrailer {
        guard b.count == size else {
            throw DecodeFailure(field: "seal trailer", offset: base, reason: "needs 256 bytes")
        }
        guard Array(b[248..<256]) == magic else {
            throw DecodeFailure(
                field: "seal trailer magic", offset: base + 248,
                reason: "missing: the segment is truncated or not sealed")
        }
        let stored = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 240, as: UInt64.self))
        guard XXH3.hash(UnsafeRawBufferPointer(rebasing: b[0..<240])) == stored else {
            throw DecodeFailure(field: "seal trailer checksum", offset: base + 240, reason: "mismatch")
        }
        var r = ByteReader(b, base: base)
        let off = try r.u64("footer offset")
        let len = try r.u32("footer length")
        let sigLen = Int(try r.u16("signature length"))
        let alg = try r.u16("signature algorithm")
        let hash = try r.array(32, "seal hash")
        guard sigLen <= 192 else {
            throw DecodeFailure(field: "signature length", offset: base + 12, reason: "\(sigLen) > 192")
        }
        let sig = try r.array(sigLen, "signature")
        return SealTrailer(
            footerOffset: off, footerLength: len, sealHash: hash, signatureAlgorithm: alg, signature: sig)
    }
}
