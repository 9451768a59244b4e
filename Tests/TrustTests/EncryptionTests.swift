import Crypto
import EventLog
import Foundation
import StorageTesting
import Testing

@testable import EventLog
@testable import Trust

/// Encryption at rest (FORMAT.md "Encrypted payload regions"): round trips through open and sealed segments,
/// and what readers without the key, with a wrong key, or with tampered bytes get.
@Suite struct EncryptionTests {
    static let drafts = [
        encDraft("e1", team: "dev"), encDraft("e2", team: "qa"), encDraft("e3", team: ""),
        encDraft("e4", team: "dev", stream: "task/T-2"),
    ]

    @Test func aStoreWithoutKeysWritesUnflaggedSegments() throws {
        let fs = try encryptedStore(teams: [])
        let log = try encWriter(fs)
        try log.append(Self.drafts)
        let bytes = fs.contents(of: try encSegmentFiles(fs).last!)!
        #expect(bytes[12] == 0 && bytes[16..<20].allSatisfy { $0 == 0 } && bytes[24..<28].allSatisfy { $0 == 0 })
        #expect(bytesContain(bytes, "e1-dev-plaintext"))
    }

    @Test func encryptedRegionsRoundTripThroughOpenAndSealedSegments() throws {
        let fs = try encryptedStore()
        let log = try encWriter(fs)
        try log.append(Array(Self.drafts[0..<2]))
        try log.append(Array(Self.drafts[2...]))
        let open = fs.contents(of: try encSegmentFiles(fs).last!)!
        let header = try open.withBytes { (b) throws(DecodeFailure) in try SegmentHeader.decode(b) }
        #expect(header.hasEncryptedRegions && header.cipher == 1 && header.keyVersion == 1)
        // The team with a key is ciphertext on disk; the others stay plaintext (mode 0).
        #expect(!bytesContain(open, "e1-dev-plaintext") && !bytesContain(open, "e4-dev-plaintext"))
        #expect(bytesContain(open, "e2-qa-plaintext") && bytesContain(open, "e3--plaintext"))
        let before = try encEvents(log)
        #expect(
            before.map { String(decoding: $0.payload, as: UTF8.self) }
                == Self.drafts.map { String(decoding: $0.payload, as: UTF8.self) })
        #expect(before.allSatisfy { $0.payloadState == .plain })

        try log.seal()
        let sealed = try encSegmentFiles(fs, sealed: true)
        #expect(sealed.count == 1)
        let seg = fs.contents(of: sealed[0])!
        let sh = try seg.withBytes { (b) throws(DecodeFailure) in try SegmentHeader.decode(b) }
        #expect(sh.hasEncryptedRegions && sh.keyVersion == 1 && sh.segmentID == header.segmentID)
        let after = try encEvents(log)
        #expect(after.map(\.payload) == before.map(\.payload))
        #expect(try log.history(stream: "task/T-2").map(\.eventID) == ["e4"])
        #expect(try log.event(lsn: 1)?.payload == Self.drafts[0].payload)

        let report = try StoreVerifier.verify(root: encRoot, fs: fs, cipher: TeamCipher(storeRoot: encRoot, fs: fs))
        #expect(report.ok && report.unchecked.isEmpty, "\(report.problems)")
    }

    @Test func withoutTheKeyAReaderGetsEnvelopesAndAnExplicitState() throws {
        let fs = try encryptedStore()
        let log = try encWriter(fs)
        try log.append(Self.drafts)
        try log.seal()
        try log.append([encDraft("e5", team: "dev")])  // one more in the new .open
        let keyID = hexString(TeamCipher(storeRoot: encRoot, fs: fs).keyring.team("dev")!.active!.keyID)
        let blind = try encReader(fs, cipher: nil)
        let events = try encEvents(blind)
        #expect(events.map(\.eventID) == ["e1", "e2", "e3", "e4", "e5"])
        for e in events {
            if e.draft.team == "dev" {
                #expect(e.payloadState == .encrypted(team: "dev", keyID: keyID) && e.payload.isEmpty)
            } else {
                #expect(e.payloadState == .plain && !e.payload.isEmpty)
            }
        }
        // Envelope filters need no key: stream index, event ids, types.
        #expect(try blind.history(stream: "task/T-2").map(\.eventID) == ["e4"])
        #expect(try blind.event(lsn: 5)?.payloadState == .encrypted(team: "dev", keyID: keyID))
        // verify without the key: everything over stored bytes is checked, record hashes are reported as not.
        let report = try StoreVerifier.verify(root: encRoot, fs: fs, cipher: NoKeys())
        #expect(report.ok, "\(report.problems)")
        #expect(report.unchecked == [.init(team: "dev", segments: 1)])
        #expect(report.uncheckedSummary == ["1 segment: record hashes not checked without team dev's key"])
    }

    @Test func aForeignKeyNeverDecrypts() throws {
        let fs = try encryptedStore()
        try encWriter(fs).append(Self.drafts)
        // Another store's key for the same team: another key id, so it is never even tried.
        let other = try encryptedStore(seed: 2)
        let theirs = try TeamKeyOperations.export(team: "dev", files: TeamKeyFiles(storeRoot: encRoot, fs: other))
        let files = TeamKeyFiles(storeRoot: encRoot, fs: fs)
        var ring = TeamKeyring()
        for v in try TeamKeyring.decode(
            try TeamKeyFiles(storeRoot: encRoot, fs: other).fs.readFile(
                TeamKeyFiles(storeRoot: encRoot, fs: other).keyringPath),
            path: "other"
        ).team("dev")!.versions {
            ring.add(team: "dev", key: v.key, now: 1)
        }
        try files.save(ring)
        #expect(!theirs.isEmpty)
        let events = try encEvents(try encReader(fs, cipher: TeamCipher(storeRoot: encRoot, fs: fs)))
        #expect(
            events.filter { $0.draft.team == "dev" }.allSatisfy {
                if case .encrypted = $0.payloadState { true } else { false }
            })
    }

    @Test func aKeyFileThatLiesAboutItsIDIsRefused() throws {
        let fs = try encryptedStore()
        try encWriter(fs).append(Self.drafts)
        let files = TeamKeyFiles(storeRoot: encRoot, fs: fs)
        var ring = try files.load()
        ring.teams[0].versions[0].key = TeamKeyring.randomKey()  // the id stays: the wrong key in the right slot
        try fs.writeFileAtomically(files.keyringPath, ring.encoded())
        #expect(throws: EventLogError.self) { try files.load() }
        // Readers never crash and never decrypt: the regions read as encrypted.
        let events = try encEvents(try encReader(fs, cipher: TeamCipher(storeRoot: encRoot, fs: fs)))
        #expect(events.count == 4 && events.filter { $0.payloadState != .plain }.count == 2)
        // A writer refuses to append rather than fall back to plaintext.
        #expect(throws: EventLogError.self) { try encWriter(fs).append([encDraft("x", team: "dev")]) }
    }

    @Test func theWrongKeyInTheRightSlotIsAnAuthenticationFailure() throws {
        let fs = try encryptedStore()
        let log = try encWriter(fs)
        try log.append(Self.drafts)
        let evil = try encReader(fs, cipher: WrongKeyInTheRightSlot())
        do {
            _ = try encEvents(evil)
            Issue.record("a wrong key decrypted")
        } catch let e as EventLogError {
            #expect(e.code == .corruption && e.message.contains("authentication tag mismatch"), "\(e)")
            #expect(e.path?.hasSuffix(".open") == true && e.lsn == 1)
        }
        try log.seal()
        let sealedEvil = try encReader(fs, cipher: WrongKeyInTheRightSlot())
        #expect(throws: EventLogError.self) { try encEvents(sealedEvil) }
    }

    /// A flipped ciphertext byte with the XXH3 checksum recomputed (deliberate tampering, not media damage):
    /// only the tag catches it, and it is corruption naming file, offset and LSN.
    @Test func tamperedCiphertextIsCorruptionNamingTheTag() throws {
        let fs = try encryptedStore()
        let log = try encWriter(fs)
        try log.append([encDraft("e1", team: "dev")])
        let path = try encSegmentFiles(fs).last!
        var bytes = fs.contents(of: path)!
        let probe = bytes.withUnsafeBytes { CommitBatch.probe(UnsafeRawBufferPointer(rebasing: $0[128...])) }
        guard case .batch(let layout) = probe else {
            Issue.record("no batch")
            return
        }
        let region = 128 + layout.regions[0].lowerBound
        #expect(bytes[region] == Format.RegionMode.encrypted)
        bytes[region + 1 + 8 + 12 + 3] ^= 0x40  // a ciphertext byte
        let sum = XXH3.hash(bytes[(128 + 16)..<(128 + layout.length)])
        withUnsafeBytes(of: sum.littleEndian) { for i in 0..<8 { bytes[128 + 8 + i] = $0[i] } }
        try fs.writeFileAtomically(path, bytes)
        let keyed = try encReader(fs, cipher: TeamCipher(storeRoot: encRoot, fs: fs))
        do {
            _ = try encEvents(keyed)
            Issue.record("tampered ciphertext decrypted")
        } catch let e as EventLogError {
            #expect(e.code == .corruption && e.message.contains("authentication tag mismatch"))
            #expect(e.offset == Int64(region) && e.lsn == 1)
        }
        let report = try StoreVerifier.verify(root: encRoot, fs: fs, cipher: TeamCipher(storeRoot: encRoot, fs: fs))
        #expect(!report.ok && report.problems.contains { $0.message.contains("authentication tag mismatch") })
        // Without the key nothing can tell: the stored bytes check, the tag is not tried.
        #expect(try StoreVerifier.verify(root: encRoot, fs: fs, cipher: NoKeys()).ok)
    }

    @Test func aRegionMovedToAnotherPositionFailsItsTag() throws {
        // The associated data binds origin, segment id, kind, first LSN, region index and team.
        let c = RegionContext(
            origin: encOrigin, segmentID: [UInt8](repeating: 7, count: 16), kind: .open, generation: 1, firstLSN: 9,
            region: 0, team: "dev")
        var moved = c
        moved.firstLSN = 10
        var other = c
        other.region = 1
        var sealed = c
        sealed.kind = .sealed
        let all = [c, moved, other, sealed].map(\.associatedData)
        #expect(Set(all).count == 4)
    }

    @Test func anImportedKeyOpensAnotherStoresSegments() throws {
        let fs = try encryptedStore()
        try encWriter(fs).append(Self.drafts)
        let exported = try TeamKeyOperations.export(team: "dev", files: TeamKeyFiles(storeRoot: encRoot, fs: fs))
        // The peer: same segments, its own empty keyring, then the import.
        let peer = SimulatedFileSystem(seed: 9)
        try EventLog.create(at: encRoot, name: "peer", fs: peer, origin: encOrigin)
        for p in try encSegmentFiles(fs) { try peer.writeFileAtomically(p, fs.contents(of: p)!) }
        let peerFiles = TeamKeyFiles(storeRoot: encRoot, fs: peer)
        #expect(
            try encEvents(try encReader(peer, cipher: TeamCipher(storeRoot: encRoot, fs: peer))).contains {
                $0.payloadState != .plain
            })
        let added = try TeamKeyOperations.importKey(exported, from: "dev.key", files: peerFiles, now: 2)
        #expect(added.count == 1 && added[0].team == "dev")
        #expect(try TeamKeyOperations.importKey(exported, from: "dev.key", files: peerFiles, now: 3).isEmpty)
        let events = try encEvents(try encReader(peer, cipher: TeamCipher(storeRoot: encRoot, fs: peer)))
        #expect(events.allSatisfy { $0.payloadState == .plain } && events.map(\.payload) == Self.drafts.map(\.payload))
    }
}
