/// One record during a scan: the parsed envelope and its bytes, valid only inside the scan callback.
/// Filters read the envelope; the payload is never parsed here.
public struct RecordRef {
    public let lsn: UInt64
    public let epoch: UInt32
    public let envelope: EnvelopeView
    /// The envelope region the view's ranges refer to.
    public let envelopes: UnsafeRawBufferPointer
    /// Empty unless `payloadState` is `.plain`.
    public let payload: UnsafeRawBufferPointer
    public let team: String
    /// Whether the payload could be read (an encrypted region without its key, a shredded stream key).
    public let payloadState: PayloadState

    public var hlc: UInt64 { envelope.hlc }
    public var type: String { EnvelopeView.text(envelopes, envelope.ranges.1) }
    public var stream: String { EnvelopeView.text(envelopes, envelope.ranges.2) }
    public var eventID: String { envelope.eventID(in: envelopes) }

    public func event(origin: OriginID) -> Event {
        Event(
            origin: origin, epoch: epoch, lsn: lsn, hlc: envelope.hlc, recordedAt: envelope.recordedAt,
            draft: envelope.draft(in: envelopes, team: team, payload: Array(payload)), payloadState: payloadState)
    }

    func with(payload: UnsafeRawBufferPointer, state: PayloadState) -> RecordRef {
        RecordRef(
            lsn: lsn, epoch: epoch, envelope: envelope, envelopes: envelopes, payload: payload, team: team,
            payloadState: state)
    }
}

extension EventLog {
    /// Hands `r` to `body` with a payload sealed by a layer above (crypto-shredding) opened, when the cipher
    /// knows its form: its plaintext, or an empty payload marked `.shredded`.
    @inline(__always)
    func deliver(_ r: RecordRef, _ body: (RecordRef) throws -> Void) throws {
        guard r.payloadState == .plain, let cipher,
            let opened = cipher.openSealedPayload(
                r.payload,
                envelope: {
                    SealedPayloadContext(eventID: r.eventID, type: r.type, stream: r.stream, team: r.team)
                })
        else { return try body(r) }
        switch opened {
        case .opened(let plain):
            try plain.withUnsafeBytes { try body(r.with(payload: $0, state: .plain)) }
        case .shredded(let keyID):
            try body(r.with(payload: UnsafeRawBufferPointer(start: nil, count: 0), state: .shredded(keyID: keyID)))
        }
    }

    /// `e` with a payload sealed by a layer above opened (see `deliver`).
    func opened(_ e: Event) -> Event {
        guard e.payloadState == .plain, let cipher else { return e }
        let result = e.draft.payload.withUnsafeBytes { p in
            cipher.openSealedPayload(
                p,
                envelope: {
                    SealedPayloadContext(eventID: e.eventID, type: e.type, stream: e.stream, team: e.draft.team)
                })
        }
        guard let result else { return e }
        var out = e
        switch result {
        case .opened(let plain): out.draft.payload = plain
        case .shredded(let keyID):
            out.draft.payload = []
            out.payloadState = .shredded(keyID: keyID)
        }
        return out
    }
}

extension EventLog {
    /// Visits every record with `lsn >= from`, in LSN order, verifying every block checksum and envelope.
    /// Sealed segments are read whole and decompressed block by block into reused buffers.
    public func scan(from: UInt64 = 1, _ body: (RecordRef) throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        let decompressor = LZ4Frame.Decompressor()
        var fileScratch: [UInt8] = []
        var envScratch: [UInt8] = []
        var payScratch: [UInt8] = []
        for i in catalog.entries.indices where catalog.entries[i].lastLSN >= from {
            let seg = try sealedSegment(at: i)
            let size = try seg.readAll(into: &fileScratch)
            try fileScratch.withUnsafeBytes { whole in
                let raw = UnsafeRawBufferPointer(rebasing: whole[..<size])
                for b in seg.footer.blocks where b.firstLSN + UInt64(b.count) > from {
                    let stored = UnsafeRawBufferPointer(
                        rebasing: raw[Int(b.offset)..<Int(b.offset) + Int(b.storedLength)])
                    let layout = try BlockLayout.parse(stored, fileOffset: Int(b.offset), path: seg.path)
                    guard layout.firstLSN == b.firstLSN, layout.count == Int(b.count) else {
                        throw EventLogError.corrupt(
                            "block LSNs differ from the seal's index", path: seg.path, offset: Int64(b.offset))
                    }
                    let total = layout.regionLengths.reduce(0, +)
                    // 64 KiB of room beyond the data lets liblz4 decode in place (no internal copy).
                    let slack = 64 << 10
                    if envScratch.count < layout.envelopeLength + slack {
                        envScratch = [UInt8](repeating: 0, count: layout.envelopeLength + slack)
                    }
                    if payScratch.count < total + slack { payScratch = [UInt8](repeating: 0, count: total + slack) }
                    let states = try layout.decompress(
                        stored, envelopes: &envScratch, payloads: &payScratch, decompressor: decompressor,
                        path: seg.path, fileOffset: Int(b.offset), slack: true,
                        coding: RegionCoding(header: seg.header, cipher: cipher, path: seg.path))
                    let none = UnsafeRawBufferPointer(start: nil, count: 0)
                    try envScratch.withUnsafeBytes { envAll in
                        try payScratch.withUnsafeBytes { payAll in
                            let env = UnsafeRawBufferPointer(rebasing: envAll[..<layout.envelopeLength])
                            var regions: [UnsafeRawBufferPointer] = []
                            var at = 0
                            for n in layout.regionLengths {
                                regions.append(UnsafeRawBufferPointer(rebasing: payAll[at..<at + n]))
                                at += n
                            }
                            do {
                                try walkRecords(
                                    envelopes: env, regions: regions, count: layout.count, envelopeBase: 0,
                                    hlcRange: layout.firstHLC...layout.lastHLC
                                ) { k, view, payload in
                                    let lsn = layout.firstLSN + UInt64(k)
                                    if lsn >= from {
                                        let state = states[view.region]
                                        try deliver(
                                            RecordRef(
                                                lsn: lsn, epoch: seg.header.epoch, envelope: view, envelopes: env,
                                                payload: state == .plain ? payload : none,
                                                team: layout.teams[view.region], payloadState: state), body)
                                    }
                                }
                            } catch let e as DecodeFailure {
                                throw EventLogError.corrupt(
                                    "record in block at LSN \(layout.firstLSN): \(e)", path: seg.path,
                                    offset: Int64(b.offset))
                            }
                        }
                    }
                }
            }
        }
        for o in opens {
            for ref in o.batches where ref.lastLSN >= from {
                try withBatch(o, ref) { batch, layout in
                    try CommitBatch.walkRegions(
                        batch, layout, fileOffset: Int(ref.offset),
                        coding: RegionCoding(header: o.header, cipher: cipher, path: o.path)
                    ) { lsn, view, env, payload, state in
                        if lsn >= from {
                            try deliver(
                                RecordRef(
                                    lsn: lsn, epoch: o.header.epoch, envelope: view, envelopes: env, payload: payload,
                                    team: layout.teams[view.region], payloadState: state), body)
                        }
                    }
                }
            }
        }
    }

    /// Events with LSN in `from...through`, in order; stop early by returning false.
    public func read(from: UInt64 = 1, through: UInt64 = .max, _ body: (Event) throws -> Bool) throws {
        struct Stop: Error {}
        do {
            try scan(from: from) { r in
                if r.lsn > through { throw Stop() }
                if try !body(r.event(origin: origin)) { throw Stop() }
            }
        } catch is Stop {}
    }

    /// Every event of a stream or index key, oldest first: seal stream tables through CATALOG, the open
    /// segments' in-memory index, and cached decoded blocks (no scan).
    public func history(stream: String) throws(EventLogError) -> [Event] {
        lock.lock()
        defer { lock.unlock() }
        return try historyLocked(stream: stream)
    }

    func historyLocked(stream: String) throws(EventLogError) -> [Event] {
        var out: [Event] = []
        for i in catalog.segments(ofStream: stream) {
            let seg = try sealedSegment(at: i)
            let lsns = seg.lsns(of: stream)
            out.reserveCapacity(out.count + lsns.count)
            var blockIndex = -1
            var block: DecodedBlock?
            for lsn in lsns {
                guard let b = seg.blockIndex(for: lsn) else { continue }
                if b != blockIndex {
                    block = try cachedBlock(seg, b)
                    blockIndex = b
                }
                out.append(opened(block!.event(Int(lsn - block!.firstLSN), origin: origin, epoch: seg.header.epoch)))
            }
        }
        for lsn in openStreams[.init(stream)] ?? [] {
            if let e = try eventLocked(lsn: lsn) { out.append(e) }
        }
        return out
    }

    /// The event at `lsn`, or nil if the origin has no such LSN (yet).
    public func event(lsn: UInt64) throws(EventLogError) -> Event? {
        lock.lock()
        defer { lock.unlock() }
        return try eventLocked(lsn: lsn)
    }

    /// Events whose writer clock (HLC) lies in `range`, in LSN order (the HLC rises with the LSN).
    public func events(hlcIn range: ClosedRange<UInt64>) throws -> [Event] {
        let start = try lowestLSN(atOrAfterHLC: range.lowerBound)
        var out: [Event] = []
        try read(from: start) { e in
            if e.hlc > range.upperBound { return false }
            if range.contains(e.hlc) { out.append(e) }
            return true
        }
        return out
    }

    /// Events whose writer clock lies in `[from, to]` (Unix milliseconds, inclusive).
    public func events(recordedFrom from: Int64, to: Int64) throws -> [Event] {
        try events(hlcIn: HLC.make(milliseconds: from)...HLC.make(milliseconds: to, counter: .max))
    }

    /// The first LSN whose HLC is at least `hlc` (seal time ranges and block index, then batches).
    func lowestLSN(atOrAfterHLC hlc: UInt64) throws(EventLogError) -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        if let i = catalog.entries.firstIndex(where: { $0.lastHLC >= hlc }) {
            let seg = try sealedSegment(at: i)
            var start = seg.footer.firstLSN
            for b in seg.footer.blocks where b.firstHLC <= hlc { start = b.firstLSN }
            return start
        }
        for o in opens {
            if let ref = o.batches.first(where: { $0.lastHLC >= hlc }) { return ref.firstLSN }
        }
        return nextLSN
    }

    func eventLocked(lsn: UInt64) throws(EventLogError) -> Event? {
        if let i = catalog.entryIndex(lsn: lsn) {
            let seg = try sealedSegment(at: i)
            guard let b = seg.blockIndex(for: lsn) else { return nil }
            let block = try cachedBlock(seg, b)
            return opened(block.event(Int(lsn - block.firstLSN), origin: origin, epoch: seg.header.epoch))
        }
        for o in opens where lsn >= o.firstLSN && lsn <= o.lastLSN {
            var lo = 0
            var hi = o.batches.count - 1
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if o.batches[mid].firstLSN <= lsn { lo = mid } else { hi = mid - 1 }
            }
            let ref = o.batches[lo]
            var found: Event?
            do {
                try withBatch(o, ref) { batch, layout in
                    try CommitBatch.walkRegions(
                        batch, layout, fileOffset: Int(ref.offset),
                        coding: RegionCoding(header: o.header, cipher: cipher, path: o.path)
                    ) { l, view, env, payload, state in
                        if l == lsn {
                            found = Event(
                                origin: origin, epoch: o.header.epoch, lsn: l, hlc: view.hlc,
                                recordedAt: view.recordedAt,
                                draft: view.draft(in: env, team: layout.teams[view.region], payload: Array(payload)),
                                payloadState: state)
                        }
                    }
                }
            } catch let e as EventLogError {
                throw e
            } catch {
                throw EventLogError.corrupt("batch at LSN \(ref.firstLSN): \(error)", path: o.path, offset: ref.offset)
            }
            return found.map(opened)
        }
        return nil
    }

    func lsnsLocked(of stream: String) throws(EventLogError) -> [UInt64] {
        var out: [UInt64] = []
        for i in catalog.segments(ofStream: stream) { out += try sealedSegment(at: i).lsns(of: stream) }
        out += openStreams[.init(stream)] ?? []
        return out
    }

    func cachedBlock(_ seg: SealedSegment, _ b: Int) throws(EventLogError) -> DecodedBlock {
        let key = BlockCache.Key(segmentFirstLSN: seg.footer.firstLSN, block: b)
        if let hit = blockCache.get(key) { return hit }
        let block = try seg.decodeBlock(b, decompressor: decompressor, cipher: cipher)
        blockCache.put(key, block)
        return block
    }

    /// Reads one batch of an open segment and checks it again (a reader never trusts bytes it did not check).
    func withBatch(_ o: OpenState, _ ref: BatchRef, _ body: (UnsafeRawBufferPointer, BatchLayout) throws -> Void) throws
    {
        let bytes = try fs.attempt("reading open segment", path: o.path) { () throws(SystemError) in
            try fs.read(o.fd, count: ref.paddedLength, at: ref.offset)
        }
        try bytes.withUnsafeBytes { raw in
            guard case .batch(let layout) = CommitBatch.probe(raw), layout.firstLSN == ref.firstLSN else {
                throw EventLogError.corrupt(
                    "batch changed on disk after it was checked", path: o.path, offset: ref.offset, lsn: ref.firstLSN)
            }
            try body(UnsafeRawBufferPointer(rebasing: raw[..<layout.length]), layout)
        }
    }

    /// For readers: picks up what writers appended, rolled or sealed since this store was opened.
    public func refresh() throws(EventLogError) {
        lock.lock()
        defer { lock.unlock() }
        if options.readOnly {
            // The usual case for `tail -f`: the writer only appended to the same segment.
            if try refreshAppendedTail() { return }
            blockCache.removeAll()
            sealedSegments = [:]
            try loadReadOnlyState()
        } else {
            blockCache.removeAll()
            try acquireFileLock()
            defer { releaseFileLock() }
            try refreshUnderLock()
        }
    }
}

extension EventLog {
    /// A reader's cheap refresh: when the writer's watermark still names our only open segment and has only
    /// moved forward, reads just the batches between our end and the watermark (each checked as at open).
    /// Returns false when anything else changed (a roll, a seal, a new epoch, bytes that do not check):
    /// the caller then reloads everything.
    func refreshAppendedTail() throws(EventLogError) -> Bool {
        guard opens.count == 1, let active = opens.last, appendBlocked == nil,
            let mark = readLockWatermark(),
            let end = mark.end(forSegment: active.header.epoch, firstLSN: active.firstLSN), end >= active.dataEnd
        else { return false }
        if end == active.dataEnd { return true }
        let bytes = try fs.attempt("reading open segment", path: active.path) { () throws(SystemError) in
            try fs.read(active.fd, count: Int(end - active.dataEnd), at: active.dataEnd)
        }
        guard bytes.count == Int(end - active.dataEnd) else { return false }
        var refs: [BatchRef] = []
        var streams: [(String, UInt64)] = []
        var at = 0
        var expect = nextLSN
        var clock = active.lastHLC
        let ok: Bool = bytes.withUnsafeBytes { raw in
            while at < raw.count {
                let rest = UnsafeRawBufferPointer(rebasing: raw[at...])
                // The same rules as a full scan: LSNs continue, the clock only rises.
                guard case .batch(let layout) = CommitBatch.probe(rest), layout.firstLSN == expect,
                    layout.length <= rest.count, layout.firstHLC > clock
                else { return false }
                clock = layout.lastHLC
                do {
                    try CommitBatch.walkRegions(
                        UnsafeRawBufferPointer(rebasing: rest[..<layout.length]), layout,
                        fileOffset: Int(active.dataEnd) + at, coding: .structural(active.header, path: active.path)
                    ) { lsn, view, env, _, _ in
                        for n in view.indexNames(in: env) { streams.append((n, lsn)) }
                    }
                } catch {
                    return false
                }
                refs.append(
                    BatchRef(
                        offset: active.dataEnd + Int64(at), firstLSN: layout.firstLSN, count: layout.count,
                        firstHLC: layout.firstHLC, lastHLC: layout.lastHLC, paddedLength: layout.length))
                expect = layout.firstLSN + UInt64(layout.count)
                at += layout.length
            }
            return true
        }
        guard ok, let last = refs.last else { return false }
        // (Readers keep no event-id map: only writers look ids up.)
        for (n, l) in streams { openStreams[.init(n), default: []].append(l) }
        active.batches += refs
        active.dataEnd = last.end
        active.lastLSN = last.lastLSN
        active.lastHLC = last.lastHLC
        nextLSN = last.lastLSN + 1
        lastHLC = max(lastHLC, last.lastHLC)
        return true
    }
}
