import EventLog
import Foundation

/// The text a seal's signature covers (FORMAT.md "Signed seals"): a C2SP checkpoint of the segment's own
/// RFC 6962 tree (origin line, tree size, root), then what chains it: its position, the seal hash (which
/// covers the whole footer) and the previous seal hash.
///
/// ```
/// aibrain.seal/<origin hex>/<epoch>/<first LSN>
/// <event count>
/// <base64 Merkle root>
/// lsn <first> <last>
/// seal <base64 seal hash>
/// prev <base64 previous seal hash>
/// ```
public enum SealNote {
    public static func keyName(origin: OriginID) -> String { "aibrain/" + origin.hex }

    public static func text(_ s: SealStatement) -> String {
        """
        aibrain.seal/\(s.origin.hex)/\(s.epoch)/\(s.firstLSN)
        \(s.eventCount)
        \(b64(s.merkleRoot))
        lsn \(s.firstLSN) \(s.lastLSN)
        seal \(b64(s.sealHash))
        prev \(b64(s.previousSealHash))

        """
    }

    /// The signature area of a seal signed by `key`: the note's signature lines, UTF-8.
    public static func signature(_ s: SealStatement, key: NoteSignerKey) throws(EventLogError) -> SealSignature {
        let line = try key.sign(text(s)).line
        return SealSignature(algorithm: SealSignature.signedNoteEd25519, bytes: Array(line.utf8))
    }

    /// The whole signed note of a sealed segment (its text and the signature lines in its trailer).
    public static func note(of segment: SealedSegment) throws(EventLogError) -> SignedNote {
        try note(segment.statement, trailer: segment.trailer, path: segment.path)
    }

    public static func note(_ s: SealStatement, trailer: SealTrailer, path: String) throws(EventLogError) -> SignedNote
    {
        guard trailer.signatureAlgorithm == SealSignature.signedNoteEd25519 else {
            throw EventLogError.corrupt(
                "seal signature algorithm \(trailer.signatureAlgorithm) is unknown", path: path, lsn: s.firstLSN)
        }
        guard let lines = String(validating: trailer.signature, as: UTF8.self) else {
            throw EventLogError.corrupt("seal signature area is not UTF-8", path: path, lsn: s.firstLSN)
        }
        do throws(EventLogError) {
            return try SignedNote.parse(text(s) + "\n" + lines)
        } catch {
            throw EventLogError.corrupt("seal signature: \(error.message)", path: path, lsn: s.firstLSN)
        }
    }

    /// What a sealed segment's signature says, given the keys trusted for its origin.
    public static func check(_ segment: SealedSegment, keys: [NoteVerifierKey]) -> SealCheck {
        check(segment.statement, trailer: segment.trailer, path: segment.path, keys: keys)
    }

    /// The same, from a segment's header, footer and trailer (an arrival not opened as a SealedSegment).
    public static func check(_ s: SealStatement, trailer: SealTrailer, path: String, keys: [NoteVerifierKey])
        -> SealCheck
    {
        guard trailer.signatureAlgorithm != 0 else { return .unsigned }
        do throws(EventLogError) {
            let n = try note(s, trailer: trailer, path: path)
            switch NoteCheck.check(n, against: keys) {
            case .verified(let k): return .verified(k)
            case .badSignature(let name): return .badSignature(name)
            case .unknownKeys(let ids): return keys.isEmpty ? .untrusted(ids) : .unknownKey(ids)
            }
        } catch {
            return .malformed(error.message)
        }
    }

    static func b64(_ b: [UInt8]) -> String { Data(b).base64EncodedString() }
}

/// The verdict on one seal's signature.
public enum SealCheck: Sendable, Equatable {
    case unsigned
    case verified(NoteVerifierKey)
    /// Signed by a key this store does not know, and no key is trusted for the origin: not checked.
    case untrusted([String])
    /// Keys are known for the origin, and the seal is signed by none of them (re-signed by someone else).
    case unknownKey([String])
    case badSignature(String)
    case malformed(String)

    /// Whether this verdict is tamper evidence (exit 5) rather than a missing key.
    public var isFailure: Bool {
        switch self {
        case .unknownKey, .badSignature, .malformed: return true
        case .unsigned, .verified, .untrusted: return false
        }
    }

    public var summary: String {
        switch self {
        case .unsigned: return "unsigned"
        case .verified(let k): return "signed by \(k.name) (key \(hexString(k.keyID)))"
        case .untrusted(let ids):
            return "signed by \(ids.joined(separator: ", ")), not checked: the origin is not trusted"
        case .unknownKey(let ids):
            return "signed by an unknown key (\(ids.joined(separator: ", "))), not by the origin's trusted key"
        case .badSignature(let name): return "the signature of \(name) does not verify: the seal was altered or forged"
        case .malformed(let m): return m
        }
    }
}
