import AIBrainCLI
import BrainEvents
import EventLog
import Projections
import Shipping
import Trust

/// Binary envelope round trip: a draft that validates encodes, parses back, and names the same fields.
enum EnvelopeRoundTrip {
    static func check(_ draft: EventDraft) -> String? {
        guard (try? EnvelopeValidation.validate(draft, index: 0)) != nil else { return nil }
        var w = ByteWriter()
        EnvelopeCodec.encode(draft, hlc: 42, recordedAt: 1_700_000_000_000, region: 0, into: &w)
        let encoded = w.bytes + draft.payload
        return encoded.withUnsafeBytes { raw -> String? in
            guard let view = try? EnvelopeView.parse(raw, at: 0) else {
                return "an encoded envelope does not parse"
            }
            let back = view.draft(in: raw, team: draft.team, payload: draft.payload)
            guard back == draft, view.hlc == 42, view.payloadLength == draft.payload.count else {
                return "an envelope does not survive encode then parse"
            }
            return nil
        }
    }
}

/// The key of the signed-note target: the one that signed `fixtures/golden-v1/sealed-signed.note` (pinned by
/// TrustTests), so the seed corpus holds a note that verifies.
public enum FuzzKeys {
    public static let signer: NoteSignerKey = try! NoteSignerKey(
        name: "aibrain/0123456789abcdef0123456789abcdef", seed: [UInt8](repeating: 7, count: 32))
    public static let verifier: NoteVerifierKey = signer.verifier
    /// The text of the pinned golden note: the only text this key ever signed.
    public static let signedTexts: Set<String> = [
        """
        aibrain.seal/0123456789abcdef0123456789abcdef/1/1
        3
        rtxKQfhEfUFbbNL4HW6V4NYC3ipBdiy8dbetkHF8A4g=
        lsn 1 3
        seal Zu0R8IjSwKPDtVbZ8TzgVsKFJl7d2x4Rvg9A+PrKAH8=
        prev AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=

        """
    ]
}

extension FuzzTarget {
    /// Whether the target's parser accepts `bytes` as valid (used to check that seed corpora hold real
    /// inputs, not only refused ones).
    public static func accepts(_ target: FuzzTarget, _ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        switch target {
        case .segmentHeader:
            return bytes.withUnsafeBytes { (try? SegmentHeader.decode($0)) != nil }
        case .openSegment:
            return bytes.withUnsafeBytes {
                (try? OpenSegmentScanner.scan($0, path: "seed") { _, _, _, _, _, _ in }) != nil
            }
        case .record:
            return bytes.withUnsafeBytes { (try? EnvelopeView.parse($0, at: 0)) != nil }
                || (try? LogicalRecord.decode(bytes)) != nil
        case .sealedSegment:
            return (try? SealedSegmentVerifier.check(bytes, path: "seed")) != nil
        case .lz4:
            return FuzzTarget.claimedFrame(bytes).map { $0.output != nil } ?? false
        case .cursor: return (try? TailCursor(token: text)) != nil
        case .envelopeJSON: return (try? EventJSON.draft(fromLine: bytes, lineNumber: 1)) != nil
        case .handoff: return Handoff.frontMatter(text) != nil
        case .manifest: return (try? Manifest.decode(bytes, path: "seed")) != nil
        case .signedNote: return (try? SignedNote.parse(text)) != nil
        case .head:
            guard let note = try? SignedNote.parse(text) else { return false }
            return (try? SignedHead(parsing: note, path: "seed")) != nil
        case .proof: return (try? ProofBundle.verify(bytes, path: "seed", keys: [])) != nil
        case .contracts: return (try? Contracts.parse(bytes, file: "seed")) != nil
        case .legacyKO:
            guard let which = bytes.first else { return false }
            let rest = Array(bytes.dropFirst())
            return which % 2 == 0
                ? (try? KOMarkdown.parse(rest, file: "seed", defaultID: "KO-seed")) != nil
                : (try? LegacyFiles.koMetadata(rest, file: "seed")) != nil
        case .legacyDecisions:
            let (lines, problems) = LegacyFiles.decisions(bytes, file: "seed", defaultTask: "T-seed")
            return !lines.isEmpty && problems.isEmpty
        case .legacySession:
            if case .session? = try? LegacyFiles.session(bytes, file: "seed", fileName: "session-T-1-C-1.md") {
                return true
            }
            return false
        case .storeFiles:
            guard let which = bytes.first else { return false }
            let rest = Array(bytes.dropFirst())
            switch which % 4 {
            case 0: return (try? StoreConfig.decode(rest, path: "seed")) != nil
            case 1: return (try? Catalog.decode(rest)) != nil
            case 2: return (try? TeamKeyring.decode(rest, path: "seed")) != nil
            default: return LockWatermark.decode(rest) != nil
            }
        }
    }
}

extension FuzzTarget {
    /// The lz4 target's input: u16 LE claimed size, then a frame. Decompresses it into a buffer 64 KiB larger
    /// than claimed and pre-filled with 0xA5 (so a write past the claim shows): nil for fewer than 2 bytes.
    static func claimedFrame(_ bytes: [UInt8]) -> (expected: Int, output: [UInt8]?)? {
        guard bytes.count >= 2 else { return nil }
        let expected = Int(bytes[0]) | Int(bytes[1]) << 8
        var destination = [UInt8](repeating: 0xA5, count: expected + 65_536)
        let ok = Array(bytes[2...]).withUnsafeBytes { src in
            destination.withUnsafeMutableBytes { dst in
                (try? LZ4Frame.Decompressor().decompress(src, into: dst, expectedSize: expected)) != nil
            }
        }
        return (expected, ok ? destination : nil)
    }
}
