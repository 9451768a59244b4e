import EventLog
import Foundation
import StorageTesting
import Testing
import Trust

/// Signed seals written through EventLog's seal signer: the pinned golden of a signed segment and its note,
/// the legacy (pre-Merkle, unsigned) golden still verifying, and the signer's journal across a crash.
@Suite struct SignedSealTests {
    static let origin = OriginID(hex: "0123456789abcdef0123456789abcdef")!
    static let root = "/s/.aibrain"

    /// A store with a fixed origin, clock, segment ids and key: three events sealed and signed.
    static func signedStore(seed: UInt64 = 1) throws -> (SimulatedFileSystem, SealedSegment, NoteSignerKey) {
        let fs = SimulatedFileSystem(seed: seed)
        try EventLog.create(at: root, name: "golden", fs: fs, origin: origin)
        let key = try NoteSignerKey(name: SealNote.keyName(origin: origin), seed: Array(repeating: 7, count: 32))
        let keys = KeyStore(storeRoot: root, origin: origin, fs: fs)
        let clock = ManualClock()
        let log = try EventLog(
            root: root, fs: fs,
            options: OpenOptions(
                clock: clock.function, preallocationBytes: 256, segmentIDs: CountingSegmentIDs(first: 0x5E).function,
                signer: OriginSigner(keys: keys, key: key)))
        let drafts = (1...3).map { i in
            EventDraft(
                eventID: "ev-\(i)", type: "decision.recorded", stream: "task/T-\(i)", actor: "agent:qa",
                team: i == 2 ? "qa" : "dev", payload: Array(#"{"kind":"APPROACH","value":"plan \#(i)"}"#.utf8))
        }
        try log.append(drafts)
        try log.seal()
        let seg = try log.openSealedSegment(log.sealedCatalog[0])
        return (fs, seg, key)
    }

    @Test func signedGoldenSegmentAndNoteArePinned() throws {
        let (fs, seg, key) = try Self.signedStore()
        let bytes = try #require(fs.contents(of: seg.path))
        let note = try SealNote.note(of: seg)
        // Ed25519 (RFC 8032) signatures are deterministic in BoringSSL, which swift-crypto uses on Linux.
        #expect(try pinnedFixture("golden-v1/sealed-signed.seg", current: bytes) == bytes, "signed seal format changed")
        #expect(try pinnedFixture("golden-v1/sealed-signed.note", current: note.encoded) == note.encoded)
        #expect(SealNote.check(seg, keys: [key.verifier]) == .verified(key.verifier))
        #expect(try SealedSegmentVerifier.verify(bytes, path: seg.path).merkleRoot.contains { $0 != 0 })
        #expect(note.text.hasPrefix("aibrain.seal/\(Self.origin.hex)/1/1\n3\n"))
    }

    @Test func segmentsSealedBeforeTheTrustLayerStillVerifyAsLegacy() throws {
        let bytes = try [UInt8](
            Data(contentsOf: URL(fileURLWithPath: packageRoot + "/fixtures/golden-v1/sealed-before-merkle.seg")))
        let footer = try SealedSegmentVerifier.verify(bytes, path: "sealed-before-merkle.seg")
        #expect(footer.merkleRoot == Array(repeating: 0, count: 32))
        let fs = SimulatedFileSystem(seed: 3)
        try fs.makeDirectories("/x")
        let fd = try fs.open("/x/a.seg", .createExclusive(permissions: 0o644))
        try fs.writeAll(fd, bytes, at: 0)
        fs.close(fd)
        #expect(SealNote.check(try SealedSegment(fs: fs, path: "/x/a.seg"), keys: []) == .unsigned)
    }

    @Test func everyChangedByteOfASignedSealIsCaught() throws {
        let (fs, seg, key) = try Self.signedStore(seed: 2)
        let bytes = try #require(fs.contents(of: seg.path))
        // Every byte of footer and trailer (the seal, its hashes, the Merkle root and the signature lines).
        var missed: [Int] = []
        for i in Int(seg.trailer.footerOffset)..<bytes.count {
            var b = bytes
            b[i] ^= 0x10
            let structural = (try? SealedSegmentVerifier.verify(b, path: "x")) == nil
            var signatureFails = false
            if !structural {
                // The structure still holds: only the signature area changed; its check must fail.
                let fd = try fs.open(seg.path + ".t\(i)", .createExclusive(permissions: 0o644))
                try fs.writeAll(fd, b, at: 0)
                fs.close(fd)
                signatureFails =
                    SealNote.check(try SealedSegment(fs: fs, path: seg.path + ".t\(i)"), keys: [key.verifier]).isFailure
            }
            if !structural && !signatureFails { missed.append(i) }
        }
        #expect(missed.isEmpty, "changed bytes not caught at \(missed)")
    }
}
