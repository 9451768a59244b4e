/// Builds the bytes of a sealed segment from records given in LSN order: regroups them into ~64 KiB
/// blocks, compresses each region as an LZ4 frame, and writes the seal footer and trailer.
struct SealBuilder {
    private(set) var out: [UInt8]
    private let firstLSN: UInt64
    private var nextLSN: UInt64
    private let previousSealHash: [UInt8]

    private var blockFirstLSN: UInt64 = 0
    private var blockFirstHLC: UInt64 = 0
    private var blockLastHLC: UInt64 = 0
    private var blockCount = 0
    private var envelopes: [UInt8] = []
    private var regionTeams: [String] = []
    private var regionPayloads: [[UInt8]] = []
    private var blockBytes = 0

    private var blocks: [SealFooter.BlockEntry] = []
    private var streams = StreamTableBuilder()
    private var logical = LogicalStreamHasher()
    /// XXH3-64 of the same logical stream, for the fast self-check before the seal is written.
    private let logicalXXH3 = XXH3Stream()
    /// RFC 6962 leaf hash of every record, in LSN order, for the Merkle root.
    private(set) var leaves: [[UInt8]] = []
    /// (XXH3-64 of the stored id, LSN) of every record, for EVENTIDS.
    private(set) var ids: [EventIDIndex.Entry] = []
    private let epoch: UInt32
    private var scratch: [UInt8] = []
    private var firstHLC: UInt64 = 0
    private var lastHLC: UInt64 = 0
    private var minRecordedAt = Int64.max
    private var maxRecordedAt = Int64.min
    private var recordBytes: UInt64 = 0
    /// How payload frames are stored: in a segment with encrypted regions, compressed then encrypted per team.
    private let coding: RegionCoding
    /// The first failure to encrypt a frame (a key the keyring no longer has): the seal must not be written.
    private(set) var cipherFailure: EventLogError?

    init(
        header: SegmentHeader, previousSealHash: [UInt8], cipher: (any RegionCipher)? = nil,
        path: String = "(segment being sealed)"
    ) {
        precondition(header.kind == .sealed && previousSealHash.count == 32)
        coding = RegionCoding(header: header, cipher: cipher, path: path)
        out = header.encode()
        firstLSN = header.firstLSN
        nextLSN = header.firstLSN
        epoch = header.epoch
        self.previousSealHash = previousSealHash
        envelopes.reserveCapacity(Format.targetBlockBytes)
    }

    var count: UInt64 { nextLSN - firstLSN }

    /// Adds the record `lsn` (must be the next one). `envelope` is its encoded envelope as stored in a batch.
    mutating func add(
        lsn: UInt64, view: EnvelopeView, envelope: UnsafeRawBufferPointer, envelopeRegion: UnsafeRawBufferPointer,
        team: String, payload: UnsafeRawBufferPointer
    ) {
        precondition(lsn == nextLSN, "seal input must be contiguous: got \(lsn), expected \(nextLSN)")
        // A block holds at most 255 payload regions (the region index is one byte).
        if regionTeams.count == 255 && !regionTeams.contains(team) { flushBlock() }
        if blockCount == 0 {
            blockFirstLSN = lsn
            blockFirstHLC = view.hlc
        }
        if lsn == firstLSN { firstHLC = view.hlc }
        precondition(view.hlc >= lastHLC, "clocks must not go backwards within an origin")
        lastHLC = view.hlc
        blockLastHLC = view.hlc
        minRecordedAt = min(minRecordedAt, view.recordedAt)
        maxRecordedAt = max(maxRecordedAt, view.recordedAt)

        let region: Int
        if let r = regionTeams.firstIndex(of: team) {
            region = r
        } else {
            region = regionTeams.count
            regionTeams.append(team)
            regionPayloads.append([])
        }
        let envStart = envelopes.count
        envelopes.append(contentsOf: envelope)
        envelopes[envStart + 6] = UInt8(region)
        regionPayloads[region].append(contentsOf: payload)
        Self.hashLogical(&logical, envelope: envelope, team: team, payload: payload)
        Self.hashLogical(logicalXXH3, envelope: envelope, team: team, payload: payload)
        leaves.append(Self.leafHash(envelope: envelope, team: team, payload: payload))
        ids.append(
            .init(
                hash: XXH3.hash(UnsafeRawBufferPointer(rebasing: envelopeRegion[view.ranges.0])), lsn: lsn, epoch: epoch
            ))

        streams.add(view, in: envelopeRegion, lsn: lsn)
        blockCount += 1
        nextLSN += 1
        blockBytes += envelope.count + payload.count
        recordBytes += UInt64(envelope.count + payload.count)
        if blockBytes >= Format.targetBlockBytes { flushBlock() }
    }

    /// The logical record: envelope with its region byte zeroed, team (u8 length + bytes), payload.
    /// The pieces in order, for any hash.
    @inline(__always)
    static func logicalPieces(
        envelope: UnsafeRawBufferPointer, team: String, payload: UnsafeRawBufferPointer,
        _ update: (UnsafeRawBufferPointer) -> Void
    ) {
        update(UnsafeRawBufferPointer(rebasing: envelope[0..<6]))
        var zero: UInt8 = 0
        withUnsafeBytes(of: &zero) { update($0) }
        update(UnsafeRawBufferPointer(rebasing: envelope[7...]))
        var teamLength = UInt8(team.utf8.count)
        withUnsafeBytes(of: &teamLength) { update($0) }
        var t = team
        t.withUTF8 { update(UnsafeRawBufferPointer($0)) }
        update(payload)
    }

    static func hashLogical(
        _ h: inout LogicalStreamHasher, envelope: UnsafeRawBufferPointer, team: String, payload: UnsafeRawBufferPointer
    ) {
        logicalPieces(envelope: envelope, team: team, payload: payload) { h.update($0) }
    }

    static func hashLogical(
        _ h: XXH3Stream, envelope: UnsafeRawBufferPointer, team: String, payload: UnsafeRawBufferPointer
    ) {
        logicalPieces(envelope: envelope, team: team, payload: payload) { h.update($0) }
    }

    /// The RFC 6962 leaf hash of a record: SHA-256(0x00 ‖ logical record).
    static func leafHash(envelope: UnsafeRawBufferPointer, team: String, payload: UnsafeRawBufferPointer) -> [UInt8] {
        var h = MerkleTree.LeafHasher()
        logicalPieces(envelope: envelope, team: team, payload: payload) { h.update($0) }
        return h.finalize()
    }

    var logicalXXH3Digest: UInt64 { logicalXXH3.digest() }

    private mutating func flushBlock() {
        guard blockCount > 0 else { return }
        let start = out.count
        var w = ByteWriter(capacity: Format.blockHeaderSize + 16 * regionTeams.count)
        w.u32(Format.blockMagic)
        w.u32(0)  // length, patched
        w.u64(0)  // checksum, patched
        w.u64(blockFirstLSN)
        w.u32(UInt32(blockCount))
        w.u32(0)
        w.u64(blockFirstHLC)
        w.u64(blockLastHLC)
        w.u32(0)  // envelope frame length, patched
        w.u32(UInt32(envelopes.count))
        w.u16(UInt16(regionTeams.count))
        w.u16(0)
        var descriptorAt: [Int] = []
        for (r, team) in regionTeams.enumerated() {
            descriptorAt.append(w.count)
            w.u32(0)  // frame length, patched
            w.u32(UInt32(regionPayloads[r].count))
            w.u8(UInt8(team.utf8.count))
            w.raw(team.utf8)
        }
        out.append(contentsOf: w.bytes)
        let envFrame = envelopes.withUnsafeBytes { LZ4Frame.compress($0, appendingTo: &out, scratch: &scratch) }
        var frameLengths: [Int] = []
        for (r, p) in regionPayloads.enumerated() {
            if coding.flagged {
                frameLengths.append(codedFrame(p, region: r))
            } else {
                frameLengths.append(p.withUnsafeBytes { LZ4Frame.compress($0, appendingTo: &out, scratch: &scratch) })
            }
        }
        let length = out.count - start
        func patch32(_ v: UInt32, _ at: Int) {
            withUnsafeBytes(of: v.littleEndian) { for i in 0..<4 { out[start + at + i] = $0[i] } }
        }
        patch32(UInt32(length), 4)
        patch32(UInt32(envFrame), 48)
        for (r, at) in descriptorAt.enumerated() { patch32(UInt32(frameLengths[r]), at) }
        let sum = out.withUnsafeBytes {
            XXH3.hash(UnsafeRawBufferPointer(rebasing: $0[(start + 16)..<(start + length)]))
        }
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { out[start + 8 + i] = $0[i] } }
        blocks.append(
            SealFooter.BlockEntry(
                offset: UInt64(start), firstLSN: blockFirstLSN, firstHLC: blockFirstHLC, count: UInt32(blockCount),
                storedLength: UInt32(length)))
        blockCount = 0
        blockBytes = 0
        envelopes.removeAll(keepingCapacity: true)
        regionTeams.removeAll()
        regionPayloads.removeAll()
    }

    /// Compress, then encrypt (FORMAT.md "Encrypted payload regions"): appends the coded LZ4 frame of payload
    /// region `r` to `out` and returns its stored length.
    private mutating func codedFrame(_ payloads: [UInt8], region r: Int) -> Int {
        var frame: [UInt8] = []
        _ = payloads.withUnsafeBytes { LZ4Frame.compress($0, appendingTo: &frame, scratch: &scratch) }
        let start = out.count
        do throws(EventLogError) {
            try frame.withBytes { (f) throws(EventLogError) in
                try coding.encode(f, firstLSN: blockFirstLSN, region: r, team: regionTeams[r], into: &out)
            }
        } catch {
            if cipherFailure == nil { cipherFailure = error }
            out.append(Format.RegionMode.plain)
        }
        return out.count - start
    }

    /// Finishes the segment; returns its bytes, footer and trailer. The signature area is left empty
    /// (`signed(_:with:)` fills it).
    mutating func finish() -> (bytes: [UInt8], footer: SealFooter, trailer: SealTrailer) {
        precondition(count > 0, "a sealed segment holds at least one event")
        flushBlock()
        let footerOffset = out.count
        let fileHash = out.withUnsafeBytes { SHA256Digest.hash($0) }
        let footer = SealFooter(
            eventCount: count, firstLSN: firstLSN, lastLSN: nextLSN - 1, firstHLC: firstHLC, lastHLC: lastHLC,
            minRecordedAt: minRecordedAt, maxRecordedAt: maxRecordedAt, previousSealHash: previousSealHash,
            logicalHash: logical.finalize(), fileHash: fileHash, merkleRoot: MerkleTree.root(leaves: leaves),
            recordBytes: recordBytes, blocks: blocks,
            streams: streams.table())
        let footerBytes = footer.encode()
        out.append(contentsOf: footerBytes)
        let trailer = SealTrailer(
            footerOffset: UInt64(footerOffset), footerLength: UInt32(footerBytes.count),
            sealHash: SHA256Digest.hash(footerBytes), signatureAlgorithm: 0, signature: [])
        out.append(contentsOf: trailer.encode())
        return (out, footer, trailer)
    }

    /// `bytes` (a finished segment) with its trailer's signature area filled.
    static func signed(_ bytes: [UInt8], trailer: SealTrailer, with signature: SealSignature) -> [UInt8] {
        precondition(signature.bytes.count <= SealSignature.maxBytes && signature.algorithm != 0)
        var t = trailer
        t.signatureAlgorithm = signature.algorithm
        t.signature = signature.bytes
        var out = bytes
        out.replaceSubrange((out.count - SealTrailer.size)..., with: t.encode())
        return out
    }
}
