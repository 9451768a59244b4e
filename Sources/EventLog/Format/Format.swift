/// The on-disk format in one place. `schemas/FORMAT.md` is the spec; the golden files in `fixtures/` pin it.
/// All integers are little-endian. Offsets are from the start of the structure.
///
/// ```
/// Segment header (128 bytes, .open and .seg)
///   0  8  magic "AIBLOG\r\n"            64  8  first LSN
///   8  2  format version (1)            72  8  created at (Unix ms, writer clock)
///  10  1  kind (1 open, 2 sealed)       80  8  predecessor end offset (0 = none): where the acknowledged
///  11  1  codec (0 none, 1 LZ4 frame)            data of the previous segment ended (set after a failed sync)
///  12  1  cipher (0 none, 1 ChaChaPoly)  88  8  XXH3-64 of bytes [0, 88)
///  13  3  reserved (0)                  -- rewritable area (.open only; zero in .seg), not under the checksum:
///  16  4  key version (0 = none)        96 16  reserved (0)
///  20  4  compatible feature flags
///  24  4  incompatible feature flags   112  8  successor first LSN (0 = none): set when this segment rolled
///  28  4  epoch                        120  8  XXH3-64 of bytes [112, 120)
///  32 16  origin id
///  48 16  segment id (random)
///
/// Commit batch (.open, starts 8-byte aligned, zero padding after)
///   0  4  magic "AIBB"                  32  8  first HLC
///   4  4  length (multiple of 8, padding incl.) 40  8  last HLC
///   8  8  XXH3-64 of bytes [16, length) 48  4  envelope region length
///  16  8  first LSN                     52  2  payload region count R
///  24  4  event count                   54  2  reserved (0)
///  28  4  flags (0)                     56     R region descriptors, then the envelope region, then the
///                                              R payload regions in descriptor order
/// Region descriptor: u32 payload bytes, u8 team length, team bytes (UTF-8)
///
/// Envelope (same bytes in batches and in sealed blocks)
///   0  2  length of the envelope        8  8  HLC
///   2  1  flags (bit 0: usage block)   16  8  recorded at (Unix ms, writer clock)
///   3  1  key count (bits 0-2), bit 7: event id stored as 16 bytes (it was 32 lowercase hex)
///   4  2  type version                 24  4  payload length
///   6  1  payload region index         28     strings, each a LEB128 length then UTF-8 bytes:
///   7  1  reserved (0)                        event id, type, stream, keys…, actor, correlation id,
///                                             causation id, occurred at, provenance
/// The LSN of an envelope is the first LSN of its batch or block plus its index. A payload's offset in its
/// region is the sum of the lengths of the earlier payloads of that region.
///
/// Sealed block (.seg, after the header)
///   0  4  magic "AIBK"                  40  8  last HLC
///   4  4  stored length of the block    48  4  envelope frame length (compressed)
///   8  8  XXH3-64 of bytes [16, length) 52  4  envelope region length (uncompressed)
///  16  8  first LSN                     56  2  payload region count R
///  24  4  event count                   58  2  reserved (0)
///  28  4  reserved (0)                  60     R × (u32 frame length, u32 region length, u8 team length,
///  32  8  first HLC                            team), then the envelope frame, then R payload frames
/// Every frame is a standard LZ4 frame (`lz4 -d` reads it) with content size, without LZ4's own checksums
/// (the block's XXH3-64 covers the stored bytes; the seal's SHA-256 covers the logical records).
///
/// Seal footer and trailer: see `SealFooter` and `SealTrailer`.
public enum Format {
    public static let segmentMagic: [UInt8] = Array("AIBLOG\r\n".utf8)
    public static let formatVersion: UInt16 = 1
    public static let headerSize = 128
    public static let headerChecksummedBytes = 88
    public static let rewritableOffset: Int64 = 96
    public static let successorOffset: Int64 = 112

    public static let batchMagic: UInt32 = 0x4242_4941  // "AIBB"
    public static let batchHeaderSize = 56
    public static let batchAlignment = 8

    public static let blockMagic: UInt32 = 0x4B42_4941  // "AIBK"
    public static let blockHeaderSize = 60
    /// Records are regrouped into blocks of about this many uncompressed bytes (envelopes + payloads).
    public static let targetBlockBytes = 64 * 1024

    public static let envelopeFixedSize = 28

    public enum Kind: UInt8, Sendable {
        case open = 1
        case sealed = 2
    }

    public enum Codec: UInt8, Sendable {
        case none = 0
        case lz4Frame = 1
    }

    /// Compatible feature flags: a reader that does not know one may still read the segment.
    public enum CompatibleFeature {
        /// The segment was started after a failed sync of its predecessor (`predecessor end offset` is set).
        public static let followsFailedSync: UInt32 = 1 << 0
        public static let known: UInt32 = followsFailedSync
    }

    /// Incompatible feature flags: a reader that does not know one must refuse the segment.
    public enum IncompatibleFeature {
        /// Every payload region starts with a mode byte (`RegionMode`); regions of teams with a key are
        /// encrypted (FORMAT.md "Encrypted payload regions"). Set with cipher 1 and a key generation ≥ 1.
        public static let encryptedRegions: UInt32 = 1 << 0
        public static let known: UInt32 = encryptedRegions
    }

    /// Header cipher field (offset 12).
    public enum Cipher {
        public static let none: UInt8 = 0
        /// ChaCha20-Poly1305 (RFC 8439) with 12-byte random nonces, keys derived per segment and team.
        public static let chaChaPoly: UInt8 = 1
    }

    /// The first byte of every payload region of a segment with `encryptedRegions`.
    ///
    /// ```
    /// mode 0: 00 ‖ plaintext region (open) / LZ4 frame (sealed)
    /// mode 1: 01 ‖ key id (8) ‖ nonce (12) ‖ ChaCha20-Poly1305 ciphertext of the above ‖ tag (16)
    /// ```
    public enum RegionMode {
        public static let plain: UInt8 = 0
        public static let encrypted: UInt8 = 1
        public static let keyIDSize = 8
        public static let nonceSize = 12
        public static let tagSize = 16
        /// Bytes a mode-1 region adds to what it encrypts: mode, key id, nonce, tag.
        public static let encryptedOverhead = 1 + keyIDSize + nonceSize + tagSize
    }

    public enum EnvelopeFlag {
        public static let usage: UInt8 = 1 << 0
    }

    static let hexEventIDBit: UInt8 = 0x80
    static let keyCountMask: UInt8 = 0x07
}

/// Limits, enforced before anything is allocated or written.
public enum Limits {
    /// One event: envelope plus payload.
    public static let maxEventBytes = 1 << 20
    public static let maxBatchEvents = 100_000
    public static let maxBatchBytes = 64 << 20
    public static let maxKeys = 4
    public static let maxIDLength = 128
    public static let maxTypeLength = 128
    public static let maxStreamLength = 255
    public static let maxTeamLength = 64
    public static let maxShortFieldLength = 255
    public static let maxProvenanceLength = 1024
}
