import Foundation
import StorageTesting
import Testing
import Trust

@testable import EventLog

/// Signed seals end to end through the CLI: proofs handed to an auditor, adoption of signed segments from
/// trusted and untrusted origins, legacy unsigned history, and the origin key's rules.
@Suite(.serialized) struct TrustProcessTests {
    static func origin(_ store: String) throws -> String {
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: store + "/store.json")))
        return (cfg as? [String: Any])?["origin_id"] as? String ?? ""
    }

    /// One GUARDRAIL_OVERRIDE handed to an auditor: the bundle verifies with `verify-proof`, with an RFC 6962
    /// check written here, and fails (exit 5) after any byte of it changes.
    @Test func proveBundleVerifiesIndependentlyAndAnyChangedByteFails() throws {
        let (dir, store) = try makeStore(origin: "credentialmate")
        var lines = ""
        for i in 1...6 {
            lines +=
                #"{"type":"decision.recorded","task_id":"T-\#(i)","data":{"kind":"APPROACH","value":"plan \#(i)"}}"#
                + "\n"
        }
        lines +=
            #"{"type":"decision.recorded","task_id":"T-7","actor":"agent:qa-1","data":{"kind":"GUARDRAIL_OVERRIDE","value":"skip flaky e2e suite","severity":"high","approver":"human:dr-lee"}}"#
            + "\n"
        #expect(try aibrain(["emit", "--batch"], cwd: dir, stdin: lines).status == 0)
        // Not sealed yet: refused with what to do.
        let early = try aibrain(["prove", "7"], cwd: dir)
        #expect(early.status == 1 && early.stderr.contains("aibrain seal"), "\(early.stderr)")
        #expect(try aibrain(["seal"], cwd: dir).status == 0)
        let bundlePath = dir + "/override.proof.json"
        let proved = try aibrain(["prove", "7", "-w", bundlePath], cwd: dir)
        #expect(proved.status == 0, "\(proved.stderr)")
        let key = try aibrain(["keys", "show"], cwd: dir).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // verify-proof away from the store, with the published key.
        let elsewhere = temporaryDirectory("auditor")
        try FileManager.default.copyItem(atPath: bundlePath, toPath: elsewhere + "/p.json")
        let ok = try aibrain(["verify-proof", "p.json", "--key", key, "-o", "json"], cwd: elsewhere)
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        let v = try ok.json()
        #expect(
            v["lsn"] as? Int == 7 && v["type"] as? String == "decision.recorded" && v["key_trusted"] as? Bool == true)
        #expect(String(describing: v["event"]).contains("GUARDRAIL_OVERRIDE"))
        let keyless = try aibrain(["verify-proof", "p.json"], cwd: elsewhere)
        #expect(keyless.status == 1 && keyless.stderr.contains("--key"), "no key: refused, saying what to pass")
        let untrusted = try aibrain(["verify-proof", "p.json", "--accept-bundle-key"], cwd: elsewhere)
        #expect(untrusted.status == 0 && untrusted.stdout.contains("taken from the bundle itself"))

        // An RFC 6962 check in another language (Python's hashlib, RFC 9162 §2.1.3.2), from the bundle alone.
        let python = try requireTool("python3")
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = [
            "-c",
            """
            import base64, hashlib, json, sys
            b = json.load(open(sys.argv[1]))
            lines = b["checkpoint"].split("\\n")
            size, root = int(lines[1]), base64.b64decode(lines[2])
            fn, sn = b["leaf_index"], size - 1
            r = hashlib.sha256(b"\\x00" + base64.b64decode(b["entry"])).digest()
            for p in map(base64.b64decode, b["inclusion_path"]):
                if sn == 0: sys.exit(2)
                if fn & 1 or fn == sn:
                    r = hashlib.sha256(b"\\x01" + p + r).digest()
                    while fn & 1 == 0 and fn != 0: fn >>= 1; sn >>= 1
                else:
                    r = hashlib.sha256(b"\\x01" + r + p).digest()
                fn >>= 1; sn >>= 1
            assert b"GUARDRAIL_OVERRIDE" in base64.b64decode(b["entry"])
            sys.exit(0 if sn == 0 and r == root and size == b["tree_size"] == 7 and b["leaf_index"] == 6 else 1)
            """,
            bundlePath,
        ]
        try check.run()
        check.waitUntilExit()
        #expect(check.terminationStatus == 0, "the independent RFC 6962 check failed")

        // Any changed byte fails: every position in-process, a sample through the CLI (exit 5).
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bundlePath)))
        let verifier = try NoteVerifierKey(parsing: key)
        _ = try ProofBundle.verify(bytes, path: "p.json", keys: [verifier])
        var survived: [Int] = []
        for i in bytes.indices {
            var b = bytes
            b[i] = b[i] == UInt8(ascii: "A") ? UInt8(ascii: "B") : (b[i] == 0x20 ? 0x09 : b[i] ^ 0x01)
            do throws(EventLogError) {
                _ = try ProofBundle.verify(b, path: "p.json", keys: [verifier])
                survived.append(i)
            } catch {
                #expect(error.code == .corruption)
            }
        }
        #expect(survived.isEmpty, "bundles still verifying after a changed byte at \(survived)")
        var rng = SplitMix64(seed: 6962)
        for _ in 0..<12 {
            var b = bytes
            let i = Int(rng.next() % UInt64(b.count))
            b[i] ^= 0x04
            try Data(b).write(to: URL(fileURLWithPath: elsewhere + "/bad.json"))
            let r = try aibrain(["verify-proof", "bad.json", "--key", key], cwd: elsewhere)
            #expect(r.status == 5, "byte \(i): exit \(r.status) \(r.stdout)\(r.stderr)")
        }
        // A bundle checked with another origin's key fails too.
        let (_, otherStore) = try makeStore("other-prover", origin: "karematch")
        let otherKey = try aibrain(["keys", "show", "--store", otherStore]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(try aibrain(["verify-proof", "p.json", "--key", otherKey], cwd: elsewhere).status == 5)
        _ = store
    }

    /// A trusted origin's segments must carry its signature; unsigned continuations of signed history are
    /// refused; an untrusted origin's signed seals are adopted and reported as not checked.
    @Test func adoptionChecksSignaturesOfTrustedOrigins() throws {
        let (a, aStore) = try makeStore("signer", origin: "orchestrator")
        let (b, bStore) = try makeStore("truster", origin: "credentialmate")
        let (c, _) = try makeStore("stranger", origin: "karematch")
        let aOrigin = try Self.origin(aStore)
        let aKey = try aibrain(["keys", "show"], cwd: a).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try aibrain(["keys", "trust", aOrigin, aKey], cwd: b).status == 0)
        #expect(try aibrain(["keys", "trust", aOrigin, aKey], cwd: b).stdout.contains("already trusted"))
        for i in 1...3 {
            #expect(
                try aibrain(["emit", "note.added", "--task", "T-\(i)", "--data", #"{"i":\#(i)}"#], cwd: a).status == 0)
        }
        #expect(try aibrain(["ship", "push", b, "--seal", "--force"], cwd: a).status == 0)
        #expect(try aibrain(["ship", "push", c], cwd: a).status == 0)
        #expect(try aibrain(["ship", "adopt"], cwd: b).status == 0)
        #expect(try aibrain(["ship", "adopt"], cwd: c).status == 0)
        let vb = try aibrain(["verify"], cwd: b)
        #expect(vb.status == 0 && vb.stdout.contains("signatures \(aOrigin): 1 verified"), "\(vb.stdout)")
        let vc = try aibrain(["verify"], cwd: c)
        #expect(vc.status == 0 && vc.stdout.contains("not checked (origin not trusted"), "\(vc.stdout)")

        // A's next segment, forged twice: re-signed by an unknown key, and unsigned.
        #expect(try aibrain(["emit", "note.added", "--task", "T-4", "--data", #"{"i":4}"#], cwd: a).status == 0)
        #expect(try aibrain(["seal"], cwd: a).status == 0)
        let segs = try TamperProcessTests.segmentPaths(aStore)
        let (seg, recs) = try TamperProcessTests.records(segs[1])
        let forger = try NoteSignerKey.generate(name: "aibrain/" + aOrigin)
        let incoming = bStore + "/incoming/" + aOrigin
        try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true)
        let name = lastPathComponent(segs[1])
        for (signature, phrase) in [
            (TamperProcessTests.Signature.forger(forger), "unknown key"),
            (.none, "a signed history never continues unsigned"),
        ] {
            let forged = try TamperProcessTests.forge(
                seg, recs, previous: seg.footer.previousSealHash, signature: signature)
            try Data(forged).write(to: URL(fileURLWithPath: incoming + "/" + name))
            let r = try aibrain(["ship", "adopt"], cwd: b)
            #expect(r.status == 5, "\(phrase): exit \(r.status)\n\(r.stdout)\(r.stderr)")
            #expect((r.stdout + r.stderr).contains(phrase), "\(r.stdout)\(r.stderr)")
            #expect(try aibrain(["verify"], cwd: b).status == 0, "the log stays as it was")
        }
        // A store that trusts A "signed since 1:1" refuses fabricated unsigned history even when it holds
        // nothing of A yet (without --signed-since, that first unsigned segment would pass as legacy).
        let (d, dStore) = try makeStore("strict-truster", origin: "auditor")
        let shown = try aibrain(["keys", "show", "-o", "json"], cwd: a).json()
        #expect(shown["signed_since"] as? String == "1:1")
        #expect(try aibrain(["keys", "trust", aOrigin, aKey, "--signed-since", "1:1"], cwd: d).status == 0)
        let (first, firstRecords) = try TamperProcessTests.records(segs[0])
        let unsignedFirst = try TamperProcessTests.forge(
            first, firstRecords, previous: first.footer.previousSealHash, signature: .none)
        try FileManager.default.createDirectory(
            atPath: dStore + "/incoming/" + aOrigin, withIntermediateDirectories: true)
        try Data(unsignedFirst).write(
            to: URL(fileURLWithPath: dStore + "/incoming/" + aOrigin + "/" + lastPathComponent(segs[0])))
        let strict = try aibrain(["ship", "adopt"], cwd: d)
        #expect(
            strict.status == 5 && (strict.stdout + strict.stderr).contains("from 1:1 on is signed"), "\(strict.stdout)")
        #expect(try aibrain(["keys", "trust", aOrigin, aKey, "--signed-since", "x"], cwd: d).status == 64)
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: bStore + "/quarantine/" + aOrigin)
        #expect(quarantined.filter { !$0.hasSuffix(".json") }.count == 2, "\(quarantined)")
        // The genuine segment is still adopted after the forgeries.
        #expect(try aibrain(["ship", "push", b], cwd: a).status == 0)
        #expect(try aibrain(["ship", "adopt"], cwd: b).status == 0)
        #expect(try aibrain(["verify"], cwd: b).stdout.contains("signatures \(aOrigin): 2 verified"))
    }

    /// A store from before the trust layer: its unsigned seals stay valid; after `keys generate` new seals are
    /// signed; from then on a missing key stops sealing (never an unsigned continuation).
    @Test func legacyUnsignedHistoryThenSignedAndNoSilentDowngrade() throws {
        let (dir, store) = try makeStore(origin: "legacy")
        try FileManager.default.removeItem(atPath: store + "/keys")
        #expect(try aibrain(["emit", "note.added", "--task", "T-1", "--data", "{}"], cwd: dir).status == 0)
        #expect(try aibrain(["seal"], cwd: dir).status == 0)
        let noKey = try aibrain(["keys", "show"], cwd: dir)
        #expect(noKey.status == 1 && noKey.stderr.contains("keys generate"))
        #expect(try aibrain(["keys", "generate"], cwd: dir).status == 0)
        #expect(try aibrain(["keys", "generate"], cwd: dir).status == 1, "never replaces a key")
        #expect(try aibrain(["emit", "note.added", "--task", "T-2", "--data", "{}"], cwd: dir).status == 0)
        #expect(try aibrain(["seal"], cwd: dir).status == 0)
        let v = try aibrain(["verify"], cwd: dir)
        #expect(
            v.status == 0 && v.stdout.contains("1 verified")
                && v.stdout.contains("1 unsigned before the first signed seal"))
        let legacyProof = try aibrain(["prove", "1"], cwd: dir)
        // The unsigned (legacy) segment has a Merkle root but no signature: nothing vouches for a proof of it.
        #expect(legacyProof.status == 1 && legacyProof.stderr.contains("is not signed"), "\(legacyProof.stderr)")
        #expect(try aibrain(["prove", "2"], cwd: dir).status == 0)
        // The key lost: sealing stops rather than continue the signed history unsigned.
        try FileManager.default.moveItem(atPath: store + "/keys", toPath: dir + "/keys.bak")
        #expect(try aibrain(["emit", "note.added", "--task", "T-3", "--data", "{}"], cwd: dir).status == 0)
        let refused = try aibrain(["seal"], cwd: dir)
        #expect(refused.status == 1 && refused.stderr.contains("no signing key"), "\(refused.stderr)")
        try FileManager.default.moveItem(atPath: dir + "/keys.bak", toPath: store + "/keys")
        #expect(try aibrain(["seal"], cwd: dir).status == 0)
        #expect(try aibrain(["verify"], cwd: dir).stdout.contains("2 verified"))
    }

    @Test func keysTrustRefusesMismatchedAndOwnKeys() throws {
        let (a, aStore) = try makeStore("keys-a", origin: "a")
        let (b, bStore) = try makeStore("keys-b", origin: "b")
        let aKey = try aibrain(["keys", "show"], cwd: a).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let wrong = try aibrain(["keys", "trust", try Self.origin(bStore), aKey], cwd: a)
        #expect(wrong.status == 1 && wrong.stderr.contains("key is named"), "\(wrong.stderr)")
        let own = try aibrain(["keys", "trust", try Self.origin(aStore), aKey], cwd: a)
        #expect(own.status == 1 && own.stderr.contains("own origin"))
        #expect(try aibrain(["keys", "trust", "xyz", aKey], cwd: b).status == 64)
        #expect(try aibrain(["keys", "trust", try Self.origin(aStore), "not-a-key"], cwd: b).status == 1)
        let list = try aibrain(["keys", "list"], cwd: a)
        #expect(list.status == 0 && list.stdout.contains("local"))
    }
}

/// The origin signer's rule: never two different signed seals for one position.
@Suite struct OriginSignerTests {
    @Test func refusesASecondDifferentSealForOnePosition() throws {
        let dir = temporaryDirectory()
        let (_, store) = try makeStore("signer-rule", origin: "s")
        _ = dir
        guard let signer = try OriginSigner.load(storeRoot: store) else {
            Issue.record("init made no key")
            return
        }
        let o = signer.keys.origin
        let s1 = SealStatement(
            origin: o, epoch: 1, firstLSN: 1, lastLSN: 5, merkleRoot: Array(repeating: 1, count: 32),
            sealHash: Array(repeating: 2, count: 32), previousSealHash: Array(repeating: 0, count: 32))
        _ = try signer.sign(s1)
        _ = try signer.sign(s1)  // a redone seal: the same statement is signed again
        // An encrypted segment sealed again re-encrypts with fresh nonces: other bytes, same records. Allowed.
        var redo = s1
        redo.sealHash[0] = 9
        _ = try signer.sign(redo)
        var s2 = s1
        s2.merkleRoot[0] = 9
        #expect(throws: EventLogError.self) { try signer.sign(s2) }
        var forked = s1
        forked.previousSealHash[3] = 1
        #expect(throws: EventLogError.self) { try signer.sign(forked) }
        var s3 = s1
        s3.lastLSN = 6
        #expect(throws: EventLogError.self) { try signer.sign(s3) }
        var foreign = s1
        foreign.origin = OriginID(hex: String(repeating: "ab", count: 16))!
        #expect(throws: EventLogError.self) { try signer.sign(foreign) }
        #expect(try signer.keys.signedSeals().count == 1)
        // A journal line torn by a crash is cut before the next one is appended; both lines stay readable.
        let journal = signer.keys.journalPath
        let torn = try String(contentsOfFile: journal, encoding: .utf8) + "1 6 9 abc"
        try torn.write(toFile: journal, atomically: true, encoding: .utf8)
        #expect(try signer.keys.signedSeals().count == 1)
        var next = s1
        next.firstLSN = 6
        next.lastLSN = 9
        _ = try signer.sign(next)
        #expect(try signer.keys.signedSeals().count == 2)
    }
}
