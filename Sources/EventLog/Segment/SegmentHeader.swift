/// The 128-byte header at the start of every segment (layout in `Format`).
public struct SegmentHeader: Sendable, Equatable {
    public var kind: Format.Kind
    public var codec: Format.Codec
    public var cipher: UInt8
    public var keyVersion: UInt32
    public var compatibleFeatures: UInt32
    public var incompatibleFeatures: UInt32
    public var epoch: UInt32
    public var origin: OriginID
    public var segmentID: [UInt8]
    public var firstLSN: UInt64
    public var createdAt: Int64
    public var predecessorEndOffset: UInt64

    public init(
        kind: Format.Kind, codec: Format.Codec, epoch: UInt32, origin: OriginID, segmentID: [UInt8],
        firstLSN: UInt64, createdAt: Int64, compatibleFeatures: UInt32 = 0, predecessorEndOffset: UInt64 = 0
    ) {
        self.kind = kind
        self.codec = codec
        self.cipher = 0
        self.keyVersion = 0
        self.compatibleFeatures = compatibleFeatures
        self.incompatibleFeatures = 0
        self.epoch = epoch
        self.origin = origin
        self.segmentID = segmentID
        self.firstLSN = firstLSN
        self.createdAt = createdAt
        self.predecessorEndOffset = predecessorEndOffset
    }

    /// Whether payload regions carry a mode byte and may be encrypted (incompatible flag `encryptedRegions`).
    public var hasEncryptedRegions: Bool {
        incompatibleFeatures & Format.IncompatibleFeature.encryptedRegions != 0
    }

    /// Marks the header as holding encrypted regions under keyring `generation` (cipher 1).
    public mutating func encryptRegions(generation: UInt32) {
        precondition(generation >= 1, "key generation 0 means no key")
        incompatibleFeatures |= Format.IncompatibleFeature.encryptedRegions
        cipher = Format.Cipher.chaChaPoly
        keyVersion = generation
    }

    public static func randomSegmentID() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: Format.headerSize)
        w.raw(Format.segmentMagic)
        w.u16(Format.formatVersion)
        w.u8(kind.rawValue)
        w.u8(codec.rawValue)
        w.u8(cipher)
        w.zeros(3)
        w.u32(keyVersion)
        w.u32(compatibleFeatures)
        w.u32(incompatibleFeatures)
        w.u32(epoch)
        w.raw(origin.bytes)
        w.raw(segmentID)
        w.u64(firstLSN)
        w.i64(createdAt)
        w.u64(predecessorEndOffset)
        precondition(w.count == Format.headerChecksummedBytes)
        w.u64(XXH3.hash(w.bytes))
        w.zeros(Format.headerSize - w.count)
        return w.bytes
    }

    /// Decodes and checks magic, version, checksum and feature flags.
    public static func decode(_ b: UnsafeRawBufferPointer) throws(DecodeFailure) -> SegmentHeader {
        guard b.count >= Format.headerSize else {
            throw DecodeFailure(
                field: "segment header", offset: 0, reason: "file is \(b.count) bytes, header needs 128")
        }
        guard Array(b[0..<8]) == Format.segmentMagic else {
            throw DecodeFailure(field: "magic", offset: 0, reason: "not an aibrain segment")
        }
        var r = ByteReader(b, offset: 8)
        let stored = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 88, as: UInt64.self))
        let actual = XXH3.hash(UnsafeRawBufferPointer(rebasing: b[0..<88]))
        guard stored == actual else {
            throw DecodeFailure(
                field: "header checksum", offset: 88,
                reason: "mismatch (stored \(hex64(stored)), computed \(hex64(actual)))")
        }
        let version = try r.u16("format version")
        guard version == Format.formatVersion else {
            throw DecodeFailure(
                field: "format version", offset: 8, reason: "version \(version); this build reads version 1")
        }
        guard let kind = Format.Kind(rawValue: try r.u8("kind")) else {
            throw DecodeFailure(field: "kind", offset: 10, reason: "unknown segment kind")
        }
        guard let codec = Format.Codec(rawValue: try r.u8("codec")) else {
            throw DecodeFailure(field: "codec", offset: 11, reason: "unknown codec")
        }
        let cipher = try r.u8("cipher")
        try r.skip(3, "reserved")
        let keyVersion = try r.u32("key version")
        let compat = try r.u32("compatible features")
        let incompat = try r.u32("incompatible features")
        guard incompat & ~Format.IncompatibleFeature.known == 0 else {
            throw DecodeFailure(
                field: "incompatible features", offset: 24,
                reason: "unknown flags 0x\(String(incompat, radix: 16)); a newer aibrain wrote this segment")
        }
        // An unflagged segment stores plaintext regions (cipher 0); a segment with encrypted regions names
        // ChaCha20-Poly1305 and the keyring generation it was created under.
        let encrypted = incompat & Format.IncompatibleFeature.encryptedRegions != 0
        guard cipher == (encrypted ? Format.Cipher.chaChaPoly : Format.Cipher.none) else {
            throw DecodeFailure(field: "cipher", offset: 12, reason: "cipher \(cipher) is not supported by this build")
        }
        guard !encrypted || keyVersion >= 1 else {
            throw DecodeFailure(field: "key version", offset: 16, reason: "an encrypted segment names generation 0")
        }
        let epoch = try r.u32("epoch")
        let origin = OriginID(bytes: try r.array(16, "origin"))
        let segmentID = try r.array(16, "segment id")
        let firstLSN = try r.u64("first lsn")
        let createdAt = try r.i64("created at")
        let predecessor = try r.u64("predecessor end offset")
        guard firstLSN >= 1 else { throw DecodeFailure(field: "first lsn", offset: 64, reason: "must be at least 1") }
        var h = SegmentHeader(
            kind: kind, codec: codec, epoch: epoch, origin: origin, segmentID: segmentID, firstLSN: firstLSN,
            createdAt: createdAt, compatibleFeatures: compat, predecessorEndOffset: predecessor)
        h.cipher = cipher
        h.keyVersion = keyVersion
        h.incompatibleFeatures = incompat
        return h
    }

    /// A guarded 8-byte value of the rewritable area: the value then its XXH3-64 (a torn or stale write reads as nil).
    public static func guardedValue(_ v: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        w.u64(v)
        w.u64(XXH3.hash(w.bytes))
        return w.bytes
    }

    public static func readGuardedValue(_ b: UnsafeRawBufferPointer, at offset: Int) -> UInt64? {
        guard b.count >= offset + 16 else { return nil }
        let v = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        let sum = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        if v == 0 && sum == 0 { return nil }
        return XXH3.hash(UnsafeRawBufferPointer(rebasing: b[offset..<offset + 8])) == sum ? v : nil
    }
}

/// Segment file names: `<epoch:8hex>-<first-lsn:20>.open|.seg`.
public enum SegmentName {
    public static func make(epoch: UInt32, firstLSN: UInt64, sealed: Bool) -> String {
        let e = String(epoch, radix: 16)
        let l = String(firstLSN)
        return String(repeating: "0", count: 8 - e.count) + e + "-" + String(repeating: "0", count: 20 - l.count) + l
            + (sealed ? ".seg" : ".open")
    }

    /// Parses a segment file name; nil for anything else.
    public static func parse(_ name: String) -> (epoch: UInt32, firstLSN: UInt64, sealed: Bool)? {
        let sealed: Bool
        let stem: Substring
        if name.hasSuffix(".seg") {
            sealed = true
            stem = name.dropLast(4)
        } else if name.hasSuffix(".open") {
            sealed = false
            stem = name.dropLast(5)
        } else {
            return nil
        }
        let parts = stem.split(separator: "-")
        guard parts.count == 2, parts[0].count == 8, parts[1].count == 20,
            let e = UInt32(parts[0], radix: 16), let l = UInt64(parts[1]), l >= 1
        else { return nil }
        return (e, l, sealed)
    }
}
