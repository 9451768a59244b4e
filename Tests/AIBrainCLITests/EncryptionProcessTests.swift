import Foundation
import StorageTesting
import Testing

/// Encryption at rest and crypto-shredding through the `aibrain` binary: team keys, readers without them,
/// tampering, shipping an encrypted store to a peer without the key, importing it, and `shred`.
@Suite struct EncryptionProcessTests {
    static func emit(_ dir: String, _ task: String, team: String, _ data: String, type: String = "note.added") throws {
        let r = try aibrain(["emit", type, "--task", task, "--team", team, "--data", data], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func encryptedStoreRoundTripMarkersTamperingAndShipping() throws {
        let (a, aStore) = try makeStore("enc-a", origin: "laptop")
        #expect(try aibrain(["keys", "team", "add", "dev"], cwd: a).status == 0)
        try Self.emit(a, "T-1", team: "dev", #"{"secret":"dev-only-text"}"#)
        try Self.emit(a, "T-1", team: "qa", #"{"open":"qa-text"}"#)
        try Self.emit(a, "T-2", team: "dev", #"{"secret":"second"}"#, type: "note.changed")
        // With the key: plaintext everywhere.
        let replay = try aibrain(["replay", "--task", "T-1"], cwd: a)
        #expect(replay.status == 0 && replay.stdout.contains("dev-only-text"))
        // On disk: not a byte of it.
        let logDir = aStore + "/log"
        let files = try FileManager.default.subpathsOfDirectory(atPath: logDir).filter { $0.hasSuffix(".open") }
        let raw = try Data(contentsOf: URL(fileURLWithPath: logDir + "/" + files[0]))
        #expect(raw.range(of: Data("dev-only-text".utf8)) == nil && raw.range(of: Data("qa-text".utf8)) != nil)
        let list = try aibrain(["keys", "team", "list", "-o", "json"], cwd: a).json()
        #expect((list["teams"] as? [[String: Any]])?.first?["team"] as? String == "dev")

        // Rotation: a new version, the active segment rolled (and sealed), new events under the new key.
        let rot = try aibrain(["keys", "team", "rotate", "dev", "-o", "json"], cwd: a)
        #expect(rot.status == 0, "\(rot.stderr)")
        let rotated = try rot.json()
        #expect(rotated["rolled"] as? Bool == true && rotated["version"] as? Int == 2)
        try Self.emit(a, "T-1", team: "dev", #"{"secret":"after-rotation"}"#)
        #expect(try aibrain(["replay", "--task", "T-1"], cwd: a).stdout.contains("after-rotation"))
        #expect(try aibrain(["verify"], cwd: a).status == 0)

        // Export the key (0600), then hide the keyring: readers show markers, nothing crashes.
        let keyFile = a + "/dev.teamkey"
        #expect(try aibrain(["keys", "team", "export", "dev", "--to", keyFile], cwd: a).status == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        try FileManager.default.moveItem(atPath: aStore + "/keys/teams", toPath: a + "/teams-aside")
        let blind = try aibrain(["replay", "--task", "T-1"], cwd: a)
        #expect(blind.status == 0 && blind.stdout.contains("[encrypted: team dev]") && blind.stdout.contains("qa-text"))
        #expect(!blind.stdout.contains("dev-only-text"))
        let lines = try jsonLines(try aibrain(["replay", "--task", "T-1", "-o", "jsonl"], cwd: a).stdout)
        #expect(lines.contains { $0["data"] is NSNull && $0["encrypted"] as? String == "dev" })
        #expect(lines.contains { ($0["data"] as? [String: Any])?["open"] as? String == "qa-text" })
        // Envelope filters need no key.
        let tail = try aibrain(["tail", "--type", "note.changed", "-o", "jsonl"], cwd: a)
        #expect(
            tail.status == 0 && tail.lines.count == 1 && tail.stdout.contains(#""encrypted":"dev""#),
            "\(tail.stdout) \(tail.stderr)")
        #expect(try aibrain(["rebuild"], cwd: a).status == 0)
        let v = try aibrain(["verify"], cwd: a)
        #expect(v.status == 0 && v.stdout.contains("record hashes not checked without team dev's key"), "\(v.stdout)")
        // Appending for the team without its keyring is refused, never written in plaintext.
        let refused = try aibrain(["emit", "note.added", "--task", "T-1", "--team", "dev", "--data", "{}"], cwd: a)
        #expect(refused.status != 0)
        try FileManager.default.moveItem(atPath: a + "/teams-aside", toPath: aStore + "/keys/teams")

        // Ship to a peer that has no key: adopt verifies, replay shows markers; import the key: plaintext.
        let (b, _) = try makeStore("enc-b", origin: "server")
        let push = try aibrain(["ship", "push", b, "--seal", "--force"], cwd: a)
        #expect(push.status == 0, "\(push.stderr)")
        let adopt = try aibrain(["ship", "adopt"], cwd: b)
        #expect(adopt.status == 0, "\(adopt.stdout) \(adopt.stderr)")
        let peer = try aibrain(["replay", "--task", "T-1"], cwd: b)
        #expect(
            peer.status == 0 && peer.stdout.contains("[encrypted: team dev]") && !peer.stdout.contains("dev-only-text"))
        #expect(try aibrain(["verify"], cwd: b).status == 0)
        #expect(try aibrain(["keys", "team", "import", keyFile], cwd: b).status == 0)
        let opened = try aibrain(["replay", "--task", "T-1"], cwd: b)
        #expect(opened.stdout.contains("dev-only-text") && opened.stdout.contains("after-rotation"))
        #expect(!opened.stdout.contains("[encrypted"))

        // A flipped byte in a sealed segment: corruption, exit 5, named.
        let segs = try FileManager.default.subpathsOfDirectory(atPath: logDir).filter { $0.hasSuffix(".seg") }.sorted()
        let segPath = logDir + "/" + segs[0]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segPath))
        bytes[200] ^= 0x10
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: segPath)
        try bytes.write(to: URL(fileURLWithPath: segPath))
        let bad = try aibrain(["verify"], cwd: a)
        #expect(bad.status == 5 && bad.stdout.contains(segs[0].split(separator: "/").last!), "\(bad.stdout)")
    }

    @Test func shreddingAStreamLeavesVerifyGreen() throws {
        let (a, _) = try makeStore("enc-shred", origin: "laptop")
        #expect(try aibrain(["keys", "team", "add", "dev"], cwd: a).status == 0)
        let sk = try aibrain(["keys", "stream-key", "add", "task/PII", "--team", "dev", "-o", "json"], cwd: a)
        #expect(sk.status == 0, "\(sk.stderr)")
        try Self.emit(a, "PII", team: "dev", #"{"patient":"call Ana Lopez"}"#)
        try Self.emit(a, "OTHER", team: "dev", #"{"n":1}"#)
        #expect(try aibrain(["replay", "--task", "PII"], cwd: a).stdout.contains("Ana Lopez"))
        #expect(try aibrain(["seal"], cwd: a).status == 0)
        // A proof made before shredding, over an encrypted team's segment (leaves need its key).
        let key = try aibrain(["keys", "show"], cwd: a).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try aibrain(["prove", "2", "-w", a + "/before.json"], cwd: a).status == 0)
        let shred = try aibrain(["shred", "--stream", "task/PII", "--reason", "ER-1", "-o", "json"], cwd: a)
        #expect(shred.status == 0, "\(shred.stderr)")
        #expect(try shred.json()["destroyed"] as? Bool == true)
        let again = try aibrain(["shred", "--stream", "task/PII", "-o", "json"], cwd: a)
        let duplicate = try again.json()["duplicate"] as? Bool
        #expect(again.status == 0 && duplicate == true, "\(again.stdout) \(again.stderr)")
        let r = try aibrain(["replay", "--task", "PII"], cwd: a)
        #expect(r.stdout.contains("[shredded]") && !r.stdout.contains("Ana") && r.stdout.contains("stream.shredded"))
        let lines = try jsonLines(try aibrain(["replay", "--task", "PII", "-o", "jsonl"], cwd: a).stdout)
        #expect(lines.first?["shredded"] as? Bool == true && lines.first?["data"] is NSNull)
        #expect(try aibrain(["seal"], cwd: a).status == 0)
        let v = try aibrain(["verify", "--deep"], cwd: a)
        #expect(v.status == 0 && v.stdout.contains("verify: OK"), "\(v.stdout) \(v.stderr)")
        // Proofs stay green: the one made before, and new ones of the shredded event and of its neighbour
        // (the leaves cover the stored sealed form, not the destroyed plaintext).
        #expect(try aibrain(["verify-proof", a + "/before.json", "--key", key], cwd: a).status == 0)
        for lsn in ["1", "2"] {
            #expect(try aibrain(["prove", lsn, "-w", a + "/after-\(lsn).json"], cwd: a).status == 0)
            let p = try aibrain(["verify-proof", a + "/after-\(lsn).json", "--key", key], cwd: a)
            #expect(p.status == 0, "\(p.stdout) \(p.stderr)")
        }
        // The stream stays closed to new payloads.
        let late = try aibrain(
            ["emit", "note.added", "--task", "PII", "--team", "dev", "--data", #"{"n":2}"#], cwd: a)
        #expect(late.status == 1 && late.stderr.contains("was shredded"), "\(late.stderr)")
    }
}
