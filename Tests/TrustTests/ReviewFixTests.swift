import EventLog
import Foundation
import StorageTesting
import Testing

@testable import Trust

/// Regressions for what the review of the trust layer found: each test fails on the code before its fix.
@Suite struct ReviewFixTests {
    /// An encrypted store whose keyring went missing never goes on in plaintext: the next segment is refused.
    @Test func aMissingKeyringNeverTurnsAnEncryptedStorePlaintext() throws {
        let fs = try encryptedStore(teams: ["dev"])
        let log = try encWriter(fs, cipher: TeamCipher(storeRoot: encRoot, fs: fs))
        try log.append([encDraft("a", team: "dev")])
        try log.seal()
        let files = TeamKeyFiles(storeRoot: encRoot, fs: fs)
        try fs.rename(files.keyringPath, files.keyringPath + ".away")
        let keyless = try encWriter(fs, cipher: TeamCipher(storeRoot: encRoot, fs: fs))
        #expect(throws: EventLogError.self) { try keyless.append([encDraft("b", team: "dev")]) }
        try keyless.seal()  // nothing to seal (the open segment is empty): no new segment either
        let plain = try encWriter(fs, cipher: nil)
        #expect(throws: EventLogError.self) { try plain.append([encDraft("c", team: "dev")]) }
        try fs.rename(files.keyringPath + ".away", files.keyringPath)
        let again = try encWriter(fs, cipher: TeamCipher(storeRoot: encRoot, fs: fs))
        try again.append([encDraft("d", team: "dev")])
        try again.seal()
        #expect(try StoreVerifier.verify(root: encRoot, fs: fs, cipher: TeamCipher(storeRoot: encRoot, fs: fs)).ok)
    }

    /// Importing an older export into a team that has keys here adds them for reading only: the active
    /// (encrypting) key stays this store's newest.
    @Test func anImportNeverReactivatesAnOlderKey() throws {
        let fs = try encryptedStore(teams: ["dev"])
        let files = TeamKeyFiles(storeRoot: encRoot, fs: fs)
        let other = try encryptedStore(seed: 9, teams: ["dev"])
        let exported = try TeamKeyOperations.export(team: "dev", files: TeamKeyFiles(storeRoot: encRoot, fs: other))
        let before = try files.load()
        let active = try #require(before.team("dev")?.active)
        let added = try TeamKeyOperations.importKey(exported, from: "dev.key", files: files, now: 5)
        #expect(added.count == 1)
        let after = try files.load()
        #expect(after.team("dev")?.active?.keyID == active.keyID)
        #expect(after.encryptingVersion(team: "dev", generation: after.generation)?.keyID == active.keyID)
        #expect(after.team("dev")?.versions.count == 2, "the imported key is kept for reading")
    }

    /// A signing key file with a bad name is an error naming the file, not a crash.
    @Test func aMalformedSigningKeyIsAnErrorNotATrap() throws {
        let fs = SimulatedFileSystem(seed: 4)
        let o = OriginID(hex: String(repeating: "12", count: 16))!
        let keys = KeyStore(storeRoot: "/s/.aibrain", origin: o, fs: fs)
        try fs.makeDirectories(keys.directory)
        for bad in ["PRIVATE+KEY++c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "PRIVATE+KEY+a b+00+AA=="] {
            try fs.writeFileAtomically(keys.originKeyPath, Array(bad.utf8))
            #expect(throws: EventLogError.self) { try keys.originKey() }
        }
    }

    /// A crafted checkpoint (tree size 0, a first LSN at the top of the range) is refused, never a trap.
    @Test func aCraftedCheckpointCannotOverflow() throws {
        let o = OriginID(hex: String(repeating: "34", count: 16))!
        let key = try NoteSignerKey(name: SealNote.keyName(origin: o), seed: Array(repeating: 3, count: 32))
        let entry = try ProofBundleFixture.entry()
        for (first, size) in [(UInt64(0), UInt64(0)), (UInt64.max, UInt64(2)), (UInt64.max - 1, UInt64(5))] {
            let text =
                "aibrain.seal/\(o.hex)/1/\(first)\n\(size)\n\(Data(MerkleTree.leafHash(entry)).base64EncodedString())\nlsn 1 1\n"
            let note = SignedNote(text: text, signatures: [try key.sign(text)])
            let b = ProofBundle(
                origin: o, epoch: 1, lsn: first, leafIndex: 0, treeSize: size, entry: entry, path: [],
                checkpoint: note.encoded, verifierKey: key.verifier.encoded)
            #expect(throws: EventLogError.self) {
                try ProofBundle.verify(try b.render(), path: "x", keys: [key.verifier])
            }
        }
    }
}

enum ProofBundleFixture {
    /// A real logical entry: one envelope with no strings but its id and type, team "", payload `{}`.
    static func entry() throws -> [UInt8] {
        let d = EventDraft(eventID: "e-1", type: "a.b", payload: Array("{}".utf8))
        var w = ByteWriter()
        EnvelopeCodec.encode(d, hlc: 1 << 16, recordedAt: 1, region: 0, into: &w)
        return w.bytes + [0] + Array("{}".utf8)
    }
}
