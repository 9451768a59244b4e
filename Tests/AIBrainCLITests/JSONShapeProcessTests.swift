import Foundation
import StorageTesting
import Testing

@testable import AIBrainCLI

/// `-o json` output is API: the shape (member names, order, value types) of every command's JSON is
/// pinned in `fixtures/cli/json-shapes.txt`. Values vary (ids, clocks); shapes must not, unless on purpose:
/// `AIBRAIN_UPDATE_FIXTURES=1 swift test --filter JSONShapeProcessTests`, then review the diff.
@Suite(.serialized) struct JSONShapeProcessTests {
    /// Member order and types of one JSON text, e.g. `{"lsn":number,"ok":bool,"list":[string]}`.
    static func shape(_ text: String) -> String {
        guard let tree = JSONTree.parse(Array(text.utf8)) else { return "not JSON: \(text.prefix(80))" }
        return shape(tree)
    }

    static func shape(_ t: JSONTree) -> String {
        switch t {
        case .string: return "string"
        case .literal(let l):
            if l == "true" || l == "false" { return "bool" }
            return l == "null" ? "null" : "number"
        case .array(let items):
            // Items of one kind are shown once.
            let kinds = items.map(shape)
            return "["
                + (kinds.first.map { k in kinds.allSatisfy { $0 == k } ? k : kinds.joined(separator: ",") } ?? "") + "]"
        case .object(let members):
            return "{" + members.map { "\"\($0.0)\":\(shape($0.1))" }.joined(separator: ",") + "}"
        }
    }

    @Test func jsonShapesArePinned() throws {
        let (dir, store) = try makeStore()
        var shapes: [(String, String)] = []
        func record(_ name: String, _ args: [String], stdin: String? = nil, expect status: Int32 = 0, line: Int = 0)
            throws
        {
            let r = try aibrain(args + (args[0] == "dump" ? [] : ["--store", store]), cwd: dir, stdin: stdin)
            #expect(r.status == status, "\(name): \(r.stderr)")
            shapes.append((name, Self.shape(r.lines.count > line ? r.lines[line] : "")))
        }
        try record(
            "emit",
            ["emit", "decision.recorded", "--task", "T-1", "--data", #"{"kind":"APPROACH","value":"v"}"#, "-o", "json"])
        try record(
            "emit-conflict", ["emit", "a.b", "--task", "T-1", "--expect-version", "0", "-o", "json"], expect: 3)
        try record(
            "emit-pii", ["emit", "a.b", "--task", "T-1", "--data", #"{"m":"x@y.org"}"#, "-o", "json"], expect: 4)
        try record("emit-batch", ["emit", "--batch", "-o", "json"], stdin: #"{"type":"a.b","task_id":"T-2"}"#)
        try record("emit-stream-ack", ["emit", "--stream"], stdin: #"{"type":"a.b","task_id":"T-2"}"#)
        try record("emit-stream-error", ["emit", "--stream"], stdin: #"{"type":"A"}"#, expect: 1)
        try record("replay", ["replay", "--task", "T-1", "-o", "json"])
        try record("replay-jsonl", ["replay", "--task", "T-1", "-o", "jsonl"])
        try record("export", ["export"])
        try record("tail-jsonl", ["tail", "-o", "jsonl"])
        try record("stats", ["stats", "-o", "json"])
        try record("seal", ["seal", "-o", "json"])
        try record("verify", ["verify", "--deep", "-o", "json"])
        try record("recover", ["recover", "-o", "json"])
        let file = dir + "/in.jsonl"
        try #"{"type":"a.b","task_id":"T-3"}"#.write(toFile: file, atomically: true, encoding: .utf8)
        try record("import", ["import", "jsonl", file, "-o", "json"])
        let seg = try FileManager.default.subpathsOfDirectory(atPath: store + "/log").first { $0.hasSuffix(".seg") }!
        try record("dump", ["dump", store + "/log/" + seg, "-o", "json"])
        let r = try aibrain(["init", "--origin", "x", "-o", "json"], cwd: temporaryDirectory("shapesInit"))
        shapes.append(("init", Self.shape(r.stdout)))
        // The projection commands (views over the folded log).
        try record("queue-enqueue", ["queue", "enqueue", "WI-1", "--task", "T-1", "--for-team", "dev", "-o", "json"])
        try record("queue-lease", ["queue", "lease", "WI-1", "-o", "json"])
        try record("queue-refused", ["queue", "lease", "WI-1", "-o", "json"], expect: 3)
        try record("queue-ls", ["queue", "ls", "-o", "json", "--now", "2026-12-01T00:00:00Z"])
        try record("queue-show", ["queue", "show", "WI-1", "-o", "json"])
        try record(
            "checkpoint",
            [
                "emit", "session.checkpointed", "--task", "T-1", "--data",
                #"{"checkpoint_id":"C1","iteration":1,"verdict":"PASS","state":{"a":1}}"#, "-o", "json",
            ])
        try record("session-show", ["session", "show", "T-1", "-o", "json"])
        try record("session-history", ["session", "history", "T-1", "-o", "json"])
        try record("session-handoff", ["session", "handoff", "T-1", "-o", "json"])
        try record("session-fork", ["session", "fork", "T-1", "--from", "C1", "--reason", "retry", "-o", "json"])
        try record("decisions", ["decisions", "-o", "json"])
        try record(
            "ko-consulted", ["emit", "ko.consulted", "--task", "T-1", "--data", #"{"ko_id":"KO-1"}"#, "-o", "json"])
        try record("ko-show", ["ko", "show", "KO-1", "-o", "json"])
        try record("ko-rank", ["ko", "rank", "-o", "json"])
        try record("cost", ["cost", "--by", "task", "-o", "json"])
        try record("rebuild", ["rebuild", "-o", "json"])
        try record("rebuild-check", ["rebuild", "--check", "-o", "json"])
        try record("export-sqlite", ["export", "sqlite", dir + "/x.db", "-o", "json"])
        // Shipping, between this store and a second one that has sealed events of its own (so that every
        // row holds both sides whatever order the random origin ids sort in).
        let (peerDir, _) = try makeStore("shapesPeer", origin: "peer")
        #expect(try aibrain(["emit", "a.b", "--task", "P-1"], cwd: peerDir).status == 0)
        #expect(try aibrain(["seal"], cwd: peerDir).status == 0)
        try record("ship-push", ["ship", "push", peerDir, "--seal", "--force", "-o", "json"])
        let adopt = try aibrain(["ship", "adopt", "-o", "json"], cwd: peerDir)
        #expect(adopt.status == 0, "\(adopt.stderr)")
        shapes.append(("ship-adopt", Self.shape(adopt.stdout)))
        try record("ship-pull", ["ship", "pull", peerDir, "-o", "json"])
        try record("ship-status", ["ship", "status", peerDir, "-o", "json"])
        try record("scan", ["scan", "-o", "json"])
        // Trust: keys, heads, proofs.
        try record("keys-show", ["keys", "show", "-o", "json"])
        try record("keys-list", ["keys", "list", "-o", "json"])
        let peerStore = peerDir + "/.aibrain"
        let peerKey = try aibrain(["keys", "show", "--store", peerStore]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let peerOrigin = try aibrain(["keys", "show", "-o", "json", "--store", peerStore]).json()["origin"] as! String
        try record("keys-trust", ["keys", "trust", peerOrigin, peerKey, "-o", "json"])
        try record("head", ["head", "-w", dir + "/head.txt", "-o", "json"])
        try record("verify-against", ["verify", "--against", dir + "/head.txt", "-o", "json"])
        #expect(try aibrain(["prove", "1", "-w", dir + "/p.json", "--store", store]).status == 0)
        try record("verify-proof", ["verify-proof", dir + "/p.json", "-o", "json"])
        try record("keys-team-add", ["keys", "team", "add", "dev", "-o", "json"])
        try record("keys-team-list", ["keys", "team", "list", "-o", "json"])
        try record("keys-stream-key-add", ["keys", "stream-key", "add", "task/S-1", "--team", "dev", "-o", "json"])
        try record("shred", ["shred", "--stream", "task/S-1", "-o", "json"])

        let text = shapes.map { "\($0.0)\t\($0.1)" }.joined(separator: "\n") + "\n"
        let pinned = try pinnedFixture("cli/json-shapes.txt", current: text)
        let a = pinned.split(separator: "\n")
        let b = text.split(separator: "\n")
        #expect(a.count == b.count, "commands added or removed: see fixtures/cli/json-shapes.txt")
        for (x, y) in zip(a, b) { #expect(x == y, "a -o json shape changed: see fixtures/cli/json-shapes.txt") }
    }
}
