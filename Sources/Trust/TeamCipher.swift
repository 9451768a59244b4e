import Crypto
import EventLog
import Foundation
import Synchronization

/// The store's `RegionCipher` (FORMAT.md "Encrypted payload regions"): ChaCha20-Poly1305 under per-segment
/// keys HKDF-derived from the team keys of `keys/teams/keyring.json`, with a fresh 96-bit nonce from the
/// system CSPRNG for every region written. It also seals and opens the payloads of streams that have a data
/// key (crypto-shredding, `StreamKeys`).
///
/// Why random nonces, not counters (docs/research audit-security.md §3.2): recovery cuts a torn batch and
/// the writer re-appends at the same offset, under the same per-segment key, with other plaintext. A nonce
/// derived from the position would repeat there and leak the XOR of both plaintexts; a nonce drawn at random
/// per write cannot repeat (2^-97 per pair; a per-segment key encrypts a few thousand regions, far below the
/// 2^32 that NIST SP 800-38D allows for random 96-bit nonces).
///
/// Concurrency rule: safe from any thread (state behind a `Mutex`). The keyring is re-read when its file
/// changes (checked by one `stat` per commit) and whenever a segment names a generation or key id this
/// process has not seen, so a rotation by another process is picked up at the next commit.
public final class TeamCipher: RegionCipher {
    public let files: TeamKeyFiles
    private let state: Mutex<State>

    struct State {
        var ring: TeamKeyring
        var status: FileStatus?
        /// Why the keyring could not be read, reported by every use (never a silent fall back to plaintext).
        var failure: EventLogError?
        var derived: [DerivedKeyName: SymmetricKey] = [:]
        var streams = StreamKeyCache()
    }

    struct DerivedKeyName: Hashable {
        var keyID: [UInt8]
        var segmentID: [UInt8]
        var team: [UInt8]
    }

    public init(storeRoot: String, fs: any FileSystem = PosixFileSystem()) {
        files = TeamKeyFiles(storeRoot: storeRoot, fs: fs)
        var s = State(ring: TeamKeyring())
        Self.reload(&s, files: files)
        state = Mutex(s)
    }

    /// Makes every `EventLog` and `StoreReader` of this process use the keyring of the store it opens.
    public static func registerAsDefault() {
        DefaultRegionCipher.register { paths, fs in TeamCipher(storeRoot: paths.root, fs: fs) }
    }

    /// The keyring as last loaded.
    public var keyring: TeamKeyring { state.withLock { $0.ring } }

    private static func reload(_ s: inout State, files: TeamKeyFiles) {
        s.status = files.status()
        do throws(EventLogError) {
            s.ring = try files.load()
            s.failure = nil
        } catch {
            s.failure = error
        }
    }

    /// Re-reads the keyring if its file changed since it was loaded.
    private func refreshIfChanged(_ s: inout State) {
        let now = files.status()
        if now != s.status { Self.reload(&s, files: files) }
    }

    // MARK: - RegionCipher

    public func currentGeneration() throws(EventLogError) -> UInt32? {
        let (generation, failure): (UInt32, EventLogError?) = state.withLock { s in
            refreshIfChanged(&s)
            return (s.ring.generation, s.failure)
        }
        if let failure { throw failure }
        return generation == 0 ? nil : generation
    }

    public func encrypt(_ plaintext: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8])
        throws(EventLogError) -> Bool
    {
        let found: Result<(TeamKeyring.Version, SymmetricKey)?, EventLogError> = state.withLock { s in
            if context.generation > s.ring.generation { Self.reload(&s, files: files) }
            if let failure = s.failure { return .failure(failure) }
            guard context.generation <= s.ring.generation else {
                return .failure(
                    EventLogError(
                        .keyMissing,
                        "the segment was created under key generation \(context.generation), but the team keyring only reaches generation \(s.ring.generation)",
                        path: files.keyringPath,
                        hint:
                            "restore .aibrain/keys/teams/ from a backup (an older keyring cannot encrypt newer segments)"
                    ))
            }
            guard let v = s.ring.encryptingVersion(team: context.team, generation: context.generation) else {
                return .success(nil)
            }
            return .success((v, Self.segmentKey(&s, version: v, context: context)))
        }
        guard let (version, key) = try found.get() else { return false }
        do {
            // 12 bytes from the system CSPRNG, stored with the region (FORMAT.md: why never a counter).
            let box = try ChaChaPoly.seal(
                plaintext, using: key, nonce: ChaChaPoly.Nonce(),
                authenticating: context.associatedData)
            out += version.keyID
            box.nonce.withUnsafeBytes { out += $0 }
            out += box.ciphertext
            out += box.tag
        } catch {
            // Only a malformed key or nonce could fail here: both are ours and fixed-size.
            preconditionFailure("ChaChaPoly.seal failed: \(error)")
        }
        return true
    }

    public func decrypt(
        keyID: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer,
        tag: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8]
    ) -> RegionDecryption {
        let key: SymmetricKey? = state.withLock { s in
            var v = s.ring.version(team: context.team, keyID: keyID)
            if v == nil {
                refreshIfChanged(&s)
                v = s.ring.version(team: context.team, keyID: keyID)
            }
            return v.map { Self.segmentKey(&s, version: $0, context: context) }
        }
        guard let key else { return .noKey }
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: try ChaChaPoly.Nonce(data: nonce), ciphertext: ciphertext, tag: tag)
            let plain = try ChaChaPoly.open(box, using: key, authenticating: context.associatedData)
            out += plain
            return .decrypted
        } catch {
            return .authenticationFailed
        }
    }

    /// HKDF-SHA256(ikm: team key, salt: segment id, info: "aibrain/v1/region/" ‖ team), 32 bytes; cached.
    private static func segmentKey(_ s: inout State, version: TeamKeyring.Version, context: RegionContext)
        -> SymmetricKey
    {
        let name = DerivedKeyName(keyID: version.keyID, segmentID: context.segmentID, team: Array(context.team.utf8))
        if let k = s.derived[name] { return k }
        let k = deriveSegmentKey(teamKey: version.key, segmentID: context.segmentID, team: context.team)
        if s.derived.count > 4096 { s.derived.removeAll() }
        s.derived[name] = k
        return k
    }

    public static func deriveSegmentKey(teamKey: [UInt8], segmentID: [UInt8], team: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: teamKey), salt: segmentID,
            info: Array("aibrain/v1/region/".utf8) + Array(team.utf8), outputByteCount: 32)
    }

    // MARK: - Sealed payloads (crypto-shredding)

    public func sealPayloads(_ drafts: inout [EventDraft]) throws(EventLogError) {
        let lookup: Result<[Int: StreamKeys.DataKey], EventLogError> = state.withLock { s in
            do throws(EventLogError) {
                try s.streams.refresh(files: files)
                guard !s.streams.byStream.isEmpty || !s.streams.shredded.isEmpty else { return .success([:]) }
                var keys: [Int: StreamKeys.DataKey] = [:]
                for i in drafts.indices where !drafts[i].stream.isEmpty {
                    let stem = StreamKeys.fileStem(drafts[i].stream)
                    // A shredded stream takes no new payloads (they would outlive the erasure in plaintext);
                    // only its own `stream.shredded` record is written.
                    if drafts[i].type != "stream.shredded", s.streams.shredded.contains(stem) {
                        throw EventLogError(
                            .invalidInput,
                            "event \(drafts[i].eventID): stream \(drafts[i].stream) was shredded (aibrain shred); nothing more is written to it; nothing was appended",
                            hint:
                                "write to a new stream; a shredded stream stays closed so its erased data cannot come back"
                        )
                    }
                    guard let file = s.streams.byStream[stem] else { continue }
                    keys[i] = try s.streams.dataKey(file, ring: s.ring, files: files)
                    // Once per key file and process: a key whose own write failed after its rename must be
                    // durable before a payload sealed under it is acknowledged.
                    if !s.streams.durable.contains(file) {
                        try files.syncDurably(file)
                        s.streams.durable.insert(file)
                    }
                }
                return .success(keys)
            } catch {
                return .failure(error)
            }
        }
        for (i, key) in try lookup.get() {
            drafts[i].payload = StreamKeys.seal(
                drafts[i].payload, key: key,
                context: SealedPayloadContext(
                    eventID: drafts[i].eventID, type: drafts[i].type, stream: drafts[i].stream, team: drafts[i].team))
        }
    }

    /// The keyring file, synced with its directories (see `RegionCipher.makeDurable`): before a segment is
    /// created under its generation.
    public func makeDurable() throws(EventLogError) {
        let exists = try files.fs.attempt("checking the team keyring", path: files.keyringPath) {
            () throws(SystemError) in try files.fs.stat(files.keyringPath) != nil
        }
        guard exists else { return }  // no keyring: nothing is encrypted
        try files.syncDurably(files.keyringPath)
    }

    /// `StreamKeys.shred`, and this process forgets the key at once (other processes within a second).
    public func shred(stream: String) throws(EventLogError) -> (dataKeyID: String, team: String)? {
        let result = try StreamKeys.shred(stream: stream, files: files)
        state.withLock { s in try? s.streams.refresh(files: files) }
        return result
    }

    public func openSealedPayload(_ payload: UnsafeRawBufferPointer, envelope: () -> SealedPayloadContext)
        -> SealedPayloadOpening?
    {
        guard StreamKeys.looksSealed(payload), let sealed = StreamKeys.Sealed(parsing: payload) else { return nil }
        let key: StreamKeys.DataKey? = state.withLock { s in
            s.streams.dataKey(id: sealed.keyID, ring: s.ring, files: files)
        }
        guard let key, let plain = StreamKeys.open(sealed, key: key, context: envelope()) else {
            return .shredded(keyID: hexString(sealed.keyID))
        }
        return .opened(plain)
    }
}
