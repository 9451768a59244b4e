import Foundation

/// The storage engine of one store: the local origin's writer, and readers over every origin's segments.
///
/// Concurrency rule (GRDB's form): one `EventLog` per process and store is enough; it is safe to use from
/// many threads. Appends from many threads share fsyncs (group commit); appends from many processes take
/// `LOCK` per commit and stay gap-free. Why: LSNs are assigned under the lock from the tail on disk, so two
/// writers can never hand out the same LSN. Practical advice: keep one `EventLog` open for a burst of
/// appends rather than one per event. If broken (two stores sharing an origin id through a copy), the copy
/// is detected from store.json's fingerprint and refuses to append.
public final class EventLog: @unchecked Sendable {
    public let fs: any FileSystem
    public let paths: StorePaths
    public let origin: OriginID
    /// `log/<origin-id>/`.
    public let directory: String
    public let options: OpenOptions
    /// Encryption of payload regions: `options.cipher`, else the registered default (nil: none).
    public let cipher: (any RegionCipher)?
    /// store.json as this process last read or wrote it (guarded by `lock`).
    var storedConfig: StoreConfig
    public var config: StoreConfig {
        lock.lock()
        defer { lock.unlock() }
        return storedConfig
    }
    let policies: StoreConfig.Policies

    /// Guards everything below. Held by the commit leader for a whole commit (one fsync) and by readers
    /// only while they copy the segment lists.
    let lock = NSRecursiveLock()
    var catalog = Catalog()
    var sealedSegments: [Int: SealedSegment] = [:]
    var opens: [OpenState] = []
    var idIndex: EventIDIndex?
    /// Event-id hash → LSNs, for events in `.open` segments (the sealed ones are in EVENTIDS).
    var openIDs: [ID128: (lsn: UInt64, hlc: UInt64)] = [:]
    /// Stream or key → LSNs in `.open` segments, kept incrementally.
    var openStreams: [Catalog.StreamKey: [UInt64]] = [:]
    var nextLSN: UInt64 = 1
    var lastHLC: UInt64 = 0
    /// Set after a failed write or sync: the next commit starts a new segment (contract 2).
    var poisoned = false
    /// A commit moved to a new segment (the key generation changed, or it completed an interrupted roll): seal the
    /// old one after it.
    var rolledInCommit = false
    /// Why appends are refused (copied store, corruption in the open segment); reads still work.
    var appendBlocked: EventLogError?
    /// A failed write whose bytes could not be cut: this process appends no more.
    var hardFailure = false
    /// Batches picked up from another writer's tail that may not be synced yet.
    var adoptedUnsynced = false
    /// Event-id entries collected by the seal being built (so EVENTIDS need not decode it again).
    var builtIDs: [EventIDIndex.Entry]?
    /// The last CATALOG rebuild stopped at a damaged or discontinuous sealed segment.
    var catalogDamaged = false
    var lockFD: FileDescriptor?
    var lastSyncNanos: UInt64 = 0
    var blockCache: BlockCache
    let decompressor = LZ4Frame.Decompressor()
    var recoveryActions = RecoveryReport()
    /// What opening (and later commits) repaired or found.
    public var recoveryReport: RecoveryReport {
        lock.lock()
        defer { lock.unlock() }
        return recoveryActions
    }

    // Group commit.
    let queueCondition = NSCondition()
    var queue: [CommitRequest] = []
    var leaderActive = false

    /// Opens the store at `root` (the `.aibrain` directory). Unless read-only, runs recovery under the lock.
    public init(root: String, fs: any FileSystem = PosixFileSystem(), options: OpenOptions = OpenOptions())
        throws(EventLogError)
    {
        self.fs = fs
        self.options = options
        paths = StorePaths(root: root)
        cipher = options.cipher ?? DefaultRegionCipher.cipher(for: StorePaths(root: root), fs: fs)
        let bytes: [UInt8]
        do {
            bytes = try fs.readFile(paths.config)
        } catch  where error.errno == 2 {
            throw EventLogError(
                .notAStore, "no store here (store.json is missing)", path: root,
                hint: "create one with `aibrain init`, or point --store / AIBRAIN_STORE at an existing .aibrain")
        } catch {
            throw EventLogError.system(error, "reading store.json", path: paths.config)
        }
        let config = try StoreConfig.decode(bytes, path: paths.config)
        storedConfig = config
        let foreign = options.origin.map { $0 != config.origin } ?? false
        guard !foreign || options.readOnly else {
            throw EventLogError(
                .readOnly, "only the store's own origin can be written; other origins are opened read-only",
                path: root)
        }
        origin = options.origin ?? config.origin
        directory = paths.originDirectory(origin)
        policies = options.policies ?? config.policies
        blockCache = BlockCache(capacityBytes: options.blockCacheBytes)
        guard
            let st = try fs.attempt(
                "reading the log directory", path: directory, { () throws(SystemError) in try fs.stat(directory) }),
            st.isDirectory
        else {
            throw EventLogError(
                .notAStore, "the origin's log directory is missing", path: directory,
                hint: "restore log/\(origin.hex)/ from a backup, or run `aibrain recover --new-epoch`")
        }
        if !foreign && st.inode != config.instance.logDirectoryInode {
            appendBlocked = EventLogError(
                .copiedStore,
                "this store was copied, cloned or restored (log directory inode \(st.inode), store.json records \(config.instance.logDirectoryInode)); appending would reuse LSNs of the original",
                path: paths.config, hint: "run `aibrain recover --new-epoch` to start a new epoch in this copy")
        }
        if options.readOnly {
            try loadReadOnlyState()
        } else {
            let fd = try fs.attempt("opening the writer lock", path: directory + "/LOCK") { () throws(SystemError) in
                try fs.open(directory + "/LOCK", .createOrOpen(permissions: 0o644))
            }
            lockFD = fd
            try acquireFileLock()
            defer { fs.unlock(fd) }
            try loadState(recover: true)
            // LOCK is never synced: after a power cut its watermark can name the active segment at an older end
            // than the batches recovery found, and readers would not see acknowledged events until the next
            // commit. Sync what was found (a killed writer's page cache may still hold it) and publish its end.
            syncAdopted()
        }
        if !foreign { checkRollback() }
    }

    deinit {
        // Lazy policies: what was acknowledged as not durable is synced when the log is closed.
        if policies.durability != .always, !options.readOnly, !poisoned {
            try? sync()  // under LOCK, from a fresh view of the tail
        }
        if let lockFD { fs.close(lockFD) }
        for o in opens { fs.close(o.fd) }
    }

    /// Creates a new store at `root` (refusing if one exists) and returns its config.
    @discardableResult
    public static func create(
        at root: String, name: String, fs: any FileSystem = PosixFileSystem(),
        policies: StoreConfig.Policies = StoreConfig.Policies(), origin: OriginID = .random()
    ) throws(EventLogError) -> StoreConfig {
        let paths = StorePaths(root: root)
        if try fs.attempt(
            "checking for a store", path: paths.config, { () throws(SystemError) in try fs.stat(paths.config) }) != nil
        {
            throw EventLogError(
                .invalidInput, "a store already exists here", path: root, hint: "use it, or choose another directory")
        }
        let dir = paths.originDirectory(origin)
        try fs.attempt("creating the store", path: root) { () throws(SystemError) in
            try fs.makeDirectories(dir)
        }
        guard
            let st = try fs.attempt(
                "reading the log directory", path: dir, { () throws(SystemError) in try fs.stat(dir) })
        else {
            throw EventLogError(.io, "log directory vanished after creation", path: dir)
        }
        let config = StoreConfig(
            format: StoreConfig.formatName, formatVersion: 1, originID: origin.hex, name: name, epoch: 1,
            instance: .init(logDirectoryInode: st.inode), head: nil, policies: policies)
        // Beside older file-based memory in the same `.aibrain/`, only the store's own parts are ignored,
        // and lines the user already has are kept.
        var existing = ""
        do throws(SystemError) {
            existing = String(decoding: try fs.readFile(paths.gitignore), as: UTF8.self)
        } catch  where error.errno != 2 {
            // Unreadable is not empty: never replace a file we could not read.
            throw EventLogError.system(error, "reading the existing .gitignore", path: paths.gitignore)
        } catch {}
        let have = Set(existing.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        var ignore = existing
        if !ignore.isEmpty && !ignore.hasSuffix("\n") { ignore += "\n" }
        if ignore.isEmpty {
            ignore = "# aibrain store: shipped between repos with `aibrain ship` (rsync), never committed.\n"
        }
        for line in StorePaths.ignoredEntries where !have.contains(line) { ignore += line + "\n" }
        try fs.attempt("writing .gitignore", path: paths.gitignore) { () throws(SystemError) in
            try fs.writeFileAtomically(paths.gitignore, Array(ignore.utf8))
        }
        try fs.attempt("writing store.json", path: paths.config) { () throws(SystemError) in
            try fs.writeFileAtomically(paths.config, config.encoded())
        }
        return config
    }

    /// The epoch new segments are written in.
    public var epoch: UInt32 { config.epoch }

    /// Re-reads store.json (another process may have started a new epoch); keeps the current one if unreadable.
    func reloadConfig() {
        if let bytes = try? fs.readFile(paths.config), let c = try? StoreConfig.decode(bytes, path: paths.config),
            c.originID == storedConfig.originID
        {
            storedConfig = c
        }
    }

    /// The last LSN visible to this process's readers.
    public var headLSN: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return nextLSN - 1
    }

    /// Refuse appends if the sealed log ends before the head store.json says we sealed (a restore from an
    /// older backup of the whole store): appending would reuse LSNs the original already shipped.
    func checkRollback() {
        guard appendBlocked == nil, let head = config.head else { return }
        let sealedHead = catalog.entries.last { $0.epoch == head.epoch }?.lastLSN ?? 0
        if sealedHead < head.lastSealedLSN {
            appendBlocked = EventLogError(
                .copiedStore,
                "the log ends at sealed LSN \(sealedHead) but store.json says this store sealed up to \(head.lastSealedLSN): it was rolled back or restored",
                path: paths.config, hint: "run `aibrain recover --new-epoch`")
        }
    }

    // MARK: - The writer lock

    /// Takes `LOCK` (flock), waiting up to the lock timeout; records our pid in it for error messages.
    func acquireFileLock() throws(EventLogError) {
        guard let fd = lockFD else { throw EventLogError(.readOnly, "this store was opened read-only") }
        let start = OpenOptions.monotonicNanoseconds()
        let timeout = UInt64(policies.lockTimeoutMilliseconds) * 1_000_000
        var pause: UInt32 = 50
        while !(try fs.attempt(
            "locking", path: directory + "/LOCK", { () throws(SystemError) in try fs.lock(fd, nonBlocking: true) }))
        {
            if OpenOptions.monotonicNanoseconds() - start > timeout {
                let holder =
                    (try? fs.read(fd, count: 32, at: 0)).map {
                        String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    } ?? "?"
                throw EventLogError(
                    .lockTimeout,
                    "the writer lock is held by pid \(holder.isEmpty ? "?" : holder) for more than \(policies.lockTimeoutMilliseconds) ms",
                    path: directory + "/LOCK", hint: "wait for that process, or stop it if it hangs")
            }
            usleep(pause)
            pause = min(pause * 2, 5000)
        }
        var text = Array("\(getpid())".utf8)
        text += [UInt8](repeating: 0x20, count: max(0, 15 - text.count)) + [0x0A]
        do {
            try fs.writeAll(fd, text, at: 0)
        } catch {
            fs.unlock(fd)
            throw EventLogError.system(error, "recording the lock holder", path: directory + "/LOCK")
        }
    }

    func releaseFileLock() {
        if let fd = lockFD { fs.unlock(fd) }
    }
}

/// An `.open` segment as the process sees it.
final class OpenState {
    let path: String
    let header: SegmentHeader
    let fd: FileDescriptor
    let writable: Bool
    var batches: [BatchRef]
    var dataEnd: Int64
    /// Bytes allocated (preallocated zeros included).
    var allocated: Int64
    var lastLSN: UInt64
    var lastHLC: UInt64
    /// The header names a successor (the log moved on, or a roll was interrupted before its file existed).
    var superseded: Bool

    init(path: String, scan: OpenScan, fd: FileDescriptor, writable: Bool) {
        self.path = path
        header = scan.header
        self.fd = fd
        self.writable = writable
        batches = scan.batches
        dataEnd = scan.dataEnd
        allocated = scan.fileSize
        lastLSN = scan.lastLSN
        lastHLC = scan.lastHLC
        superseded = scan.successorFirstLSN != nil
    }

    var firstLSN: UInt64 { header.firstLSN }
    var name: String { lastPathComponent(path) }
    var isEmpty: Bool { batches.isEmpty }
}

/// What opening the store repaired or found (recovery is never silent).
public struct RecoveryReport: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case cutTornTail(file: String, offset: Int64, bytes: Int, reason: String, keptIn: String)
        case removedTornSegment(file: String, keptIn: String)
        /// R20: an empty `.open` left by an interrupted roll of an older version, inside its predecessor's events.
        case setAsideOrphanSegment(file: String, keptIn: String)
        case removedUnfinishedSeal(file: String)
        case finishedSeal(file: String)
        case redidSeal(file: String)
        case rebuiltCatalog
        case rebuiltEventIndex
        case corruption(String)
    }
    public var actions: [Action] = []
}
