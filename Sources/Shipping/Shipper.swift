import EventLog
import Trust

#if canImport(Glibc)
    import Glibc
#endif

/// `ship push`, `ship pull` and the peer half of `ship status`, over the real rsync.
public struct Shipper {
    public let paths: StorePaths
    public let fs: any FileSystem
    public var rsync: RsyncOptions

    public init(root: String, fs: any FileSystem = PosixFileSystem(), rsync: RsyncOptions = RsyncOptions()) {
        paths = StorePaths(root: root)
        self.fs = fs
        self.rsync = rsync
    }

    // MARK: - Sealing before a push

    public enum SealDecision: Sendable, Equatable {
        case sealed(events: UInt64, throughLSN: UInt64)
        /// The open segment is below both thresholds: kept open (a cron line does not litter tiny segments).
        case kept(bytes: Int64, ageSeconds: Int64)
        case nothingOpen
    }

    /// `--seal` seals the open segment only when it holds ≥ 1 MiB or is older than 10 minutes.
    public static let sealBytes: Int64 = 1 << 20
    public static let sealAgeSeconds: Int64 = 600

    public func sealIfWorthIt(force: Bool, now: Int64 = OpenOptions.wallClockMilliseconds()) throws(ShipError)
        -> SealDecision
    {
        let log = try engine { () throws(EventLogError) in
            try EventLog(
                root: paths.root, fs: fs,
                options: OpenOptions(signer: try OriginSigner.load(storeRoot: paths.root, fs: fs)))
        }
        guard let open = log.openSegmentStatus else { return .nothingOpen }
        let age = max(0, (now - open.createdAt) / 1000)
        guard force || open.bytes >= Self.sealBytes || age >= Self.sealAgeSeconds else {
            return .kept(bytes: open.bytes, ageSeconds: age)
        }
        let before = log.config.head?.lastSealedLSN ?? 0
        try engine { () throws(EventLogError) in try log.seal() }
        let after = log.config.head?.lastSealedLSN ?? before
        return .sealed(events: after - before, throughLSN: after)
    }

    // MARK: - Push

    public struct PushReport: Sendable {
        public var peer: String
        public var sealed: SealDecision?
        public var segments: [String]
        public var bytes: Int64
        public var milliseconds: Int
        public var manifest: Manifest
        public var manifestSentAs: String
    }

    /// Copies every sealed segment this store holds (its own and relayed origins) into the peer's
    /// `incoming/<origin-id>/`, skipping what the peer adopted, then this store's manifest. Runs nothing on
    /// the peer but rsync's receiver.
    /// `seal`: first seal the open segment if it is worth it (`force`: always), after the peer was found.
    public func push(to peer: Peer, seal: (force: Bool, now: Int64)? = nil) throws(ShipError) -> PushReport {
        let start = OpenOptions.monotonicNanoseconds()
        try checkPeer(peer)
        var r = Rsync(options: rsync)
        // Reading the peer's store.json first proves a store is there (a remote directory without one would
        // otherwise receive an incoming/ folder it never adopts) and that it is not this store; only then is
        // anything sealed (a mistyped peer in a cron line seals nothing).
        let theirs = try peerConfig(peer, rsync: &r)
        try checkIdentity(theirs.originID, ours: try localConfig().originID, peer: peer)
        let decision = try seal.map { (s) throws(ShipError) in try sealIfWorthIt(force: s.force, now: s.now) }
        let manifest = try Manifest.local(root: paths.root, fs: fs)
        let manifestPath = Self.manifestPath(paths)
        removeDeadTemporaries(of: manifestPath)
        try system("writing the manifest", path: manifestPath) { () throws(SystemError) in
            try fs.writeFileAtomically(manifestPath, manifest.encoded(), tmpSuffix: ".tmp.\(getpid())")
        }
        let sent = try r.shipSegments(from: paths.log, to: peer.rsyncPath("incoming"), remoteReceiver: !peer.isLocal)
        let name = "incoming/" + manifest.store + Adopter.manifestSuffix
        try r.shipFile(manifestPath, to: peer.rsyncPath(name), remoteReceiver: !peer.isLocal)
        return PushReport(
            peer: peer.description, sealed: decision, segments: sent.map(\.path),
            bytes: sent.reduce(0) { $0 + $1.bytes },
            milliseconds: Int((OpenOptions.monotonicNanoseconds() - start) / 1_000_000), manifest: manifest,
            manifestSentAs: name)
    }

    /// Pushes from one store may run at once (to different peers), so each writes its manifest through its
    /// own `<path>.tmp.<pid>`; one left by a push that was killed is removed once its process is gone.
    func removeDeadTemporaries(of path: String) {
        let dir = directoryName(of: path)
        let prefix = lastPathComponent(path) + ".tmp."
        for n in (try? fs.listDirectory(dir)) ?? [] where n.hasPrefix(prefix) {
            guard let pid = Int32(n.dropFirst(prefix.count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            try? fs.unlink(dir + "/" + n)
        }
    }

    /// This store's manifest as of its last push: `log/MANIFEST.json` (inside log/, which git ignores and
    /// shipping's filters skip).
    public static func manifestPath(_ paths: StorePaths) -> String { paths.log + "/MANIFEST.json" }

    func localConfig() throws(ShipError) -> StoreConfig {
        try engine { () throws(EventLogError) in
            try StoreConfig.decode(
                try fs.attempt("reading store.json", path: paths.config) {
                    () throws(SystemError) in try fs.readFile(paths.config)
                }, path: paths.config)
        }
    }

    // MARK: - Pull

    public struct PullReport: Sendable {
        public var peer: String
        public var segments: [String]
        public var bytes: Int64
        public var milliseconds: Int
        public var peerManifest: Manifest
        public var adoption: AdoptionReport
    }

    /// Fetches the peer's sealed segments into `incoming/` (skipping what is adopted here) and adopts them.
    /// The peer's manifest is read first, so everything it lists has been offered when adoption checks it.
    public func pull(from peer: Peer, adopter: Adopter) throws(ShipError) -> PullReport {
        let start = OpenOptions.monotonicNanoseconds()
        try checkPeer(peer)
        var r = Rsync(options: rsync)
        let theirs = try peerManifest(peer, rsync: &r)
        try checkIdentity(theirs.store, ours: try localConfig().originID, peer: peer)
        try system("creating incoming/", path: paths.incoming) { () throws(SystemError) in
            try fs.makeDirectories(paths.incoming)
        }
        let got = try r.shipSegments(from: peer.rsyncPath("log"), to: paths.incoming, remoteReceiver: false)
        let path = paths.incoming + "/" + theirs.store + Adopter.manifestSuffix
        removeDeadTemporaries(of: path)
        try system("keeping the peer's manifest", path: path) { () throws(SystemError) in
            try fs.writeFileAtomically(path, theirs.encoded(), tmpSuffix: ".tmp.\(getpid())")
        }
        let adoption = try adopter.run()
        return PullReport(
            peer: peer.description, segments: got.map(\.path), bytes: got.reduce(0) { $0 + $1.bytes },
            milliseconds: Int((OpenOptions.monotonicNanoseconds() - start) / 1_000_000), peerManifest: theirs,
            adoption: adoption)
    }

    // MARK: - The peer's view

    /// The peer's manifest, from its `store.json` and CATALOG files fetched with rsync (no segment is read).
    public func peerManifest(_ peer: Peer) throws(ShipError) -> Manifest {
        var r = Rsync(options: rsync)
        return try peerManifest(peer, rsync: &r)
    }

    /// Only the peer's `store.json` (a push needs no more, and must not fail on a peer's stale CATALOG).
    func peerConfig(_ peer: Peer, rsync r: inout Rsync) throws(ShipError) -> StoreConfig {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        try r.fetchCatalogs(from: peer.rsyncPath(""), to: scratch.path, configOnly: true)
        return try Manifest.fetchedConfig(scratch.path, peer: peer, fs: fs)
    }

    func peerManifest(_ peer: Peer, rsync r: inout Rsync) throws(ShipError) -> Manifest {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        try r.fetchCatalogs(from: peer.rsyncPath(""), to: scratch.path)
        return try Manifest.fetched(scratch.path, peer: peer, fs: fs)
    }

    /// A local peer must hold a store, and must not be this store.
    func checkPeer(_ peer: Peer) throws(ShipError) {
        guard peer.isLocal else { return }
        guard (try? fs.stat(peer.storePath + "/store.json")) != nil else {
            throw ShipError(
                .notAStore, "\(peer.storePath) holds no store (store.json is missing)",
                hint: "run `aibrain init` in \(directoryName(of: peer.storePath)) first, or check the path")
        }
        if let a = realPath(peer.storePath), let b = realPath(paths.root), a == b {
            throw ShipError(.invalidPeer, "the peer \(peer.storePath) is this store", hint: Peer.hint)
        }
    }
}

extension Shipper {
    /// Two stores with one origin id are one store, or a copy of it: shipping between them would only
    /// produce forks.
    func checkIdentity(_ theirs: String, ours: String, peer: Peer) throws(ShipError) {
        guard theirs != ours else {
            throw ShipError(
                .invalidPeer,
                "the peer \(peer) has this store's origin id \(ours): it is this store, or a copy of it",
                hint: "a copy needs its own identity: `aibrain init` a fresh store there and ship into it")
        }
    }
}

func realPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
}

/// A private directory under $TMPDIR for fetched catalogs (scratch data, never durable: not a store file).
struct ScratchDirectory {
    let path: String

    init() throws(ShipError) {
        let base = Subprocess.currentEnvironment()["TMPDIR"] ?? "/tmp"
        var template = Array((base + "/aibrain-ship-XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ShipError(.io, "cannot create a scratch directory in \(base): \(String(cString: strerror(errno)))")
        }
        path = String(cString: p)
    }

    func remove() { Self.removeTree(path) }

    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let d = opendir(path) {
                var names: [String] = []
                while let e = readdir(d) {
                    let n = withUnsafeBytes(of: e.pointee.d_name) {
                        String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
                    }
                    if n != "." && n != ".." { names.append(n) }
                }
                closedir(d)
                for n in names { removeTree(path + "/" + n) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
