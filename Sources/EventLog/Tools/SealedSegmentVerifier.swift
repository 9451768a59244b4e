/// Full verification of a sealed segment's bytes: header, seal trailer and footer, the seal hash, the
/// SHA-256 of the file and of the logical records, every block checksum and frame, every envelope, the
/// sparse index and the stream table. Used right before a seal is written and by `verify`.
public enum SealedSegmentVerifier {
    /// What a full verification found besides damage (which it throws).
    public struct Result: Sendable {
        public var footer: SealFooter
        /// Teams whose encrypted payload regions this verifier had no key for: the record hashes (the logical
        /// hash and the Merkle root, both over plaintext records) were not checked. Everything over stored bytes
        /// (header, block XXH3, file SHA-256, seal hash, envelopes, stream table) was.
        public var keylessTeams: [String]
        public var recordHashesChecked: Bool { keylessTeams.isEmpty }
    }

    @discardableResult
    /// With `selfCheck` (the XXH3-64 of the logical stream the sealer read), the two SHA-256 passes are
    /// replaced by that comparison: the seal just computed them from these bytes; what must be proven is
    /// that the blocks decode back to exactly the records read.
    public static func verify(
        _ bytes: [UInt8], path: String, expectedPrevious: [UInt8]? = nil, selfCheck: UInt64? = nil,
        cipher: (any RegionCipher)? = nil
    )
        throws(EventLogError) -> SealFooter
    {
        try check(bytes, path: path, expectedPrevious: expectedPrevious, selfCheck: selfCheck, cipher: cipher).footer
    }

    /// `verify`, also saying which teams' records could not be hashed without their key. Encrypted regions are
    /// decrypted (and their tags checked) with `cipher`; a region it has no key for is checked for structure.
    /// The self-check (the sealer, which holds every key) refuses a region it cannot decrypt.
    public static func check(
        _ bytes: [UInt8], path: String, expectedPrevious: [UInt8]? = nil, selfCheck: UInt64? = nil,
        cipher: (any RegionCipher)? = nil
    ) throws(EventLogError) -> Result {
        var keyless: [String] = []
        let footer = try bytes.withBytes { (raw) throws(EventLogError) -> SealFooter in
            func corrupt(_ m: String, _ offset: Int? = nil) -> EventLogError {
                EventLogError.corrupt(m, path: path, offset: offset.map(Int64.init))
            }
            func decoded<T>(_ body: () throws(DecodeFailure) -> T) throws(EventLogError) -> T {
                do throws(DecodeFailure) { return try body() } catch {
                    throw corrupt("\(error.field) \(error.reason)", error.offset)
                }
            }
            guard raw.count >= Format.headerSize + SealTrailer.size + SealFooter.fixedSize else {
                throw corrupt("\(raw.count) bytes is shorter than any sealed segment: truncated", raw.count)
            }
            let header = try decoded { () throws(DecodeFailure) in try SegmentHeader.decode(raw) }
            guard header.kind == .sealed, header.codec == .lz4Frame else {
                throw corrupt("header is not a sealed LZ4 segment", 10)
            }
            let trailerAt = raw.count - SealTrailer.size
            let trailer = try decoded { () throws(DecodeFailure) in
                try SealTrailer.decode(UnsafeRawBufferPointer(rebasing: raw[trailerAt...]), base: trailerAt)
            }
            let fo = Int(trailer.footerOffset)
            guard fo >= Format.headerSize, fo + Int(trailer.footerLength) == trailerAt else {
                throw corrupt("seal footer does not end at the trailer", trailerAt)
            }
            let footerBytes = UnsafeRawBufferPointer(rebasing: raw[fo..<trailerAt])
            guard SHA256Digest.hash(footerBytes) == trailer.sealHash else {
                throw corrupt("seal hash does not match the footer", fo)
            }
            let footer = try decoded { () throws(DecodeFailure) in try SealFooter.decode(footerBytes, base: fo) }
            guard selfCheck != nil || SHA256Digest.hash(UnsafeRawBufferPointer(rebasing: raw[..<fo])) == footer.fileHash
            else {
                throw corrupt("SHA-256 of the file bytes does not match the seal", 0)
            }
            if let expectedPrevious, footer.previousSealHash != expectedPrevious {
                throw corrupt(
                    "previous seal hash breaks the chain (expected \(hexString(expectedPrevious).prefix(16))…)", fo + 72
                )
            }
            guard footer.firstLSN == header.firstLSN else {
                throw corrupt("footer and header disagree on the first LSN", fo + 16)
            }
            var logical = LogicalStreamHasher()
            let quick = XXH3Stream()
            // Segments sealed before the trust layer carry a zero root (legacy); every later one a real one.
            let checkMerkle = selfCheck == nil && footer.merkleRoot.contains { $0 != 0 }
            var leaves: [[UInt8]] = []
            if checkMerkle { leaves.reserveCapacity(Int(footer.eventCount)) }
            var streams = StreamTableBuilder()
            let d = LZ4Frame.Decompressor()
            var expectOffset = Format.headerSize
            var lastHLC: UInt64 = 0
            var minRec = Int64.max
            var maxRec = Int64.min
            var recordBytes: UInt64 = 0
            for b in footer.blocks {
                guard Int(b.offset) == expectOffset, Int(b.offset) + Int(b.storedLength) <= fo else {
                    throw corrupt(
                        "block index entry for LSN \(b.firstLSN) points to \(b.offset), expected \(expectOffset)", fo)
                }
                let stored = UnsafeRawBufferPointer(rebasing: raw[Int(b.offset)..<Int(b.offset) + Int(b.storedLength)])
                let block = try DecodedBlock(
                    stored: stored, fileOffset: Int(b.offset), expectedFirstLSN: b.firstLSN,
                    expectedCount: Int(b.count),
                    path: path, decompressor: d, coding: RegionCoding(header: header, cipher: cipher, path: path))
                for (r, state) in block.regionStates.enumerated() where state != .plain {
                    guard selfCheck == nil else {
                        throw EventLogError(
                            .keyMissing,
                            "sealing needs team \"\(block.teams[r])\"'s key\(state.keyID.map { " \($0)" } ?? "")",
                            path: path, offset: Int64(b.offset), lsn: b.firstLSN,
                            hint: "import the team's key with `aibrain keys team import`")
                    }
                    if !keyless.contains(block.teams[r]) { keyless.append(block.teams[r]) }
                }
                guard b.firstHLC == block.withRecord(0, { v, _, _ in v.hlc }) else {
                    throw corrupt("block index HLC differs from the block's first record", Int(b.offset))
                }
                for i in 0..<block.count {
                    let lsn = block.firstLSN + UInt64(i)
                    let bad: String? = block.withRecord(i) { view, env, payload in
                        if view.hlc <= lastHLC && lsn != footer.firstLSN { return "clock does not rise at LSN \(lsn)" }
                        lastHLC = view.hlc
                        minRec = min(minRec, view.recordedAt)
                        maxRec = max(maxRec, view.recordedAt)
                        recordBytes += UInt64(view.length + view.payloadLength)
                        let team = block.teams[Int(block.payloadRegion[i])]
                        if selfCheck != nil {
                            SealBuilder.hashLogical(quick, envelope: view.bytes(in: env), team: team, payload: payload)
                        } else {
                            SealBuilder.hashLogical(
                                &logical, envelope: view.bytes(in: env), team: team, payload: payload)
                        }
                        if checkMerkle {
                            leaves.append(
                                SealBuilder.leafHash(envelope: view.bytes(in: env), team: team, payload: payload))
                        }
                        streams.add(view, in: env, lsn: lsn)
                        return nil
                    }
                    if let bad { throw corrupt(bad, Int(b.offset)) }
                }
                expectOffset += Int(b.storedLength)
            }
            guard expectOffset == fo else {
                throw corrupt("blocks end at \(expectOffset), the footer starts at \(fo)", expectOffset)
            }
            if let selfCheck, quick.digest() != selfCheck {
                throw corrupt("the sealed blocks do not decode to the records that were sealed", fo + 104)
            }
            guard selfCheck != nil || !keyless.isEmpty || logical.finalize() == footer.logicalHash else {
                throw corrupt("SHA-256 of the logical records does not match the seal", fo + 104)
            }
            guard !checkMerkle || !keyless.isEmpty || MerkleTree.root(leaves: leaves) == footer.merkleRoot else {
                throw corrupt("Merkle root of the records does not match the seal", fo + 168)
            }
            guard lastHLC == footer.lastHLC, minRec == footer.minRecordedAt, maxRec == footer.maxRecordedAt,
                recordBytes == footer.recordBytes
            else { throw corrupt("seal ranges (clock, recorded-at, sizes) differ from the records", fo + 32) }
            let rebuilt = streams.table()
            guard rebuilt.count == footer.streams.count,
                zip(rebuilt, footer.streams).allSatisfy({ $0.name == $1.name && $0.lsns == $1.lsns })
            else {
                throw corrupt("stream table differs from the records", fo)
            }
            return footer
        }
        return Result(footer: footer, keylessTeams: keyless.sorted())
    }
}
