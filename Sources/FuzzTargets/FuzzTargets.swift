import AIBrainCLI
import BrainEvents
import EventLog
import Foundation
import Projections
import Shipping
import Trust

/// The parsers that read bytes someone else wrote (a disk, a peer, an auditor's file, an agent's stdin),
/// one entry per libFuzzer target (`FuzzTesting/`), also replayed over `fixtures/fuzz/` by `make test`.
///
/// Each entry must return normally for every input: a thrown parse error is the expected answer to bad
/// bytes. A trap, a hang or an out-of-memory is a bug; so is a broken invariant, which the entry returns as a
/// description (libFuzzer's `main` then traps, the replay test records it):
/// - what parses re-encodes to bytes that parse to the same value (round trip), where an encoder exists;
/// - what verifies is exactly its canonical form (proof bundles, signed notes);
/// - LZ4: what is compressed decompresses to the same bytes; a frame never yields more than it claims.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case segmentHeader = "segment-header"
    case openSegment = "open-segment"
    case record
    case sealedSegment = "sealed-segment"
    case lz4
    case cursor
    case envelopeJSON = "envelope-json"
    case handoff
    case manifest
    case signedNote = "signed-note"
    case head
    case proof
    case contracts
    case storeFiles = "store-files"
    case legacyKO = "legacy-ko"
    case legacyDecisions = "legacy-decisions"
    case legacySession = "legacy-session"

    /// The libFuzzer executable's name (`FuzzTesting/Sources/<name>`).
    public var executable: String {
        "Fuzz" + rawValue.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// Runs one input. nil: handled (parsed or refused cleanly); a string: an invariant that broke.
    public func run(_ bytes: [UInt8]) -> String? {
        switch self {
        case .segmentHeader: return Self.segmentHeader(bytes)
        case .openSegment: return Self.openSegment(bytes)
        case .record: return Self.record(bytes)
        case .sealedSegment: return Self.sealedSegment(bytes)
        case .lz4: return Self.lz4(bytes)
        case .cursor: return Self.cursor(bytes)
        case .envelopeJSON: return Self.envelopeJSON(bytes)
        case .handoff: return Self.handoff(bytes)
        case .manifest: return Self.manifest(bytes)
        case .signedNote: return Self.signedNote(bytes)
        case .head: return Self.head(bytes)
        case .proof: return Self.proof(bytes)
        case .contracts: return Self.contracts(bytes)
        case .storeFiles: return Self.storeFiles(bytes)
        case .legacyKO: return Self.legacyKO(bytes)
        case .legacyDecisions: return Self.legacyDecisions(bytes)
        case .legacySession: return Self.legacySession(bytes)
        }
    }

    /// The 128-byte segment header: decode, and what decodes re-encodes to a header that decodes the same.
    /// (Bytes 96..<128 are the rewritable area, outside the header checksum, so not compared as bytes.)
    static func segmentHeader(_ bytes: [UInt8]) -> String? {
        let decoded = bytes.withUnsafeBytes { raw in try? SegmentHeader.decode(raw) }
        guard let header = decoded else { return nil }
        let again = header.encode()
        guard again.count == Format.headerSize,
            let back = again.withUnsafeBytes({ raw in try? SegmentHeader.decode(raw) }), back == header
        else {
            return "a decoded header does not survive re-encoding"
        }
        return nil
    }

    /// An `.open` segment's bytes as recovery reads them: header, commit batches, payload regions, records.
    /// Every record the scan accepts must lie inside the file and be visited in LSN order.
    static func openSegment(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { raw -> String? in
            var last: UInt64 = 0
            var problem: String?
            _ = try? OpenSegmentScanner.scan(raw, path: "fuzz.open") { lsn, _, _, _, _, _ in
                if lsn <= last && last != 0 && problem == nil { problem = "records visited out of LSN order" }
                last = lsn
            }
            return problem
        }
    }

    /// One binary envelope (the record decoder of every read) and a logical record (Merkle leaf, proof entry).
    static func record(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { raw -> String? in
            if let view = try? EnvelopeView.parse(raw, at: 0) {
                _ = view
            }
            _ = try? LogicalRecord.decode(bytes)
            return nil
        }
    }

    /// A whole sealed segment: the verifier reads header, trailer, footer, index, stream table, blocks, LZ4
    /// frames and records; the trailer and footer decoders are also run on the raw tail on their own.
    static func sealedSegment(_ bytes: [UInt8]) -> String? {
        _ = try? SealedSegmentVerifier.check(bytes, path: "fuzz.seg")
        bytes.withUnsafeBytes { raw in
            if raw.count >= SealTrailer.size {
                let at = raw.count - SealTrailer.size
                _ = try? SealTrailer.decode(UnsafeRawBufferPointer(rebasing: raw[at...]), base: at)
            }
            _ = try? SealFooter.decode(raw, base: 0)
        }
        return nil
    }

    /// LZ4 frames. Input: u16 LE expected size, then a frame. The frame must never produce more than that;
    /// independently, the whole input compresses and decompresses back to itself.
    static func lz4(_ bytes: [UInt8]) -> String? {
        if let (expected, output) = Self.claimedFrame(bytes), let output,
            output[expected...].contains(where: { $0 != 0xA5 })
        {
            return "a frame accepted for \(expected) bytes wrote past them"
        }
        let decompressor = LZ4Frame.Decompressor()
        var compressed: [UInt8] = []
        var scratch: [UInt8] = []
        bytes.withUnsafeBytes { _ = LZ4Frame.compress($0, appendingTo: &compressed, scratch: &scratch) }
        var back = [UInt8](repeating: 0, count: bytes.count + 65_536)
        let roundTrip = compressed.withUnsafeBytes { src in
            back.withUnsafeMutableBytes { dst in
                (try? decompressor.decompress(src, into: dst, expectedSize: bytes.count)) != nil
            }
        }
        guard roundTrip, Array(back[..<bytes.count]) == bytes else {
            return "\(bytes.count) bytes do not survive compress then decompress"
        }
        return nil
    }

    /// A tail cursor token (`c1-…`, typed by a user or read from a cursor file).
    static func cursor(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let cursor = try? TailCursor(token: text) else { return nil }
        guard let again = try? TailCursor(token: cursor.token), again == cursor else {
            return "a parsed cursor does not survive its own token"
        }
        return nil
    }

    /// One JSON envelope line as `emit --stream` and `import jsonl` read it; what parses encodes to a binary
    /// envelope that decodes to the same draft.
    static func envelopeJSON(_ bytes: [UInt8]) -> String? {
        guard let draft = try? EventJSON.draft(fromLine: bytes, lineNumber: 1) else { return nil }
        let size = EnvelopeCodec.encodedSize(draft)
        guard size <= Int(UInt16.max) else { return nil }
        return EnvelopeRoundTrip.check(draft)
    }

    /// A handoff file's front matter (`.aibrain/session-*.md`), read before regenerating one.
    static func handoff(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        let front = Handoff.frontMatter(text)
        if Handoff.isUntouched(text) && front == nil { return "untouched without front matter" }
        return nil
    }

    /// A legacy KO: the markdown (first byte even) or its metadata JSON (odd). What parses is written out by
    /// `export legacy` and must parse back to the same fields.
    static func legacyKO(_ bytes: [UInt8]) -> String? {
        guard let which = bytes.first else { return nil }
        let rest = Array(bytes.dropFirst())
        if which % 2 == 0 {
            guard let ko = try? KOMarkdown.parse(rest, file: "fuzz.md", defaultID: "KO-fuzz") else { return nil }
            guard let again = try? KOMarkdown.parse(Array(ko.text.utf8), file: "again.md") else {
                return "an exported KO markdown does not parse: \(ko.text.prefix(200))"
            }
            if again.id != ko.id || again.title != ko.title || again.tags != ko.tags || again.projects != ko.projects
                || JSONValue.object(again.metadata) != JSONValue.object(ko.metadata)
            {
                return "an exported KO markdown reads back different fields"
            }
            return nil
        }
        guard let m = try? LegacyFiles.koMetadata(rest, file: "fuzz.json") else { return nil }
        guard let again = try? LegacyFiles.koMetadata(Array(m.jsonText.utf8), file: "again.json"), again == m else {
            return "exported KO metadata reads back different fields: \(m.jsonText.prefix(200))"
        }
        if let s = m.successes, let c = m.consultationCount, s < 0 || s > c { return "successes outside 0…count" }
        return nil
    }

    /// A decision JSONL file: every accepted line, written back as `export legacy` does, reads the same.
    static func legacyDecisions(_ bytes: [UInt8]) -> String? {
        let (lines, problems) = LegacyFiles.decisions(bytes, file: "fuzz.jsonl", defaultTask: "T-fuzz")
        for p in problems where p.line == nil { return "a refused line without its number: \(p)" }
        for d in lines {
            let (again, bad) = LegacyFiles.decisions(Array(d.jsonLine.utf8), file: "again.jsonl", defaultTask: nil)
            guard bad.isEmpty, again.count == 1, again[0] == d else {
                return "an exported decision line reads back different fields: \(d.jsonLine.prefix(200))"
            }
        }
        return nil
    }

    /// A legacy session file: what parses is written back and reads the same; aibrain's own files are skipped.
    static func legacySession(_ bytes: [UInt8]) -> String? {
        guard case .session(let s)? = try? LegacyFiles.session(bytes, file: "fuzz.md", fileName: "session-T-1-C-1.md")
        else { return nil }
        guard
            case .session(let again)? = try? LegacyFiles.session(
                Array(s.text.utf8), file: "again.md", fileName: s.fileName),
            again == s
        else { return "an exported session file reads back different fields: \(s.text.prefix(200))" }
        return nil
    }

    /// A peer's shipping manifest: what decodes re-encodes to a manifest that decodes the same.
    static func manifest(_ bytes: [UInt8]) -> String? {
        guard let m = try? Manifest.decode(bytes, path: "fuzz.manifest.json") else { return nil }
        guard let again = try? Manifest.decode(m.encoded(), path: "re-encoded"), again == m else {
            return "a decoded manifest does not survive re-encoding"
        }
        return nil
    }

    /// A signed note (a seal's note, a head, a proof's checkpoint) and verifier keys: what parses
    /// re-encodes to a note that parses the same; no signature verifies under the golden fixture key unless
    /// the note's text is the golden one that key signed.
    static func signedNote(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? NoteVerifierKey(parsing: text)
        _ = try? NoteSignerKey(parsing: text, path: "fuzz.key")
        guard let note = try? SignedNote.parse(text) else { return nil }
        guard let again = try? SignedNote.parse(note.encoded), again == note else {
            return "a parsed note does not survive its own encoding"
        }
        if case .verified = NoteCheck.check(note, against: [FuzzKeys.verifier]),
            !FuzzKeys.signedTexts.contains(note.text)
        {
            return "a signature verified over a text the golden key never signed"
        }
        return nil
    }

    /// A signed head (`aibrain head -w`), as `verify --against` reads it.
    static func head(_ bytes: [UInt8]) -> String? {
        guard let note = try? SignedNote.parse(String(decoding: bytes, as: UTF8.self)),
            let head = try? SignedHead(parsing: note, path: "fuzz.head")
        else { return nil }
        guard let again = try? SignedHead(parsing: SignedNote(text: head.text, signatures: []), path: "again"),
            again == head
        else { return "a parsed head does not survive its own text" }
        return nil
    }

    /// A proof bundle (`aibrain prove`): parse, and verification with the key it names; what verifies is
    /// byte for byte its canonical rendering.
    static func proof(_ bytes: [UInt8]) -> String? {
        guard let bundle = try? ProofBundle.parse(bytes, path: "fuzz.proof.json") else { return nil }
        guard (try? ProofBundle.verify(bytes, path: "fuzz.proof.json", keys: [])) != nil else { return nil }
        guard let canonical = try? bundle.render(), canonical == bytes else {
            return "a bundle verified that is not its canonical rendering"
        }
        return nil
    }

    /// `.aibrain/contracts.yaml` through Yams and the rules' checks.
    static func contracts(_ bytes: [UInt8]) -> String? {
        _ = try? Contracts.parse(bytes, file: "fuzz.contracts.yaml")
        return nil
    }

    /// The small files a store keeps: store.json, CATALOG, the team keyring, LOCK's watermark; the first
    /// byte picks which decoder sees the rest. What decodes re-encodes to the same value.
    static func storeFiles(_ bytes: [UInt8]) -> String? {
        guard let which = bytes.first else { return nil }
        let rest = Array(bytes.dropFirst())
        switch which % 4 {
        case 0:
            guard let c = try? StoreConfig.decode(rest, path: "store.json") else { return nil }
            guard let again = try? StoreConfig.decode(c.encoded(), path: "again"), again == c else {
                return "store.json does not survive re-encoding"
            }
        case 1:
            guard let c = try? Catalog.decode(rest) else { return nil }
            guard let again = try? Catalog.decode(c.encode()), again == c else {
                return "a catalog does not survive re-encoding"
            }
        case 2:
            guard let k = try? TeamKeyring.decode(rest, path: "keyring") else { return nil }
            guard let again = try? TeamKeyring.decode(k.encoded(), path: "again"), again.encoded() == k.encoded()
            else { return "a keyring does not survive re-encoding" }
        default:
            _ = LockWatermark.decode(rest)
        }
        return nil
    }
}
