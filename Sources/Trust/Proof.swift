import EventLog
import Foundation

/// A proof of one event, checkable without the log (C2SP tlog-proof in spirit): the event's Merkle leaf
/// entry, its RFC 6962 inclusion path, and the signed seal note whose tree size and root it proves against.
/// The file is canonical JSON written by `render`; `verify` re-renders what it parsed and requires the same
/// bytes, so a change to any byte (the readable `event` included) fails.
public struct ProofBundle: Sendable, Equatable {
    public static let format = "aibrain-proof/1"

    public var origin: OriginID
    public var epoch: UInt32
    public var lsn: UInt64
    public var leafIndex: UInt64
    public var treeSize: UInt64
    /// The record's logical form: envelope (region byte 0) ‖ u8 team length ‖ team ‖ payload.
    public var entry: [UInt8]
    public var path: [[UInt8]]
    /// The seal's signed note (text, blank line, signature lines).
    public var checkpoint: String
    public var verifierKey: String

    /// The proof of `lsn` in `segment`, whose seal must be signed and carry a Merkle root.
    public static func make(
        segment: SealedSegment, lsn: UInt64, verifier: NoteVerifierKey, cipher: (any RegionCipher)? = nil
    ) throws(EventLogError) -> ProofBundle {
        guard segment.footer.merkleRoot.contains(where: { $0 != 0 }) else {
            throw EventLogError(
                .invalidInput,
                "the segment holding LSN \(lsn) was sealed without a Merkle root (before the trust layer)",
                path: segment.path, hint: "only events sealed by aibrain 0.6 or later can be proven")
        }
        guard segment.isSigned else {
            throw EventLogError(
                .invalidInput, "the segment holding LSN \(lsn) is not signed", path: segment.path,
                hint: "events sealed after `aibrain keys generate` are signed")
        }
        let note = try SealNote.note(of: segment)
        guard case .verified = NoteCheck.check(note, against: [verifier]) else {
            throw EventLogError.corrupt(
                "the seal holding LSN \(lsn) is not validly signed by \(verifier.name)", path: segment.path, lsn: lsn)
        }
        let (leaves, entry) = try segment.merkleLeaves(entryOf: lsn, cipher: cipher)
        let index = Int(lsn - segment.footer.firstLSN)
        guard MerkleTree.root(leaves: leaves) == segment.footer.merkleRoot else {
            throw EventLogError.corrupt("Merkle root of the records does not match the seal", path: segment.path)
        }
        return ProofBundle(
            origin: segment.header.origin, epoch: segment.header.epoch, lsn: lsn, leafIndex: UInt64(index),
            treeSize: UInt64(leaves.count), entry: entry, path: MerkleTree.inclusionPath(index: index, leaves: leaves),
            checkpoint: note.encoded, verifierKey: verifier.encoded)
    }

    /// The event the entry holds, with its position.
    public func event() throws(EventLogError) -> Event {
        let record: LogicalRecord
        do throws(DecodeFailure) {
            record = try LogicalRecord.decode(entry)
        } catch {
            throw EventLogError(.corruption, "entry: \(error.field) \(error.reason)")
        }
        let parsed: Result<Event, DecodeFailure> = record.envelope.withUnsafeBytes { raw in
            do throws(DecodeFailure) {
                let view = try EnvelopeView.parse(raw, at: 0)
                guard view.length == raw.count else {
                    throw DecodeFailure(field: "envelope", offset: 0, reason: "length differs from the entry's")
                }
                return .success(
                    Event(
                        origin: origin, epoch: epoch, lsn: lsn, hlc: view.hlc, recordedAt: view.recordedAt,
                        draft: view.draft(in: raw, team: record.team, payload: record.payload)))
            } catch {
                return .failure(error)
            }
        }
        switch parsed {
        case .success(let e): return e
        case .failure(let error): throw EventLogError(.corruption, "entry: \(error.field) \(error.reason)")
        }
    }

    /// The canonical file.
    public func render() throws(EventLogError) -> [UInt8] {
        let eventLine = EventJSON.line(try event())
        var s = "{\n"
        s += "  \"format\": \(Self.quote(Self.format)),\n"
        s += "  \"origin\": \(Self.quote(origin.hex)),\n"
        s += "  \"epoch\": \(epoch),\n"
        s += "  \"lsn\": \(lsn),\n"
        s += "  \"leaf_index\": \(leafIndex),\n"
        s += "  \"tree_size\": \(treeSize),\n"
        s += "  \"entry\": \(Self.quote(Data(entry).base64EncodedString())),\n"
        s +=
            "  \"inclusion_path\": ["
            + path.map { "\n    " + Self.quote(Data($0).base64EncodedString()) }.joined(separator: ",")
        s += path.isEmpty ? "],\n" : "\n  ],\n"
        s += "  \"checkpoint\": \(Self.quote(checkpoint)),\n"
        s += "  \"verifier_key\": \(Self.quote(verifierKey)),\n"
        s += "  \"event\": "
        var out = Array(s.utf8)
        out += eventLine
        out += Array("\n}\n".utf8)
        return out
    }

    /// Parses a bundle file. Every failure is `corruption`: a bundle that does not parse was damaged.
    public static func parse(_ bytes: [UInt8], path: String) throws(EventLogError) -> ProofBundle {
        func bad(_ m: String) -> EventLogError {
            EventLogError(.corruption, "not a valid proof bundle: \(m)", path: path)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)), let o = object as? [String: Any] else {
            throw bad("not a JSON object")
        }
        func string(_ k: String) throws(EventLogError) -> String {
            guard let v = o[k] as? String else { throw bad("field `\(k)` is missing or not a string") }
            return v
        }
        func number(_ k: String) throws(EventLogError) -> UInt64 {
            // Through the integer value, not a double (LSNs above 2^53 would lose digits).
            guard let v = o[k] as? NSNumber, "\(v)" == "\(v.uint64Value)" else {
                throw bad("field `\(k)` is missing or not a whole number")
            }
            return v.uint64Value
        }
        func base64(_ s: String, _ k: String) throws(EventLogError) -> [UInt8] {
            guard let d = Data(base64Encoded: s) else { throw bad("field `\(k)` is not base64") }
            return [UInt8](d)
        }
        guard try string("format") == format else { throw bad("field `format` is not \(format)") }
        guard let origin = OriginID(hex: try string("origin")) else { throw bad("field `origin` is not an origin id") }
        let epoch = try number("epoch")
        guard epoch <= UInt64(UInt32.max) else { throw bad("field `epoch` is out of range") }
        guard let rawPath = o["inclusion_path"] as? [Any] else { throw bad("field `inclusion_path` is not a list") }
        var hashes: [[UInt8]] = []
        for (i, h) in rawPath.enumerated() {
            guard let s = h as? String else { throw bad("inclusion_path[\(i)] is not a string") }
            let b = try base64(s, "inclusion_path[\(i)]")
            guard b.count == 32 else { throw bad("inclusion_path[\(i)] is not 32 bytes") }
            hashes.append(b)
        }
        guard o["event"] is [String: Any] else { throw bad("field `event` is not an object") }
        return ProofBundle(
            origin: origin, epoch: UInt32(epoch), lsn: try number("lsn"), leafIndex: try number("leaf_index"),
            treeSize: try number("tree_size"), entry: try base64(try string("entry"), "entry"), path: hashes,
            checkpoint: try string("checkpoint"), verifierKey: try string("verifier_key"))
    }

    /// The origin a bundle names, if it parses at all (to pick the keys to check it with).
    public static func peekOrigin(_ bytes: [UInt8]) -> OriginID? {
        guard let o = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let h = o["origin"] as? String
        else { return nil }
        return OriginID(hex: h)
    }

    /// What a successful check established.
    public struct Verified: Sendable {
        public var event: Event
        public var key: NoteVerifierKey
        /// Whether the key was given by the caller or trusted by a store (true), or only named by the bundle.
        public var keyIsTrusted: Bool
    }

    /// Checks a bundle file: canonical bytes, the entry decodes, the inclusion path leads to the signed
    /// root, the note names this origin, epoch and LSN, and the signature verifies with `keys` (when empty,
    /// with the key the bundle names, reported as not trusted). Every failure is `corruption` (exit 5).
    public static func verify(_ bytes: [UInt8], path: String, keys: [NoteVerifierKey]) throws(EventLogError) -> Verified
    {
        let b = try parse(bytes, path: path)
        func fail(_ m: String) -> EventLogError {
            EventLogError(.corruption, "proof does not verify: \(m)", path: path)
        }
        let canonical: [UInt8]
        do throws(EventLogError) { canonical = try b.render() } catch { throw fail(error.message) }
        guard canonical == bytes else {
            let at =
                zip(canonical, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? min(canonical.count, bytes.count)
            throw fail("the file differs from its canonical form at byte \(at) (edited after `aibrain prove`?)")
        }
        let note: SignedNote
        do throws(EventLogError) { note = try SignedNote.parse(b.checkpoint) } catch {
            throw fail("checkpoint: \(error.message)")
        }
        // Base64 can spell the same bytes more than one way (unused low bits): only the canonical spelling.
        guard note.encoded == b.checkpoint else { throw fail("the checkpoint is not in its canonical form (edited?)") }
        let lines = note.text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, let size = UInt64(lines[1]), let root = Data(base64Encoded: String(lines[2])),
            root.count == 32
        else { throw fail("the checkpoint does not start with origin, tree size and root lines") }
        let originLine = lines[0].split(separator: "/")
        guard originLine.count == 4, originLine[0] == "aibrain.seal", originLine[1] == b.origin.hex,
            UInt32(originLine[2]) == b.epoch, let first = UInt64(originLine[3])
        else { throw fail("the checkpoint is not a seal of origin \(b.origin.hex) epoch \(b.epoch)") }
        guard size >= 1, first >= 1, first <= UInt64.max - (size - 1), first <= b.lsn,
            b.lsn - first == b.leafIndex, size == b.treeSize, lines[3] == "lsn \(first) \(first + size - 1)"
        else {
            throw fail("LSN \(b.lsn), leaf \(b.leafIndex) and tree size \(b.treeSize) disagree with the checkpoint")
        }
        guard
            MerkleTree.verifyInclusion(
                leaf: MerkleTree.leafHash(b.entry), index: b.leafIndex, size: size, path: b.path, root: [UInt8](root))
        else { throw fail("the inclusion path does not lead from the entry to the checkpoint's root") }
        let named: NoteVerifierKey
        do throws(EventLogError) { named = try NoteVerifierKey(parsing: b.verifierKey) } catch {
            throw fail("verifier_key: \(error.message)")
        }
        guard named.encoded == b.verifierKey else { throw fail("verifier_key is not in its canonical form (edited?)") }
        guard named.name == SealNote.keyName(origin: b.origin) else {
            throw fail("verifier_key is named \(named.name), not origin \(b.origin.hex)'s key")
        }
        // Only a key of this origin proves it: another origin's key (given by mistake, or by design) never does.
        let originKeys = keys.filter { $0.name == named.name }
        guard keys.isEmpty || !originKeys.isEmpty else {
            throw fail("none of the keys given is origin \(b.origin.hex)'s (its key is named \(named.name))")
        }
        let candidates = keys.isEmpty ? [named] : originKeys
        switch NoteCheck.check(note, against: candidates) {
        case .verified(let k):
            return Verified(event: try b.event(), key: k, keyIsTrusted: !keys.isEmpty)
        case .badSignature(let name):
            throw fail("the checkpoint's signature by \(name) does not verify")
        case .unknownKeys(let ids):
            throw fail(
                "the checkpoint is signed by \(ids.joined(separator: ", ")), not by a trusted key of origin \(b.origin.hex)"
            )
        }
    }

    /// A JSON string literal, escaped as every other JSON aibrain writes (`JSONScanner.quote`).
    static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        JSONScanner.quote(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
