/// What a seal commits to, as a signer and a verifier see it (FORMAT.md "Signed seals"). Everything in it is
/// read from the header, the footer and the trailer's seal hash; the trust layer turns it into the text of a
/// C2SP signed note.
public struct SealStatement: Sendable, Equatable {
    public var origin: OriginID
    public var epoch: UInt32
    public var firstLSN: UInt64
    public var lastLSN: UInt64
    /// RFC 6962 root over the segment's records (footer offset 168); zeros in segments sealed before it.
    public var merkleRoot: [UInt8]
    /// SHA-256 of the footer (trailer offset 16): covers the file hash, the logical hash, the Merkle root and
    /// the previous seal hash.
    public var sealHash: [UInt8]
    public var previousSealHash: [UInt8]

    public init(
        origin: OriginID, epoch: UInt32, firstLSN: UInt64, lastLSN: UInt64, merkleRoot: [UInt8], sealHash: [UInt8],
        previousSealHash: [UInt8]
    ) {
        self.origin = origin
        self.epoch = epoch
        self.firstLSN = firstLSN
        self.lastLSN = lastLSN
        self.merkleRoot = merkleRoot
        self.sealHash = sealHash
        self.previousSealHash = previousSealHash
    }

    public var eventCount: UInt64 { lastLSN - firstLSN + 1 }
}

/// The trailer's signature area: an algorithm number and up to 192 bytes.
public struct SealSignature: Sendable, Equatable {
    /// 1 = the signature lines of a C2SP signed note over the statement (Ed25519).
    public static let signedNoteEd25519: UInt16 = 1
    public static let maxBytes = 192

    public var algorithm: UInt16
    public var bytes: [UInt8]
    public init(algorithm: UInt16, bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }
}

/// Signs seals as they are written (the trust layer's origin key). A signer must never sign two different
/// statements for one position (epoch, first LSN): it refuses instead. It is called after the built bytes
/// passed their self-check and before they are written; a redone seal is byte-identical, so it is signed
/// again for the same statement.
public protocol SealSigner: Sendable {
    func sign(_ statement: SealStatement) throws(EventLogError) -> SealSignature
}

extension SealedSegment {
    public var statement: SealStatement {
        SealStatement(
            origin: header.origin, epoch: header.epoch, firstLSN: footer.firstLSN, lastLSN: footer.lastLSN,
            merkleRoot: footer.merkleRoot, sealHash: trailer.sealHash, previousSealHash: footer.previousSealHash)
    }

    public var isSigned: Bool { trailer.signatureAlgorithm != 0 }
}

extension SealedSegment {
    /// The RFC 6962 leaf hashes of every record (LSN order) and the logical entry (the leaf's input) of
    /// record `lsn`: what an inclusion proof needs. Reads and decodes every block; leaves cover plaintext
    /// payloads, so every encrypted region of the segment must open with `cipher` (`key-missing` if not).
    /// Shredded payloads are fine: their leaves cover the stored `$sealed` form.
    public func merkleLeaves(entryOf lsn: UInt64, cipher: (any RegionCipher)?) throws(EventLogError) -> (
        leaves: [[UInt8]], entry: [UInt8]
    ) {
        guard lsn >= footer.firstLSN, lsn <= footer.lastLSN else {
            throw EventLogError(.notFound, "LSN \(lsn) is not in this segment", path: path)
        }
        var leaves: [[UInt8]] = []
        leaves.reserveCapacity(Int(footer.eventCount))
        var entry: [UInt8] = []
        let d = LZ4Frame.Decompressor()
        for i in footer.blocks.indices {
            let block = try decodeBlock(i, decompressor: d, cipher: cipher)
            if let locked = block.regionStates.first(where: { $0 != .plain }) {
                throw EventLogError(
                    .keyMissing,
                    "the segment holding LSN \(lsn) has payloads this store cannot decrypt (\(locked.keyID ?? "a team key")); a proof hashes every record of it",
                    path: path, lsn: lsn, hint: "import the team's key (aibrain keys team import) and retry")
            }
            for r in 0..<block.count {
                block.withRecord(r) { view, env, payload in
                    let team = block.teams[Int(block.payloadRegion[r])]
                    let e = view.bytes(in: env)
                    leaves.append(SealBuilder.leafHash(envelope: e, team: team, payload: payload))
                    if block.firstLSN + UInt64(r) == lsn {
                        SealBuilder.logicalPieces(envelope: e, team: team, payload: payload) {
                            entry.append(contentsOf: $0)
                        }
                    }
                }
            }
        }
        return (leaves, entry)
    }
}

/// A record's logical form (the Merkle leaf entry) decoded back: the envelope (its region byte is 0), the
/// team and the payload. What a proof bundle carries and `verify-proof` reads.
public struct LogicalRecord: Sendable {
    public var envelope: [UInt8]
    public var team: String
    public var payload: [UInt8]

    public static func decode(_ entry: [UInt8]) throws(DecodeFailure) -> LogicalRecord {
        guard entry.count >= 2 else { throw DecodeFailure(field: "entry", offset: 0, reason: "too short") }
        let length = Int(UInt16(entry[0]) | UInt16(entry[1]) << 8)
        guard length >= 28, length < entry.count else {
            throw DecodeFailure(field: "envelope length", offset: 0, reason: "\(length) does not fit the entry")
        }
        let teamLength = Int(entry[length])
        guard length + 1 + teamLength <= entry.count else {
            throw DecodeFailure(field: "team", offset: length, reason: "runs past the entry")
        }
        let envelope = Array(entry[0..<length])
        guard let team = String(validating: entry[(length + 1)..<(length + 1 + teamLength)], as: UTF8.self) else {
            throw DecodeFailure(field: "team", offset: length + 1, reason: "not UTF-8")
        }
        let payload = Array(entry[(length + 1 + teamLength)...])
        let declared = envelope.withUnsafeBytes {
            Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
        }
        guard declared == payload.count else {
            throw DecodeFailure(
                field: "payload length", offset: 24, reason: "envelope says \(declared), entry holds \(payload.count)")
        }
        return LogicalRecord(envelope: envelope, team: team, payload: payload)
    }
}

extension EventLog {
    /// Opens the sealed segment a CATALOG entry of this origin names (a fresh handle, not the read cache).
    public func openSealedSegment(_ entry: Catalog.Entry) throws(EventLogError) -> SealedSegment {
        try SealedSegment(fs: fs, path: directory + "/" + entry.fileName)
    }
}
