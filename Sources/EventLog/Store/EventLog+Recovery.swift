/// Opening a store: discovery, CATALOG and EVENTIDS, and recovery by decision table (contract 4,
/// FORMAT.md "Recovery"). Runs under `LOCK` unless read-only; a read-only open repairs nothing.
extension EventLog {
    /// Readers take no lock, so a writer may seal (and remove) an `.open` between our directory listing
    /// and our open of it: that race is retried, never reported as an error.
    func loadReadOnlyState() throws(EventLogError) {
        var attempt = 0
        while true {
            do {
                try loadState(recover: false)
                return
            } catch  where error.underlying?.errno == 2 && attempt < 5 {
                attempt += 1
                sealedSegments = [:]
                appendBlocked = nil
            }
        }
    }

    func loadState(recover: Bool) throws(EventLogError) {
        let names = try fs.attempt("listing the log directory", path: directory) { () throws(SystemError) in
            try fs.listDirectory(directory)
        }
        var removedTemporary = false
        var sealedNames: [(epoch: UInt32, lsn: UInt64, name: String)] = []
        var openNames: [(epoch: UInt32, lsn: UInt64, name: String)] = []
        for n in names {
            if let p = SegmentName.parse(n) {
                if p.sealed {
                    sealedNames.append((p.epoch, p.firstLSN, n))
                } else {
                    openNames.append((p.epoch, p.firstLSN, n))
                }
            } else if recover && n.contains(".seg.tmp") {
                // Row "crash during sealing": the tmp file is discarded and the seal is redone from the .open.
                try fs.attempt("removing an unfinished seal", path: directory + "/" + n) { () throws(SystemError) in
                    try fs.unlink(directory + "/" + n)
                }
                recoveryActions.actions.append(.removedUnfinishedSeal(file: n))
                removedTemporary = true
            }
        }
        sealedNames.sort { ($0.epoch, $0.lsn) < ($1.epoch, $1.lsn) }
        openNames.sort { ($0.epoch, $0.lsn) < ($1.epoch, $1.lsn) }
        if removedTemporary {
            // Only a removal changed the directory; opening a store otherwise costs no directory fsync.
            try fs.attempt("syncing the log directory", path: directory) { () throws(SystemError) in
                try fs.fsyncDirectory(directory)
            }
        }
        try loadCatalog(sealedNames.map(\.name), writable: recover)

        // Row "seal finished but .open not removed": the .seg is authoritative once it opens cleanly.
        var remaining: [String] = []
        let sealedSet = Set(sealedNames.map(\.name))
        for o in openNames {
            let segName = SegmentName.make(epoch: o.epoch, firstLSN: o.lsn, sealed: true)
            if sealedSet.contains(segName) {
                if recover {
                    _ = try sealedSegment(named: segName)
                    try fs.attempt("removing a sealed .open", path: directory + "/" + o.name) {
                        () throws(SystemError) in
                        try fs.unlink(directory + "/" + o.name)
                        try fs.fsyncDirectory(directory)
                    }
                    recoveryActions.actions.append(.finishedSeal(file: o.name))
                }
            } else {
                remaining.append(o.name)
            }
        }
        try loadOpenSegments(remaining, recover: recover)
        try loadEventIndex(rebuild: recover)
        if recover && appendBlocked == nil && opens.count > 1 {
            // Row "rolled but not sealed": every .open but the newest is sealed now (the seal is redone).
            while opens.count > 1 {
                let name = opens[0].name
                do {
                    try sealOldestOpen()
                } catch  where error.code == .keyMissing {
                    // Sealing an encrypted segment needs its team keys; without them the segment stays open
                    // (readable, and sealed by the next writer that has the keys) instead of failing the open.
                    break
                }
                recoveryActions.actions.append(.redidSeal(file: name))
            }
        }
    }

    /// Reads CATALOG; rebuilds it from the seals when it is missing, damaged, or lists other files.
    func loadCatalog(_ sealedNames: [String], writable: Bool) throws(EventLogError) {
        catalogDamaged = false
        let path = directory + "/CATALOG"
        if let bytes = try? fs.readFile(path), let c = try? Catalog.decode(bytes),
            c.entries.map(\.fileName) == sealedNames
        {
            catalog = c
            return
        }
        var c = Catalog()
        sealedSegments = [:]
        for (i, n) in sealedNames.enumerated() {
            let path = directory + "/" + n
            do throws(EventLogError) {
                let seg = try SealedSegment(fs: fs, path: path)
                let previous = c.entries.last
                if seg.header.origin != origin {
                    throw EventLogError.corrupt(
                        "sealed segment belongs to origin \(seg.header.origin.hex)", path: path, offset: 32)
                }
                if seg.footer.firstLSN != (previous?.lastLSN ?? 0) + 1 {
                    throw EventLogError.corrupt(
                        "LSNs jump from \(previous?.lastLSN ?? 0) to \(seg.footer.firstLSN): a segment is missing",
                        path: path,
                        lsn: seg.footer.firstLSN)
                }
                if seg.footer.previousSealHash != (previous?.sealHash ?? [UInt8](repeating: 0, count: 32)) {
                    throw EventLogError.corrupt(
                        "the seal chain is broken (previous seal hash does not match)", path: path,
                        lsn: seg.footer.firstLSN)
                }
                c.add(seg)
                sealedSegments[i] = seg
            } catch  where error.code == .corruption {
                // Contract 4: a hard error, with everything before it still readable; appends refused.
                recoveryActions.actions.append(.corruption(error.description))
                block(error)
                catalogDamaged = true
                break
            }
        }
        catalog = c
        if !sealedNames.isEmpty || (try? fs.stat(path)) != nil {
            recoveryActions.actions.append(.rebuiltCatalog)
        }
        if writable && appendBlocked == nil { try writeCatalog() }
    }

    func writeCatalog() throws(EventLogError) {
        let path = directory + "/CATALOG"
        let bytes = catalog.encode()
        try fs.attempt("writing CATALOG", path: path) { () throws(SystemError) in
            try fs.writeFileAtomically(path, bytes)
        }
    }

    /// The sealed segment at catalog index `i`, opened on first use.
    func sealedSegment(at i: Int) throws(EventLogError) -> SealedSegment {
        if let s = sealedSegments[i] { return s }
        let s = try SealedSegment(fs: fs, path: directory + "/" + catalog.entries[i].fileName)
        let e = catalog.entries[i]
        guard s.sealHash == e.sealHash, s.footer.lastLSN == e.lastLSN else {
            throw EventLogError.corrupt(
                "sealed segment does not match CATALOG (seal hash or LSN range differs)", path: s.path,
                lsn: e.firstLSN)
        }
        sealedSegments[i] = s
        return s
    }

    func sealedSegment(named name: String) throws(EventLogError) -> SealedSegment {
        if let i = catalog.entries.firstIndex(where: { $0.fileName == name }) { return try sealedSegment(at: i) }
        return try SealedSegment(fs: fs, path: directory + "/" + name)
    }

    /// Scans the `.open` files, oldest first, applying the recovery table.
    func loadOpenSegments(_ names: [String], recover: Bool) throws(EventLogError) {
        for o in opens { fs.close(o.fd) }
        opens = []
        openIDs = [:]
        openStreams = [:]
        let sealedLast = catalog.entries.last
        nextLSN = (sealedLast?.lastLSN ?? 0) + 1
        lastHLC = sealedLast?.lastHLC ?? 0
        let early = readLockWatermark()
        // Open segments a reader reads whole although the watermark names them (see below).
        var bypassedWatermark: Set<String> = []
        // Read every file first: a successor's header bounds its predecessor.
        var files:
            [(name: String, fd: FileDescriptor, bytes: SegmentBytes, header: SegmentHeader?, unsupported: String?)] =
                []
        for n in names {
            let path = directory + "/" + n
            let fd = try fs.attempt("opening open segment", path: path) { () throws(SystemError) in
                try fs.open(path, recover ? .readWrite : .readOnly)
            }
            // Readers need only what the writer has synced; recovery reads everything (torn tails, zeros).
            let name = SegmentName.parse(n)
            var synced = recover ? nil : name.flatMap { early?.end(forSegment: $0.epoch, firstLSN: $0.firstLSN) }
            // Under `always`, data past the watermark while no writer holds LOCK (no commit in progress): a power
            // cut brought back an older watermark (LOCK is never synced under `always`), or a writer was killed
            // between its write and its sync. Synced now, under LOCK, it is durable and readers see it, instead
            // of missing acknowledged events until the next writer opens the store. (Under the lazy policies
            // data past the watermark is the normal state, and the watermark is fsynced: never bypassed.)
            var idleLock: FileDescriptor?
            if let w = synced, storedConfig.policies.durability == .always,
                let lock = dataPastWatermarkWithNoWriter(fd, at: w)
            {
                if (try? fs.fdatasync(fd)) != nil {
                    synced = nil
                    bypassedWatermark.insert(n)
                    idleLock = lock
                } else {
                    fs.unlock(lock)
                    fs.close(lock)
                }
            }
            defer {
                if let idleLock {
                    fs.unlock(idleLock)
                    fs.close(idleLock)
                }
            }
            let bytes: SegmentBytes
            do throws(EventLogError) {
                bytes = try fs.attempt("reading open segment", path: path) { () throws(SystemError) in
                    let size = Int(try fs.size(fd))
                    let count = synced.map { min(size, max(Int($0), Format.headerSize)) } ?? size
                    // Mapped only under LOCK (recovery) or up to the watermark (a reader): see SegmentBytes.
                    return try SegmentBytes(fs: fs, fd: fd, count: count, mayMap: recover || synced != nil)
                }
            } catch {
                // None of these descriptors has been handed on yet: a reader that retries must not leak them.
                fs.close(fd)
                for f in files { fs.close(f.fd) }
                throw error
            }
            var header: SegmentHeader?
            var unsupported: String?
            do throws(DecodeFailure) {
                header = try bytes.withBytes { (b) throws(DecodeFailure) in try SegmentHeader.decode(b) }
            } catch {
                if error.isUnsupported { unsupported = "\(error.field): \(error.reason)" }
            }
            files.append((n, fd, bytes, header, unsupported))
        }
        let mark = early
        var keep: [(name: String, fd: FileDescriptor, bytes: SegmentBytes, header: SegmentHeader)] = []
        for (index, f) in files.enumerated() {
            if let h = f.header {
                keep.append((f.name, f.fd, f.bytes, h))
                continue
            }
            let path = directory + "/" + f.name
            if let reason = f.unsupported {
                // This one, the ones not looked at yet and the ones kept so far: none is handed on.
                fs.close(f.fd)
                for g in files[(index + 1)...] { fs.close(g.fd) }
                for k in keep { fs.close(k.fd) }
                throw EventLogError(.unsupported, reason, path: path, hint: "open this store with a newer aibrain")
            }
            // Row "torn segment creation": a header that is not valid, with nothing but zeros after it.
            if f.bytes.count <= Format.headerSize || f.bytes.isZero(from: Format.headerSize) {
                if recover {
                    let kept = try keepAside(path, f.bytes.copied, suffix: ".broken")
                    fs.close(f.fd)
                    try fs.attempt("removing a torn segment", path: path) { () throws(SystemError) in
                        try fs.unlink(path)
                        try fs.fsyncDirectory(directory)
                    }
                    recoveryActions.actions.append(.removedTornSegment(file: f.name, keptIn: kept))
                } else {
                    fs.close(f.fd)
                }
                continue
            }
            fs.close(f.fd)
            let e = EventLogError.corrupt("the segment header is damaged but data follows it", path: path, offset: 0)
            recoveryActions.actions.append(.corruption(e.description))
            block(e)
            // Everything before this segment stays readable; nothing after it is trusted.
            for g in files[(index + 1)...] { fs.close(g.fd) }
            break
        }
        keep = try setAsideOrphans(keep, recover: recover)
        // After corruption in one segment, later ones are not loaded (nothing after damage is trusted).
        var stop = catalogDamaged
        for (i, f) in keep.enumerated() {
            let path = directory + "/" + f.name
            let successor = i + 1 < keep.count ? keep[i + 1].header : nil
            let stopAt: Int64? = successor.flatMap {
                $0.compatibleFeatures & Format.CompatibleFeature.followsFailedSync != 0
                    ? Int64($0.predecessorEndOffset) : nil
            }
            let expected = nextLSN
            guard !stop, f.header.firstLSN == expected, f.header.origin == origin else {
                for g in keep[i...] { fs.close(g.fd) }
                if stop { break }
                let e = EventLogError.corrupt(
                    f.header.origin != origin
                        ? "open segment belongs to origin \(f.header.origin.hex)"
                        : "open segment starts at LSN \(f.header.firstLSN) but the log before it ends at \(expected - 1) (a gap or overlap)",
                    path: path, lsn: f.header.firstLSN)
                recoveryActions.actions.append(.corruption(e.description))
                block(e)
                break
            }
            var ids: [(ID128, UInt64, UInt64)] = []
            var streams: [(String, UInt64)] = []
            // About 700 bytes per event in practice: reserving avoids rehashing the maps as they grow.
            let estimate = f.bytes.count / 512
            let needIDs = !options.readOnly
            if needIDs { ids.reserveCapacity(estimate) }
            streams.reserveCapacity(estimate)
            if needIDs { openIDs.reserveCapacity(openIDs.count + estimate) }
            let synced = mark?.end(forSegment: f.header.epoch, firstLSN: f.header.firstLSN)
            let scan: OpenScan
            do throws(EventLogError) {
                scan = try f.bytes.withBytes { (b) throws(EventLogError) in
                    try OpenSegmentScanner.scan(
                        b, path: path, watermark: synced, stopAt: stopAt, limitLSN: successor.map { $0.firstLSN - 1 },
                        lazyDurability: storedConfig.policies.durability != .always && successor == nil
                    ) { lsn, view, env, _, _, _ in
                        // Only writers look event ids up (duplicates); readers skip the map.
                        if needIDs { ids.append((ID128(Self.idBytes(view, env)), lsn, view.hlc)) }
                        for n in view.indexNames(in: env) { streams.append((n, lsn)) }
                    }
                }
            } catch  where error.code == .corruption {
                // A header that decodes but cannot be an open segment: corruption, earlier data readable.
                for g in keep[i...] { fs.close(g.fd) }
                recoveryActions.actions.append(.corruption(error.description))
                block(error)
                break
            }
            let state = OpenState(path: path, scan: scan, fd: f.fd, writable: recover)
            if !recover, !bypassedWatermark.contains(f.name), let w = scan.watermark {
                // Readers see only what the writer has synced (contract 2).
                state.batches = state.batches.filter { $0.end <= w }
                state.lastLSN = state.batches.last?.lastLSN ?? state.firstLSN - 1
                state.lastHLC = state.batches.last?.lastHLC ?? 0
                state.dataEnd = state.batches.last?.end ?? Int64(Format.headerSize)
            }
            for (k, l, h) in ids where l <= state.lastLSN { openIDs[k] = (l, h) }
            for (n, l) in streams where l <= state.lastLSN { openStreams[.init(n), default: []].append(l) }
            switch scan.tail {
            case .clean:
                break
            case .torn(let offset, let reason, _) where successor != nil && stopAt == nil:
                // A segment the log already moved past holds only synced data: its end is never torn.
                let e = EventLogError.corrupt(
                    "\(reason) in a segment that has a successor", path: path, offset: offset, lsn: state.lastLSN + 1)
                recoveryActions.actions.append(.corruption(e.description))
                block(e)
                stop = true
            case .torn(let offset, let reason, let bytes):
                if recover {
                    try cutTornTail(state, at: offset, bytes: bytes, reason: reason, file: f.bytes.copied)
                }
            case .corrupt(let offset, let reason):
                let e = EventLogError.corrupt(reason, path: path, offset: offset, lsn: state.lastLSN + 1)
                recoveryActions.actions.append(.corruption(e.description))
                block(e)
                stop = true
            }
            if !stop, let successor, state.lastLSN != successor.firstLSN - 1 {
                let e = EventLogError.corrupt(
                    "segment ends at LSN \(state.lastLSN) but its successor starts at \(successor.firstLSN)",
                    path: path,
                    lsn: state.lastLSN)
                recoveryActions.actions.append(.corruption(e.description))
                block(e)
                stop = true
            }
            opens.append(state)
            nextLSN = state.lastLSN + 1
            lastHLC = max(lastHLC, state.lastHLC)
        }
    }

    /// R20: an empty `.open` that an older version's interrupted roll left behind (created, then the process was
    /// killed before it marked the old segment superseded, so other writers kept appending to the old one). It
    /// starts inside its predecessor's events; bounding the predecessor by it would hide acknowledged events (R19).
    /// Such a file holds nothing: a writer renames it to `<name>.failed-<ms>` (R18 side file), a reader ignores it.
    /// A successor created after a failed sync (`followsFailedSync`) is never one: it bounds what was acknowledged.
    func setAsideOrphans(
        _ keep: [(name: String, fd: FileDescriptor, bytes: SegmentBytes, header: SegmentHeader)], recover: Bool
    ) throws(EventLogError) -> [(name: String, fd: FileDescriptor, bytes: SegmentBytes, header: SegmentHeader)] {
        func empty(_ k: Int) -> Bool {
            keep[k].header.compatibleFeatures & Format.CompatibleFeature.followsFailedSync == 0
                && keep[k].bytes.isZero(from: Format.headerSize)
        }
        var orphans: Set<Int> = []
        for i in keep.indices.dropLast() where !orphans.contains(i) {
            let mark = keep[i].bytes.withBytes { SegmentHeader.readGuardedValue($0, at: Int(Format.successorOffset)) }
            if let mark, let j = keep.indices.first(where: { $0 > i && keep[$0].header.firstLSN == mark }) {
                // The old segment names a later successor: empty files between the two were abandoned.
                for k in (i + 1)..<j where empty(k) && keep[k].header.firstLSN <= mark { orphans.insert(k) }
            } else if i + 1 == keep.count - 1, empty(i + 1) {
                // No mark names it: an orphan if the old segment holds events at or past its first LSN.
                let scanned = try? keep[i].bytes.withBytes { (b) throws(EventLogError) in
                    try OpenSegmentScanner.scan(b, path: directory + "/" + keep[i].name, watermark: nil) {
                        _, _, _, _, _, _ in
                    }
                }
                if let scanned, scanned.lastLSN >= keep[i + 1].header.firstLSN { orphans.insert(i + 1) }
            }
        }
        guard !orphans.isEmpty else { return keep }
        var kept = keep
        for k in orphans.sorted(by: >) {
            let o = kept.remove(at: k)
            fs.close(o.fd)
            guard recover else { continue }
            let path = directory + "/" + o.name
            let aside = path + ".failed-\(UInt64(options.clock()))"
            try fs.attempt("setting aside an empty segment of an interrupted roll", path: path) {
                () throws(SystemError) in
                try fs.rename(path, aside)
                try fs.fsyncDirectory(directory)
            }
            recoveryActions.actions.append(.setAsideOrphanSegment(file: o.name, keptIn: lastPathComponent(aside)))
        }
        return kept
    }

    /// For a reader: when the `.open` behind `fd` has bytes at the watermark `w` (a batch the watermark does not
    /// cover) and no writer holds `LOCK`, returns `LOCK` taken (the caller syncs, reads, then unlocks and
    /// closes it). nil otherwise: the usual case, or a writer is running and will publish its watermark.
    func dataPastWatermarkWithNoWriter(_ fd: FileDescriptor, at w: Int64) -> FileDescriptor? {
        guard options.readOnly, let head = try? fs.read(fd, count: 8, at: w), head.contains(where: { $0 != 0 }),
            let lock = try? fs.open(directory + "/LOCK", .readOnly)
        else { return nil }
        if (try? fs.lock(lock, nonBlocking: true)) == true { return lock }
        fs.close(lock)
        return nil
    }

    /// The readers' watermark from LOCK (nil if there is no LOCK or its bytes do not check).
    func readLockWatermark() -> LockWatermark? {
        let path = directory + "/LOCK"
        if let fd = lockFD {
            return (try? fs.read(fd, count: LockWatermark.size, at: LockWatermark.offset)).flatMap(LockWatermark.decode)
        }
        guard let fd = try? fs.open(path, .readOnly) else { return nil }
        defer { fs.close(fd) }
        return (try? fs.read(fd, count: LockWatermark.size, at: LockWatermark.offset)).flatMap(LockWatermark.decode)
    }

    /// Refuses appends; corruption takes precedence over a copied-store block (the first corruption is kept).
    func block(_ e: EventLogError) {
        if appendBlocked == nil || (e.code == .corruption && appendBlocked?.code != .corruption) { appendBlocked = e }
    }

    /// Row "torn tail": the bytes are kept in `<segment>.broken-<offset>`, then the file is cut there.
    func cutTornTail(_ state: OpenState, at offset: Int64, bytes: Int, reason: String, file: [UInt8])
        throws(EventLogError)
    {
        var kept = "(zeros only)"
        if bytes > 0 {
            let start = Int(offset)
            kept = try keepAside(
                state.path, Array(file[start..<min(file.count, start + bytes)]), suffix: ".broken-\(offset)")
        }
        try fs.attempt("cutting a torn tail", path: state.path) { () throws(SystemError) in
            try fs.truncate(state.fd, to: offset)
            try fs.fdatasync(state.fd)
        }
        state.allocated = offset
        state.dataEnd = offset
        recoveryActions.actions.append(
            .cutTornTail(file: state.name, offset: offset, bytes: bytes, reason: reason, keptIn: kept))
    }

    /// Writes bytes that recovery removes into a file beside the segment, so nothing is destroyed silently.
    func keepAside(_ path: String, _ bytes: [UInt8], suffix: String) throws(EventLogError) -> String {
        // Never replace bytes kept earlier (the same offset can tear twice): number the next file.
        var target = path + suffix
        var n = 1
        while try fs.attempt("checking kept bytes", path: target, { () throws(SystemError) in try fs.stat(target) })
            != nil
        {
            n += 1
            target = path + suffix + ".\(n)"
        }
        let chosen = target
        try fs.attempt("keeping damaged bytes", path: chosen) { () throws(SystemError) in
            try fs.writeFileAtomically(chosen, bytes)
        }
        return lastPathComponent(chosen)
    }

    static func idBytes(_ view: EnvelopeView, _ env: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: env[view.ranges.0])
    }

    /// The open-segment key of an event id (over its stored bytes, like `idHash`).
    static func idKey(_ id: String) -> ID128 { withStoredID(id) { ID128($0) } }

    /// Hash of an event id as the index stores it: over the stored id bytes (16 raw bytes for hex ids).
    static func idHash(_ id: String) -> UInt64 { withStoredID(id) { XXH3.hash($0) } }

    /// Both keys of an id, from one pass over its stored bytes.
    static func idKeys(_ id: String) -> (key: ID128, hash: UInt64) { withStoredID(id) { (ID128($0), XXH3.hash($0)) } }

    /// Calls `body` with the bytes an envelope stores for `id` (16 raw bytes for 32 lowercase hex digits,
    /// the UTF-8 otherwise), without allocating.
    @inline(__always)
    static func withStoredID<T>(_ id: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        var s = id
        return s.withUTF8 { utf8 in
            guard utf8.count == 32 else { return body(UnsafeRawBufferPointer(utf8)) }
            var raw: (UInt64, UInt64) = (0, 0)
            let ok = withUnsafeMutableBytes(of: &raw) { out -> Bool in
                for i in 0..<16 {
                    let hi = utf8[2 * i]
                    let lo = utf8[2 * i + 1]
                    guard let h = lowerHex(hi), let l = lowerHex(lo) else { return false }
                    out[i] = h << 4 | l
                }
                return true
            }
            guard ok else { return body(UnsafeRawBufferPointer(utf8)) }
            return withUnsafeBytes(of: &raw) { body($0) }
        }
    }

    @inline(__always)
    static func lowerHex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// Opens EVENTIDS if it covers exactly the sealed segments; otherwise rebuilds it (writer) or goes
    /// without it (reader: readers never deduplicate).
    func loadEventIndex(rebuild: Bool) throws(EventLogError) {
        let path = directory + "/EVENTIDS"
        idIndex = nil
        if let idx = try? EventIDIndex(fs: fs, path: path), idx.coveredSegments == UInt64(catalog.entries.count),
            idx.lastSealHash == (catalog.entries.last?.sealHash ?? [UInt8](repeating: 0, count: 32))
        {
            idIndex = idx
            return
        }
        guard rebuild else { return }
        if catalog.entries.isEmpty && (try? fs.stat(path)) == nil { return }
        var entries: [EventIDIndex.Entry] = []
        for i in catalog.entries.indices {
            entries += try eventIDEntries(of: try sealedSegment(at: i))
        }
        try writeEventIndex(entries)
        recoveryActions.actions.append(.rebuiltEventIndex)
    }

    func eventIDEntries(of seg: SealedSegment) throws(EventLogError) -> [EventIDIndex.Entry] {
        var out: [EventIDIndex.Entry] = []
        out.reserveCapacity(Int(seg.footer.eventCount))
        let d = LZ4Frame.Decompressor()
        for b in seg.footer.blocks.indices {
            let block = try seg.decodeBlock(b, decompressor: d)
            for i in 0..<block.count {
                block.withRecord(i) { view, env, _ in
                    out.append(
                        .init(
                            hash: XXH3.hash(Self.idBytes(view, env)), lsn: block.firstLSN + UInt64(i),
                            epoch: seg.header.epoch))
                }
            }
        }
        return out
    }

    func writeEventIndex(_ entries: [EventIDIndex.Entry]) throws(EventLogError) {
        let path = directory + "/EVENTIDS"
        let bytes = EventIDIndex.encode(
            entries, coveredSegments: UInt64(catalog.entries.count),
            lastSealHash: catalog.entries.last?.sealHash ?? [UInt8](repeating: 0, count: 32))
        try fs.attempt("writing EVENTIDS", path: path) { () throws(SystemError) in
            try fs.writeFileAtomically(path, bytes)
        }
        idIndex = try EventIDIndex(fs: fs, path: path)
    }
}
