import BrainEvents
import Foundation
import StorageTesting
import Testing

@testable import AIBrainCLI
@testable import EventLog

/// `import legacy`, `export legacy` and the `ko` commands, through the binary.
@Suite(.serialized) struct KnowledgeProcessTests {
    static let legacy = packageRoot + "/fixtures/legacy"

    /// Legacy files → import → export legacy → the same information, compared field by field (parsed with the
    /// same parsers, so layout such as YAML quoting or `Tags:` lines may differ, the fields may not).
    @Test func legacyFilesRoundTripFieldByField() throws {
        let (dir, store) = try makeStore()
        let imported = try aibrain(["import", "legacy", Self.legacy, "--store", store, "-o", "json"], cwd: dir)
        #expect(imported.status == 0, "\(imported.stderr)")
        let report = try imported.json()
        #expect(report["appended"] as? Int == 16)
        let skipped = (report["skipped"] as? [[String: Any]] ?? []).map { $0["file"] as? String ?? "" }
        #expect(skipped == [".aibrain/session-TASK-9-C3.md"])
        // The snapshots keep KO bodies out: export (and a fresh index) read them from the log.
        #expect(try aibrain(["rebuild", "--store", store], cwd: dir).status == 0)
        let out = dir + "/exported"
        let exported = try aibrain(["export", "legacy", out, "--store", store], cwd: dir)
        #expect(exported.status == 0, "\(exported.stderr)")

        func files(_ root: String, _ sub: String, _ suffix: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + sub)) ?? []).filter {
                $0.hasSuffix(suffix) && !$0.contains("TASK-9")
            }.sorted()
        }
        func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

        // Knowledge objects: the markdown (id, title, tags, projects, body, metadata) and the metadata JSON.
        #expect(files(out, "knowledge/approved", ".md") == files(Self.legacy, "knowledge/approved", ".md"))
        #expect(files(out, "knowledge/approved", ".json") == files(Self.legacy, "knowledge/approved", ".json"))
        for n in files(Self.legacy, "knowledge/approved", ".md") {
            let id = String(n.dropLast(3))
            let a = try KOMarkdown.parse(bytes(Self.legacy + "/knowledge/approved/" + n), file: n, defaultID: id)
            let b = try KOMarkdown.parse(bytes(out + "/knowledge/approved/" + n), file: n, defaultID: id)
            #expect(a.id == b.id && a.title == b.title && a.tags == b.tags, "\(n)")
            let bodyA: String = a.body.trimmingCharacters(in: CharacterSet.whitespacesAndNewlines)
            let bodyB: String = b.body.trimmingCharacters(in: CharacterSet.whitespacesAndNewlines)
            #expect(bodyA == bodyB, "\(n)")
            #expect(
                JSONValue.object(a.metadata) == JSONValue.object(b.metadata), "\(n): \(a.metadata) vs \(b.metadata)")
            if !a.projects.isEmpty { #expect(a.projects == b.projects, "\(n)") }
        }
        for n in files(Self.legacy, "knowledge/approved", ".json") {
            let a = try LegacyFiles.koMetadata(bytes(Self.legacy + "/knowledge/approved/" + n), file: n)
            var b = try LegacyFiles.koMetadata(bytes(out + "/knowledge/approved/" + n), file: n)
            // What the export adds for its own re-import (see reimportingAnExportAddsNothing).
            #expect(b.export?.exportedBy.hasPrefix("aibrain/") == true && b.export?.legacyFile != nil, "\(n)")
            b.export = nil
            #expect(a == b, "\(n): \(a.jsonText) vs \(b.jsonText)")
            let rounded: String? = a.effectiveness.map { String(format: "%.2f", Double($0)!) }
            #expect(b.consultationCount == a.consultationCount && b.effectiveness == rounded)
        }
        // Decisions, line by line.
        let decisionFiles = files(Self.legacy, ".aibrain/decisions", ".jsonl")
        #expect(files(out, ".aibrain/decisions", ".jsonl") == decisionFiles)
        for n in decisionFiles {
            let (a, pa) = LegacyFiles.decisions(
                try bytes(Self.legacy + "/.aibrain/decisions/" + n), file: n, defaultTask: nil)
            let (b, pb) = LegacyFiles.decisions(try bytes(out + "/.aibrain/decisions/" + n), file: n, defaultTask: nil)
            #expect(pa.isEmpty && pb.isEmpty)
            #expect(a.count == b.count, "\(n)")
            for (x, y) in zip(a, b) {
                #expect(ISO8601.parse(x.timestamp) == ISO8601.parse(y.timestamp), "\(n):\(x.line)")
                #expect(sameDecision(x, y), "\(n):\(x.line): \(x.jsonLine) vs \(y.jsonLine)")
            }
        }
        // Session files (the one aibrain generated is not a record: not imported, not exported).
        let sessionFiles = files(Self.legacy, ".aibrain", ".md").filter { $0.hasPrefix("session-") }
        #expect(files(out, ".aibrain", ".md").filter { $0.hasPrefix("session-") } == sessionFiles)
        for n in sessionFiles {
            guard
                case .session(let a) = try LegacyFiles.session(
                    bytes(Self.legacy + "/.aibrain/" + n), file: n, fileName: n),
                case .session(let b) = try LegacyFiles.session(bytes(out + "/.aibrain/" + n), file: n, fileName: n)
            else {
                Issue.record("\(n) did not parse as a session file")
                continue
            }
            #expect(a == b, "\(n)")
        }

        // Work queues, item by item.
        let queueFiles = files(Self.legacy, "tasks", ".json")
        #expect(files(out, "tasks", ".json") == queueFiles)
        for n in queueFiles {
            let (a, pa) = LegacyFiles.workQueue(try bytes(Self.legacy + "/tasks/" + n), file: n)
            let (b, pb) = LegacyFiles.workQueue(try bytes(out + "/tasks/" + n), file: n)
            #expect(pa.isEmpty && pb.isEmpty && a.count == 2)
            #expect(Set(a.map(\.id)) == Set(b.map(\.id)))
            for x in a {
                let y = b.first { $0.id == x.id }
                #expect(y == x, "\(n) \(x.id): \(x.json.jsonText) vs \(y?.json.jsonText ?? "missing")")
            }
        }
        let queue = try aibrain(["queue", "ls", "-o", "json", "--store", store], cwd: dir)
        #expect(queue.stdout.contains("\"completed\"") && queue.stdout.contains("\"available\""), "\(queue.stdout)")

        let found = try aibrain(["ko", "search", "NPDB 503 backoff", "-o", "json", "--store", store], cwd: dir)
        #expect(
            (try found.json()["results"] as? [[String: Any]])?.first?["id"] as? String == "KO-cm-002", "\(found.stdout)"
        )

        // Importing the export again, into the same store, adds nothing.
        let again = try aibrain(["import", "legacy", out, "--store", store, "-o", "json"], cwd: dir)
        #expect(try again.json()["appended"] as? Int == 0, "\(again.stdout)")
    }

    func sameDecision(_ a: LegacyFiles.Decision, _ b: LegacyFiles.Decision) -> Bool {
        var x = a
        var y = b
        x.timestamp = ""
        y.timestamp = ""
        return x == y
    }

    /// Two repositories import the same files, then exchange segments: every record is there once.
    @Test func twoRepositoriesImportingTheSameFilesHoldEachRecordOnce() throws {
        let (dirA, storeA) = try makeStore("legacyA", origin: "repo-a")
        let (dirB, storeB) = try makeStore("legacyB", origin: "repo-b")
        for (d, s) in [(dirA, storeA), (dirB, storeB)] {
            let r = try aibrain(["import", "legacy", Self.legacy, "--store", s], cwd: d)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let push = try aibrain(["ship", "push", dirB, "--seal", "--store", storeA], cwd: dirA)
        #expect(push.status == 0, "\(push.stderr)")
        let adopt = try aibrain(["ship", "adopt", "--store", storeB], cwd: dirB)
        #expect(adopt.status == 0, "\(adopt.stderr)")
        let rank = try aibrain(["ko", "rank", "-o", "json", "--store", storeB], cwd: dirB)
        let kos = try rank.json()["kos"] as? [[String: Any]] ?? []
        #expect(kos.count == 3)
        #expect(kos.first { $0["id"] as? String == "KO-cm-001" }?["consultations"] as? Int == 0)
        let decisions = try aibrain(["decisions", "-o", "json", "--store", storeB], cwd: dirB)
        let list = try decisions.json()["decisions"] as? [[String: Any]] ?? []
        #expect(list.count == 4, "\(decisions.stdout.prefix(400))")
    }

    /// The lifecycle through the CLI, and the outcome loop: a KO consulted before successes climbs above an
    /// equally relevant one consulted before failures.
    @Test func lifecycleAndTheOutcomeLoop() throws {
        let (dir, store) = try makeStore()
        func write(_ name: String, _ text: String) throws -> String {
            let p = dir + "/" + name
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            return p
        }
        let body = "Retry the NPDB query with exponential backoff when the gateway answers 503."
        for id in ["KO-a", "KO-b"] {
            let f = try write("\(id).md", "---\nid: \(id)\ntitle: NPDB 503 handling\ntags: [npdb]\n---\n\(body)\n")
            let r = try aibrain(["ko", "add", f, "--store", store], cwd: dir)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let draft = try write("KO-c.md", "---\nid: KO-c\ntitle: NPDB draft\n---\n\(body)\n")
        #expect(try aibrain(["ko", "add", draft, "--draft", "--store", store], cwd: dir).status == 0)
        func search(_ extra: [String] = []) throws -> [String] {
            let r = try aibrain(["ko", "search", "npdb 503 retry", "-o", "json", "--store", store] + extra, cwd: dir)
            #expect(r.status == 0, "\(r.stderr)")
            return (try r.json()["results"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        }
        #expect(try search() == ["KO-a", "KO-b"])
        #expect(try search(["--include-drafts"]).count == 3)
        for n in 0..<3 {
            for (ko, ok) in [("KO-b", true), ("KO-a", false)] {
                let task = "T-\(ko)-\(n)"
                #expect(try aibrain(["ko", "consult", ko, "--task", task, "--store", store], cwd: dir).status == 0)
                let o = try aibrain(
                    ["emit", "task.outcome", "--task", task, "--data", #"{"success":\#(ok)}"#, "--store", store],
                    cwd: dir)
                #expect(o.status == 0, "\(o.stderr)")
            }
        }
        #expect(try search() == ["KO-b", "KO-a"])
        let explained = try aibrain(["ko", "search", "npdb 503 retry", "--explain", "--store", store], cwd: dir)
        #expect(explained.stdout.contains("effectiveness 0.800 ((3+1)/(3+2))"), "\(explained.stdout)")
        #expect(try aibrain(["ko", "supersede", "KO-b", "--by", "KO-a", "--store", store], cwd: dir).status == 0)
        #expect(try search() == ["KO-a"])
        #expect(try aibrain(["ko", "retire", "KO-a", "--store", store], cwd: dir).status == 0)
        #expect(try search().isEmpty)
        let again = try aibrain(["ko", "retire", "KO-a", "--store", store], cwd: dir)
        #expect(again.status == 3 && again.stderr.contains("already retired"), "\(again.stderr)")
        let badWeights = try aibrain(["ko", "search", "npdb", "--weights", "1,x,0,1", "--store", store], cwd: dir)
        #expect(
            badWeights.status == 64 && badWeights.stderr.contains("--weights 1,x,0,1: 3 numbers"),
            "\(badWeights.stderr)")
        let missing = try aibrain(["ko", "approve", "KO-zz", "--store", store], cwd: dir)
        #expect(missing.status == 1 && missing.stderr.contains("no knowledge object KO-zz"))
        let retired = try aibrain(["ko", "approve", "KO-a", "--store", store], cwd: dir)
        #expect(
            retired.status == 3 && retired.stderr.contains("a retired KO stays retired")
                && retired.stderr.contains("under a new id"), "\(retired.stderr)")
        // A payload refusal names the file the user gave, not only the event.
        let pii = try write("KO-p.md", "---\nid: KO-p\ntitle: Contact\n---\nmail jane.doe@example.com\n")
        let refused = try aibrain(["ko", "add", pii, "--store", store], cwd: dir)
        #expect(refused.status == 4 && refused.stderr.contains("\(pii): "), "\(refused.stderr)")
        #expect(!refused.stderr.contains("jane.doe"))
    }

    /// Importing what `export legacy` wrote adds nothing, even after the store's own consultations changed the
    /// totals it wrote (they would otherwise be counted twice); what an old tool adds to a total since the
    /// export is imported as a new revision.
    @Test func reimportingAnExportAddsNothing() throws {
        let (dir, store) = try makeStore()
        #expect(try aibrain(["import", "legacy", Self.legacy, "--store", store], cwd: dir).status == 0)
        for t in ["T-1", "T-2"] {
            #expect(try aibrain(["ko", "consult", "KO-cm-001", "--task", t, "--store", store], cwd: dir).status == 0)
            let o = try aibrain(
                ["emit", "task.outcome", "--task", t, "--data", #"{"success":true}"#, "--store", store], cwd: dir)
            #expect(o.status == 0, "\(o.stderr)")
        }
        func show() throws -> [String: Any] {
            try aibrain(["ko", "show", "KO-cm-001", "-o", "json", "--store", store], cwd: dir).json()
        }
        let before = try show()
        #expect(before["consultations"] as? Int == 2 && before["legacy_consultations"] as? Int == 45)
        #expect(before["legacy_successes"] as? Int == 39)  // round(0.87 × 45)
        let out = dir + "/exported"
        #expect(try aibrain(["export", "legacy", out, "--store", store], cwd: dir).status == 0)
        let again = try aibrain(["import", "legacy", out, "--store", store, "-o", "json"], cwd: dir)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try again.json()["appended"] as? Int == 0, "\(again.stdout)")
        let after = try show()
        #expect(
            after["legacy_consultations"] as? Int == 45
                && after["effectiveness"] as? Double == before["effectiveness"] as? Double)
        // An old tool counted 5 more consultations (4 of them successes) in the exported file.
        let path = out + "/knowledge/approved/KO-cm-001.json"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(
            of: #""consultation_count":47,"effectiveness":0.87"#, with: #""consultation_count":52,"effectiveness":0.87"#
        )
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let edited = try aibrain(["import", "legacy", out, "--store", store, "-o", "json"], cwd: dir)
        #expect(try edited.json()["appended"] as? Int == 2, "\(edited.stdout)")  // a new ko.proposed, approved
        let last = try show()
        // 52 × 0.87 = 45.24 → 45 successes in the file against 41 at the export: 4 more.
        #expect(last["legacy_consultations"] as? Int == 50 && last["legacy_successes"] as? Int == 43, "\(last)")
        #expect(last["consultations"] as? Int == 2)
        // An old tool added a member: a new revision that keeps it, and writes it back.
        text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(
            of: #""consultation_count":52,"#, with: #""reviewer":"qa-lead","consultation_count":52,"#)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let member = try aibrain(["import", "legacy", out, "--store", store, "-o", "json"], cwd: dir)
        #expect(try member.json()["appended"] as? Int == 2, "\(member.stdout)")
        let out2 = dir + "/exported-again"
        #expect(try aibrain(["export", "legacy", out2, "--store", store], cwd: dir).status == 0)
        let written = try String(contentsOfFile: out2 + "/knowledge/approved/KO-cm-001.json", encoding: .utf8)
        #expect(written.contains(#""reviewer":"qa-lead""#), "\(written)")
    }

    /// Bad legacy input names the file, line and field; the good records are still imported; nothing already
    /// in the store changes.
    @Test func badLegacyInputIsReportedPrecisely() throws {
        let (dir, store) = try makeStore()
        let src = dir + "/bad"
        try FileManager.default.createDirectory(atPath: src + "/.aibrain/decisions", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: src + "/knowledge/approved", withIntermediateDirectories: true)
        try """
        {"timestamp":"2026-02-07T10:15:00Z","task_id":"T-1","decision":"APPROACH","value":"ok","confidence":0.5}
        {"timestamp":"yesterday","task_id":"T-1","decision":"APPROACH","value":"bad time"}
        {"timestamp":"2026-02-07T10:16:00Z","task_id":"T-1","decision":"APPROACH","value":"x","confidence":7}
        not json
        """.write(toFile: src + "/.aibrain/decisions/T-1.jsonl", atomically: true, encoding: .utf8)
        try "{\"id\":\"KO-1\",\"effectiveness\":\"high\"}".write(
            toFile: src + "/knowledge/approved/KO-1.json", atomically: true, encoding: .utf8)
        try "---\ntitle: [unclosed\n---\nbody".write(
            toFile: src + "/knowledge/approved/KO-2.md", atomically: true, encoding: .utf8)
        let r = try aibrain(["import", "legacy", src, "--store", store], cwd: dir)
        #expect(r.status == 1)
        #expect(r.stdout.contains("imported 1 decision: 1 events appended"), "\(r.stdout)")
        #expect(
            r.stdout.contains("skipped .aibrain/decisions/T-1.jsonl:2: timestamp: not an RFC 3339 time"),
            "\(r.stdout)")
        #expect(r.stdout.contains("T-1.jsonl:3") && r.stdout.contains("confidence: must lie between 0 and 1"))
        #expect(r.stdout.contains("T-1.jsonl:4") && r.stdout.contains("not a JSON object"))
        #expect(
            r.stdout.contains(
                "skipped knowledge/approved/KO-1.json: effectiveness: must be a number between 0 and 1"),
            "\(r.stdout)")
        #expect(r.stdout.contains("KO-2.md") && r.stdout.contains("front matter is not YAML or JSON"), "\(r.stdout)")
        #expect(r.stderr.contains("5 legacy records were not imported"), "\(r.stderr)")
    }

    /// The semantic arm with a configured embedding command (the standard-library test embedder): vectors are
    /// stored as events, a second `ko embed` embeds nothing, an edited KO is embedded again, and a search runs
    /// the command for the query only.
    @Test func theSemanticArmUsesTheStoresEmbeddingCommand() throws {
        let (dir, store) = try makeStore()
        let python =
            ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? "python3"
        let command = "\(python) \(packageRoot)/Tests/Embedders/hash_embedder.py"
        func add(_ id: String, _ title: String, _ body: String) throws {
            let p = dir + "/\(id).md"
            try "---\nid: \(id)\ntitle: \(title)\n---\n\(body)\n".write(toFile: p, atomically: true, encoding: .utf8)
            #expect(try aibrain(["ko", "add", p, "--store", store], cwd: dir).status == 0)
        }
        try add("KO-1", "Stripe webhook idempotency", "Store the event id before processing a webhook.")
        try add("KO-2", "Alembic migration locks", "Add indexes concurrently to avoid long table locks.")
        let configured = try aibrain(
            [
                "ko", "embed", "--configure", "--command", command, "--model", "hash-256", "--store", store, "-o",
                "json",
            ],
            cwd: dir)
        #expect(configured.status == 0, "\(configured.stderr)")
        #expect(try configured.json()["embedded"] as? Int == 2)
        let again = try aibrain(["ko", "embed", "--store", store, "-o", "json"], cwd: dir)
        #expect(try again.json()["embedded"] as? Int == 0, "\(again.stdout)")
        try add("KO-2", "Alembic migration locks", "Create indexes concurrently; never lock big tables.")
        let edited = try aibrain(["ko", "embed", "--store", store, "-o", "json"], cwd: dir)
        #expect(try edited.json()["embedded"] as? Int == 1, "\(edited.stdout)")
        let r = try aibrain(["ko", "search", "webhooks processed twice", "-o", "json", "--store", store], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let results = try r.json()["results"] as? [[String: Any]] ?? []
        #expect(results.first?["id"] as? String == "KO-1", "\(r.stdout)")
        #expect(results.first?["semantic"] is [String: Any], "the semantic arm did not run: \(r.stdout)")
        #expect(FileManager.default.fileExists(atPath: store + "/projections/ko-vectors.idx"))
        // From fresh snapshots (which keep no floats) and no vector file: read back from the ko.embedded events.
        #expect(try aibrain(["rebuild", "--store", store], cwd: dir).status == 0)
        try FileManager.default.removeItem(atPath: store + "/projections/ko-vectors.idx")
        let fresh = try aibrain(["ko", "search", "webhooks processed twice", "-o", "json", "--store", store], cwd: dir)
        let freshResults = try fresh.json()["results"] as? [[String: Any]] ?? []
        #expect(freshResults.first?["id"] as? String == "KO-1" && freshResults.first?["semantic"] is [String: Any])
        let lexicalOnly = try aibrain(
            ["ko", "search", "webhooks processed twice", "--no-semantic", "-o", "json", "--store", store], cwd: dir)
        let plain = try lexicalOnly.json()["results"] as? [[String: Any]] ?? []
        #expect(plain.allSatisfy { $0["semantic"] is NSNull }, "\(lexicalOnly.stdout)")
        // A broken embedder is a clear error, not a silent lexical-only search.
        try #"{"command":"exit 3","model":"hash-256"}"#.write(
            toFile: store + "/embedder.json", atomically: true, encoding: .utf8)
        let broken = try aibrain(["ko", "search", "webhooks", "--store", store], cwd: dir)
        #expect(broken.status == 1 && broken.stderr.contains("exited 3"), "\(broken.stderr)")
    }
}
