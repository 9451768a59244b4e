import EventLog
import Foundation
import Trust

#if canImport(Glibc)
    import Glibc
#endif

/// What one adoption run found and did.
public struct AdoptionReport: Sendable {
    public enum Outcome: String, Sendable {
        /// Verified and linked into `log/<origin>/`.
        case adopted
        /// The same bytes are adopted already: removed from incoming/.
        case duplicate
        /// A valid segment that contradicts the adopted history: quarantined.
        case fork
        /// Fails verification (checksum, SHA-256, framing, wrong origin or name): quarantined.
        case corrupt
        /// Earlier LSNs have not arrived: left in incoming/ until they do.
        case waiting
        /// Not a sealed segment name (e.g. an `.open` copied by hand): left where it is.
        case ignored
    }

    public struct Arrival: Sendable {
        public var origin: String
        public var file: String
        public var outcome: Outcome
        public var firstLSN: UInt64?
        public var lastLSN: UInt64?
        public var bytes: Int64
        /// What was checked or found, naming offsets, LSNs and both hashes.
        public var detail: String
        public var arrivedSeal: String?
        public var adoptedSeal: String?
        /// Path of the quarantined copy, relative to the store.
        public var quarantinedAs: String?
    }

    /// A sender's manifest (sent last by its push) checked against what this store now holds.
    public struct ManifestCheck: Sendable {
        public var sender: String
        public var file: String
        public var origin: String
        public var state: SyncComparison.State
        public var claimedSegments: Int
        public var claimedEvents: UInt64
        public var claimedHead: String?
        public var detail: String
    }

    public var arrivals: [Arrival] = []
    public var manifestChecks: [ManifestCheck] = []
    /// Failures that stopped part of the adoption (one line each, naming the origin and file); the rest
    /// went on. The command exits 1 when there are any.
    public var errors: [String] = []
    /// Manifests that do not decode (named, never fatal: they are derived data).
    public var manifestErrors: [String] = []
    public var waitedForLockMilliseconds: Int = 0
    /// The whole run, lock wait included.
    public var milliseconds: Int = 0
    /// The pid that held the adoption lock while we waited, if any.
    public var lockHolder: String?
    /// rsync temporaries (dot-files, `.rsync-partial/`) left by interrupted transfers; the next transfer
    /// resumes from them.
    public var partialTransfers: Int = 0
    /// Stale rsync temporaries removed (older than an hour, or copies of segments adopted since).
    public var removedTemporaries: Int = 0
    /// Adopted origins whose newest clock is beyond now + the skew limit.
    public var clockAhead: [(origin: String, milliseconds: Int64)] = []

    public func count(_ o: Outcome) -> Int { arrivals.filter { $0.outcome == o }.count }
    public var adoptedEvents: UInt64 {
        arrivals.filter { $0.outcome == .adopted }.reduce(0) { $0 + (($1.lastLSN ?? 0) - ($1.firstLSN ?? 1) + 1) }
    }
    /// Forks or corrupt arrivals: a human must look (exit 5).
    public var needsAttention: Bool { count(.fork) + count(.corrupt) > 0 }
}

/// `ship adopt`: verifies every arrival in `incoming/<origin-id>/` and links the good ones into
/// `log/<origin-id>/` (contract 8).
///
/// Rule: one adopter at a time (`incoming/LOCK`, flock), and a segment enters `log/` only after it passed
/// every check: the full verifier (header, every block checksum and frame, every envelope, SHA-256 of the
/// records and of the file against the seal, the seal hash), its origin and name, then position: its first
/// LSN continues the adopted head and its previous-seal hash is the adopted head's seal. Linking is
/// `link()` (never overwrites) → fsync(log dir) → unlink from incoming/. Why: `log/` is what every reader
/// and projection trusts. What if broken: a fork or a half-copied file would be read as history. Crash at
/// any step: the next run sees the same file in both places and treats it as a duplicate.
public struct Adopter {
    public let paths: StorePaths
    public let fs: any FileSystem
    /// How long to wait for another adopter.
    public var lockTimeoutMilliseconds: Int
    /// The wall clock (Unix ms): quarantine reports and the skew check. Tests inject it.
    public var clock: @Sendable () -> Int64

    public init(
        root: String, fs: any FileSystem = PosixFileSystem(), lockTimeoutMilliseconds: Int = 30_000,
        clock: @escaping @Sendable () -> Int64 = OpenOptions.wallClockMilliseconds
    ) {
        paths = StorePaths(root: root)
        self.fs = fs
        self.lockTimeoutMilliseconds = lockTimeoutMilliseconds
        self.clock = clock
    }

    /// One adopted segment, as the position checks need it.
    struct Held {
        var name: String
        var firstLSN: UInt64
        var lastLSN: UInt64
        var lastHLC: UInt64
        var sealHash: [UInt8]
        /// Whether its seal is signed (nil: not read yet).
        var signed: Bool? = nil
    }

    public func run() throws(ShipError) -> AdoptionReport {
        let start = OpenOptions.monotonicNanoseconds()
        var report = AdoptionReport()
        let config = try engine { () throws(EventLogError) in
            try StoreConfig.decode(
                try fs.attempt("reading store.json", path: paths.config) {
                    () throws(SystemError) in try fs.readFile(paths.config)
                }, path: paths.config)
        }
        try system("creating incoming/", path: paths.incoming) { () throws(SystemError) in
            try fs.makeDirectories(paths.incoming)
        }
        let lock = try takeLock(&report)
        defer {
            fs.unlock(lock)
            fs.close(lock)
        }
        let names = try system("listing incoming/", path: paths.incoming) { () throws(SystemError) in
            try fs.listDirectory(paths.incoming)
        }.sorted()
        var touched: [(OriginID, adopted: Bool)] = []
        for n in names {
            guard let o = OriginID(hex: n),
                let st = try? fs.stat(paths.incoming + "/" + n), st.isDirectory
            else { continue }
            guard n == o.hex else {
                report.arrivals.append(
                    .init(
                        origin: n, file: "", outcome: .ignored, bytes: 0,
                        detail:
                            "incoming/\(n)/ is not an origin folder name (32 lowercase hex digits); left where it is"))
                continue
            }
            do throws(ShipError) {
                let adopted = try adoptOrigin(o, local: o == config.origin, into: &report)
                touched.append((o, adopted))
            } catch {
                // One origin's failure (a permission, a full disk) never stops the others.
                report.errors.append("origin \(o.hex): \(error.message)\(error.hint.map { " (\($0))" } ?? "")")
            }
        }
        // An adopted origin whose CATALOG went stale (a crash after a link, damage) is rewritten even when
        // nothing new arrived for it, so readers and peers see what the folder holds.
        for n in (try? fs.listDirectory(paths.log)) ?? [] {
            guard let o = OriginID(hex: n), n == o.hex, o != config.origin,
                !touched.contains(where: { $0.0 == o && $0.adopted }),
                let log = try? EventLog(root: paths.root, fs: fs, options: OpenOptions(readOnly: true, origin: o)),
                log.recoveryReport.actions.contains(.rebuiltCatalog), !log.sealedLogDamaged
            else { continue }
            do throws(EventLogError) {
                try EventLog.refreshAdoptedCatalog(root: paths.root, origin: o, fs: fs)
            } catch {
                report.errors.append("origin \(o.hex): rewriting its CATALOG: \(error.summary)")
            }
        }
        try checkManifests(names.filter { $0.hasSuffix(Self.manifestSuffix) }, into: &report)
        report.milliseconds = Int((OpenOptions.monotonicNanoseconds() - start) / 1_000_000)
        return report
    }

    public static let manifestSuffix = ".manifest.json"

    // MARK: - The lock

    private func takeLock(_ report: inout AdoptionReport) throws(ShipError) -> FileDescriptor {
        let path = paths.incoming + "/LOCK"
        let fd = try system("opening the adoption lock", path: path) { () throws(SystemError) in
            try fs.open(path, .createOrOpen(permissions: 0o644))
        }
        let start = OpenOptions.monotonicNanoseconds()
        var pause: UInt32 = 1000
        while true {
            let got = try system("locking", path: path) { () throws(SystemError) in
                try fs.lock(fd, nonBlocking: true)
            }
            if got { break }
            if report.lockHolder == nil {
                report.lockHolder = (try? fs.read(fd, count: 32, at: 0)).map {
                    String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                }
            }
            let waited = OpenOptions.monotonicNanoseconds() - start
            if waited > UInt64(lockTimeoutMilliseconds) * 1_000_000 {
                fs.close(fd)
                throw ShipError(
                    .lockTimeout,
                    "another adoption (pid \(report.lockHolder ?? "?")) has held \(path) for more than \(lockTimeoutMilliseconds) ms",
                    hint: "wait for it to finish, or stop it if it hangs; nothing was adopted by this run", path: path)
            }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
        report.waitedForLockMilliseconds = Int((OpenOptions.monotonicNanoseconds() - start) / 1_000_000)
        var text = Array("\(getpid())".utf8)
        text += [UInt8](repeating: 0x20, count: max(0, 15 - text.count)) + [0x0A]
        try? fs.writeAll(fd, text, at: 0)
        return fd
    }

    // MARK: - One origin

    /// Adopts what continues origin `o`; returns whether anything was linked.
    ///
    /// Each arrival is first *claimed*: renamed from `incoming/<o>/` into `incoming/<o>/.claimed/`, where no
    /// rsync writes (a concurrent push may rename a new copy over the incoming name at any time; the
    /// claimed inode is the one that is verified, fsynced and linked). Every claim is judged before anything
    /// is linked; forks and corrupt files go to quarantine/ and waiting ones back to incoming/ as they are
    /// judged; adopted and duplicate claims are removed only after CATALOG is current, so a crash at any
    /// step leaves them for the next run (which finds duplicates).
    private func adoptOrigin(_ o: OriginID, local: Bool, into report: inout AdoptionReport) throws(ShipError) -> Bool {
        let dir = paths.incoming + "/" + o.hex
        let claimDir = dir + "/" + Self.claimFolder
        let logDir = paths.originDirectory(o)
        let names = try system("listing incoming/\(o.hex)", path: dir) { () throws(SystemError) in
            try fs.listDirectory(dir)
        }
        for n in names.sorted() {
            if n == Self.claimFolder { continue }
            if n.hasPrefix(".") {
                cleanTemporaries(n, in: dir, logDir: logDir, into: &report)
                continue
            }
            guard let p = SegmentName.parse(n), p.sealed else {
                report.arrivals.append(
                    .init(
                        origin: o.hex, file: n, outcome: .ignored, bytes: (try? fs.stat(dir + "/" + n))?.size ?? 0,
                        detail: "not a sealed segment name (only <epoch>-<lsn>.seg files are shipped); left where it is"
                    ))
                continue
            }
            // A claimed file of that name (from a run that crashed) is judged first; this one waits.
            if (try? fs.stat(claimDir + "/" + n)) != nil { continue }
            try system("claiming \(n)", path: dir + "/" + n) { () throws(SystemError) in
                try fs.makeDirectories(claimDir)
                try fs.rename(dir + "/" + n, claimDir + "/" + n)
            }
        }
        var candidates: [(epoch: UInt32, lsn: UInt64, name: String)] = []
        for n in (try? fs.listDirectory(claimDir)) ?? [] {
            if let p = SegmentName.parse(n), p.sealed,
                n == SegmentName.make(epoch: p.epoch, firstLSN: p.firstLSN, sealed: true)
            {
                candidates.append((p.epoch, p.firstLSN, n))
            } else if SegmentName.parse(n) != nil {
                // `0000000A-…` or `+0000001-…`: parses, but is not the name this engine writes. Never linked
                // under it (CATALOG would never match the folder again).
                var a = AdoptionReport.Arrival(
                    origin: o.hex, file: n, outcome: .corrupt, bytes: (try? fs.stat(claimDir + "/" + n))?.size ?? 0,
                    detail: "not the canonical segment name (8 lowercase hex digits, '-', 20 decimal digits, .seg)")
                if let bytes = try? fs.readFile(claimDir + "/" + n) {
                    try quarantine(&a, path: claimDir + "/" + n, bytes: bytes, origin: o)
                }
                report.arrivals.append(a)
            }
        }
        candidates.sort { ($0.lsn, $0.epoch) < ($1.lsn, $1.epoch) }
        guard !candidates.isEmpty else { return false }

        // What this store holds of the origin.
        var entries: [Held] = []
        var catalogStale = false
        if (try? fs.stat(logDir)) != nil {
            let log = try engine { () throws(EventLogError) in
                try EventLog(root: paths.root, fs: fs, options: OpenOptions(readOnly: true, origin: local ? nil : o))
            }
            if log.sealedLogDamaged {
                for c in candidates {
                    report.arrivals.append(
                        .init(
                            origin: o.hex, file: c.name, outcome: .waiting, bytes: 0,
                            detail:
                                "the adopted log of this origin is damaged (run `aibrain verify`); nothing is adopted into it until it is repaired"
                        ))
                    release(claimDir + "/" + c.name, to: dir + "/" + c.name)
                }
                return false
            }
            entries = log.sealedCatalog.map {
                Held(
                    name: $0.fileName, firstLSN: $0.firstLSN, lastLSN: $0.lastLSN, lastHLC: $0.lastHLC,
                    sealHash: $0.sealHash)
            }
            catalogStale = !local && log.recoveryReport.actions.contains(.rebuiltCatalog)
        }
        var linked = false
        /// Claimed files to remove once CATALOG is current (adopted or duplicates).
        var done: [String] = []
        var accepted: [(arrival: AdoptionReport.Arrival, path: String, lastHLC: UInt64)] = []
        // The keys this store trusts for the origin, read once for all its arrivals.
        let trust: Result<OriginTrust, EventLogError> = {
            do throws(EventLogError) {
                let store = try KeyStore.local(storeRoot: paths.root, fs: fs)
                return .success(
                    OriginTrust(origin: o, keys: try store.verifiers(for: o), since: try store.signedSince(o)))
            } catch {
                return .failure(error)
            }
        }()
        for c in candidates {
            let path = claimDir + "/" + c.name
            let bytes: [UInt8]
            do throws(SystemError) {
                bytes = try fs.readFile(path)
            } catch {
                report.arrivals.append(
                    .init(
                        origin: o.hex, file: c.name, outcome: .waiting, bytes: 0,
                        detail: "cannot be read (\(error)); kept for the next run"))
                continue
            }
            var a = AdoptionReport.Arrival(
                origin: o.hex, file: c.name, outcome: .corrupt, bytes: Int64(bytes.count), detail: "")
            // 1. The file itself.
            let footer: SealFooter
            let header: SegmentHeader
            let trailer: SealTrailer
            do throws(EventLogError) {
                footer = try SealedSegmentVerifier.verify(bytes, path: "incoming/\(o.hex)/\(c.name)")
                header = try SegmentHeader.decodeChecked(bytes, path: path)
                trailer = try SealTrailer.decodeChecked(bytes, path: path)
                guard header.origin == o else {
                    throw EventLogError.corrupt(
                        "its header names origin \(header.origin.hex), but it arrived in incoming/\(o.hex)/",
                        path: path, offset: 32)
                }
                guard header.epoch == c.epoch, header.firstLSN == c.lsn else {
                    throw EventLogError.corrupt(
                        "its name says epoch \(c.epoch), LSN \(c.lsn) but its header says epoch \(header.epoch), LSN \(header.firstLSN)",
                        path: path, offset: 24)
                }
            } catch {
                a.detail = "fails verification: \(error.summary)"
                try quarantine(&a, path: path, bytes: bytes, origin: o)
                report.arrivals.append(a)
                continue
            }
            a.firstLSN = footer.firstLSN
            a.lastLSN = footer.lastLSN
            let sealHash = trailer.sealHash
            a.arrivedSeal = hexString(sealHash)

            // 1b. Its signature: a trusted origin's seals must be its key's; signed history never continues
            // unsigned (earlier unsigned history stays valid as legacy).
            let signed: Bool
            do throws(EventLogError) {
                signed = try checkSignature(
                    header: header, footer: footer, trailer: trailer, trust: trust.get(), held: &entries, logDir: logDir
                )
            } catch {
                if error.code == .io || error.code == .keyMissing {
                    // Not evidence against the arrival: it waits for the next run.
                    a.outcome = .waiting
                    a.detail = "signature not checked: \(error.message); kept for the next run"
                    release(path, to: dir + "/" + c.name)
                } else {
                    a.detail = "signature: \(error.message)"
                    try quarantine(&a, path: path, bytes: bytes, origin: o)
                }
                report.arrivals.append(a)
                continue
            }

            // 2. Its position against what is adopted.
            let verdict: Verdict
            do throws(SystemError) {
                verdict = try Self.judge(
                    c.name, footer: footer, sealHash: sealHash, held: entries, local: local,
                    sameBytes: { () throws(SystemError) in try fs.readFile(logDir + "/" + c.name) == bytes })
            } catch {
                verdict = .waiting(
                    "the adopted copy log/\(o.hex)/\(c.name) cannot be read to compare (\(error)); kept for the next run"
                )
            }
            switch verdict {
            case .duplicate:
                a.outcome = .duplicate
                a.adoptedSeal = a.arrivedSeal
                a.detail = "the same file is adopted already"
                done.append(path)
            case .fork(let adoptedSeal, let detail):
                a.outcome = .fork
                a.adoptedSeal = adoptedSeal.map(hexString)
                a.detail = detail
                try quarantine(&a, path: path, bytes: bytes, origin: o)
            case .waiting(let detail):
                a.outcome = .waiting
                a.detail = detail
                release(path, to: dir + "/" + c.name)
            case .accept:
                break
            }
            guard case .accept = verdict else {
                report.arrivals.append(a)
                continue
            }
            // Accepted: linked below, once every candidate was judged.
            a.outcome = .adopted
            a.adoptedSeal = a.arrivedSeal
            a.detail = "verified (\(footer.eventCount) events, SHA-256 and seal chain) and linked into log/\(o.hex)/"
            accepted.append((a, path, footer.lastHLC))
            entries.append(
                Held(
                    name: c.name, firstLSN: footer.firstLSN, lastLSN: footer.lastLSN, lastHLC: footer.lastHLC,
                    sealHash: sealHash, signed: signed))
        }
        // 3. Contract 6 before anything is linked: a writer that reads an adopted event and then emits must
        // sort after it. Only verified, accepted segments raise the floor, and by at most the skew limit.
        if let newest = accepted.map(\.lastHLC).max() {
            let capped = min(newest, HLC.make(milliseconds: clock() + AdoptedClock.maxSkewMilliseconds, counter: 0))
            try engine { () throws(EventLogError) in try AdoptedClock.raise(to: capped, fs, paths) }
        }
        // 4. Link them in order: durable in log/ before they leave incoming/ (after CATALOG, below). A link
        // that cannot be made stops the rest (they would not continue the chain): they wait.
        var stopped = false
        var lastLinkedHLC: UInt64?
        for (a, path, hlc) in accepted {
            var a = a
            if stopped {
                a.outcome = .waiting
                a.detail = "an earlier segment of this origin could not be linked; kept for the next run"
                report.arrivals.append(a)
                continue
            }
            let target = logDir + "/" + a.file
            do throws(ShipError) {
                if try link(path, to: target, logDir: logDir) {
                    linked = true
                    lastLinkedHLC = hlc
                    done.append(path)
                } else {
                    a.outcome = .waiting
                    a.detail =
                        "a file of this name appeared in log/\(o.hex)/ meanwhile; the next adoption compares the two"
                    stopped = true
                }
            } catch {
                a.outcome = .waiting
                a.detail = "could not be linked into log/\(o.hex)/: \(error.message); kept for the next run"
                report.errors.append("\(o.hex)/\(a.file): \(error.message)")
                stopped = true
            }
            report.arrivals.append(a)
        }
        // An adopted clock beyond the skew limit counted only up to it (above): flagged.
        let now = clock()
        if let last = lastLinkedHLC, AdoptedClock.isBeyondSkew(last, now: now) {
            report.clockAhead.append((o.hex, HLC.milliseconds(last) - now))
        }
        if (linked || catalogStale) && !local {
            try engine { () throws(EventLogError) in
                try EventLog.refreshAdoptedCatalog(root: paths.root, origin: o, fs: fs)
            }
        }
        for path in done {
            try system("removing an adopted arrival", path: path) { () throws(SystemError) in try fs.unlink(path) }
        }
        try? fs.fsyncDirectory(claimDir)
        try? fs.fsyncDirectory(dir)
        return linked
    }

    /// Where a verified segment stands against the origin's adopted segments (`held`, oldest first).
    enum Verdict: Equatable {
        case duplicate
        /// The adopted seal it contradicts (nil: none at that position), and what was found.
        case fork(adoptedSeal: [UInt8]?, detail: String)
        case waiting(String)
        case accept
    }

    /// The position rules of FORMAT.md "Shipping", in their order: an adopted name (the same bytes, or a
    /// fork), this store's own origin, a position already covered, a gap, the seal chain.
    static func judge(
        _ name: String, footer: SealFooter, sealHash: [UInt8], held: [Held], local: Bool,
        sameBytes: () throws(SystemError) -> Bool
    ) throws(SystemError) -> Verdict {
        let lsns = "LSNs \(footer.firstLSN)–\(footer.lastLSN)"
        let arrived = hexString(sealHash)
        if let same = held.first(where: { $0.name == name }) {
            if try sameBytes() { return .duplicate }
            return .fork(
                adoptedSeal: same.sealHash,
                detail:
                    "a different file for an adopted position (\(lsns)): arrived seal \(arrived), adopted seal \(hexString(same.sealHash))"
            )
        }
        if local {
            return .fork(
                adoptedSeal: nil,
                detail:
                    "a segment of this store's own origin that this store did not write (\(lsns), seal \(arrived)): another store writes as this origin (a copy of this store?)"
            )
        }
        let headLSN = held.last?.lastLSN ?? 0
        let headSeal = held.last?.sealHash ?? zeros
        if footer.firstLSN <= headLSN {
            let covering = held.last { $0.firstLSN <= footer.firstLSN }
            return .fork(
                adoptedSeal: covering?.sealHash,
                detail:
                    "covers \(lsns), already adopted from \(covering?.name ?? "?") (seal \(covering.map { hexString($0.sealHash) } ?? "?")): arrived seal \(arrived)"
            )
        }
        if footer.firstLSN > headLSN + 1 {
            return .waiting(
                "LSNs \(headLSN + 1)–\(footer.firstLSN - 1) of this origin have not arrived; it stays in incoming/ until they do"
            )
        }
        guard footer.previousSealHash == headSeal else {
            return .fork(
                adoptedSeal: headSeal,
                detail:
                    "continues LSN \(headLSN) but chains to seal \(hexString(footer.previousSealHash)), not the adopted head seal \(hexString(headSeal)): a different history"
            )
        }
        return .accept
    }

    /// Links a claimed, verified file into `log/`: fsync it, `link()` (never overwriting), fsync the folder.
    /// Returns false when a file of that name exists already. Where the kernel refuses to hard-link a file
    /// this user does not own (`fs.protected_hardlinks`, EPERM) or across file systems (EXDEV), the bytes
    /// are verified again and written as a new file (tmp → fsync → `link()` → fsync), still never
    /// overwriting.
    private func link(_ path: String, to target: String, logDir: String) throws(ShipError) -> Bool {
        try system("adopting \(lastPathComponent(path))", path: target) { () throws(SystemError) -> Bool in
            let fd = try fs.open(path, .readOnly)
            defer { fs.close(fd) }
            try fs.fsync(fd)
            try fs.makeDirectories(logDir)
            do throws(SystemError) {
                try fs.link(path, target)
            } catch {
                if error.errno == 17 { return false }
                guard error.errno == 1 || error.errno == 18 else { throw error }
                let bytes = try fs.read(fd, count: Int(try fs.size(fd)), at: 0)
                do throws(EventLogError) {
                    _ = try SealedSegmentVerifier.verify(bytes, path: path)
                } catch {
                    throw SystemError(call: "verify (changed since it was judged)", path: path, errno: 5)
                }
                let tmp = target + ".adopt.tmp"
                if try fs.stat(tmp) != nil { try fs.unlink(tmp) }
                let out = try fs.open(tmp, .createExclusive(permissions: 0o444))
                do throws(SystemError) {
                    try fs.writeAll(out, bytes, at: 0)
                    try fs.fsync(out)
                } catch {
                    fs.close(out)
                    try? fs.unlink(tmp)
                    throw error
                }
                fs.close(out)
                defer { try? fs.unlink(tmp) }
                do throws(SystemError) { try fs.link(tmp, target) } catch {
                    if error.errno == 17 { return false }
                    throw error
                }
            }
            // Read-only like every sealed segment (an arrival of another user is left as the kernel allows).
            if let st = try fs.stat(target), st.permissions & 0o222 != 0 { try? fs.setMode(target, 0o444) }
            try fs.fsyncDirectory(logDir)
            return true
        }
    }

    /// Where adoption moves an arrival before judging it (no rsync writes there).
    public static let claimFolder = ".claimed"

    /// Puts a claimed file that must wait back under its incoming name (a push meanwhile may have delivered
    /// a new copy there: then this one stays claimed and is judged first next time).
    private func release(_ claimed: String, to incoming: String) {
        if (try? fs.link(claimed, incoming)) != nil { try? fs.unlink(claimed) }
    }

    static let zeros = [UInt8](repeating: 0, count: 32)

    /// An rsync temporary untouched this long belongs to no live transfer: every push runs rsync with an
    /// I/O timeout (600 s by default), and a live receiver writes its temporary file continuously.
    public static let staleTemporaryMilliseconds: Int64 = 3_600_000

    /// rsync leaves `.<name>.XXXXXX` temporaries behind when it is killed, and `--delay-updates` keeps
    /// finished files in `.rsync-partial/` until a transfer completes (the next run resumes from them).
    /// Removed when untouched for an hour: temporaries, and delayed copies of segments adopted meanwhile.
    private func cleanTemporaries(
        _ name: String, in dir: String, logDir: String, into report: inout AdoptionReport
    ) {
        let path = dir + "/" + name
        if name == ".rsync-partial" {
            for p in (try? fs.listDirectory(path)) ?? [] {
                // Adopted meanwhile, and untouched for an hour (a running transfer may still rename it).
                if (try? fs.stat(logDir + "/" + p)) != nil, let st = try? fs.stat(path + "/" + p), st.modifiedAt > 0,
                    clock() - st.modifiedAt > Self.staleTemporaryMilliseconds, (try? fs.unlink(path + "/" + p)) != nil
                {
                    report.removedTemporaries += 1
                } else {
                    report.partialTransfers += 1
                }
            }
            return
        }
        if let st = try? fs.stat(path), !st.isDirectory, st.modifiedAt > 0,
            clock() - st.modifiedAt > Self.staleTemporaryMilliseconds, (try? fs.unlink(path)) != nil
        {
            report.removedTemporaries += 1
        } else {
            report.partialTransfers += 1
        }
    }

    /// Moves an arrival to `quarantine/<origin>/<name>.<sha-prefix>` with a JSON report beside it.
    private func quarantine(
        _ a: inout AdoptionReport.Arrival, path: String, bytes: [UInt8], origin: OriginID
    ) throws(ShipError) {
        if a.outcome != .fork { a.outcome = .corrupt }
        let digest = hexString(SHA256Digest.hash(bytes))
        let dir = paths.quarantine + "/" + origin.hex
        let name = a.file + "." + digest.prefix(16)
        let target = dir + "/" + name
        a.quarantinedAs = "quarantine/\(origin.hex)/\(name)"
        let report = QuarantineReport(
            kind: a.outcome.rawValue, origin: origin.hex, file: a.file,
            detectedAt: ISO8601.format(milliseconds: clock()),
            detail: a.detail, sha256: digest, arrivedSeal: a.arrivedSeal, adoptedSeal: a.adoptedSeal,
            firstLSN: a.firstLSN, lastLSN: a.lastLSN, bytes: Int64(bytes.count))
        try system("quarantining \(a.file)", path: target) { () throws(SystemError) in
            try fs.makeDirectories(dir)
            // The report first: a quarantined file never lacks one, even after a crash between the two.
            if try fs.stat(target + ".json") == nil {
                try fs.writeFileAtomically(target + ".json", report.encoded())
            }
            if try fs.stat(target) != nil {
                // The same bytes were quarantined before: keep that copy and its report.
                try fs.unlink(path)
                return
            }
            try fs.rename(path, target)
            try fs.fsyncDirectory(dir)
        }
    }

    // MARK: - Manifests

    private func checkManifests(_ names: [String], into report: inout AdoptionReport) throws(ShipError) {
        guard !names.isEmpty else { return }
        let ours = try Manifest.local(root: paths.root, fs: fs)
        for n in names {
            let path = paths.incoming + "/" + n
            guard let bytes = try? fs.readFile(path) else { continue }
            let theirs: Manifest
            do throws(ShipError) {
                theirs = try Manifest.decode(bytes, path: "incoming/\(n)")
            } catch {
                report.manifestErrors.append(error.message)
                continue
            }
            let comparison = SyncComparison(ours: ours, theirs: theirs)
            for row in comparison.rows {
                guard let claimed = row.theirs else { continue }
                let detail: String
                switch row.state {
                case .inSync, .ahead:
                    detail =
                        "verified: \(claimed.segments) segments, \(claimed.events) events, head seal \(claimed.headSealHash?.prefix(16) ?? "-")… as the sender lists them"
                case .behind(let k):
                    detail =
                        "\(k) segment(s) the sender lists are not adopted yet (waiting in incoming/ or not arrived: run the push again)"
                case .ownOriginAhead(let k):
                    detail =
                        "the sender holds \(k) more segment(s) of this store's own origin: another store writes as this origin, or this store lost its newest segments"
                case .forked(let lsn, _, let ourSeal, let theirSegment, let theirSeal):
                    detail =
                        "forked at LSN \(lsn): the sender holds \(theirSegment) (seal \(theirSeal)), this store seal \(ourSeal)"
                }
                report.manifestChecks.append(
                    .init(
                        sender: theirs.store, file: n, origin: row.origin, state: row.state,
                        claimedSegments: claimed.segments, claimedEvents: claimed.events,
                        claimedHead: claimed.headSealHash, detail: detail))
            }
        }
    }
}

/// The JSON file beside a quarantined arrival.
struct QuarantineReport: Codable {
    var kind: String
    var origin: String
    var file: String
    var detectedAt: String
    var detail: String
    var sha256: String
    var arrivedSeal: String?
    var adoptedSeal: String?
    var firstLSN: UInt64?
    var lastLSN: UInt64?
    var bytes: Int64

    enum CodingKeys: String, CodingKey {
        case kind, origin, file
        case detectedAt = "detected_at"
        case detail, sha256
        case arrivedSeal = "arrived_seal"
        case adoptedSeal = "adopted_seal"
        case firstLSN = "first_lsn"
        case lastLSN = "last_lsn"
        case bytes
    }

    func encoded() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try! e.encode(self)) + [0x0A]
    }
}

extension SegmentHeader {
    /// The header of a whole segment file in memory (already verified: a failure here is still reported).
    static func decodeChecked(_ bytes: [UInt8], path: String) throws(EventLogError) -> SegmentHeader {
        do throws(DecodeFailure) {
            return try bytes.withBytes { (b) throws(DecodeFailure) in try SegmentHeader.decode(b) }
        } catch {
            throw EventLogError.corrupt("\(error.field) \(error.reason)", path: path, offset: Int64(error.offset))
        }
    }
}

extension SealTrailer {
    /// The trailer of a whole segment file in memory (already verified: a failure here is still reported).
    static func decodeChecked(_ bytes: [UInt8], path: String) throws(EventLogError) -> SealTrailer {
        let at = bytes.count - SealTrailer.size
        guard at >= 0 else { throw EventLogError.corrupt("too short for a seal trailer", path: path, offset: 0) }
        do throws(DecodeFailure) {
            return try bytes.withBytes { (b) throws(DecodeFailure) in
                try SealTrailer.decode(UnsafeRawBufferPointer(rebasing: b[at...]), base: at)
            }
        } catch {
            throw EventLogError.corrupt("\(error.field) \(error.reason)", path: path, offset: Int64(error.offset))
        }
    }
}

extension Adopter {
    /// The keys trusted for an origin, and from where all its seals must be signed.
    struct OriginTrust {
        var origin: OriginID
        var keys: [NoteVerifierKey]
        var since: SignedPosition?
    }

    /// Checks an arrival's seal signature against the keys this store trusts for its origin (its own key for
    /// its own origin). Throws (→ quarantine) when a trusted origin's seal is signed by another key or its
    /// signature fails, or when the arrival is unsigned but the adopted segment before it is signed, or at or
    /// after the origin's `since`. Returns whether the arrival is signed.
    func checkSignature(
        header: SegmentHeader, footer: SealFooter, trailer: SealTrailer, trust: OriginTrust, held: inout [Held],
        logDir: String
    ) throws(EventLogError) -> Bool {
        let o = trust.origin
        let statement = SealStatement(
            origin: o, epoch: header.epoch, firstLSN: footer.firstLSN, lastLSN: footer.lastLSN,
            merkleRoot: footer.merkleRoot, sealHash: trailer.sealHash, previousSealHash: footer.previousSealHash)
        let check = SealNote.check(statement, trailer: trailer, path: "incoming/\(o.hex)/", keys: trust.keys)
        if check.isFailure { throw EventLogError(.corruption, check.summary) }
        if check == .unsigned, let since = trust.since,
            SignedPosition(epoch: header.epoch, firstLSN: footer.firstLSN) >= since
        {
            throw EventLogError(
                .corruption,
                "unsigned, but every seal of origin \(o.hex) from \(since) on is signed (keys trust --signed-since)")
        }
        if check == .unsigned, let i = held.lastIndex(where: { $0.firstLSN < footer.firstLSN }) {
            if held[i].signed == nil {
                // Fail closed: when the adopted segment before it cannot be read, an unsigned arrival waits.
                guard let before = try? SealedSegment(fs: fs, path: logDir + "/" + held[i].name) else {
                    throw EventLogError(
                        .io,
                        "the adopted segment before it (\(held[i].name)) cannot be read to see whether it is signed")
                }
                held[i].signed = before.isSigned
            }
            if held[i].signed == true {
                throw EventLogError(
                    .corruption,
                    "unsigned, but the adopted segment before it (\(held[i].name)) is signed: a signed history never continues unsigned"
                )
            }
        }
        return check != .unsigned
    }
}
