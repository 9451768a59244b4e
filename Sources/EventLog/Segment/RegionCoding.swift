/// How one segment stores its payload regions (FORMAT.md "Encrypted payload regions").
///
/// A segment without the incompatible flag `encryptedRegions` stores every region as its plaintext (open) or
/// one LZ4 frame (sealed), exactly as before encryption existed. A flagged segment prefixes every region
/// with a mode byte: 0 = the plaintext / frame follows; 1 = key id ‖ nonce ‖ ciphertext ‖ tag follow, for a team
/// that had a key at the segment's key generation. Checksums (XXH3) always cover the stored bytes, so damage
/// is found without a key; the tag proves the plaintext with one.
public struct RegionCoding: Sendable {
    public let header: SegmentHeader
    /// nil: regions are checked for structure only, and mode-1 regions are reported as not readable.
    public let cipher: (any RegionCipher)?
    /// The file, for error messages.
    public let path: String

    public init(header: SegmentHeader, cipher: (any RegionCipher)?, path: String) {
        self.header = header
        self.cipher = cipher
        self.path = path
    }

    /// Structure only: never decrypts (recovery, refresh, filters that read envelopes).
    public static func structural(_ header: SegmentHeader, path: String) -> RegionCoding {
        RegionCoding(header: header, cipher: nil, path: path)
    }

    public var flagged: Bool { header.hasEncryptedRegions }

    func context(firstLSN: UInt64, region: Int, team: String) -> RegionContext {
        RegionContext(
            origin: header.origin, segmentID: header.segmentID, kind: header.kind, generation: header.keyVersion,
            firstLSN: firstLSN, region: region, team: team)
    }

    /// Appends the stored form of one region of a flagged segment: mode 1 and its encryption when the team has
    /// a key at the segment's generation, else mode 0 and the bytes.
    func encode(
        _ plaintext: UnsafeRawBufferPointer, firstLSN: UInt64, region: Int, team: String, into out: inout [UInt8]
    ) throws(EventLogError) {
        precondition(flagged)
        guard let cipher else {
            throw EventLogError(
                .keyMissing,
                "segment is encrypted (key generation \(header.keyVersion)) and this process opened the store without its keyring",
                path: path, hint: "open the store through the aibrain CLI or pass OpenOptions.cipher")
        }
        out.append(Format.RegionMode.encrypted)
        let mark = out.count
        if try cipher.encrypt(
            plaintext, context: context(firstLSN: firstLSN, region: region, team: team), appendingTo: &out)
        {
            // Validate right before the write (style point 8): the cipher must produce exactly our layout.
            precondition(
                out.count - mark
                    == Format.RegionMode.keyIDSize + Format.RegionMode.nonceSize + plaintext.count
                    + Format.RegionMode.tagSize, "cipher output does not match the region layout")
        } else {
            precondition(out.count == mark, "a cipher that declines must append nothing")
            out[mark - 1] = Format.RegionMode.plain
            out.append(contentsOf: plaintext)
        }
    }

    /// One stored region, read.
    enum Decoded {
        /// The plaintext is `stored[range]` (mode 0).
        case plain(Range<Int>)
        /// The plaintext was appended to the caller's buffer at `range`.
        case decrypted(Range<Int>)
        /// Mode 1 and no key: the plaintext is `length` bytes long (the ciphertext, `stored[ciphertext]`, is as
        /// long; it may only be used to check lengths, never shown).
        case unavailable(PayloadState, ciphertext: Range<Int>)
    }

    /// Reads the stored form of one region (unflagged segments: the frame as it is); decrypts mode 1 when the
    /// cipher holds the key.
    /// A wrong tag under a held key is corruption; a missing key is `.unavailable`.
    func decode(
        _ stored: UnsafeRawBufferPointer, firstLSN: UInt64, region: Int, team: String, fileOffset: Int,
        into out: inout [UInt8]
    ) throws(EventLogError) -> Decoded {
        // A segment without encrypted regions stores its frames as they are (no mode byte).
        guard flagged else { return .plain(0..<stored.count) }
        func bad(_ why: String) -> EventLogError {
            EventLogError.corrupt(
                "payload region \(region) (team \"\(team)\") of the \(header.kind == .open ? "batch" : "block") at LSN \(firstLSN): \(why)",
                path: path, offset: Int64(fileOffset), lsn: firstLSN)
        }
        guard let mode = stored.first else { throw bad("empty, but a region of an encrypted segment has a mode byte") }
        switch mode {
        case Format.RegionMode.plain:
            return .plain(1..<stored.count)
        case Format.RegionMode.encrypted:
            guard stored.count >= Format.RegionMode.encryptedOverhead else {
                throw bad(
                    "\(stored.count) bytes, shorter than an encrypted region's \(Format.RegionMode.encryptedOverhead)")
            }
            let idEnd = 1 + Format.RegionMode.keyIDSize
            let nonceEnd = idEnd + Format.RegionMode.nonceSize
            let tagStart = stored.count - Format.RegionMode.tagSize
            let keyID = UnsafeRawBufferPointer(rebasing: stored[1..<idEnd])
            guard let cipher else {
                return .unavailable(
                    .encrypted(team: team, keyID: hexString(Array(keyID))), ciphertext: nonceEnd..<tagStart)
            }
            let start = out.count
            switch cipher.decrypt(
                keyID: keyID, nonce: UnsafeRawBufferPointer(rebasing: stored[idEnd..<nonceEnd]),
                ciphertext: UnsafeRawBufferPointer(rebasing: stored[nonceEnd..<tagStart]),
                tag: UnsafeRawBufferPointer(rebasing: stored[tagStart...]),
                context: context(firstLSN: firstLSN, region: region, team: team), appendingTo: &out)
            {
            case .decrypted:
                guard out.count - start == tagStart - nonceEnd else {
                    throw bad("decrypted to \(out.count - start) bytes, expected \(tagStart - nonceEnd)")
                }
                return .decrypted(start..<out.count)
            case .noKey:
                out.removeSubrange(start...)
                return .unavailable(
                    .encrypted(team: team, keyID: hexString(Array(keyID))), ciphertext: nonceEnd..<tagStart)
            case .authenticationFailed:
                out.removeSubrange(start...)
                throw bad(
                    "authentication tag mismatch under key \(hexString(Array(keyID))): the ciphertext was altered, or the key file for that id is not the key that wrote it"
                )
            }
        default:
            throw bad("unknown region mode \(mode)")
        }
    }
}
