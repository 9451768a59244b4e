import EventLog
import Foundation

/// `.aibrain/keys/` (mode 0700, never shipped): the origin's signing key, the keys trusted for peers'
/// origins, and the journal of every seal this origin signed (FORMAT.md "Keys").
///
/// ```
/// keys/origin.key      PRIVATE+KEY+aibrain/<origin>+<id>+<base64>   (0600)
/// keys/origin.pub      aibrain/<origin>+<id>+<base64>                (0600, what `keys show` prints)
/// keys/trusted         one line per trusted key: <origin hex> <verifier key>
/// keys/signed-seals    one line per seal signed: <epoch> <first LSN> <last LSN> <Merkle root hex> <previous seal hex>
/// ```
public struct KeyStore: Sendable {
    public let fs: any FileSystem
    public let directory: String
    public let origin: OriginID

    public init(storeRoot: String, origin: OriginID, fs: any FileSystem = PosixFileSystem()) {
        self.fs = fs
        self.directory = storeRoot + "/keys"
        self.origin = origin
    }

    /// The key store of the store at `storeRoot`, for its own origin (read from store.json).
    public static func local(storeRoot: String, fs: any FileSystem = PosixFileSystem()) throws(EventLogError)
        -> KeyStore
    {
        let paths = StorePaths(root: storeRoot)
        let bytes = try fs.attempt("reading store.json", path: paths.config) { () throws(SystemError) in
            try fs.readFile(paths.config)
        }
        return KeyStore(storeRoot: storeRoot, origin: try StoreConfig.decode(bytes, path: paths.config).origin, fs: fs)
    }

    public var originKeyPath: String { directory + "/origin.key" }
    public var originPublicPath: String { directory + "/origin.pub" }
    public var trustedPath: String { directory + "/trusted" }
    public var journalPath: String { directory + "/signed-seals" }

    /// The origin's signing key, or nil when the store has none (stores created before the trust layer).
    public func originKey() throws(EventLogError) -> NoteSignerKey? {
        guard let text = try readText(originKeyPath) else { return nil }
        let key = try NoteSignerKey(parsing: text, path: originKeyPath)
        guard key.name == SealNote.keyName(origin: origin) else {
            throw EventLogError(
                .corruption,
                "the signing key is named \(key.name), not this origin's \(SealNote.keyName(origin: origin))",
                path: originKeyPath, hint: "a key copied from another store: restore this store's keys/ from a backup")
        }
        return key
    }

    /// The origin's signing key, or `key-missing` saying how to make one.
    public func requireOriginKey() throws(EventLogError) -> NoteSignerKey {
        guard let key = try originKey() else {
            throw EventLogError(
                .keyMissing, "this origin has no signing key (a store created before aibrain 0.6)", path: originKeyPath,
                hint: "create one with `aibrain keys generate`; seals from then on are signed")
        }
        return key
    }

    /// Creates the origin key; refuses to replace one (a new key would orphan every seal signed so far).
    @discardableResult
    public func generateOriginKey() throws(EventLogError) -> NoteSignerKey {
        if try fs.attempt(
            "checking the origin key", path: originKeyPath,
            { () throws(SystemError) in
                try fs.stat(originKeyPath)
            }) != nil
        {
            throw EventLogError(
                .invalidInput, "this origin already has a signing key", path: originKeyPath,
                hint: "`aibrain keys show` prints its public half")
        }
        let key = try NoteSignerKey.generate(name: SealNote.keyName(origin: origin))
        try makeDirectory()
        // Created exclusively (a temporary linked into place, never over an existing key): of two concurrent
        // `keys generate`, one wins and the other fails, so no seal is ever signed by a key that is replaced.
        let tmp = originKeyPath + ".tmp-\(getpid())"
        let linked = try fs.attempt("creating the signing key", path: originKeyPath) { () throws(SystemError) -> Bool in
            if try fs.stat(tmp) != nil { try fs.unlink(tmp) }
            let fd = try fs.open(tmp, .createExclusive(permissions: 0o600))
            do throws(SystemError) {
                try fs.writeAll(fd, Array((key.encoded + "\n").utf8), at: 0)
                try fs.fsync(fd)
            } catch {
                fs.close(fd)
                try? fs.unlink(tmp)
                throw error
            }
            fs.close(fd)
            defer { try? fs.unlink(tmp) }
            do throws(SystemError) { try fs.link(tmp, originKeyPath) } catch {
                if error.errno == 17 { return false }
                throw error
            }
            try fs.fsyncDirectory(directory)
            return true
        }
        guard linked else {
            throw EventLogError(
                .invalidInput, "this origin already has a signing key (created meanwhile)", path: originKeyPath,
                hint: "`aibrain keys show` prints its public half")
        }
        try write(originPublicPath, key.verifier.encoded + "\n")
        return key
    }

    /// The keys that may sign seals and heads of `o`: this origin's own, or the ones trusted for a peer.
    public func verifiers(for o: OriginID) throws(EventLogError) -> [NoteVerifierKey] {
        if o == origin {
            if let key = try originKey() { return [key.verifier] }
            // The private half lost: its public half still verifies what it signed.
            if let text = try readText(originPublicPath) {
                do throws(EventLogError) { return [try NoteVerifierKey(parsing: text)] } catch {
                    throw EventLogError(.corruption, error.message, path: originPublicPath)
                }
            }
            return []
        }
        return try trusted()[o] ?? []
    }

    public func trusted() throws(EventLogError) -> [OriginID: [NoteVerifierKey]] {
        var out: [OriginID: [NoteVerifierKey]] = [:]
        for e in try trustedEntries() { out[e.origin, default: []].append(e.key) }
        return out
    }

    /// One line of `keys/trusted`: `<origin hex> <verifier key> [since=<epoch>:<first LSN>]`.
    public struct TrustedEntry: Sendable, Equatable {
        public var origin: OriginID
        public var key: NoteVerifierKey
        /// From this position on, every seal of the origin must be signed (an unsigned one is refused even
        /// when nothing signed of the origin is held yet).
        public var signedSince: SignedPosition?
    }

    public func trustedEntries() throws(EventLogError) -> [TrustedEntry] {
        guard let text = try readText(trustedPath) else { return [] }
        var out: [TrustedEntry] = []
        for (i, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2 || parts.count == 3, let o = OriginID(hex: String(parts[0])) else {
                throw EventLogError(
                    .corruption, "line \(i + 1) is not `<origin hex> <verifier key> [since=EPOCH:LSN]`",
                    path: trustedPath, hint: "fix or remove the line, then `aibrain keys trust ORIGIN KEY` again")
            }
            var since: SignedPosition?
            if parts.count == 3 {
                guard parts[2].hasPrefix("since="), let p = SignedPosition(parsing: String(parts[2].dropFirst(6)))
                else {
                    throw EventLogError(
                        .corruption, "line \(i + 1): the third field must be `since=EPOCH:LSN`", path: trustedPath)
                }
                since = p
            }
            do throws(EventLogError) {
                out.append(
                    TrustedEntry(origin: o, key: try NoteVerifierKey(parsing: String(parts[1])), signedSince: since))
            } catch {
                throw EventLogError(.corruption, "line \(i + 1): \(error.message)", path: trustedPath)
            }
        }
        return out
    }

    /// From where every seal of `o` must be signed: for this origin, its first signed seal (the journal);
    /// for a peer, what `keys trust --signed-since` recorded. Nil: unsigned history before the first signed
    /// seal is legacy.
    public func signedSince(_ o: OriginID) throws(EventLogError) -> SignedPosition? {
        if o == origin { return try signedSeals().keys.min() }
        return try trustedEntries().filter { $0.origin == o }.compactMap(\.signedSince).min()
    }

    /// Records `key` as trusted for `o` (and, with `since`, that its seals are all signed from there on).
    /// Idempotent; the key's name must be the origin's.
    @discardableResult
    public func trust(_ o: OriginID, key: NoteVerifierKey, since: SignedPosition? = nil) throws(EventLogError) -> Bool {
        guard key.name == SealNote.keyName(origin: o) else {
            throw EventLogError(
                .invalidInput,
                "the key is named \(key.name), but origin \(o.hex)'s key is named \(SealNote.keyName(origin: o))",
                hint: "check that ORIGIN and KEY come from the same store (`aibrain keys show` prints both)")
        }
        guard o != origin else {
            throw EventLogError(.invalidInput, "\(o.hex) is this store's own origin: its key is keys/origin.pub")
        }
        var all = try trustedEntries()
        if let i = all.firstIndex(where: { $0.origin == o && $0.key == key }) {
            guard let since, all[i].signedSince != since else { return false }
            all[i].signedSince = since
        } else {
            all.append(TrustedEntry(origin: o, key: key, signedSince: since))
        }
        var text = "# origins whose signed seals this store verifies: <origin hex> <verifier key> [since=EPOCH:LSN]\n"
        for e in all.sorted(by: { $0.origin.hex < $1.origin.hex }) {
            text += "\(e.origin.hex) \(e.key.encoded)" + (e.signedSince.map { " since=\($0)" } ?? "") + "\n"
        }
        try makeDirectory()
        try write(trustedPath, text)
        return true
    }

    /// The signed journal: (epoch, first LSN) → what was signed there (last LSN, Merkle root, previous seal).
    public func signedSeals() throws(EventLogError) -> [SignedPosition: SignedSeal] {
        guard let text = try readText(journalPath) else { return [:] }
        var out: [SignedPosition: SignedSeal] = [:]
        // A line cut by a crash (no newline) was never followed by a written seal: it is ignored.
        let complete = text.hasSuffix("\n") ? text[...] : text[..<(text.lastIndex(of: "\n") ?? text.startIndex)]
        for (i, line) in complete.split(separator: "\n").enumerated() {
            let p = line.split(separator: " ")
            guard p.count == 5, let e = UInt32(p[0]), let f = UInt64(p[1]), let l = UInt64(p[2]), p[3].count == 64,
                p[4].count == 64
            else {
                throw EventLogError(
                    .corruption, "line \(i + 1) is not `<epoch> <first> <last> <Merkle root> <previous seal>`",
                    path: journalPath,
                    hint: "restore keys/ from a backup; the journal is how this origin keeps its word")
            }
            out[SignedPosition(epoch: e, firstLSN: f)] = SignedSeal(
                lastLSN: l, merkleRoot: String(p[3]), previousSealHash: String(p[4]))
        }
        return out
    }

    func appendJournal(_ line: String) throws(EventLogError) {
        try makeDirectory()
        try fs.attempt("recording a signed seal", path: journalPath) { () throws(SystemError) in
            let created = try fs.stat(journalPath) == nil
            let fd = try fs.open(journalPath, .createOrOpen(permissions: 0o600))
            defer { fs.close(fd) }
            var end = try fs.size(fd)
            if end > 0 {
                // A line torn by a crash is cut first, so the new one never runs on from it.
                let bytes = try fs.read(fd, count: Int(end), at: 0)
                if bytes.last != 0x0A {
                    end = Int64((bytes.lastIndex(of: 0x0A) ?? -1) + 1)
                    try fs.truncate(fd, to: end)
                }
            }
            try fs.writeAll(fd, Array(line.utf8), at: end)
            try fs.fsync(fd)
            if created { try fs.fsyncDirectory(directory) }
        }
    }

    func makeDirectory() throws(EventLogError) {
        try fs.attempt("creating the keys directory", path: directory) { () throws(SystemError) in
            let existed = try fs.stat(directory) != nil
            try fs.makeDirectories(directory)
            if !existed { try fs.setMode(directory, 0o700) }
        }
    }

    func readText(_ path: String) throws(EventLogError) -> String? {
        let bytes: [UInt8]
        do throws(SystemError) {
            bytes = try fs.readFile(path)
        } catch {
            if error.errno == 2 { return nil }
            throw EventLogError.system(error, "reading", path: path)
        }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw EventLogError(.corruption, "not UTF-8 text", path: path)
        }
        return s
    }

    func write(_ path: String, _ text: String) throws(EventLogError) {
        try fs.attempt("writing", path: path) { () throws(SystemError) in
            try fs.writeFileAtomically(path, Array(text.utf8), permissions: 0o600)
        }
    }
}

public struct SignedPosition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var epoch: UInt32
    public var firstLSN: UInt64

    public init(epoch: UInt32, firstLSN: UInt64) {
        self.epoch = epoch
        self.firstLSN = firstLSN
    }

    /// `EPOCH:LSN`, both decimal.
    public init?(parsing s: String) {
        let p = s.split(separator: ":")
        guard p.count == 2, let e = UInt32(p[0]), let l = UInt64(p[1]), l >= 1 else { return nil }
        self.init(epoch: e, firstLSN: l)
    }

    public var description: String { "\(epoch):\(firstLSN)" }
    public static func < (a: SignedPosition, b: SignedPosition) -> Bool {
        (a.epoch, a.firstLSN) < (b.epoch, b.firstLSN)
    }
}

/// What the origin key signed for a position: the content's commitments, not the seal hash. A seal redone
/// after a failure holds the same records (same range, Merkle root and predecessor); with encrypted teams its
/// bytes differ (fresh nonces), so the seal hash would wrongly call it a second, different seal.
public struct SignedSeal: Hashable, Sendable {
    public var lastLSN: UInt64
    public var merkleRoot: String
    public var previousSealHash: String
}

/// The origin key as EventLog's seal signer. It keeps the rule of signed checkpoints: never two different
/// signed seals for one position. Before it signs, the position is looked up in `keys/signed-seals`: the
/// same content (range, Merkle root, previous seal; a redone seal, whose bytes may differ only by fresh
/// nonces) is signed again, different content is refused; a new position is journaled (fsynced) before the
/// signature is returned.
public struct OriginSigner: SealSigner {
    public let keys: KeyStore
    let key: NoteSignerKey

    public init(keys: KeyStore, key: NoteSignerKey) {
        self.keys = keys
        self.key = key
    }

    /// The signer of the store at `storeRoot`, or nil when its origin has no key.
    public static func load(storeRoot: String, fs: any FileSystem = PosixFileSystem()) throws(EventLogError)
        -> OriginSigner?
    {
        let keys = try KeyStore.local(storeRoot: storeRoot, fs: fs)
        return try keys.originKey().map { OriginSigner(keys: keys, key: $0) }
    }

    public func sign(_ s: SealStatement) throws(EventLogError) -> SealSignature {
        guard s.origin == keys.origin else {
            throw EventLogError(
                .invalidInput, "this key signs only origin \(keys.origin.hex)'s seals, not \(s.origin.hex)'s")
        }
        let position = SignedPosition(epoch: s.epoch, firstLSN: s.firstLSN)
        let signed = SignedSeal(
            lastLSN: s.lastLSN, merkleRoot: hexString(s.merkleRoot), previousSealHash: hexString(s.previousSealHash))
        if let earlier = try keys.signedSeals()[position] {
            guard earlier == signed else {
                throw EventLogError(
                    .corruption,
                    "refusing to sign a second, different seal for epoch \(s.epoch) LSN \(s.firstLSN) (signed before: LSNs to \(earlier.lastLSN), Merkle root \(earlier.merkleRoot.prefix(16))…)",
                    path: keys.journalPath, lsn: s.firstLSN,
                    hint:
                        "the log was rewritten under this origin: inspect it with `aibrain verify`; never sign over it")
            }
        } else {
            try keys.appendJournal(
                "\(s.epoch) \(s.firstLSN) \(s.lastLSN) \(signed.merkleRoot) \(signed.previousSealHash)\n")
        }
        return try SealNote.signature(s, key: key)
    }
}
