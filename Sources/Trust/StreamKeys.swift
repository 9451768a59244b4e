import Crypto
import EventLog
import Foundation

/// Crypto-shredding (FORMAT.md "Shreddable streams"): a stream with a per-stream data key has every payload
/// sealed under it before it reaches the log, as a JSON wrapper, so the stored payload stays valid JSON and the
/// seal's logical hash and Merkle leaves are computed over the wrapper:
///
/// ```
/// {"$sealed":{"v":1,"kid":"<data key id, 16 hex>","n":"<nonce, base64>","ct":"<ciphertext ‖ tag, base64>"}}
/// ```
///
/// The data key (32 random bytes) is stored only wrapped (AES key wrap, RFC 3394) under a key derived from the
/// team key, in `keys/streams/<stem>.key`, named by a hash of the stream (never its text). `shred` deletes that
/// file durably: the payloads can never be opened again, while every hash, chain and proof over the stored
/// bytes still verifies.
public enum StreamKeys {
    /// A data key, unwrapped.
    struct DataKey {
        var id: [UInt8]
        var key: SymmetricKey
    }

    /// The file name (without `.key`) of `stream`'s data key: hex SHA-256("aibrain stream key v1" ‖ stream).
    public static func fileStem(_ stream: String) -> String {
        var h = SHA256()
        h.update(data: Array("aibrain stream key v1".utf8))
        h.update(data: Array(stream.utf8))
        return hexString(Array(h.finalize()))
    }

    static func dataKeyID(_ key: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(data: Array("aibrain stream data key id v1".utf8))
        h.update(data: key)
        return Array(h.finalize().prefix(8))
    }

    /// The key-encryption key of a stream: HKDF-SHA256(team key, salt: file stem bytes, info "aibrain/v1/stream-key-wrap").
    static func wrappingKey(teamKey: [UInt8], stem: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: teamKey), salt: Array(stem.utf8),
            info: Array("aibrain/v1/stream-key-wrap".utf8), outputByteCount: 32)
    }

    struct FileForm: Codable {
        var format: String
        var formatVersion: Int
        var team: String
        var teamKeyID: String
        var dataKeyID: String
        var wrapped: String
        var createdAt: Int64
        enum CodingKeys: String, CodingKey {
            case format, team, wrapped
            case formatVersion = "format_version"
            case teamKeyID = "team_key_id"
            case dataKeyID = "data_key_id"
            case createdAt = "created_at"
        }
    }

    static let formatName = "aibrain-stream-key"

    /// `keys/streams/<stem>.shredded`: left by `shred` in place of the key.
    struct Tombstone: Codable {
        var dataKeyID: String
        var team: String
        enum CodingKeys: String, CodingKey {
            case team
            case dataKeyID = "data_key_id"
        }
    }

    /// What `keys stream-key add` made.
    public struct Created: Sendable, Equatable {
        public var stream: String
        public var team: String
        public var dataKeyID: String
        public var teamKeyID: String
        public var path: String
    }

    /// Creates `stream`'s data key, wrapped by `team`'s active key. Refuses when the stream has one already or
    /// the team has no key.
    public static func create(stream: String, team: String, files: TeamKeyFiles, now: Int64) throws(EventLogError)
        -> Created
    {
        guard !stream.isEmpty else { throw EventLogError(.invalidInput, "a stream key needs a stream name") }
        let ring = try files.load()
        guard let teamKey = ring.team(team)?.active else {
            throw EventLogError(
                .keyMissing, "team \"\(team)\" has no key to wrap a stream key with", path: files.keyringPath,
                hint: "create one first: `aibrain keys team add \(team.isEmpty ? "TEAM" : team)`")
        }
        let stem = fileStem(stream)
        let path = files.streamsDirectory + "/" + stem + ".key"
        if try files.fs.attempt(
            "checking for a stream key", path: path, { () throws(SystemError) in try files.fs.stat(path) })
            != nil
        {
            throw EventLogError(
                .invalidInput, "stream \(stream) already has a data key", path: path,
                hint: "its events are sealed already; `aibrain shred --stream \(stream)` destroys the key")
        }
        let data = TeamKeyring.randomKey()
        let wrapped: Data
        do {
            wrapped = try AES.KeyWrap.wrap(
                SymmetricKey(data: data), using: wrappingKey(teamKey: teamKey.key, stem: stem))
        } catch {
            throw EventLogError(.invalidInput, "wrapping the stream key failed: \(error)", path: path)
        }
        let id = hexString(dataKeyID(data))
        let form = FileForm(
            format: formatName, formatVersion: 1, team: team, teamKeyID: teamKey.keyIDHex, dataKeyID: id,
            wrapped: wrapped.base64EncodedString(), createdAt: now)
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        let bytes = Array(try! e.encode(form)) + [0x0A]  // plain Codable of strings and integers: cannot fail
        try files.makePrivateDirectory(files.streamsDirectory)
        try files.fs.attempt("writing the stream key", path: path) { () throws(SystemError) in
            try files.fs.writeFileAtomically(path, bytes, permissions: 0o600)
        }
        return Created(stream: stream, team: team, dataKeyID: id, teamKeyID: teamKey.keyIDHex, path: path)
    }

    /// What `shred` destroyed: the data key id and the team of the stream's key, nil when it had none.
    public static func shred(stream: String, files: TeamKeyFiles) throws(EventLogError) -> (
        dataKeyID: String, team: String
    )? {
        let path = files.streamsDirectory + "/" + fileStem(stream) + ".key"
        let tombstone = files.streamsDirectory + "/" + fileStem(stream) + ".shredded"
        let bytes: [UInt8]
        do throws(SystemError) {
            bytes = try files.fs.readFile(path)
        } catch {
            guard error.errno == 2 else { throw EventLogError.system(error, "reading the stream key", path: path) }
            // Shredded before: the tombstone names the destroyed key (a rerun after a crash records the event).
            guard let t = try? files.fs.readFile(tombstone),
                let form = try? JSONDecoder().decode(Tombstone.self, from: Data(t))
            else { return nil }
            return (form.dataKeyID, form.team)
        }
        let form = try? JSONDecoder().decode(FileForm.self, from: Data(bytes))
        // The tombstone first (no key material: the ids and the team), so the stream stays closed to new
        // payloads and a rerun knows what was destroyed; then the key, durably: unlink, fsync the directory.
        // A key file that no longer decodes is destroyed all the same (it opens nothing); its record is named by
        // the stream's file stem, so two damaged streams never share one `shred:` event id.
        let mark = Tombstone(
            dataKeyID: form?.dataKeyID ?? "stem-" + String(fileStem(stream).prefix(16)), team: form?.team ?? "")
        let encoded = Array(try! JSONEncoder().encode(mark))  // two strings: cannot fail
        try files.fs.attempt("destroying the stream key", path: path) { () throws(SystemError) in
            try files.fs.writeFileAtomically(tombstone, encoded, permissions: 0o600)
            try files.fs.unlink(path)
            try files.fs.fsyncDirectory(files.streamsDirectory)
        }
        return (mark.dataKeyID, mark.team)
    }

    // MARK: - The payload wrapper

    static let prefix = Array(#"{"$sealed":"#.utf8)

    @inline(__always)
    static func looksSealed(_ p: UnsafeRawBufferPointer) -> Bool {
        guard p.count > prefix.count else { return false }
        for i in prefix.indices where p[i] != prefix[i] { return false }
        return true
    }

    struct Sealed {
        var keyID: [UInt8]
        var nonce: [UInt8]
        var sealed: [UInt8]

        struct Form: Codable {
            struct Inner: Codable {
                var v: Int
                var kid: String
                var n: String
                var ct: String
            }
            var sealed: Inner
            enum CodingKeys: String, CodingKey { case sealed = "$sealed" }
        }

        init?(parsing p: UnsafeRawBufferPointer) {
            guard let f = try? JSONDecoder().decode(Form.self, from: Data(p)), f.sealed.v == 1,
                let kid = bytesFromHex(f.sealed.kid), kid.count == 8,
                let n = Data(base64Encoded: f.sealed.n), n.count == 12,
                let ct = Data(base64Encoded: f.sealed.ct), ct.count >= 16
            else { return nil }
            keyID = kid
            nonce = Array(n)
            sealed = Array(ct)
        }
    }

    /// Associated data: the envelope fields the payload belongs to (moved to another event, it fails).
    static func associatedData(_ c: SealedPayloadContext) -> [UInt8] {
        var w = ByteWriter()
        w.raw("aibrain/v1/sealed-payload".utf8)
        w.string(c.stream)
        w.string(c.eventID)
        w.string(c.type)
        return w.bytes
    }

    static func seal(_ payload: [UInt8], key: DataKey, context: SealedPayloadContext) -> [UInt8] {
        do {
            let box = try ChaChaPoly.seal(
                payload, using: key.key, nonce: ChaChaPoly.Nonce(), authenticating: associatedData(context))
            let text =
                #"{"$sealed":{"v":1,"kid":""# + hexString(key.id) + #"","n":""# + Data(box.nonce).base64EncodedString()
                + #"","ct":""# + (box.ciphertext + box.tag).base64EncodedString() + #""}}"#
            return Array(text.utf8)
        } catch {
            preconditionFailure("ChaChaPoly.seal failed: \(error)")
        }
    }

    static func open(_ s: Sealed, key: DataKey, context: SealedPayloadContext) -> [UInt8]? {
        guard
            let box = try? ChaChaPoly.SealedBox(
                nonce: ChaChaPoly.Nonce(data: s.nonce), ciphertext: s.sealed.dropLast(16), tag: s.sealed.suffix(16)),
            let plain = try? ChaChaPoly.open(box, using: key.key, authenticating: associatedData(context))
        else { return nil }
        return Array(plain)
    }
}

/// The stream key files this process knows, re-listed when asked for a stream or id it does not know.
struct StreamKeyCache {
    /// File stem → nothing yet loaded (the listing).
    var byStream: [String: String] = [:]
    /// Key files this process has made durable (fsynced with their directories).
    var durable: Set<String> = []
    var loaded: [String: StreamKeys.DataKey] = [:]
    /// Data key id (hex) → stem, for reads.
    var byID: [String: String] = [:]
    var missingIDs: Set<String> = []
    /// When the directory was last listed (monotonic ns): readers re-list at least once a second, so a key
    /// another process shredded stops opening payloads here within a second.
    var listedAt: UInt64 = 0
    /// Stems of shredded streams (their tombstones): no new payload is written to them.
    var shredded: Set<String> = []

    /// Lists `keys/streams/` (one directory read per append: a key created by another process is used at once).
    mutating func refresh(files: TeamKeyFiles) throws(EventLogError) {
        let names: [String]
        do throws(SystemError) {
            names = try files.fs.listDirectory(files.streamsDirectory)
        } catch {
            if error.errno != 2 {
                throw EventLogError.system(error, "listing stream keys", path: files.streamsDirectory)
            }
            names = []
        }
        var next: [String: String] = [:]
        var tombstones: Set<String> = []
        for n in names where n.hasSuffix(".key") && n.utf8.count == 68 {
            let stem = String(n.dropLast(4))
            next[stem] = files.streamsDirectory + "/" + n
        }
        for n in names where n.hasSuffix(".shredded") && n.utf8.count == 73 { tombstones.insert(String(n.dropLast(9))) }
        shredded = tombstones
        if next != byStream {
            loaded = loaded.filter { next[$0.key] != nil }
            byID = byID.filter { next[$0.value] != nil }
            missingIDs = []
        }
        byStream = next
        listedAt = OpenOptions.monotonicNanoseconds()
    }

    /// The unwrapped data key of the file `stem`.
    mutating func dataKey(_ path: String, ring: TeamKeyring, files: TeamKeyFiles) throws(EventLogError)
        -> StreamKeys.DataKey
    {
        let stem = String(lastPathComponent(path).dropLast(4))
        if let k = loaded[stem] { return k }
        let bytes = try files.fs.attempt("reading a stream key", path: path) { () throws(SystemError) in
            try files.fs.readFile(path)
        }
        guard let form = try? JSONDecoder().decode(StreamKeys.FileForm.self, from: Data(bytes)),
            form.format == StreamKeys.formatName, let wrapped = Data(base64Encoded: form.wrapped)
        else {
            throw EventLogError(
                .corruption, "the stream key file does not decode", path: path,
                hint: "restore .aibrain/keys/streams/ from a backup")
        }
        guard let teamKey = ring.team(form.team)?.versions.first(where: { $0.keyIDHex == form.teamKeyID }) else {
            throw EventLogError(
                .keyMissing,
                "the stream key is wrapped by team \(form.team)'s key \(form.teamKeyID), which the keyring lacks",
                path: path, hint: "import the team's key with `aibrain keys team import`")
        }
        let key: SymmetricKey
        do {
            key = try AES.KeyWrap.unwrap(wrapped, using: StreamKeys.wrappingKey(teamKey: teamKey.key, stem: stem))
        } catch {
            throw EventLogError(.corruption, "the stream key does not unwrap under its team key", path: path)
        }
        let k = StreamKeys.DataKey(id: key.withUnsafeBytes { StreamKeys.dataKeyID(Array($0)) }, key: key)
        loaded[stem] = k
        byID[hexString(k.id)] = stem
        return k
    }

    /// The data key with `id`, for a reader: nil when no file here holds it (shredded, or never given).
    mutating func dataKey(id: [UInt8], ring: TeamKeyring, files: TeamKeyFiles) -> StreamKeys.DataKey? {
        let hex = hexString(id)
        if OpenOptions.monotonicNanoseconds() - listedAt > 1_000_000_000 { try? refresh(files: files) }
        if let stem = byID[hex], let k = loaded[stem] { return k }
        if missingIDs.contains(hex) { return nil }
        try? refresh(files: files)
        for (stem, path) in byStream where loaded[stem] == nil {
            _ = try? dataKey(path, ring: ring, files: files)
        }
        if let stem = byID[hex], let k = loaded[stem] { return k }
        missingIDs.insert(hex)
        return nil
    }
}
