import Synchronization

/// Encryption of payload regions at rest, as the storage engine calls it (FORMAT.md "Encrypted payload
/// regions"). EventLog owns the bytes around it (mode byte, key id, nonce and tag positions, the associated
/// data, checksums); an implementation (the trust layer's `TeamCipher`) owns keys, key derivation and the
/// AEAD. EventLog never sees a key.
///
/// Concurrency rule: one cipher may serve many `EventLog`s and threads at once (it is `Sendable`). Why: a
/// `StoreReader` shares one cipher across origins. Practical advice: cache derived keys inside, behind a
/// lock. If broken: data races on the key cache.
public protocol RegionCipher: Sendable {
    /// The keyring generation new segments are created under, nil while no team has a key (new segments
    /// are then written without the `encryptedRegions` flag, exactly as before encryption existed).
    /// Called under the writer lock before every commit, so a rotation made by another process is seen.
    /// Throws when the keyring cannot be read: a writer must never fall back to plaintext for a team with a key.
    func currentGeneration() throws(EventLogError) -> UInt32?

    /// Seals the payloads of drafts whose stream has a per-stream data key (crypto-shredding), in place,
    /// before the batch is validated and written. Default: nothing.
    func sealPayloads(_ drafts: inout [EventDraft]) throws(EventLogError)

    /// Encrypts one region for `context.team` in a segment created under `context.generation`: appends key id
    /// (8 bytes) ‖ nonce (12) ‖ ciphertext ‖ tag (16) to `out` and returns true, or appends nothing and
    /// returns false when the team had no key at that generation (the region stays plaintext, mode 0).
    /// The nonce must never repeat under one key: draw it from the system CSPRNG for every call.
    func encrypt(_ plaintext: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8])
        throws(EventLogError) -> Bool

    /// Decrypts `ciphertext` (tag excluded) into `out` (appended), with the key that `keyID` names.
    func decrypt(
        keyID: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer,
        tag: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8]
    ) -> RegionDecryption

    /// A payload sealed by a layer above (crypto-shredding's `{"$sealed":…}` wrapper), opened for readers:
    /// `nil` when `payload` is not sealed (the common case; it must cost no more than a prefix check).
    /// `envelope` builds the fields the sealed payload is bound to; call it only for a sealed payload.
    func openSealedPayload(_ payload: UnsafeRawBufferPointer, envelope: () -> SealedPayloadContext)
        -> SealedPayloadOpening?

    /// Makes the keys that new segments will be encrypted under durable (file and directory fsyncs), called
    /// before a segment is created under a generation. A key write that failed after its rename may still be
    /// visible; events encrypted under it and acknowledged would be unreadable after a power cut. Throws when
    /// that cannot be done: nothing is then written. Default: nothing.
    func makeDurable() throws(EventLogError)
}

extension RegionCipher {
    public func sealPayloads(_ drafts: inout [EventDraft]) throws(EventLogError) {}

    public func makeDurable() throws(EventLogError) {}

    public func openSealedPayload(_ payload: UnsafeRawBufferPointer, envelope: () -> SealedPayloadContext)
        -> SealedPayloadOpening?
    { nil }
}

/// What decrypting one region gave.
public enum RegionDecryption: Sendable, Equatable {
    case decrypted
    /// This reader holds no key with that id for the team (a foreign store's key, a key never imported).
    case noKey
    /// A key with that id is held, and the tag does not verify: tampering, or a key file that lies about its id.
    case authenticationFailed
}

/// Where a region sits: everything that goes into its associated data, plus the segment's key generation.
public struct RegionContext: Sendable, Equatable {
    public var origin: OriginID
    public var segmentID: [UInt8]
    public var kind: Format.Kind
    /// The keyring generation of the segment header (offset 16).
    public var generation: UInt32
    /// First LSN of the batch or block holding the region.
    public var firstLSN: UInt64
    /// The region's index in its batch or block.
    public var region: Int
    public var team: String

    public init(
        origin: OriginID, segmentID: [UInt8], kind: Format.Kind, generation: UInt32, firstLSN: UInt64, region: Int,
        team: String
    ) {
        self.origin = origin
        self.segmentID = segmentID
        self.kind = kind
        self.generation = generation
        self.firstLSN = firstLSN
        self.region = region
        self.team = team
    }

    /// The AEAD's associated data: `"AIBR" ‖ u8 kind ‖ origin (16) ‖ segment id (16) ‖ u64 first LSN ‖
    /// u16 region index ‖ u8 team length ‖ team`. A region copied to another segment, batch, block, position or
    /// team fails its tag.
    public var associatedData: [UInt8] {
        var w = ByteWriter(capacity: 64 + team.utf8.count)
        w.raw("AIBR".utf8)
        w.u8(kind.rawValue)
        w.raw(origin.bytes)
        w.raw(segmentID)
        w.u64(firstLSN)
        w.u16(UInt16(region))
        w.u8(UInt8(team.utf8.count))
        w.raw(team.utf8)
        return w.bytes
    }
}

/// The envelope fields a sealed payload is bound to (its associated data).
public struct SealedPayloadContext: Sendable {
    public var eventID: String
    public var type: String
    public var stream: String
    public var team: String

    public init(eventID: String, type: String, stream: String, team: String) {
        self.eventID = eventID
        self.type = type
        self.stream = stream
        self.team = team
    }
}

/// A sealed payload as a reader gets it.
public enum SealedPayloadOpening: Sendable, Equatable {
    case opened([UInt8])
    /// The stream's data key is gone (shredded) or was never given to this store.
    case shredded(keyID: String)
}

/// Whether a stored event's payload could be read.
public enum PayloadState: Sendable, Equatable, Hashable {
    /// `payload` holds the bytes the writer was given (decrypted when they were stored encrypted).
    case plain
    /// The payload is stored encrypted for `team` under the key `keyID` (16 hex digits), and this reader
    /// holds no such key: `payload` is empty. Never garbage, never an error.
    case encrypted(team: String, keyID: String)
    /// The payload was sealed under a per-stream data key this store no longer holds (crypto-shredding) or
    /// never held: `payload` is empty.
    case shredded(keyID: String)

    public var isReadable: Bool { self == .plain }

    /// The key the payload needs, as `key <16 hex>`, for messages.
    public var keyID: String? {
        switch self {
        case .plain: return nil
        case .encrypted(_, let id), .shredded(let id): return "key " + id
        }
    }
}

/// The cipher every `EventLog` opened without `OpenOptions.cipher` uses: registered once by a program
/// (the `aibrain` CLI registers the trust layer's keyring), called with the store's paths.
public enum DefaultRegionCipher {
    private static let provider = Mutex<(@Sendable (StorePaths, any FileSystem) -> (any RegionCipher)?)?>(nil)

    public static func register(_ make: (@Sendable (StorePaths, any FileSystem) -> (any RegionCipher)?)?) {
        provider.withLock { $0 = make }
    }

    public static func cipher(for paths: StorePaths, fs: any FileSystem) -> (any RegionCipher)? {
        guard let make = provider.withLock({ $0 }) else { return nil }
        return make(paths, fs)
    }
}
