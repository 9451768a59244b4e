import Crypto
import EventLog
import Foundation

/// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys: a text, a blank line, then one line
/// per signature, `— <key name> base64(key ID ‖ signature)`. The key ID is the first 4 bytes of
/// SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key). Verifiers ignore signatures by keys they do not know.
public struct SignedNote: Sendable, Equatable {
    public struct Signature: Sendable, Equatable {
        public var name: String
        public var keyID: [UInt8]
        public var signature: [UInt8]

        /// `— name base64\n`
        public var line: String {
            "\u{2014} \(name) \(Data(keyID + signature).base64EncodedString())\n"
        }
    }

    /// The signed text, ending in a newline.
    public var text: String
    public var signatures: [Signature]

    public init(text: String, signatures: [Signature]) {
        self.text = text
        self.signatures = signatures
    }

    public var encoded: String { text + "\n" + signatures.map(\.line).joined() }

    /// Parses a note. Errors name the line.
    public static func parse(_ s: String) throws(EventLogError) -> SignedNote {
        guard let split = s.range(of: "\n\n", options: .backwards) else {
            throw EventLogError(.invalidInput, "not a signed note: no blank line before the signatures")
        }
        let text = String(s[..<split.lowerBound]) + "\n"
        let sigPart = s[split.upperBound...]
        guard !text.contains("\r"), text.unicodeScalars.allSatisfy({ $0 == "\n" || $0.value >= 0x20 }) else {
            throw EventLogError(.invalidInput, "not a signed note: the text holds control characters")
        }
        let body = sigPart.split(separator: "\n", omittingEmptySubsequences: false)
        guard body.last == "", body.count >= 2 else {
            throw EventLogError(.invalidInput, "not a signed note: no signature line (or no final newline)")
        }
        var sigs: [Signature] = []
        for (i, line) in body.dropLast().enumerated() {
            sigs.append(try parseSignatureLine(String(line), number: i + 1))
        }
        return SignedNote(text: text, signatures: sigs)
    }

    static func parseSignatureLine(_ line: String, number: Int) throws(EventLogError) -> Signature {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "\u{2014}", !parts[1].isEmpty,
            let raw = Data(base64Encoded: String(parts[2])), raw.count > 4
        else {
            throw EventLogError(
                .invalidInput, "signature line \(number) is not `\u{2014} <key name> <base64>`")
        }
        let bytes = [UInt8](raw)
        return Signature(name: String(parts[1]), keyID: Array(bytes[0..<4]), signature: Array(bytes[4...]))
    }
}

/// A verifier key in the note format: `<name>+<8 hex key ID>+<base64(0x01 ‖ 32-byte Ed25519 public key)>`.
public struct NoteVerifierKey: Sendable, Equatable, Hashable {
    public let name: String
    public let publicKey: [UInt8]

    public init(name: String, publicKey: [UInt8]) throws(EventLogError) {
        guard Self.validName(name) else {
            throw EventLogError(.invalidInput, "key name `\(name)` is empty or holds spaces or `+`")
        }
        guard publicKey.count == 32 else {
            throw EventLogError(.invalidInput, "an Ed25519 public key has 32 bytes, not \(publicKey.count)")
        }
        self.name = name
        self.publicKey = publicKey
    }

    public init(parsing s: String) throws(EventLogError) {
        // The base64 key may hold `+`: only the first two separate fields (as Go's note package reads it).
        let parts = s.trimmingCharacters(in: .whitespacesAndNewlines).split(
            separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let raw = Data(base64Encoded: String(parts[2])), raw.count == 33, raw.first == 0x01
        else {
            throw EventLogError(
                .invalidInput, "not a verifier key: expected `<name>+<8 hex digits>+<base64 of 0x01 and 32 key bytes>`",
                hint: "copy the line `aibrain keys show` prints on the other store")
        }
        try self.init(name: String(parts[0]), publicKey: Array(raw.dropFirst()))
        guard hexString(keyID) == parts[1].lowercased() else {
            throw EventLogError(
                .invalidInput,
                "the verifier key's ID \(parts[1]) does not match its name and key (expected \(hexString(keyID)))")
        }
    }

    public var keyID: [UInt8] { Self.keyID(name: name, publicKey: publicKey) }
    public var encoded: String { "\(name)+\(hexString(keyID))+\(Data([0x01] + publicKey).base64EncodedString())" }
    /// A short fingerprint to compare out of band: the first 16 hex digits of SHA-256 of the public key.
    public var fingerprint: String { String(hexString(SHA256Digest.hash(publicKey)).prefix(16)) }

    static func keyID(name: String, publicKey: [UInt8]) -> [UInt8] {
        Array(SHA256Digest.hash(Array(name.utf8) + [0x0A, 0x01] + publicKey).prefix(4))
    }

    static func validName(_ n: String) -> Bool {
        !n.isEmpty && !n.unicodeScalars.contains { $0 == "+" || $0.properties.isWhitespace || $0.value < 0x20 }
    }

    /// Whether `signature` is a valid signature of `text` by this key.
    public func isValid(_ signature: SignedNote.Signature, for text: String) -> Bool {
        guard signature.name == name, signature.keyID == keyID, signature.signature.count == 64,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
        else { return false }
        return key.isValidSignature(signature.signature, for: Array(text.utf8))
    }
}

/// A signer key: `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 ‖ 32-byte seed)>` (the note format's).
public struct NoteSignerKey: Sendable {
    public let name: String
    let key: Curve25519.Signing.PrivateKey

    public static func generate(name: String) throws(EventLogError) -> NoteSignerKey {
        guard NoteVerifierKey.validName(name) else {
            throw EventLogError(.invalidInput, "key name `\(name)` is empty or holds spaces or `+`")
        }
        return NoteSignerKey(name: name, key: Curve25519.Signing.PrivateKey())
    }

    /// A key from a fixed 32-byte seed (golden files and tests; real keys come from `generate`).
    public init(name: String, seed: [UInt8]) throws(EventLogError) {
        guard NoteVerifierKey.validName(name), seed.count == 32,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        else { throw EventLogError(.invalidInput, "a signing key needs a valid name and a 32-byte seed") }
        self.init(name: name, key: key)
    }

    init(name: String, key: Curve25519.Signing.PrivateKey) {
        self.name = name
        self.key = key
    }

    public init(parsing s: String, path: String) throws(EventLogError) {
        let parts = s.trimmingCharacters(in: .whitespacesAndNewlines).split(
            separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY", NoteVerifierKey.validName(String(parts[2])),
            let raw = Data(base64Encoded: String(parts[4])), raw.count == 33, raw.first == 0x01,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw.dropFirst())
        else {
            throw EventLogError(
                .corruption, "not a signing key (expected `PRIVATE+KEY+<name>+<id>+<base64>`)", path: path,
                hint: "restore .aibrain/keys/ from a backup")
        }
        self.init(name: String(parts[2]), key: key)
        guard hexString(verifier.keyID) == parts[3].lowercased() else {
            throw EventLogError(
                .corruption, "the signing key's ID does not match its key", path: path,
                hint: "restore .aibrain/keys/ from a backup")
        }
    }

    public var verifier: NoteVerifierKey {
        // The name was validated when the key was made or parsed.
        try! NoteVerifierKey(name: name, publicKey: Array(key.publicKey.rawRepresentation))
    }

    public var encoded: String {
        "PRIVATE+KEY+\(name)+\(hexString(verifier.keyID))+\(Data([0x01] + key.rawRepresentation).base64EncodedString())"
    }

    public func sign(_ text: String) throws(EventLogError) -> SignedNote.Signature {
        do {
            let sig = try key.signature(for: Array(text.utf8))
            return SignedNote.Signature(name: name, keyID: verifier.keyID, signature: Array(sig))
        } catch {
            throw EventLogError(.io, "Ed25519 signing failed: \(error)")
        }
    }
}

/// What a note's signatures say, checked against the keys a verifier knows.
public enum NoteCheck: Sendable, Equatable {
    /// Signed by this known key.
    case verified(NoteVerifierKey)
    /// A signature names a known key but does not verify: the text was changed or the signature forged.
    case badSignature(keyName: String)
    /// No signature is by a known key (the key IDs found).
    case unknownKeys([String])

    public static func check(_ note: SignedNote, against keys: [NoteVerifierKey]) -> NoteCheck {
        var unknown: [String] = []
        for s in note.signatures {
            guard let k = keys.first(where: { $0.name == s.name && $0.keyID == s.keyID }) else {
                unknown.append("\(s.name)+\(hexString(s.keyID))")
                continue
            }
            return k.isValid(s, for: note.text) ? .verified(k) : .badSignature(keyName: s.name)
        }
        return .unknownKeys(unknown)
    }
}
