import EventLog
import Foundation
import StorageTesting
import Testing

/// The projection commands end to end, through the real binary.
@Suite(.serialized) struct ProjectionProcessTests {
    /// An agent process checkpoints in a loop and is killed with SIGKILL; a fresh process reads only the
    /// handoff file and continues with the exact iteration and state hash.
    @Test func aKilledAgentResumesFromTheHandoffFileAlone() throws {
        let (dir, store) = try makeStore()
        let script = """
            i=0
            while true; do
              i=$((i+1))
              "\(aibrainBinary)" emit session.checkpointed --task TASK-7 --store "\(store)" \
                --data "{\\"checkpoint_id\\":\\"CP-$i\\",\\"iteration\\":$i,\\"verdict\\":\\"PARTIAL\\",\\"summary\\":\\"iteration $i done\\",\\"next_steps\\":[\\"run iteration $((i+1))\\"],\\"state\\":{\\"cursor\\":$i,\\"files\\":[\\"src/a.ts\\"]}}" \
                >/dev/null || exit 1
              echo $i >> "\(dir)/acked"
            done
            """
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/bin/bash")
        agent.arguments = ["-c", script]
        try agent.run()
        // Let it get a few checkpoints in, then kill it mid-flight.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let acked =
                (try? String(contentsOfFile: dir + "/acked", encoding: .utf8))?.split(separator: "\n").count ?? 0
            if acked >= 5 { break }
            usleep(20_000)
        }
        kill(agent.processIdentifier, SIGKILL)
        agent.waitUntilExit()
        usleep(500_000)  // an `emit` the loop had already started finishes (or not) on its own
        let acked = Int((try String(contentsOfFile: dir + "/acked", encoding: .utf8)).split(separator: "\n").last!)!
        #expect(acked >= 5)

        let h = try aibrain(["session", "handoff", "TASK-7", "-o", "json", "--store", store])
        #expect(h.status == 0, "\(h.stderr)")
        let path = try h.json()["path"] as! String
        // What a fresh context knows: the file, nothing else.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "---" && lines[2] == "---")
        let front = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as! [String: Any]
        let iteration = front["iteration"] as! Int
        // The kill may land after the write but before the ack: unacknowledged may be either.
        #expect(iteration == acked || iteration == acked + 1, "handoff at \(iteration), acked \(acked)")
        #expect(front["checkpoint"] as? String == "CP-\(iteration)")
        #expect((front["generator"] as? String)?.hasPrefix("aibrain/") == true)
        #expect(path.hasSuffix("/.aibrain/session-TASK-7-CP-\(iteration).md"))
        let fence = try #require(lines.firstIndex(of: "```json"))
        let state = String(lines[fence + 1])
        #expect(front["state_hash"] as? String == "xxh3:" + String(format: "%016llx", XXH3.hash(Array(state.utf8))))
        #expect(text.contains("iteration \(iteration) done") && text.contains("run iteration \(iteration + 1)"))
        #expect(lines.count <= 201 && text.utf8.count <= 25_000)

        // The fresh agent continues from the file alone.
        let next = iteration + 1
        let r = try aibrain(
            [
                "emit", "session.checkpointed", "--task", "TASK-7", "--store", store, "--data",
                #"{"checkpoint_id":"CP-\#(next)","iteration":\#(next),"verdict":"PASS","parent_checkpoint":"\#(front["checkpoint"] as! String)","state":\#(state)}"#,
            ])
        #expect(r.status == 0, "\(r.stderr)")
        let show = try aibrain(["session", "show", "TASK-7", "-o", "json", "--store", store]).json()
        #expect(show["iteration_count"] as? Int == next)
        let latest = show["latest"] as! [String: Any]
        #expect(latest["parent_checkpoint"] as? String == "CP-\(iteration)")
        #expect(latest["state_hash"] as? String == front["state_hash"] as? String, "the same state carried over")

        // Regenerating gives the same bytes; a file aibrain did not write is never overwritten.
        let again = try aibrain(["session", "handoff", "TASK-7", "--store", store])
        #expect(again.status == 0)
        let path2 = store + "/session-TASK-7-CP-\(next).md"
        let first = try Data(contentsOf: URL(fileURLWithPath: path2))
        #expect(try aibrain(["session", "handoff", "TASK-7", "--store", store]).stdout.hasPrefix("unchanged"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path2)) == first)
        // A generated file someone edited is theirs now: kept too.
        try (String(decoding: first, as: UTF8.self) + "- my own note\n").write(
            toFile: path2, atomically: true, encoding: .utf8)
        let edited = try aibrain(["session", "handoff", "TASK-7", "--store", store])
        #expect(edited.status == 1 && edited.stderr.contains("edited since"), "\(edited.stderr)")
        try "my own notes\n".write(toFile: path2, atomically: true, encoding: .utf8)
        let refused = try aibrain(["session", "handoff", "TASK-7", "--store", store])
        #expect(refused.status == 1 && refused.stderr.contains("not generated by aibrain"))
        #expect(try String(contentsOfFile: path2, encoding: .utf8) == "my own notes\n")
        #expect(try aibrain(["session", "handoff", "TASK-7", "--force", "--store", store]).status == 0)
    }

    /// The queue through the CLI: enqueue, lease, refusals with exit 3 naming the state, next, fail into
    /// the dead letters, emit --stream refusing only the illegal line, rebuild --check, export sqlite.
    @Test func queueCommandsRefuseIllegalTransitionsAndExportToSQLite() throws {
        let (dir, store) = try makeStore()
        func q(_ args: [String], team: String = "dev") throws -> CommandResult {
            try aibrain(
                ["queue"] + args + ["--store", store],
                environment: ["AIBRAIN_TEAM": team, "AIBRAIN_ACTOR": "claude-\(team)"])
        }
        #expect(
            try q(["enqueue", "WI-1", "--task", "TASK-1", "--project", "credentialmate", "--unique-key", "jwt"]).status
                == 0)
        let dup = try q(["enqueue", "WI-2", "--task", "TASK-1", "--unique-key", "jwt"])
        #expect(dup.status == 3 && dup.stderr.contains("unique key jwt is held by WI-1"), "\(dup.stderr)")
        #expect(try q(["enqueue", "WI-2", "--task", "TASK-2", "--max-attempts", "1"]).status == 0)
        #expect(try q(["enqueue", "WI-3", "--task", "TASK-3", "--for-team", "qa"]).status == 0)

        let lease = try q(["lease", "WI-1", "--ttl", "10m", "-o", "json"]).json()
        let leaseID = try #require(lease["lease_id"] as? String)
        let again = try q(["lease", "WI-1"])
        #expect(again.status == 3 && again.stderr.contains("leased"), "names the state: \(again.stderr)")
        let wrong = try q(["complete", "WI-1", "--lease", "L-other"])
        #expect(wrong.status == 3 && wrong.stderr.contains("not the current lease"), "\(wrong.stderr)")
        #expect(try q(["heartbeat", "WI-1", "--lease", leaseID, "--ttl", "20m"]).status == 0)
        #expect(try q(["complete", "WI-1", "--lease", leaseID]).status == 0)

        // next for qa takes WI-3; for dev, WI-2 (max 1 attempt): a failure sends it to the dead letters.
        let n = try q(["next", "-o", "json"], team: "qa").json()
        #expect(n["item"] as? String == "WI-3")
        let n2 = try q(["next", "-o", "json"]).json()
        #expect(n2["item"] as? String == "WI-2")
        let fail = try q(["fail", "WI-2", "--error", "timeout after 600s", "-o", "json"]).json()
        #expect(fail["dead_letter"] as? Bool == true)
        #expect(try q(["next"]).status == 3, "nothing claimable for dev")

        // A plain emit of an illegal transition is refused too; in --stream only that line is.
        let bad = try aibrain([
            "emit", "work_item.completed", "--task", "TASK-2", "--data", #"{"work_item_id":"WI-2"}"#, "--store", store,
        ])
        #expect(bad.status == 3 && bad.stderr.contains("discarded"), "\(bad.stderr)")
        let full = try aibrain(
            [
                "emit", "work_item.completed", "--task", "TASK-2", "--key", "a/1", "--key", "b/2", "--key", "c/3",
                "--key", "d/4",
                "--data", #"{"work_item_id":"WI-2"}"#, "--store", store,
            ])
        #expect(full.status == 1 && full.stderr.contains("needs the index key item/WI-2"), "\(full.stderr)")
        let stream = try aibrain(
            ["emit", "--stream", "--store", store],
            stdin: """
                {"type":"work_item.enqueued","task_id":"TASK-4","data":{"work_item_id":"WI-4"}}
                {"type":"work_item.completed","task_id":"TASK-4","data":{"work_item_id":"WI-4"}}
                {"type":"work_item.cancelled","task_id":"TASK-4","data":{"work_item_id":"WI-4","reason":"not needed"}}
                """)
        let acks = try jsonLines(stream.stdout)
        #expect(stream.status == 3 && acks.count == 3)
        #expect(acks[0]["lsn"] != nil && acks[2]["lsn"] != nil)
        #expect(((acks[1]["error"] as? [String: Any])?["message"] as? String)?.contains("not leased") == true)

        let ls = try q(["ls", "-o", "json", "--limit", "0"]).json()
        let byStatus = ls["by_status"] as! [String: Int]
        #expect(
            byStatus["completed"] == 1 && byStatus["discarded"] == 1 && byStatus["leased"] == 1
                && byStatus["cancelled"] == 1)
        #expect(ls["now"] is String)
        let dead = try q(["ls", "--dead-letters", "-o", "json"]).json()
        #expect(((dead["items"] as? [[String: Any]])?.first?["error_log"] as? [String]) == ["timeout after 600s"])

        // A decision, a fork, KO ranking and cost: every view answers in text and json.
        #expect(
            try aibrain([
                "emit", "decision.recorded", "--task", "TASK-1", "--data",
                #"{"kind":"GUARDRAIL_OVERRIDE","value":"allow_external_api","severity":"medium","approver":"human","rationale":"sandbox only"}"#,
                "--store", store,
            ]).status == 0)
        #expect(
            try aibrain([
                "emit", "session.checkpointed", "--task", "TASK-1", "--data",
                #"{"checkpoint_id":"C1","iteration":1,"verdict":"FAIL"}"#, "--store", store,
            ]).status == 0)
        let fork = try aibrain([
            "session", "fork", "TASK-1", "--from", "C1", "--reason", "retry with the adapter", "--store", store,
        ])
        #expect(fork.status == 0, "\(fork.stderr)")
        #expect(
            try aibrain(["session", "fork", "TASK-1", "--from", "C9", "--reason", "x", "--store", store]).status == 3)
        let decisions = try aibrain(["decisions", "--task", "TASK-1", "-o", "json", "--store", store]).json()
        #expect(((decisions["decisions"] as? [[String: Any]])?.first?["rationale"] as? String) == "sandbox only")
        for view in [
            ["ko", "rank"], ["cost", "--by", "team"], ["session", "history", "TASK-1"], ["queue", "show", "WI-1"],
        ] {
            let t = try aibrain(view + ["--store", store])
            #expect(t.status == 0, "\(view): \(t.stderr)")
            let j = try aibrain(view + ["-o", "json", "--store", store])
            #expect(j.status == 0 && (try? j.json()) != nil, "\(view) -o json: \(j.stdout)")
        }

        let check = try aibrain(["rebuild", "--check", "-o", "json", "--store", store]).json()
        #expect(check["identical"] as? Bool == true)

        let sqlite3 = try requireTool("sqlite3")
        let db = dir + "/brain.db"
        let export = try aibrain(["export", "sqlite", db, "--store", store])
        #expect(export.status == 0, "\(export.stderr)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: sqlite3)
        p.arguments = [
            db,
            "SELECT id, status, retry_count FROM work_items ORDER BY id; SELECT task_id, iteration_count, verdict FROM checkpoints; SELECT kind, severity FROM decisions;",
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let rows = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(
            rows
                == "WI-1|completed|0\nWI-2|discarded|1\nWI-3|leased|0\nWI-4|cancelled|0\nTASK-1|1|FAIL\nGUARDRAIL_OVERRIDE|medium\n",
            "\(rows)")
    }

    /// `verify --deep` checks payloads against their type's schema: a mismatch names the LSN and the field
    /// (exit 1, not corruption); unknown types are counted, not failed.
    @Test func verifyDeepChecksPayloadsAgainstTheCatalogue() throws {
        let (_, store) = try makeStore()
        #expect(
            try aibrain([
                "emit", "session.checkpointed", "--task", "T", "--data", #"{"iteration":1,"verdict":"PASS"}"#,
                "--store", store,
            ]).status == 0)
        #expect(
            try aibrain(["emit", "agent.dreamed", "--task", "T", "--data", #"{"about":"sheep"}"#, "--store", store])
                .status == 0)
        let ok = try aibrain(["verify", "--deep", "-o", "json", "--store", store])
        #expect(ok.status == 0, "\(ok.stdout)")
        let j = try ok.json()
        #expect(j["schema_checked"] as? Int == 1 && (j["unknown_types"] as? [String: Int]) == ["agent.dreamed v1": 1])
        #expect(
            try aibrain([
                "emit", "session.checkpointed", "--task", "T", "--data", #"{"iteration":2,"verdict":"DONE"}"#,
                "--store", store,
            ]).status == 0)
        let bad = try aibrain(["verify", "--deep", "--store", store])
        #expect(bad.status == 1, "\(bad.stdout)")
        #expect(
            bad.stdout.contains("(LSN 3)") && bad.stdout.contains("verdict") && bad.stdout.contains("schema_mismatch"),
            "\(bad.stdout)")
        #expect(bad.stderr.contains("do not match their type's schema"))
    }
}
