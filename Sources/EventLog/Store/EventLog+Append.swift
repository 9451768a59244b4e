import Foundation

/// One appended event's outcome.
public struct Appended: Sendable, Equatable {
    public var eventID: String
    public var lsn: UInt64
    public var hlc: UInt64
    /// The origin already held this event id: `lsn` is the original's, nothing was written.
    public var duplicate: Bool
}

public struct AppendResult: Sendable, Equatable {
    public var events: [Appended]
    /// True when the batch was fdatasynced before this returned (durability `always`).
    public var durable: Bool
    public var epoch: UInt32
}

/// What a precondition sees: the tail of the log, under the writer lock, before the batch is written.
public struct AppendContext {
    public let nextLSN: UInt64
    public let lastHLC: UInt64
    /// The writer clock (Unix ms) this commit assigns HLCs from: the next event gets
    /// `HLC.next(now: now, last: lastHLC)`, so a check can judge times exactly as they will be stored.
    public let now: Int64
    let log: EventLog
    /// Events of earlier requests in the same group commit, not yet on disk (they precede this batch).
    public let pending: [EventDraft]

    /// The LSNs of a stream or key, oldest first (sealed and open segments, then `pending` excluded).
    public func lsns(ofStream stream: String) throws(EventLogError) -> [UInt64] {
        try log.lsnsLocked(of: stream)
    }

    /// Every stored event of a stream or key on this origin, oldest first (excluding `pending`).
    public func history(ofStream stream: String) throws(EventLogError) -> [Event] {
        try log.historyLocked(stream: stream)
    }

    /// The LSN of an event id this origin already holds (sealed or open segments), or nil.
    public func existingLSN(ofEventID id: String) throws(EventLogError) -> UInt64? {
        let (key, hash) = EventLog.idKeys(id)
        return try log.existingLSN(of: id, key: key, hash: hash)?.lsn
    }

    /// The number of events in a stream: its version for `--expect-version`.
    public func version(ofStream stream: String) throws(EventLogError) -> Int {
        try lsns(ofStream: stream).count + pending.filter { $0.stream == stream || $0.keys.contains(stream) }.count
    }
}

final class CommitRequest: @unchecked Sendable {
    let drafts: [EventDraft]
    let precondition: ((AppendContext) throws -> Void)?
    /// Encoded size (envelopes + payloads), computed once by `append`.
    let bytes: Int
    /// Written by the leader under `lock`; copied to `result` under `queueCondition`.
    var outcome: Result<AppendResult, EventLogError>?
    /// Read and written only under `queueCondition`.
    var result: Result<AppendResult, EventLogError>?
    init(_ drafts: [EventDraft], _ precondition: ((AppendContext) throws -> Void)?, bytes: Int) {
        self.drafts = drafts
        self.precondition = precondition
        self.bytes = bytes
    }
}

extension EventLog {
    /// Appends a batch atomically: all events or none. Returns after the batch is durable (policy
    /// `always`). Event ids the origin already holds come back as duplicates with their original LSN.
    /// `precondition` runs under the writer lock on the current tail; if it throws, nothing is written and
    /// the error comes back as `preconditionFailed` (or as thrown, if it is an `EventLogError`).
    @discardableResult
    public func append(_ drafts: [EventDraft], precondition: ((AppendContext) throws -> Void)? = nil)
        throws(EventLogError) -> AppendResult
    {
        guard !options.readOnly else { throw EventLogError(.readOnly, "this store was opened read-only") }
        guard !drafts.isEmpty else { return AppendResult(events: [], durable: true, epoch: epoch) }
        // Crypto-shredding: payloads of streams with a data key are sealed before the limits are checked, so
        // the stored (sealed) form is what must fit.
        var drafts = drafts
        try cipher?.sealPayloads(&drafts)
        // Limits before anything is allocated or written.
        guard drafts.count <= Limits.maxBatchEvents else {
            throw EventLogError(
                .invalidInput, "a batch holds \(drafts.count) events; the limit is \(Limits.maxBatchEvents)")
        }
        var bytes = 0
        // Hot loops over drafts go by index: `for d in drafts` copies each draft (a dozen retains).
        for i in drafts.indices {
            try EnvelopeValidation.validate(drafts[i], index: i)
            bytes += EnvelopeCodec.encodedSize(drafts[i]) + drafts[i].payload.count
        }
        guard bytes <= Limits.maxBatchBytes else {
            throw EventLogError(
                .invalidInput, "a batch holds \(bytes) bytes; the limit is \(Limits.maxBatchBytes) (64 MiB)")
        }
        let request = CommitRequest(drafts, precondition, bytes: bytes)
        queueCondition.lock()
        queue.append(request)
        while request.result == nil {
            if leaderActive {
                queueCondition.wait()
                continue
            }
            leaderActive = true
            var group: [CommitRequest] = []
            var events = 0
            var size = 0
            while let next = queue.first {
                let n = next.drafts.count
                let b = next.bytes
                if !group.isEmpty && (events + n > Limits.maxBatchEvents || size + b > Limits.maxBatchBytes) { break }
                group.append(queue.removeFirst())
                events += n
                size += b
            }
            queueCondition.unlock()
            commit(group)
            queueCondition.lock()
            // Results become visible to the waiting appenders only under queueCondition.
            for r in group { r.result = r.outcome }
            leaderActive = false
            queueCondition.broadcast()
        }
        queueCondition.unlock()
        return try request.result!.get()
    }

    /// The leader's commit of a group: one lock, one batch, one fdatasync.
    func commit(_ group: [CommitRequest]) {
        lock.lock()
        defer { lock.unlock() }
        do throws(EventLogError) {
            if let blocked = appendBlocked { throw blocked }
            if hardFailure {
                throw EventLogError(
                    .writeFailed,
                    "an earlier write failed and its bytes could not be cut; nothing more is appended by this process",
                    path: opens.last?.path, hint: "check the disk (dmesg), then reopen the store (recovery runs)")
            }
            try acquireFileLock()
            defer { releaseFileLock() }
            try refreshUnderLock()
            if let blocked = appendBlocked { throw blocked }
            try writeGroup(group)
        } catch {
            for r in group where r.outcome == nil { r.outcome = .failure(error) }
        }
        if options.autoSeal, appendBlocked == nil, let active = opens.last, !active.isEmpty, needsRoll(active) {
            // The group is acknowledged already; a failed seal is retried at the next roll.
            try? rollAndSeal()
        } else if options.autoSeal, appendBlocked == nil, rolledInCommit, opens.count > 1 {
            // The segment left behind by a key change is sealed now, not at the next roll.
            rolledInCommit = false
            try? sealOlderOpens()
        }
    }

    /// After a team key was added, rotated or imported: if the active segment was created under another key
    /// generation than the keyring's, starts a segment of the current one and seals the old (so new events use
    /// the new key version at once). Returns whether it rolled. A crash before this is harmless: the next
    /// commit of any writer rolls instead.
    @discardableResult
    public func adoptKeyGeneration() throws(EventLogError) -> Bool {
        try exclusively { () throws(EventLogError) -> Bool in
            guard let active = opens.last, try keyGenerationChanged(active) else { return false }
            try startSegment(afterFailure: false)
            while opens.count > 1 { try sealOldestOpen() }
            return true
        }
    }

    /// Seals every `.open` but the active one, under LOCK.
    func sealOlderOpens() throws(EventLogError) {
        try acquireFileLock()
        defer { releaseFileLock() }
        try refreshUnderLock()
        while opens.count > 1 { try sealOldestOpen() }
    }

    func needsRoll(_ s: OpenState) -> Bool {
        s.dataEnd >= Int64(policies.rollBytes)
            || options.clock() - s.header.createdAt >= Int64(policies.rollAgeSeconds) * 1000
    }

    private func writeGroup(_ group: [CommitRequest]) throws(EventLogError) {
        if poisoned || opens.isEmpty {
            try startSegment(afterFailure: poisoned)
        } else if let active = opens.last, active.superseded {
            // R20: a roll marked this segment superseded but did not create its successor (killed in between, or
            // the creation failed): complete it, then seal the old segment after the commit.
            try startSegment(afterFailure: false)
            rolledInCommit = true
        } else if let active = opens.last, try keyGenerationChanged(active) {
            // A key was added or rotated since this segment was created (here or in another process, perhaps
            // one that crashed right after writing the keyring): new events go to a segment of the new
            // generation, so every segment is encrypted under exactly one key version per team.
            try startSegment(afterFailure: false)
            rolledInCommit = true
        }
        let now = options.clock()
        var toWrite: [EventDraft] = []
        var hlcs: [UInt64] = []
        var pendingIDs: [ID128: UInt64] = [:]
        var keys: [ID128] = []
        // Contract 6: after events adopted from peers, ours sort after them (the floor is capped at now +
        // the skew limit, so a peer's clock far ahead cannot drag ours along).
        var hlc = max(lastHLC, AdoptedClock.floor(fs, paths, now: now))
        var outcomes: [(CommitRequest, [Appended])] = []
        for r in group {
            let context = AppendContext(
                nextLSN: nextLSN + UInt64(toWrite.count), lastHLC: hlc, now: now, log: self, pending: toWrite)
            if let check = r.precondition {
                do {
                    try check(context)
                } catch let e as EventLogError {
                    r.outcome = .failure(e)
                    continue
                } catch {
                    r.outcome = .failure(EventLogError(.preconditionFailed, "\(error)"))
                    continue
                }
            }
            var appended: [Appended] = []
            appended.reserveCapacity(r.drafts.count)
            var fresh: [Int] = []
            var mineHLC: [UInt64] = []
            mineHLC.reserveCapacity(r.drafts.count)
            for index in r.drafts.indices {
                let id = r.drafts[index].eventID
                let (key, h) = Self.idKeys(id)
                if let original = try existingLSN(of: id, key: key, hash: h) {
                    appended.append(Appended(eventID: id, lsn: original.lsn, hlc: original.hlc, duplicate: true))
                    continue
                }
                if let p = pendingIDs[key] {
                    appended.append(Appended(eventID: id, lsn: p, hlc: 0, duplicate: true))
                    continue
                }
                hlc = HLC.next(now: now, last: hlc)
                let lsn = nextLSN + UInt64(toWrite.count + fresh.count)
                pendingIDs[key] = lsn
                keys.append(key)
                fresh.append(index)
                mineHLC.append(hlc)
                appended.append(Appended(eventID: id, lsn: lsn, hlc: hlc, duplicate: false))
            }
            // The common case (every event new, one request) shares the caller's array: no draft is copied.
            if fresh.count == r.drafts.count {
                if toWrite.isEmpty { toWrite = r.drafts } else { toWrite += r.drafts }
            } else {
                toWrite += fresh.map { r.drafts[$0] }
            }
            hlcs += mineHLC
            outcomes.append((r, appended))
        }
        var durable = true
        if !toWrite.isEmpty {
            durable = try writeBatch(toWrite, keys: keys, hlcs: hlcs, recordedAt: now)
        }
        for (r, appended) in outcomes {
            var a = appended
            for i in a.indices where a[i].duplicate && a[i].hlc == 0 {
                a[i].hlc = hlcs[Int(a[i].lsn - (nextLSN - UInt64(toWrite.count)))]
            }
            r.outcome = .success(AppendResult(events: a, durable: durable, epoch: epoch))
        }
    }

    /// Writes one encoded batch at the end of the active segment and syncs it per policy.
    /// On any failure nothing is acknowledged and the segment is abandoned (contract 2).
    private func writeBatch(_ drafts: [EventDraft], keys: [ID128], hlcs: [UInt64], recordedAt: Int64)
        throws(EventLogError) -> Bool
    {
        let active = opens.last!
        let firstLSN = nextLSN
        let bytes = try CommitBatch.encode(
            drafts, firstLSN: firstLSN, hlcs: hlcs, recordedAt: recordedAt,
            coding: RegionCoding(header: active.header, cipher: cipher, path: active.path))
        let offset = active.dataEnd
        let end = offset + Int64(bytes.count)
        var durable = false
        do throws(SystemError) {
            if end > active.allocated && bytes.count >= 64 << 10 {
                // A large commit pays its own size change; zero-filling ahead would double its writes.
                active.allocated = end
            } else if end > active.allocated {
                // Preallocate with real zeros so later small commits overwrite allocated blocks.
                let target = (end + Int64(options.preallocationBytes) + 4095) / 4096 * 4096
                let zeros = [UInt8](repeating: 0, count: Int(target - max(active.allocated, end)))
                try fs.writeAll(active.fd, zeros, at: max(active.allocated, end))
                active.allocated = target
            }
            try fs.writeAll(active.fd, bytes, at: offset)
            switch policies.durability {
            case .always:
                try fs.fdatasync(active.fd)
                durable = true
            case .interval:
                let now = OpenOptions.monotonicNanoseconds()
                if now - lastSyncNanos >= UInt64(policies.syncIntervalMilliseconds) * 1_000_000 {
                    try fs.fdatasync(active.fd)
                    lastSyncNanos = now
                    durable = true
                }
            case .none:
                break
            }
        } catch {
            poison(active)
            // Still under LOCK: start the successor now, so that no other process appends behind the
            // failed batch (which may linger in the page cache, fsyncgate). If that fails too, the next
            // commit retries it before anything else.
            if !hardFailure { try? startSegment(afterFailure: true) }
            throw EventLogError(
                error.errno == 28 || error.errno == 122 ? .noSpace : .writeFailed,
                "writing a batch of \(drafts.count) events failed; nothing was acknowledged and the next append starts a new segment",
                path: active.path, offset: offset, lsn: firstLSN,
                hint: error.errno == 28 || error.errno == 122
                    ? "free disk space, then retry the append" : "check the disk (dmesg), then retry",
                underlying: error)
        }
        // Readers' watermark: only after a successful sync, never before (contract 2).
        if durable { publishWatermark(active, end: end) }
        let ref = BatchRef(
            offset: offset, firstLSN: firstLSN, count: drafts.count, firstHLC: hlcs.first!, lastHLC: hlcs.last!,
            paddedLength: bytes.count)
        active.batches.append(ref)
        active.dataEnd = end
        active.lastLSN = ref.lastLSN
        active.lastHLC = ref.lastHLC
        for i in drafts.indices {
            let lsn = firstLSN + UInt64(i)
            openIDs[keys[i]] = (lsn, hlcs[i])
            if !drafts[i].stream.isEmpty { openStreams[.init(drafts[i].stream), default: []].append(lsn) }
            if !drafts[i].keys.isEmpty { for k in drafts[i].keys { openStreams[.init(k), default: []].append(lsn) } }
        }
        nextLSN = ref.lastLSN + 1
        lastHLC = ref.lastHLC
        return durable
    }

    /// Batches another (perhaps dead) writer left may never have been synced: sync them before any
    /// acknowledgement builds on them or reports them as duplicates.
    func syncAdopted() {
        adoptedUnsynced = false
        // After corruption stopped the load, `opens.last` may not be the active segment: publish nothing.
        guard appendBlocked == nil, let active = opens.last, active.writable else { return }
        // Their writer published a watermark covering them after its own sync: nothing to do (the usual case).
        if let mark = readLockWatermark()?.end(forSegment: active.header.epoch, firstLSN: active.firstLSN),
            mark >= active.dataEnd
        {
            return
        }
        if (try? fs.fdatasync(active.fd)) != nil {
            publishWatermark(active, end: active.dataEnd)
        } else {
            poisoned = true
        }
    }

    /// Publishes the synced end of `state` to readers (LOCK bytes 16..<48; best effort, never synced).
    func publishWatermark(_ state: OpenState, end: Int64) {
        guard let fd = lockFD else { return }
        let mark = LockWatermark(epoch: state.header.epoch, segmentFirstLSN: state.firstLSN, end: end).encode()
        try? fs.writeAll(fd, mark, at: LockWatermark.offset)
        // Under the lazy policies recovery trusts the watermark to tell synced from unsynced batches (R3a), so
        // a power cut must not bring back an older one: it is fdatasynced (once per sync, not per commit).
        if storedConfig.policies.durability != .always { try? fs.fdatasync(fd) }
    }

    /// Syncs the active segment now (for the `interval` and `none` policies; a no-op cost under `always`).
    public func sync() throws(EventLogError) {
        guard !options.readOnly else { return }
        lock.lock()
        defer { lock.unlock() }
        try acquireFileLock()
        defer { releaseFileLock() }
        try refreshUnderLock()
        guard let active = opens.last, active.writable, !poisoned else { return }
        do throws(SystemError) {
            try fs.fdatasync(active.fd)
            lastSyncNanos = OpenOptions.monotonicNanoseconds()
            publishWatermark(active, end: active.dataEnd)
        } catch {
            // Never cut here: other processes' acknowledged batches may follow ours in this file.
            poisoned = true
            throw EventLogError(
                .writeFailed,
                "sync failed; events since the last sync may be lost; the next append starts a new segment",
                path: active.path, underlying: error)
        }
    }

    /// After a failed write or sync the segment's unacknowledged tail is cut (best effort; it may not
    /// even be on disk, fsyncgate) and the next commit starts a new segment.
    private func poison(_ active: OpenState) {
        poisoned = true
        do throws(SystemError) {
            try fs.truncate(active.fd, to: active.dataEnd)
        } catch {
            // The failed bytes may stay visible; this process must not build on them: refuse further
            // appends (acknowledged data is untouched; reopening the store recovers).
            hardFailure = true
        }
        active.allocated = active.dataEnd
    }

    /// Whether the keyring moved to another generation than `s` was created under (FORMAT.md "Key rotation").
    func keyGenerationChanged(_ s: OpenState) throws(EventLogError) -> Bool {
        let current = try cipher?.currentGeneration()
        if s.header.hasEncryptedRegions { return current != nil && current != s.header.keyVersion }
        return current != nil
    }

    /// Creates the next `.open` segment (durably: file, then directory) and makes it the active one.
    func startSegment(afterFailure: Bool, epoch newEpoch: UInt32? = nil) throws(EventLogError) {
        let segmentEpoch = newEpoch ?? epoch
        let previous = opens.last
        let first = nextLSN
        let generation = try cipher?.currentGeneration()
        // The keys this segment will be encrypted under must survive a power cut before anything is written
        // under them (a keyring whose rename was not made durable could come back older).
        if generation != nil { try cipher?.makeDurable() }
        if generation == nil {
            // Once a store encrypts, it never quietly stops: a keyring that went missing (a restore without
            // keys/, a process without the trust layer) would write every later payload in plaintext.
            var encrypted = opens.last?.header.hasEncryptedRegions == true
            if !encrypted, let last = catalog.entries.indices.last {
                encrypted = try sealedSegment(at: last).header.hasEncryptedRegions
            }
            if encrypted {
                throw EventLogError(
                    .keyMissing,
                    "this store encrypts team payloads (its newest segment was written encrypted), but no team keyring is readable here; nothing was appended unencrypted",
                    path: directory,
                    hint: "restore .aibrain/keys/teams/ from a backup (aibrain keys team import), then retry")
            }
        }
        let name = SegmentName.make(epoch: segmentEpoch, firstLSN: first, sealed: false)
        let path = directory + "/" + name
        if let previous, !afterFailure, previous.writable, !previous.isEmpty {
            // Lazy policies: what the old segment holds is made durable before the log moves past it
            // (a successor after unsynced data would turn an ordinary power loss into a gap).
            try fs.attempt("syncing the segment before rolling", path: previous.path) { () throws(SystemError) in
                try fs.fdatasync(previous.fd)
            }
        }
        if let previous, previous.isEmpty {
            // The predecessor holds no event: after a failure it is kept aside (its bytes were never
            // acknowledged), otherwise it is simply removed; either way its name is free again. It is
            // marked superseded first, so a process still writing through it moves on.
            try fs.attempt("retiring an empty segment", path: previous.path) { () throws(SystemError) in
                try fs.writeAll(previous.fd, SegmentHeader.guardedValue(first), at: Format.successorOffset)
                if afterFailure {
                    try fs.rename(previous.path, previous.path + ".failed-\(UInt64(options.clock()))")
                } else {
                    try fs.unlink(previous.path)
                }
                try fs.fsyncDirectory(directory)
            }
            fs.close(previous.fd)
            opens.removeLast()
        }
        var header = SegmentHeader(
            kind: .open, codec: .none, epoch: segmentEpoch, origin: origin, segmentID: options.segmentIDs(),
            firstLSN: first, createdAt: options.clock(),
            compatibleFeatures: afterFailure && opens.last != nil ? Format.CompatibleFeature.followsFailedSync : 0,
            predecessorEndOffset: afterFailure ? UInt64(opens.last?.dataEnd ?? 0) : 0)
        if let generation {
            // Created while a team key exists: every region gets a mode byte, teams with a key are encrypted
            // under the key version this generation names (FORMAT.md "Encrypted payload regions").
            header.encryptRegions(generation: generation)
        }
        var bytes = header.encode()
        if let previous = opens.last {
            // Tell processes holding the old segment open where the log goes, before the new file exists: a process
            // killed between the two leaves a marked segment without its successor, which the next commit completes
            // (R20). Marked after the file existed, a kill in between left an unmarked old segment that other
            // writers kept appending to, behind an empty `.open` that bounds it (found by the kill -9 campaign).
            try fs.attempt("marking the segment superseded", path: previous.path) { () throws(SystemError) in
                try fs.writeAll(previous.fd, SegmentHeader.guardedValue(first), at: Format.successorOffset)
            }
            previous.superseded = true
        }
        let allocated = Int64(Format.headerSize + options.preallocationBytes)
        bytes += [UInt8](repeating: 0, count: options.preallocationBytes)
        let fd = try fs.attempt("creating segment", path: path) { () throws(SystemError) in
            try fs.open(path, .createExclusive(permissions: 0o644))
        }
        do throws(SystemError) {
            try fs.writeAll(fd, bytes, at: 0)
            try fs.fdatasync(fd)
            try fs.fsyncDirectory(directory)
        } catch {
            fs.close(fd)
            try? fs.unlink(path)
            throw EventLogError.system(error, "creating segment", path: path)
        }
        let scan = OpenScan(
            header: header, batches: [], dataEnd: Int64(Format.headerSize), fileSize: allocated, tail: .clean,
            watermark: Int64(Format.headerSize), successorFirstLSN: nil)
        let state = OpenState(path: path, scan: scan, fd: fd, writable: true)
        state.lastHLC = lastHLC
        opens.append(state)
        poisoned = false
        publishWatermark(state, end: Int64(Format.headerSize))
    }

    /// Under LOCK: catch up with what other processes appended, rolled or sealed since our last commit.
    func refreshUnderLock() throws(EventLogError) {
        defer { if adoptedUnsynced { syncAdopted() } }
        guard let active = opens.last else {
            try reloadUnderLock()
            return
        }
        let area = try fs.attempt("reading segment header", path: active.path) { () throws(SystemError) in
            try fs.read(active.fd, count: 32, at: Format.rewritableOffset)
        }
        let successor = area.withUnsafeBytes { SegmentHeader.readGuardedValue($0, at: 16) }
        if successor != nil {
            try reloadUnderLock()
            return
        }
        // After our own failed write the bytes at our tail were cut; batches found there now are other
        // processes' (a hard failure refuses appends before this point).

        // Batches appended by other processes (or left by one that died mid-commit).
        while true {
            let head = try fs.attempt("reading segment", path: active.path) { () throws(SystemError) in
                try fs.read(active.fd, count: Format.batchHeaderSize, at: active.dataEnd)
            }
            if head.allSatisfy({ $0 == 0 }) { return }
            let length =
                head.count >= 8 ? Int(head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) }) : 0
            let want = min(max(length, Format.batchHeaderSize), Limits.maxBatchBytes + (1 << 20))
            let bytes = try fs.attempt("reading segment", path: active.path) { () throws(SystemError) in
                try fs.read(active.fd, count: want + Format.batchAlignment, at: active.dataEnd)
            }
            let probe = bytes.withUnsafeBytes { CommitBatch.probe($0) }
            guard case .batch(let layout) = probe, layout.firstLSN == nextLSN else {
                // Anything else at our tail under the lock is a dead writer's torn batch, or worse:
                // the full reload applies the decision table to the whole file.
                try reloadUnderLock()
                return
            }
            var ids: [(ID128, UInt64, UInt64)] = []
            var streams: [(String, UInt64)] = []
            do {
                try bytes.withUnsafeBytes { b in
                    try CommitBatch.walkRegions(
                        UnsafeRawBufferPointer(rebasing: b[..<layout.length]), layout, fileOffset: Int(active.dataEnd),
                        coding: .structural(active.header, path: active.path)
                    ) {
                        lsn, view, env, _, _ in
                        ids.append((ID128(Self.idBytes(view, env)), lsn, view.hlc))
                        for n in view.indexNames(in: env) { streams.append((n, lsn)) }
                    }
                }
            } catch {
                try reloadUnderLock()
                return
            }
            for (k, l, h) in ids { openIDs[k] = (l, h) }
            for (n, l) in streams { openStreams[.init(n), default: []].append(l) }
            let ref = BatchRef(
                offset: active.dataEnd, firstLSN: layout.firstLSN, count: layout.count, firstHLC: layout.firstHLC,
                lastHLC: layout.lastHLC, paddedLength: layout.length)
            active.batches.append(ref)
            active.dataEnd = ref.end
            active.allocated = max(
                active.allocated,
                try fs.attempt("reading size", path: active.path) { () throws(SystemError) in try fs.size(active.fd) })
            active.lastLSN = ref.lastLSN
            active.lastHLC = ref.lastHLC
            nextLSN = ref.lastLSN + 1
            lastHLC = max(lastHLC, ref.lastHLC)
            adoptedUnsynced = true
        }
    }

    /// Re-reads the directory, CATALOG, EVENTIDS and every `.open` (with recovery), under LOCK.
    func reloadUnderLock() throws(EventLogError) {
        reloadConfig()
        let names = try fs.attempt("listing the log directory", path: directory) { () throws(SystemError) in
            try fs.listDirectory(directory)
        }
        let sealed = names.filter { SegmentName.parse($0)?.sealed == true }.sorted {
            let a = SegmentName.parse($0)!
            let b = SegmentName.parse($1)!
            return (a.epoch, a.firstLSN) < (b.epoch, b.firstLSN)
        }
        if sealed != catalog.entries.map(\.fileName) {
            sealedSegments = [:]
            try loadCatalog(sealed, writable: true)
        }
        let open = names.filter { SegmentName.parse($0)?.sealed == false }.filter {
            !sealed.contains(
                SegmentName.make(
                    epoch: SegmentName.parse($0)!.epoch, firstLSN: SegmentName.parse($0)!.firstLSN, sealed: true))
        }.sorted()
        try loadOpenSegments(open, recover: true)
        if idIndex?.coveredSegments != UInt64(catalog.entries.count) { try loadEventIndex(rebuild: true) }
        poisoned = false
        // What a reload found may be beyond the watermark readers go by (a crash lost the LOCK write): sync and
        // publish it (`syncAdopted` returns at once when the watermark already covers it).
        adoptedUnsynced = true
    }

    /// The original (LSN, HLC) of an event id, if the origin holds it (open segments, then EVENTIDS).
    func existingLSN(of id: String, key: ID128, hash: UInt64) throws(EventLogError) -> (lsn: UInt64, hlc: UInt64)? {
        if let open = openIDs[key] { return open }
        if !catalog.entries.isEmpty && idIndex?.coveredSegments != UInt64(catalog.entries.count) {
            // A writer never checks duplicates without the sealed segments' index: rebuild it (or fail).
            try loadEventIndex(rebuild: true)
        }
        guard let idx = idIndex else { return nil }
        let found: [(epoch: UInt32, lsn: UInt64)]
        do {
            found = try idx.candidates(hash: hash)
        } catch  where error.code == .corruption {
            // Derived data never fails an append: rebuild EVENTIDS from the seals and look again.
            idIndex = nil
            try? fs.unlink(directory + "/EVENTIDS")
            try loadEventIndex(rebuild: true)
            recoveryActions.actions.append(.rebuiltEventIndex)
            return try existingLSN(of: id, key: key, hash: hash)
        }
        for c in found {
            if let e = try eventLocked(lsn: c.lsn), e.eventID == id { return (c.lsn, e.hlc) }
        }
        return nil
    }
}
