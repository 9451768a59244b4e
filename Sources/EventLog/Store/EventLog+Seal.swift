/// Sealing: the `.open` segment becomes a compact, immutable `.seg` (contract 3).
/// Order (each step durable before the next; recovery redoes whatever a crash interrupted):
/// build in memory → verify the built bytes → tmp → fsync → rename → fsync dir → CATALOG → EVENTIDS →
/// store.json head → unlink `.open` → fsync dir.
extension EventLog {
    /// Seals the active segment now (rolling to a new one), plus any older unsealed ones.
    public func seal() throws(EventLogError) {
        try exclusively { () throws(EventLogError) in try rollLocked() }
    }

    /// Runs `body` as the only committer: after the current commit leader, under the in-process lock and
    /// `LOCK`, with the tail refreshed (what `seal` and `adoptKeyGeneration` need).
    func exclusively<T>(_ body: () throws(EventLogError) -> T) throws(EventLogError) -> T {
        guard !options.readOnly else { throw EventLogError(.readOnly, "this store was opened read-only") }
        queueCondition.lock()
        while leaderActive { queueCondition.wait() }
        leaderActive = true
        queueCondition.unlock()
        defer {
            queueCondition.lock()
            leaderActive = false
            queueCondition.broadcast()
            queueCondition.unlock()
        }
        lock.lock()
        defer { lock.unlock() }
        if let blocked = appendBlocked { throw blocked }
        try acquireFileLock()
        defer { releaseFileLock() }
        try refreshUnderLock()
        return try body()
    }

    /// Called by the commit leader when the active segment is past its roll size or age.
    func rollAndSeal() throws(EventLogError) {
        try acquireFileLock()
        defer { releaseFileLock() }
        try refreshUnderLock()
        try rollLocked()
    }

    private func rollLocked() throws(EventLogError) {
        // Never seal past damage: a blocked store keeps its segments exactly as found.
        if let blocked = appendBlocked, blocked.code == .corruption { throw blocked }
        if let active = opens.last, !active.isEmpty {
            try startSegment(afterFailure: false)
        }
        while opens.count > 1 { try sealOldestOpen() }
    }

    /// Seals `opens[0]`, whose events end where its successor begins.
    func sealOldestOpen() throws(EventLogError) {
        let o = opens[0]
        let limit = opens.count > 1 ? opens[1].firstLSN - 1 : o.lastLSN
        if limit < o.firstLSN {
            // An open segment without events (abandoned after a failure, or rolled while empty): nothing to seal.
            try fs.attempt("removing an empty segment", path: o.path) { () throws(SystemError) in
                try fs.unlink(o.path)
                try fs.fsyncDirectory(directory)
            }
            fs.close(o.fd)
            opens.removeFirst()
            return
        }
        let segName = SegmentName.make(epoch: o.header.epoch, firstLSN: o.firstLSN, sealed: true)
        let segPath = directory + "/" + segName
        // Idempotent: a seal interrupted after the rename (in this process or before a crash) is finished,
        // never built twice, so the chain cannot be broken by a retry.
        let seg: SealedSegment
        if let i = catalog.entries.firstIndex(where: { $0.firstLSN == o.firstLSN }) {
            seg = try sealedSegment(at: i)
        } else if try fs.attempt(
            "checking for a sealed segment", path: segPath, { () throws(SystemError) in try fs.stat(segPath) }) != nil
        {
            // A .seg left by an interrupted seal replaces the .open only after a full check.
            seg = try SealedSegment(fs: fs, path: segPath)
            try SealedSegmentVerifier.verify(try seg.readAll(), path: segPath, cipher: cipher)
        } else {
            seg = try buildSeal(o, limit: limit, path: segPath)
        }
        defer { builtIDs = nil }
        guard seg.footer.firstLSN == o.firstLSN, seg.footer.lastLSN == limit,
            seg.footer.previousSealHash
                == (catalog.entries.last(where: { $0.firstLSN < o.firstLSN })?.sealHash
                    ?? [UInt8](repeating: 0, count: 32))
        else {
            throw EventLogError.corrupt(
                "a sealed segment for LSN \(o.firstLSN) exists but does not hold LSNs \(o.firstLSN)...\(limit) after the last seal",
                path: segPath, lsn: o.firstLSN)
        }
        if catalog.entries.last?.firstLSN != o.firstLSN {
            catalog.add(seg)
            sealedSegments[catalog.entries.count - 1] = seg
        }
        // From here the events are served from the .seg: the .open leaves the in-memory view at once, so a
        // later step that fails (and is redone by the next seal or open) never shows them twice.
        opens.removeFirst()
        openIDs = openIDs.filter { $0.value.lsn > limit }
        openStreams = openStreams.compactMapValues { lsns in
            let rest = lsns.filter { $0 > limit }
            return rest.isEmpty ? nil : rest
        }
        defer { fs.close(o.fd) }
        try writeCatalog()
        if idIndex?.coveredSegments != UInt64(catalog.entries.count) {
            let earlier: [EventIDIndex.Entry]?
            if let idx = idIndex, idx.coveredSegments == UInt64(catalog.entries.count - 1) {
                earlier = try idx.allEntries()
            } else {
                earlier = catalog.entries.count == 1 ? [] : nil
            }
            if let earlier {
                // Both lists are sorted: a linear merge, not a sort of the whole index at every seal.
                let mine: [EventIDIndex.Entry]
                if let builtIDs { mine = builtIDs } else { mine = try eventIDEntries(of: seg) }
                try writeEventIndex(EventIDIndex.merge(earlier, mine.sorted()))
            } else {
                // No index for the earlier segments (damaged, or never built): rebuild it from every seal.
                try loadEventIndex(rebuild: true)
            }
        }
        // Only the head changes: start from store.json as it is now (another process may have moved the epoch).
        reloadConfig()
        storedConfig.head = StoreConfig.Head(
            epoch: seg.header.epoch, lastSealedLSN: seg.footer.lastLSN, sealHash: hexString(seg.sealHash))
        let cfg = storedConfig.encoded()
        try fs.attempt("writing store.json", path: paths.config) { () throws(SystemError) in
            try fs.writeFileAtomically(paths.config, cfg)
        }
        try fs.attempt("removing the sealed .open", path: o.path) { () throws(SystemError) in
            try fs.unlink(o.path)
            try fs.fsyncDirectory(directory)
        }
    }

    /// Builds, checks and durably writes the `.seg` of `o` (tmp → fsync → rename → fsync dir).
    private func buildSeal(_ o: OpenState, limit: UInt64, path segPath: String) throws(EventLogError) -> SealedSegment {
        let file = try fs.attempt("reading open segment", path: o.path) { () throws(SystemError) in
            try fs.read(o.fd, count: Int(o.batches.last { $0.lastLSN <= limit }?.end ?? 0), at: 0)
        }
        var header = o.header
        header.kind = .sealed
        header.codec = .lz4Frame
        header.predecessorEndOffset = 0
        header.compatibleFeatures = 0
        let previous = catalog.entries.last?.sealHash ?? [UInt8](repeating: 0, count: 32)
        var builder = SealBuilder(header: header, previousSealHash: previous, cipher: cipher, path: segPath)
        let coding = RegionCoding(header: o.header, cipher: cipher, path: o.path)
        do {
            try file.withUnsafeBytes { raw in
                for ref in o.batches where ref.lastLSN <= limit {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[Int(ref.offset)..<Int(ref.end)])
                    guard case .batch(let layout) = CommitBatch.probe(slice) else {
                        throw EventLogError.corrupt(
                            "batch changed on disk since it was checked", path: o.path, offset: ref.offset)
                    }
                    try CommitBatch.walk(
                        UnsafeRawBufferPointer(rebasing: slice[..<layout.length]), layout, fileOffset: Int(ref.offset),
                        coding: coding
                    ) {
                        lsn, view, env, payload in
                        builder.add(
                            lsn: lsn, view: view, envelope: view.bytes(in: env), envelopeRegion: env,
                            team: layout.teams[view.region], payload: payload)
                    }
                }
            }
        } catch let e as EventLogError {
            throw e
        } catch {
            throw EventLogError.corrupt("while sealing: \(error)", path: o.path)
        }
        guard builder.count == limit - o.firstLSN + 1 else {
            throw EventLogError.corrupt(
                "segment holds \(builder.count) events but should hold LSNs \(o.firstLSN)...\(limit)", path: o.path)
        }
        let (built, footer, trailer) = builder.finish()
        if let failure = builder.cipherFailure { throw failure }
        // Check what we built before it replaces the .open (style point 8: validate right before the write).
        _ = try SealedSegmentVerifier.verify(
            built, path: segPath + " (being sealed)", expectedPrevious: previous, selfCheck: builder.logicalXXH3Digest,
            cipher: cipher)
        let bytes: [UInt8]
        if let signer = options.signer {
            let statement = SealStatement(
                origin: header.origin, epoch: header.epoch, firstLSN: footer.firstLSN, lastLSN: footer.lastLSN,
                merkleRoot: footer.merkleRoot, sealHash: trailer.sealHash, previousSealHash: previous)
            let signature = try signer.sign(statement)
            guard signature.algorithm != 0, signature.bytes.count <= SealSignature.maxBytes else {
                throw EventLogError(
                    .invalidInput, "the seal signer returned \(signature.bytes.count) bytes (at most 192 fit)",
                    path: segPath)
            }
            bytes = SealBuilder.signed(built, trailer: trailer, with: signature)
        } else if let last = catalog.entries.indices.last, try sealedSegment(at: last).isSigned {
            // Signed history never continues unsigned: a peer would refuse this segment (FORMAT.md "Signed seals").
            throw EventLogError(
                .keyMissing, "the origin's newest seal is signed, but this process has no signing key", path: segPath,
                hint: "restore .aibrain/keys/ from a backup (the origin key signs every seal), then retry")
        } else {
            bytes = built
        }
        builtIDs = builder.ids
        let tmp = segPath + ".tmp"
        try fs.attempt("writing sealed segment", path: tmp) { () throws(SystemError) in
            if try fs.stat(tmp) != nil { try fs.unlink(tmp) }
            let fd = try fs.open(tmp, .createExclusive(permissions: 0o644))
            defer { fs.close(fd) }
            try fs.writeAll(fd, bytes, at: 0)
            try fs.fsync(fd)
            try fs.setMode(tmp, 0o444)
            try fs.rename(tmp, segPath)
            try fs.fsyncDirectory(directory)
        }
        return try SealedSegment(fs: fs, path: segPath)
    }

    /// `recover --new-epoch`: makes a copied, cloned or restored store a writer again under a new epoch.
    /// What the copy holds is sealed as it is; new events start a segment of the new epoch, so they never
    /// share a position with events the original writes after the copy. store.json records the new
    /// instance fingerprint and the head as found.
    @discardableResult
    public func startNewEpoch() throws(EventLogError) -> StoreConfig {
        guard !options.readOnly else { throw EventLogError(.readOnly, "this store was opened read-only") }
        lock.lock()
        defer { lock.unlock() }
        if let blocked = appendBlocked, blocked.code != .copiedStore { throw blocked }
        try acquireFileLock()
        defer { releaseFileLock() }
        try refreshUnderLock()
        if let blocked = appendBlocked, blocked.code != .copiedStore { throw blocked }
        guard
            let st = try fs.attempt(
                "reading the log directory", path: directory, { () throws(SystemError) in try fs.stat(directory) })
        else {
            throw EventLogError(.notAStore, "the origin's log directory is missing", path: directory)
        }
        reloadConfig()
        var next = storedConfig
        next.epoch += 1
        next.instance.logDirectoryInode = st.inode
        next.head = catalog.entries.last.map {
            StoreConfig.Head(epoch: $0.epoch, lastSealedLSN: $0.lastLSN, sealHash: hexString($0.sealHash))
        }
        // First the new epoch's segment, so no event can be appended in the old epoch afterwards.
        try startSegment(afterFailure: false, epoch: next.epoch)
        let bytes = next.encoded()
        try fs.attempt("writing store.json", path: paths.config) { () throws(SystemError) in
            try fs.writeFileAtomically(paths.config, bytes)
        }
        storedConfig = next
        appendBlocked = nil
        while opens.count > 1 { try sealOldestOpen() }
        return storedConfig
    }
}
