import EventLog
import Foundation
import StorageTesting
import Testing

@testable import Trust

/// Crypto-shredding (FORMAT.md "Shreddable streams"): payloads of a stream with a data key are stored sealed;
/// destroying the key makes them `[shredded]` for good, and every check over the stored bytes stays green.
@Suite struct ShredTests {
    /// The region cipher of `TeamCipher` without its payload opening: what is stored, decrypted only at region level.
    struct RegionsOnly: RegionCipher {
        let inner: TeamCipher
        func currentGeneration() throws(EventLogError) -> UInt32? { try inner.currentGeneration() }
        func encrypt(_ plaintext: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8])
            throws(EventLogError) -> Bool
        { try inner.encrypt(plaintext, context: context, appendingTo: &out) }
        func decrypt(
            keyID: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer,
            tag: UnsafeRawBufferPointer, context: RegionContext, appendingTo out: inout [UInt8]
        ) -> RegionDecryption {
            inner.decrypt(
                keyID: keyID, nonce: nonce, ciphertext: ciphertext, tag: tag, context: context, appendingTo: &out)
        }
    }

    @Test func aShreddedStreamReadsAsShreddedAndStillVerifies() throws {
        let fs = try encryptedStore(teams: ["dev"])
        let files = TeamKeyFiles(storeRoot: encRoot, fs: fs)
        let created = try StreamKeys.create(stream: "task/PII", team: "dev", files: files, now: 1)
        #expect(try fs.listDirectory(files.streamsDirectory) == [StreamKeys.fileStem("task/PII") + ".key"])
        #expect(throws: EventLogError.self) {
            try StreamKeys.create(stream: "task/PII", team: "dev", files: files, now: 2)
        }
        let cipher = TeamCipher(storeRoot: encRoot, fs: fs)
        let log = try encWriter(fs, cipher: cipher)
        try log.append([
            encDraft("p1", team: "dev", stream: "task/PII", payload: #"{"ssn_note":"call Ana"}"#),
            encDraft("o1", team: "dev", stream: "task/OTHER", payload: #"{"n":1}"#),
        ])
        try log.seal()
        try log.append([encDraft("p2", team: "dev", stream: "task/PII", payload: #"{"n":2}"#)])

        // Stored: the sealed wrapper (valid JSON), bound to its data key.
        let stored = try encEvents(
            try encReader(fs, cipher: RegionsOnly(inner: TeamCipher(storeRoot: encRoot, fs: fs))))
        let p1 = String(decoding: stored[0].payload, as: UTF8.self)
        #expect(p1.hasPrefix(#"{"$sealed":{"v":1,"kid":""# + created.dataKeyID) && !p1.contains("Ana"))
        #expect(String(decoding: stored[1].payload, as: UTF8.self) == #"{"n":1}"#)
        // Read with the keys: the plaintext.
        #expect(
            try encEvents(log).map { String(decoding: $0.payload, as: UTF8.self) } == [
                #"{"ssn_note":"call Ana"}"#, #"{"n":1}"#, #"{"n":2}"#,
            ])

        let shredded = try cipher.shred(stream: "task/PII")
        #expect(shredded?.dataKeyID == created.dataKeyID && shredded?.team == "dev")
        // A rerun (say after a crash before `stream.shredded` was recorded) learns from the tombstone what was
        // destroyed; the directory holds the tombstone, no key.
        let again = try StreamKeys.shred(stream: "task/PII", files: files)
        #expect(again?.dataKeyID == created.dataKeyID && again?.team == "dev")
        #expect(try fs.listDirectory(files.streamsDirectory) == [StreamKeys.fileStem("task/PII") + ".shredded"])
        #expect(try StreamKeys.shred(stream: "task/NEVER", files: files) == nil)

        let after = try encEvents(try encReader(fs, cipher: TeamCipher(storeRoot: encRoot, fs: fs)))
        #expect(after[0].payloadState == .shredded(keyID: created.dataKeyID) && after[0].payload.isEmpty)
        #expect(after[2].payloadState == .shredded(keyID: created.dataKeyID))
        #expect(after[1].payloadState == .plain && after[1].eventID == "o1")
        // Even the writer that held the key in memory shows it shredded now (the listing changed).
        #expect(
            try log.history(stream: "task/PII").allSatisfy { $0.payloadState == .shredded(keyID: created.dataKeyID) })
        // The stream stays closed: a new payload would outlive the erasure in plaintext. Only its own
        // `stream.shredded` record is written; other streams go on.
        #expect(throws: EventLogError.self) {
            try log.append([encDraft("p3", team: "dev", stream: "task/PII", payload: #"{"n":3}"#)])
        }
        var record = encDraft("shred:x", team: "dev", stream: "task/PII", payload: #"{"stream":"task/PII"}"#)
        record.type = "stream.shredded"
        try log.append([record, encDraft("o2", team: "dev", stream: "task/OTHER", payload: #"{"n":4}"#)])
        #expect(try log.event(lsn: 5)?.payload == Array(#"{"n":4}"#.utf8))
        try log.seal()

        // Verify with every key: seals, chain, logical hashes and Merkle roots all over the stored bytes.
        let report = try StoreVerifier.verify(root: encRoot, fs: fs, cipher: TeamCipher(storeRoot: encRoot, fs: fs))
        #expect(report.ok && report.unchecked.isEmpty, "\(report.problems)")
    }

    @Test func aSealedPayloadMovedToAnotherEventDoesNotOpen() throws {
        let fs = try encryptedStore(teams: ["dev"])
        let files = TeamKeyFiles(storeRoot: encRoot, fs: fs)
        _ = try StreamKeys.create(stream: "task/PII", team: "dev", files: files, now: 1)
        let cipher = TeamCipher(storeRoot: encRoot, fs: fs)
        var drafts = [encDraft("a", team: "dev", stream: "task/PII", payload: #"{"x":1}"#)]
        try cipher.sealPayloads(&drafts)
        let sealed = drafts[0].payload
        let good = sealed.withUnsafeBytes {
            cipher.openSealedPayload($0) {
                SealedPayloadContext(eventID: "a", type: "test.event", stream: "task/PII", team: "dev")
            }
        }
        #expect(good == .opened(Array(#"{"x":1}"#.utf8)))
        let moved = sealed.withUnsafeBytes {
            cipher.openSealedPayload($0) {
                SealedPayloadContext(eventID: "b", type: "test.event", stream: "task/PII", team: "dev")
            }
        }
        guard case .shredded = moved else {
            Issue.record("a sealed payload opened under another event id")
            return
        }
    }

    @Test func aStreamKeyNeedsATeamKey() throws {
        let fs = try encryptedStore(teams: [])
        #expect(throws: EventLogError.self) {
            try StreamKeys.create(
                stream: "task/X", team: "dev", files: TeamKeyFiles(storeRoot: encRoot, fs: fs), now: 1)
        }
    }
}
