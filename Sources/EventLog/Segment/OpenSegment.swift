/// Where one commit batch of an open segment lies.
public struct BatchRef: Sendable, Equatable {
    public var offset: Int64
    public var firstLSN: UInt64
    public var count: Int
    public var firstHLC: UInt64
    public var lastHLC: UInt64
    public var paddedLength: Int
    public var lastLSN: UInt64 { firstLSN + UInt64(count) - 1 }
    public var end: Int64 { offset + Int64(paddedLength) }
}

/// What recovery found at the end of an open segment (contract 4; the table is in FORMAT.md).
public enum TailState: Sendable, Equatable {
    /// Valid batches, then zeros or end of file.
    case clean
    /// The last batch is incomplete or fails its checksum and nothing valid follows: cut, bytes kept aside.
    case torn(offset: Int64, reason: String, bytes: Int)
    /// A bad batch with a valid batch after it, or a valid batch out of LSN order: a hard error.
    case corrupt(offset: Int64, reason: String)
}

/// The result of scanning an `.open` file.
public struct OpenScan: Sendable {
    public var header: SegmentHeader
    public var batches: [BatchRef]
    /// Offset just past the last valid batch (where the next batch goes).
    public var dataEnd: Int64
    public var fileSize: Int64
    public var tail: TailState
    public var watermark: Int64?
    public var successorFirstLSN: UInt64?
    public var lastLSN: UInt64 { batches.last?.lastLSN ?? header.firstLSN - 1 }
    public var lastHLC: UInt64 { batches.last?.lastHLC ?? 0 }
}

public enum OpenSegmentScanner {
    /// Scans the bytes of an `.open` file from its header. `stopAt` (from a successor that follows a failed
    /// sync) ends the data there; `limitLSN` ends it at the successor's first LSN - 1. Records are visited
    /// (and so validated) when `visit` is given. Encrypted regions are decrypted (and their tags checked) only
    /// with a `cipher`; without one they are checked for structure and visited with an empty payload and
    /// `.encrypted` (recovery never needs a key). `lazyDurability` (store.json's policy is `interval` or `none`,
    /// and the segment is the active one): a bad or zeroed batch at or past the watermark is a torn tail even if
    /// a valid one follows (R3a).
    public static func scan(
        _ file: UnsafeRawBufferPointer, path: String, watermark: Int64? = nil, stopAt: Int64? = nil,
        limitLSN: UInt64? = nil, cipher: (any RegionCipher)? = nil, lazyDurability: Bool = false,
        visit: (
            (UInt64, EnvelopeView, UnsafeRawBufferPointer, UnsafeRawBufferPointer, String, PayloadState) throws -> Void
        )? = nil
    ) throws(EventLogError) -> OpenScan {
        let header: SegmentHeader
        do {
            header = try SegmentHeader.decode(file)
        } catch {
            throw EventLogError.corrupt(
                "segment header: \(error.field) \(error.reason)", path: path, offset: Int64(error.offset))
        }
        guard header.kind == .open else {
            throw EventLogError.corrupt("header of an .open file says it is sealed", path: path, offset: 10)
        }
        let coding = RegionCoding(header: header, cipher: cipher, path: path)
        /// R3a: under the lazy policies, at or past the watermark that names this segment (published and
        /// fsynced after every sync under those policies), nothing was synced, and writeback order is free.
        func unsyncedMayTear(at offset: Int) -> Bool {
            guard lazyDurability, let w = watermark, stopAt == nil else { return false }
            return Int64(offset) >= w
        }
        let successor = SegmentHeader.readGuardedValue(file, at: Int(Format.successorOffset))
        var end = file.count
        if let stopAt { end = min(end, Int(stopAt)) }
        let data = UnsafeRawBufferPointer(rebasing: file[..<end])
        var batches: [BatchRef] = []
        var offset = Format.headerSize
        var expectLSN = header.firstLSN
        var lastHLC: UInt64 = 0
        var tail = TailState.clean
        scanning: while offset < end {
            if let limitLSN, expectLSN > limitLSN { break }
            let rest = UnsafeRawBufferPointer(rebasing: data[offset...])
            switch CommitBatch.probe(rest) {
            case .end:
                // Zeros where the next batch would be are the clean end only if nothing valid follows
                // (a zeroed batch in the middle must not silently hide the ones after it).
                if unsyncedMayTear(at: offset), validBatch(after: offset, in: data) != nil {
                    // R3a: an unsynced batch the power cut dropped whole, a later one kept.
                    let nonzero = data[offset...].lastIndex(where: { $0 != 0 }).map { $0 + 1 - offset } ?? 0
                    tail = .torn(offset: Int64(offset), reason: "zero bytes where a batch belongs", bytes: nonzero)
                } else if let later = validBatch(after: offset, in: data) {
                    tail = .corrupt(
                        offset: Int64(offset),
                        reason: "zero bytes where a batch belongs; a valid batch follows at offset \(later)")
                }
                break scanning
            case .batch(let layout):
                guard layout.firstLSN == expectLSN, layout.firstHLC > lastHLC || batches.isEmpty else {
                    tail = .corrupt(
                        offset: Int64(offset),
                        reason: layout.firstLSN != expectLSN
                            ? "batch starts at LSN \(layout.firstLSN), expected \(expectLSN)" : "clock goes backwards")
                    break scanning
                }
                if let limitLSN, layout.lastLSN > limitLSN {
                    tail = .corrupt(
                        offset: Int64(offset), reason: "batch crosses the successor's first LSN \(limitLSN + 1)")
                    break scanning
                }
                let batch = UnsafeRawBufferPointer(rebasing: rest[..<layout.length])
                do {
                    try CommitBatch.walkRegions(batch, layout, fileOffset: offset, coding: coding) {
                        lsn, view, env, payload, state in
                        try visit?(lsn, view, env, payload, layout.teams[view.region], state)
                    }
                } catch {
                    tail = .corrupt(
                        offset: Int64(offset),
                        reason: "batch at LSN \(layout.firstLSN) has a checksum but bad records: \(error)")
                    break scanning
                }
                batches.append(
                    BatchRef(
                        offset: Int64(offset), firstLSN: layout.firstLSN, count: layout.count,
                        firstHLC: layout.firstHLC,
                        lastHLC: layout.lastHLC, paddedLength: layout.length))
                expectLSN = layout.lastLSN + 1
                lastHLC = layout.lastHLC
                offset += layout.length
            case .incomplete(let reason), .bad(let reason):
                // Torn only if nothing valid follows (contract 4): look for any later valid batch. Under the
                // lazy policies (`interval`, `none`) batches past the last fdatasync are written back in any
                // order, so a power cut can tear one and keep a later one: at or past the watermark (or with
                // none naming the segment) that is a torn tail too, never synced (R3a in FORMAT.md).
                if !unsyncedMayTear(at: offset), let later = validBatch(after: offset, in: data) {
                    tail = .corrupt(
                        offset: Int64(offset), reason: "\(reason); a valid batch follows at offset \(later)")
                } else {
                    let nonzero = data[offset...].lastIndex(where: { $0 != 0 }).map { $0 + 1 - offset } ?? 0
                    tail = .torn(offset: Int64(offset), reason: reason, bytes: nonzero)
                }
                break scanning
            }
        }
        // The watermark is written only after a successful sync, so it never points past durable data:
        // data ending before it means acknowledged bytes were lost (R19 in FORMAT.md).
        if let w = watermark, stopAt == nil, w > Int64(offset) {
            switch tail {
            case .corrupt: break
            case .clean, .torn:
                tail = .corrupt(
                    offset: Int64(offset),
                    reason:
                        "valid data ends at offset \(offset) but data up to offset \(w) was acknowledged: acknowledged bytes are missing"
                )
            }
        }
        return OpenScan(
            header: header, batches: batches, dataEnd: Int64(offset), fileSize: Int64(file.count), tail: tail,
            watermark: watermark, successorFirstLSN: successor)
    }

    /// The offset of the first valid batch at an 8-aligned offset after `offset`, if any.
    static func validBatch(after offset: Int, in data: UnsafeRawBufferPointer) -> Int? {
        var at = offset + Format.batchAlignment
        while at + 8 <= data.count {
            if data.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian == Format.batchMagic {
                if case .batch = CommitBatch.probe(UnsafeRawBufferPointer(rebasing: data[at...])) { return at }
            }
            at += Format.batchAlignment
        }
        return nil
    }
}
