/// A sealed, immutable segment: header, blocks, seal. Opening reads the header and the seal (two reads);
/// blocks are read and decompressed on demand.
public final class SealedSegment: @unchecked Sendable {
    public let path: String
    public let header: SegmentHeader
    public let trailer: SealTrailer
    public let footer: SealFooter
    public let fileSize: Int64
    private let fs: any FileSystem
    private let fd: FileDescriptor
    private var streamIndex: [Catalog.StreamKey: [UInt64]]?

    /// Opens a sealed segment, checking header, trailer, footer and the seal hash (SHA-256 of the footer).
    /// Any failure is corruption: sealed segments are durable by definition, so truncation is a hard error.
    public init(fs: any FileSystem, path: String) throws(EventLogError) {
        self.fs = fs
        self.path = path
        let fd = try fs.attempt("opening sealed segment", path: path) { () throws(SystemError) in
            try fs.open(path, .readOnly)
        }
        self.fd = fd
        do throws(EventLogError) {
            fileSize = try fs.attempt("reading size", path: path) { () throws(SystemError) in try fs.size(fd) }
            let minimum = Int64(Format.headerSize + SealTrailer.size + SealFooter.fixedSize)
            guard fileSize >= minimum else {
                throw EventLogError.corrupt(
                    "sealed segment is \(fileSize) bytes, shorter than any seal (\(minimum)): truncated", path: path,
                    offset: fileSize)
            }
            let head = try fs.attempt("reading header", path: path) { () throws(SystemError) in
                try fs.read(fd, count: Format.headerSize, at: 0)
            }
            header = try Self.decode(path: path, offset: 0) { () throws(DecodeFailure) in
                try head.withBytes { (b) throws(DecodeFailure) in try SegmentHeader.decode(b) }
            }
            guard header.kind == .sealed else {
                throw EventLogError.corrupt("header says this is an open segment", path: path, offset: 10)
            }
            let trailerAt = fileSize - Int64(SealTrailer.size)
            let tb = try fs.attempt("reading seal", path: path) { () throws(SystemError) in
                try fs.read(fd, count: SealTrailer.size, at: trailerAt)
            }
            trailer = try Self.decode(path: path, offset: trailerAt) { () throws(DecodeFailure) in
                try tb.withBytes { (b) throws(DecodeFailure) in try SealTrailer.decode(b, base: Int(trailerAt)) }
            }
            let fo = Int64(trailer.footerOffset)
            guard fo >= Int64(Format.headerSize), fo + Int64(trailer.footerLength) == trailerAt else {
                throw EventLogError.corrupt(
                    "seal footer at \(fo) + \(trailer.footerLength) does not end at the trailer (\(trailerAt))",
                    path: path, offset: trailerAt)
            }
            let footerLength = Int(trailer.footerLength)
            let fb = try fs.attempt("reading seal footer", path: path) { () throws(SystemError) in
                try fs.read(fd, count: footerLength, at: fo)
            }
            guard SHA256Digest.hash(fb) == trailer.sealHash else {
                throw EventLogError.corrupt("seal hash does not match the footer bytes", path: path, offset: fo)
            }
            footer = try Self.decode(path: path, offset: fo) { () throws(DecodeFailure) in
                try fb.withBytes { (b) throws(DecodeFailure) in try SealFooter.decode(b, base: Int(fo)) }
            }
            guard footer.firstLSN == header.firstLSN else {
                throw EventLogError.corrupt(
                    "footer first LSN \(footer.firstLSN) != header first LSN \(header.firstLSN)", path: path,
                    offset: fo + 16)
            }
            var expect = UInt64(Format.headerSize)
            for b in footer.blocks {
                guard b.offset == expect else {
                    throw EventLogError.corrupt(
                        "block index entry points to \(b.offset), expected \(expect)", path: path, offset: fo)
                }
                expect += UInt64(b.storedLength)
            }
            guard expect == trailer.footerOffset else {
                throw EventLogError.corrupt(
                    "blocks end at \(expect) but the footer starts at \(fo)", path: path, offset: fo)
            }
        } catch {
            fs.close(fd)
            throw error
        }
    }

    deinit { fs.close(fd) }

    static func decode<T>(path: String, offset: Int64, _ body: () throws(DecodeFailure) -> T) throws(EventLogError) -> T
    {
        do { return try body() } catch {
            if error.isUnsupported {
                throw EventLogError(
                    .unsupported, "\(error.field) \(error.reason)", path: path,
                    hint: "open this store with a newer aibrain")
            }
            throw EventLogError.corrupt("\(error.field) \(error.reason)", path: path, offset: Int64(error.offset))
        }
    }

    public var lastLSN: UInt64 { footer.lastLSN }
    public var sealHash: [UInt8] { trailer.sealHash }
    public var name: String { lastPathComponent(path) }

    /// LSNs of a stream or key in this segment (from the seal's stream table).
    public func lsns(of stream: String) -> [UInt64] {
        if streamIndex == nil {
            var d: [Catalog.StreamKey: [UInt64]] = [:]
            d.reserveCapacity(footer.streams.count)
            for s in footer.streams { d[.init(s.name)] = s.lsns }
            streamIndex = d
        }
        return streamIndex?[.init(stream)] ?? []
    }

    /// Index of the block holding `lsn` (binary search over the sparse index).
    public func blockIndex(for lsn: UInt64) -> Int? {
        guard lsn >= footer.firstLSN && lsn <= footer.lastLSN else { return nil }
        var lo = 0
        var hi = footer.blocks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if footer.blocks[mid].firstLSN <= lsn { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Reads the stored bytes of block `i`.
    public func readBlockBytes(_ i: Int) throws(EventLogError) -> [UInt8] {
        let b = footer.blocks[i]
        let bytes = try fs.attempt("reading block \(i)", path: path) { () throws(SystemError) in
            try fs.read(fd, count: Int(b.storedLength), at: Int64(b.offset))
        }
        guard bytes.count == Int(b.storedLength) else {
            throw EventLogError.corrupt("block \(i) is cut short", path: path, offset: Int64(b.offset))
        }
        return bytes
    }

    /// Reads and decodes block `i`; encrypted payload regions are decrypted with `cipher` when it holds their key.
    public func decodeBlock(_ i: Int, decompressor: LZ4Frame.Decompressor, cipher: (any RegionCipher)? = nil)
        throws(EventLogError) -> DecodedBlock
    {
        let bytes = try readBlockBytes(i)
        let b = footer.blocks[i]
        let coding = RegionCoding(header: header, cipher: cipher, path: path)
        return try bytes.withBytes { (raw) throws(EventLogError) in
            try DecodedBlock(
                stored: raw, fileOffset: Int(b.offset), expectedFirstLSN: b.firstLSN, expectedCount: Int(b.count),
                path: path, decompressor: decompressor, coding: coding)
        }
    }

    /// Reads the whole file into `buffer` (reused across segments by scans: no allocation, no zero-fill);
    /// returns the number of bytes.
    public func readAll(into buffer: inout [UInt8]) throws(EventLogError) -> Int {
        let size = Int(fileSize)
        if buffer.count < size { buffer = [UInt8](repeating: 0, count: size + size / 4) }
        let got = try buffer.withMutableBytes { (raw) throws(EventLogError) -> Int in
            try fs.attempt("reading sealed segment", path: path) { () throws(SystemError) in
                try fs.readFully(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<size]), at: 0)
            }
        }
        guard got == size else {
            throw EventLogError.corrupt("sealed segment shrank while being read", path: path, offset: Int64(got))
        }
        return size
    }

    /// Reads the whole file (for full scans and verification).
    public func readAll() throws(EventLogError) -> [UInt8] {
        try fs.attempt("reading sealed segment", path: path) { () throws(SystemError) in
            try fs.read(fd, count: Int(fileSize), at: 0)
        }
    }
}

/// A block's regions decompressed, with each record's envelope and payload position.
public final class DecodedBlock: @unchecked Sendable {
    public let firstLSN: UInt64
    public let count: Int
    public let teams: [String]
    public let envelopes: [UInt8]
    /// All payload regions, decompressed back to back.
    public let payloads: [UInt8]
    /// Per record: envelope offset, payload region, payload offset (in `payloads`), payload length.
    public let envelopeOffsets: [Int32]
    public let payloadRegion: [UInt8]
    public let payloadOffsets: [Int32]
    public let payloadLengths: [Int32]
    /// Per payload region: readable, or stored encrypted without a key here (its payloads read as empty).
    public let regionStates: [PayloadState]
    public var byteSize: Int { envelopes.count + payloads.count + count * 13 }

    /// The payload state of record `i`.
    public func payloadState(_ i: Int) -> PayloadState { regionStates[Int(payloadRegion[i])] }

    /// Checks the block checksum, decompresses (and, with a key, decrypts) every frame and walks every envelope.
    init(
        stored: UnsafeRawBufferPointer, fileOffset: Int, expectedFirstLSN: UInt64, expectedCount: Int, path: String,
        decompressor: LZ4Frame.Decompressor, coding: RegionCoding
    ) throws(EventLogError) {
        let layout = try BlockLayout.parse(stored, fileOffset: fileOffset, path: path)
        guard layout.firstLSN == expectedFirstLSN, layout.count == expectedCount else {
            throw EventLogError.corrupt(
                "block holds LSNs \(layout.firstLSN)+\(layout.count), the seal's index says \(expectedFirstLSN)+\(expectedCount)",
                path: path, offset: Int64(fileOffset))
        }
        firstLSN = layout.firstLSN
        count = layout.count
        teams = layout.teams
        var env = [UInt8](repeating: 0, count: layout.envelopeLength)
        var regionStart: [Int] = []
        var total = 0
        for n in layout.regionLengths {
            regionStart.append(total)
            total += n
        }
        var pay = [UInt8](repeating: 0, count: total)
        regionStates = try layout.decompress(
            stored, envelopes: &env, payloads: &pay, decompressor: decompressor, path: path, fileOffset: fileOffset,
            coding: coding)
        var eo = [Int32]()
        var pr = [UInt8]()
        var po = [Int32]()
        var pl = [Int32]()
        eo.reserveCapacity(count)
        pr.reserveCapacity(count)
        po.reserveCapacity(count)
        pl.reserveCapacity(count)
        do {
            try env.withUnsafeBytes { envBuf in
                try pay.withUnsafeBytes { payBuf in
                    let regionBufs = layout.regionLengths.indices.map { r in
                        UnsafeRawBufferPointer(
                            rebasing: payBuf[regionStart[r]..<regionStart[r] + layout.regionLengths[r]])
                    }
                    var offset = 0
                    try walkRecords(
                        envelopes: envBuf, regions: regionBufs, count: layout.count, envelopeBase: 0,
                        hlcRange: layout.firstHLC...layout.lastHLC
                    ) { _, view, payload in
                        eo.append(Int32(offset))
                        pr.append(UInt8(view.region))
                        po.append(Int32(payload.baseAddress.map { $0 - payBuf.baseAddress! } ?? 0))
                        pl.append(Int32(payload.count))
                        offset += view.length
                    }
                }
            }
        } catch let e as DecodeFailure {
            throw EventLogError.corrupt(
                "record in block at LSN \(firstLSN): \(e.field) at envelope offset \(e.offset): \(e.reason)",
                path: path,
                offset: Int64(fileOffset))
        } catch {
            throw EventLogError.corrupt("record in block: \(error)", path: path, offset: Int64(fileOffset))
        }
        envelopes = env
        payloads = pay
        envelopeOffsets = eo
        payloadRegion = pr
        payloadOffsets = po
        payloadLengths = pl
    }

    /// Materializes record `i` of this block.
    public func event(_ i: Int, origin: OriginID, epoch: UInt32) -> Event {
        envelopes.withUnsafeBytes { env in
            // The block was fully walked when decoded, so this parse cannot fail.
            let view = try! EnvelopeView.parse(env, at: Int(envelopeOffsets[i]))
            let state = payloadState(i)
            let start = Int(payloadOffsets[i])
            let payload = state == .plain ? Array(payloads[start..<start + Int(payloadLengths[i])]) : []
            return Event(
                origin: origin, epoch: epoch, lsn: firstLSN + UInt64(i), hlc: view.hlc, recordedAt: view.recordedAt,
                draft: view.draft(in: env, team: teams[Int(payloadRegion[i])], payload: payload), payloadState: state)
        }
    }

    /// The envelope of record `i` and its bytes, for filters that must not parse payloads. The payload of a
    /// record stored encrypted without a key here is empty (see `payloadState`).
    public func withRecord<T>(_ i: Int, _ body: (EnvelopeView, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> T)
        -> T
    {
        envelopes.withUnsafeBytes { env in
            payloads.withUnsafeBytes { pay in
                let view = try! EnvelopeView.parse(env, at: Int(envelopeOffsets[i]))
                let start = Int(payloadOffsets[i])
                let length = payloadState(i) == .plain ? Int(payloadLengths[i]) : 0
                return body(view, env, UnsafeRawBufferPointer(rebasing: pay[start..<start + length]))
            }
        }
    }
}

/// The parsed header of a sealed block (ranges relative to the block start).
struct BlockLayout {
    var length: Int
    var firstLSN: UInt64
    var count: Int
    var firstHLC: UInt64
    var lastHLC: UInt64
    var envelopeLength: Int
    var envelopeFrame: Range<Int>
    var teams: [String]
    var regionLengths: [Int]
    var regionFrames: [Range<Int>]

    /// Checks magic, length and XXH3-64 of a block whose bytes start `stored`.
    static func parse(_ stored: UnsafeRawBufferPointer, fileOffset: Int, path: String) throws(EventLogError)
        -> BlockLayout
    {
        func bad(_ why: String) -> EventLogError {
            EventLogError.corrupt("block: \(why)", path: path, offset: Int64(fileOffset))
        }
        guard stored.count >= Format.blockHeaderSize else { throw bad("shorter than a block header") }
        let magic = UInt32(littleEndian: stored.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard magic == Format.blockMagic else { throw bad("bad magic 0x\(String(magic, radix: 16))") }
        let length = Int(UInt32(littleEndian: stored.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard length >= Format.blockHeaderSize, length <= stored.count else {
            throw bad("length \(length) runs past the \(stored.count) bytes of the block")
        }
        let sum = UInt64(littleEndian: stored.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let actual = XXH3.hash(UnsafeRawBufferPointer(rebasing: stored[16..<length]))
        guard sum == actual else { throw bad("checksum mismatch (stored \(hex64(sum)), computed \(hex64(actual)))") }
        do {
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: stored[..<length]), offset: 16, base: fileOffset)
            let first = try r.u64("first lsn")
            let count = Int(try r.u32("count"))
            _ = try r.u32("reserved")
            let fh = try r.u64("first hlc")
            let lh = try r.u64("last hlc")
            let envFrame = Int(try r.u32("envelope frame length"))
            let envLen = Int(try r.u32("envelope length"))
            let regionCount = Int(try r.u16("region count"))
            _ = try r.u16("reserved")
            guard count >= 1, fh <= lh, envLen <= 64 << 20 else { throw bad("impossible header values") }
            var teams: [String] = []
            var lengths: [Int] = []
            var frames: [Int] = []
            for _ in 0..<regionCount {
                frames.append(Int(try r.u32("frame length")))
                lengths.append(Int(try r.u32("region length")))
                guard lengths.last! <= 64 << 20 else { throw bad("region length too large") }
                let n = Int(try r.u8("team length"))
                guard let t = String(validating: try r.bytes(n, "team"), as: UTF8.self) else {
                    throw bad("team not UTF-8")
                }
                teams.append(t)
            }
            var at = r.offset
            guard envFrame <= length - at else { throw bad("envelope frame runs past the block") }
            let ef = at..<at + envFrame
            at += envFrame
            var rf: [Range<Int>] = []
            for f in frames {
                guard f <= length - at else { throw bad("payload frame runs past the block") }
                rf.append(at..<at + f)
                at += f
            }
            guard at == length else { throw bad("frames end at \(at), block at \(length)") }
            return BlockLayout(
                length: length, firstLSN: first, count: count, firstHLC: fh, lastHLC: lh, envelopeLength: envLen,
                envelopeFrame: ef, teams: teams, regionLengths: lengths, regionFrames: rf)
        } catch let e as DecodeFailure {
            throw bad("\(e)")
        } catch let e as EventLogError {
            throw e
        } catch {
            throw bad("\(error)")
        }
    }

    /// Decompresses the envelope frame into `envelopes` and the payload frames, back to back, into `payloads`
    /// (both sized by the caller from this layout).
    /// With `slack`, each frame may use the rest of the buffer as room (scratch buffers of the scan path
    /// have 64 KiB spare), so liblz4 decodes in place.
    ///
    /// In a segment with encrypted regions each payload frame is decoded first (`RegionCoding`): a frame
    /// stored encrypted is decrypted, then decompressed. A frame this reader has no key for is left as zeros
    /// (its length is known from the descriptor) and its region's state says so. Returns one state per region.
    @discardableResult
    func decompress(
        _ stored: UnsafeRawBufferPointer, envelopes: inout [UInt8], payloads: inout [UInt8],
        decompressor: LZ4Frame.Decompressor, path: String, fileOffset: Int, slack: Bool = false, coding: RegionCoding
    ) throws(EventLogError) -> [PayloadState] {
        var states: [PayloadState] = []
        states.reserveCapacity(regionFrames.count)
        var plain: [UInt8] = []
        do {
            try envelopes.withMutableBytes { (dst) throws(LZ4Frame.Failure) in
                try decompressor.decompress(
                    UnsafeRawBufferPointer(rebasing: stored[envelopeFrame]),
                    into: slack ? dst : UnsafeMutableRawBufferPointer(rebasing: dst[..<envelopeLength]),
                    expectedSize: envelopeLength)
            }
        } catch {
            throw EventLogError.corrupt("block frame: \(error.reason)", path: path, offset: Int64(fileOffset))
        }
        var at = 0
        for r in regionFrames.indices {
            plain.removeAll(keepingCapacity: true)
            let frame = UnsafeRawBufferPointer(rebasing: stored[regionFrames[r]])
            let decoded = try coding.decode(
                frame, firstLSN: firstLSN, region: r, team: teams[r],
                fileOffset: fileOffset + regionFrames[r].lowerBound,
                into: &plain)
            let length = regionLengths[r]
            do {
                try payloads.withMutableBytes { (dst) throws(LZ4Frame.Failure) in
                    let target = UnsafeMutableRawBufferPointer(rebasing: slack ? dst[at...] : dst[at..<at + length])
                    switch decoded {
                    case .plain(let range):
                        try decompressor.decompress(
                            UnsafeRawBufferPointer(rebasing: frame[range]), into: target, expectedSize: length)
                    case .decrypted(let range):
                        try plain.withBytes { (p) throws(LZ4Frame.Failure) in
                            try decompressor.decompress(
                                UnsafeRawBufferPointer(rebasing: p[range]), into: target, expectedSize: length)
                        }
                    case .unavailable:
                        // Never garbage: a region without its key reads as zeros of its recorded length.
                        UnsafeMutableRawBufferPointer(rebasing: dst[at..<at + length]).initializeMemory(
                            as: UInt8.self, repeating: 0)
                    }
                }
            } catch {
                throw EventLogError.corrupt(
                    "block frame of payload region \(r): \(error.reason)", path: path,
                    offset: Int64(fileOffset + regionFrames[r].lowerBound))
            }
            if case .unavailable(let state, _) = decoded { states.append(state) } else { states.append(.plain) }
            at += length
        }
        return states
    }
}
