/// Sealing: the `.open` segment becomes a compact, immutable `.seg` (contract 3).
/// Order (each step durable before the next; recovery redoes whatever a crash interrupted):
/// build in memory → verify the built bytes → tmp → fsync → rename → fsync dir → CATALOG → EVENTIDS →
/// store.json head → unlink `.open` → fsync dir.
extension EventLog {
    /// Seals the active segment now (rolling to a new one), plus any older unsealed ones.
    public func seal() throws(EventLogError) {
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
        try rollLocked()
    }

    /// Called by the commit leader when the active segment is past its roll size or age.
    func rollAndSeal() throws(EventLogError) {
        try acquireFileLock()
        defer { releaseFileLock() }
        try refreshUnderLock()
        try rollLocked()
    }

    private func rollLocked() throws(EventLogError) {
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
        let file = try fs.attempt("reading open segment", path: o.path) { () throws(SystemError) in
            try fs.read(o.fd, count: Int(o.batches.last { $0.lastLSN <= limit }?.end ?? 0), at: 0)
        }
        var header = o.header
        header.kind = .sealed
        header.codec = .lz4Frame
        header.predecessorEndOffset = 0
        header.compatibleFeatures = 0
        let previous = catalog.entries.last?.sealHash ?? [UInt8](repeating: 0, count: 32)
        var builder = SealBuilder(header: header, previousSealHash: previous)
        do {
            try file.withUnsafeBytes { raw in
                for ref in o.batches where ref.lastLSN <= limit {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[Int(ref.offset)..<Int(ref.end)])
                    guard case .batch(let layout) = CommitBatch.probe(slice) else {
                        throw EventLogError.corrupt("batch changed on disk since it was checked", path: o.path, offset: ref.offset)
                    }
                    try CommitBatch.walk(UnsafeRawBufferPointer(rebasing: slice[..<layout.length]), layout, fileOffset: Int(ref.offset)) {
                        lsn, view, env, payload in
                        builder.add(lsn: lsn, view: view, envelope: view.bytes(in: env), envelopeRegion: env, team: layout.teams[view.region], payload: payload)
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
        let (bytes, footer, _) = builder.finish()
        let segName = SegmentName.make(epoch: header.epoch, firstLSN: header.firstLSN, sealed: true)
        let segPath = directory + "/" + segName
        // Check what we built before it replaces the .open (style point 8: validate right before the write).
        _ = try SealedSegmentVerifier.verify(bytes, path: segPath + " (being sealed)", expectedPrevious: previous)
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
        let seg = try SealedSegment(fs: fs, path: segPath)
        catalog.add(seg)
        sealedSegments[catalog.entries.count - 1] = seg
        try writeCatalog()
        var entries = try idIndex?.allEntries() ?? []
        entries += try eventIDEntries(of: seg)
        try writeEventIndex(entries)
        config.head = StoreConfig.Head(epoch: header.epoch, lastSealedLSN: footer.lastLSN, sealHash: hexString(seg.sealHash))
        let cfg = config.encoded()
        try fs.attempt("writing store.json", path: paths.config) { () throws(SystemError) in
            try fs.writeFileAtomically(paths.config, cfg)
        }
        try fs.attempt("removing the sealed .open", path: o.path) { () throws(SystemError) in
            try fs.unlink(o.path)
            try fs.fsyncDirectory(directory)
        }
        fs.close(o.fd)
        opens.removeFirst()
        openIDs = openIDs.compactMapValues { lsns in
            let rest = lsns.filter { $0 > limit }
            return rest.isEmpty ? nil : rest
        }
        openStreams = openStreams.compactMapValues { lsns in
            let rest = lsns.filter { $0 > limit }
            return rest.isEmpty ? nil : rest
        }
    }
}
