import Crypto
import EventLog
import Foundation
import Testing

@testable import Trust

/// RFC 6962 hashing against the certificate-transparency reference vectors, and C2SP signed notes against
/// the Go `sumdb/note` reference note: our formats interoperate with the tools auditors already have.
@Suite struct MerkleTests {
    /// The CT reference leaves (certificate-transparency merkle_tree_test, transparency-dev/merkle).
    static let leaves: [[UInt8]] = [
        [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
        [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57], Array(0x60...0x6f),
    ]
    static let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    @Test func rootsMatchTheReferenceVectors() {
        #expect(hexString(MerkleTree.root(leaves: [])) == hexString(SHA256Digest.hash([])))
        for n in 1...8 {
            let hashes = Self.leaves[0..<n].map(MerkleTree.leafHash)
            #expect(hexString(MerkleTree.root(leaves: hashes)) == Self.roots[n - 1], "tree of \(n)")
        }
    }

    @Test func inclusionPathMatchesRFCWorkedExample() {
        // PATH(0, D[7]) from RFC 6962 §2.1.3's example tree (transparency-dev/merkle testonly).
        let hashes = Self.leaves[0..<7].map(MerkleTree.leafHash)
        #expect(
            MerkleTree.inclusionPath(index: 0, leaves: hashes).map(hexString) == [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e",
            ])
    }

    /// Every leaf of every tree up to 70 leaves: our path verifies with our verifier and with an
    /// independent one written here from the RFC's recursive definition; a wrong index, sibling or leaf,
    /// or a size that cannot hold the index, fails.
    @Test func everyPathVerifiesAndNoWrongOneDoes() {
        for n in 1...70 {
            let hashes = (0..<n).map { MerkleTree.leafHash([UInt8(truncatingIfNeeded: $0), 7]) }
            let root = MerkleTree.root(leaves: hashes)
            #expect(root == Independent.mth(hashes))
            for i in 0..<n {
                let path = MerkleTree.inclusionPath(index: i, leaves: hashes)
                #expect(path == Independent.path(i, hashes), "path \(i) of \(n)")
                #expect(
                    MerkleTree.verifyInclusion(
                        leaf: hashes[i], index: UInt64(i), size: UInt64(n), path: path, root: root))
                #expect(Independent.rootFromPath(hashes[i], i, n, path) == root)
                if n > 1 {
                    let j = (i + 1) % n
                    #expect(
                        !MerkleTree.verifyInclusion(
                            leaf: hashes[i], index: UInt64(j), size: UInt64(n), path: path, root: root))
                    #expect(
                        !MerkleTree.verifyInclusion(
                            leaf: hashes[j], index: UInt64(i), size: UInt64(n), path: path, root: root))
                    var bent = path
                    bent[0][5] ^= 1
                    #expect(
                        !MerkleTree.verifyInclusion(
                            leaf: hashes[i], index: UInt64(i), size: UInt64(n), path: bent, root: root))
                }
                // (A wrong tree size can give the same shape for leaves off the right edge: the size is bound
                // to the root by the signed checkpoint, which verify-proof compares.)
                #expect(
                    !MerkleTree.verifyInclusion(
                        leaf: hashes[i], index: UInt64(i), size: UInt64(i), path: path, root: root))
            }
        }
    }
}

/// RFC 6962 §2.1 written as the RFC states it (recursion on the largest power of two below n): no code
/// shared with `MerkleTree`.
enum Independent {
    static func h(_ parts: [UInt8]...) -> [UInt8] { Array(SHA256.hash(data: parts.flatMap { $0 })) }
    static func split(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }
    static func mth(_ d: [[UInt8]]) -> [UInt8] {
        if d.count == 1 { return d[0] }
        let k = split(d.count)
        return h([0x01], mth(Array(d[..<k])), mth(Array(d[k...])))
    }
    static func path(_ m: Int, _ d: [[UInt8]]) -> [[UInt8]] {
        if d.count == 1 { return [] }
        let k = split(d.count)
        return m < k
            ? path(m, Array(d[..<k])) + [mth(Array(d[k...]))] : path(m - k, Array(d[k...])) + [mth(Array(d[..<k]))]
    }
    /// The root a path implies, by the same recursion run backwards (no bit tricks).
    static func rootFromPath(_ leaf: [UInt8], _ m: Int, _ n: Int, _ p: [[UInt8]]) -> [UInt8]? {
        if n == 1 { return p.isEmpty ? leaf : nil }
        guard let last = p.last else { return nil }
        let k = split(n)
        if m < k {
            guard let left = rootFromPath(leaf, m, k, Array(p.dropLast())) else { return nil }
            return h([0x01], left, last)
        }
        guard let right = rootFromPath(leaf, m - k, n - k, Array(p.dropLast())) else { return nil }
        return h([0x01], last, right)
    }
}

@Suite struct SignedNoteTests {
    // golang.org/x/mod/sumdb/note's documented example.
    static let goVerifier = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let goSigner = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let goText =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let goNote =
        goText
        + "\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

    @Test func verifiesTheGoReferenceNote() throws {
        let key = try NoteVerifierKey(parsing: Self.goVerifier)
        #expect(hexString(key.keyID) == "c74f20a3")
        #expect(key.encoded == Self.goVerifier)
        let note = try SignedNote.parse(Self.goNote)
        #expect(note.text == Self.goText)
        #expect(note.encoded == Self.goNote)
        #expect(NoteCheck.check(note, against: [key]) == .verified(key))
        var changed = note
        changed.text = changed.text.replacingOccurrences(of: "problem,", with: "problem;")
        #expect(NoteCheck.check(changed, against: [key]) == .badSignature(keyName: "PeterNeumann"))
        #expect(NoteCheck.check(note, against: []) == .unknownKeys(["PeterNeumann+c74f20a3"]))
    }

    @Test func signsNotesGoVerifies() throws {
        let signer = try NoteSignerKey(parsing: Self.goSigner, path: "test")
        #expect(signer.verifier.encoded == Self.goVerifier)
        #expect(signer.encoded == Self.goSigner)
        let note = SignedNote(text: Self.goText, signatures: [try signer.sign(Self.goText)])
        // Ed25519 signatures are checked by verifying, never by comparing bytes (CryptoKit randomizes them).
        #expect(
            NoteCheck.check(try SignedNote.parse(note.encoded), against: [signer.verifier])
                == .verified(signer.verifier))
    }

    @Test func keysWithPlusInTheirBase64Parse() throws {
        // transparency-dev/formats' note tests: a key whose base64 holds '+'.
        let key = try NoteVerifierKey(parsing: "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
        #expect(key.name == "TEST")
        #expect(hexString(key.keyID) == "7997405c")
    }

    @Test func malformedNotesAndKeysAreRefusedByName() {
        #expect(throws: EventLogError.self) { try SignedNote.parse("no blank line\n") }
        #expect(throws: EventLogError.self) { try SignedNote.parse("text\n\nnot a signature\n") }
        #expect(throws: EventLogError.self) { try SignedNote.parse("text\n\n\u{2014} name AAAA\n") }
        #expect(throws: EventLogError.self) {
            try NoteVerifierKey(parsing: "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
        }
        #expect(throws: EventLogError.self) { try NoteVerifierKey(parsing: "Peter Neumann+c74f20a3+AA==") }
    }
}
