import Foundation
import StorageTesting
import Testing

@testable import AIBrainCLI
@testable import EventLog

/// The CLI driven as a user drives it: real processes, real stdout/stderr/exit codes, real fsyncs.
/// Serialized (`make test` runs every *ProcessTests suite on its own).
@Suite(.serialized) struct CLIProcessTests {
    /// The issue's acceptance scenario, end to end.
    @Test func initEmitConcurrentlyReplayTailResumeReemitVerifyAndDetectABitFlip() throws {
        let (dir, store) = try makeStore(origin: "orchestrator")
        let cursorFile = dir + "/tail.cursor"
        let tail = try RunningCommand(["tail", "-f", "-o", "jsonl", "--cursor-file", cursorFile, "--store", store])

        // Wave 1: four processes at once, two of them streaming, two emitting one event per process.
        @Sendable func wave(_ name: String, streamLines: Int, singles: Int) {
            onThreads(4) { w in
                if w < 2 {
                    let input = (0..<streamLines).map { i in
                        #"{"type":"session.checkpointed","task_id":"TASK-\#(i % 3)","agent":"claude-dev-\#(w)","team":"dev","event_id":"\#(name)-s\#(w)-\#(i)","iteration":\#(i),"verdict":"PASS"}"#
                    }.joined(separator: "\n")
                    let r = try! aibrain(["emit", "--stream", "--store", store], stdin: input + "\n")
                    #expect(r.status == 0, "\(r.stderr)")
                    #expect(r.lines.count == streamLines)
                } else {
                    for i in 0..<singles {
                        let r = try! aibrain([
                            "emit", "decision.recorded", "--task", "TASK-\(i % 3)", "--event-id", "\(name)-e\(w)-\(i)",
                            "--data", #"{"kind":"APPROACH","value":"v\#(i)"}"#, "--actor", "claude-qa-\(w)", "--store",
                            store,
                        ])
                        #expect(r.status == 0, "\(r.stderr)")
                    }
                }
            }
        }
        wave("w1", streamLines: 150, singles: 8)
        let total1 = 2 * 150 + 2 * 8
        let seen1 = tail.waitForLines(total1)
        #expect(seen1.count == total1, "tail -f printed \(seen1.count) of \(total1) events emitted after it started")

        // Wave 2 runs while tail is stopped with SIGTERM part-way through.
        let done = DispatchSemaphore(value: 0)
        Thread {
            wave("w2", streamLines: 200, singles: 10)
            done.signal()
        }.start()
        usleep(150_000)
        let (firstRun, status) = tail.stop(SIGTERM)
        #expect(status == 0, "tail exits 0 after SIGTERM")
        done.wait()
        let total = total1 + 2 * 200 + 2 * 10
        let resumed = try aibrain(["tail", "-o", "jsonl", "--cursor-file", cursorFile, "--store", store])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        for l in firstRun + resumed.lines where (try? JSONSerialization.jsonObject(with: Data(l.utf8))) == nil {
            Issue.record("not a JSON line: \(l)")
        }
        let ids = try (jsonLines(firstRun.joined(separator: "\n")) + jsonLines(resumed.stdout)).map {
            $0["event_id"] as! String
        }
        #expect(
            ids.count == total, "first run \(firstRun.count) + resumed \(resumed.lines.count) lines; \(total) emitted")
        #expect(Set(ids).count == ids.count, "no event printed twice across the restart")
        let lsns = try (jsonLines(firstRun.joined(separator: "\n")) + jsonLines(resumed.stdout)).map {
            ($0["lsn"] as! NSNumber).uint64Value
        }
        #expect(lsns == Array(1...UInt64(total)), "no gap: the resumed tail starts right after the last line delivered")

        // Replay of one task: every one of its events, in order.
        let replay = try aibrain(["replay", "--task", "TASK-1", "-o", "jsonl", "--store", store])
        #expect(replay.status == 0)
        let task1 = try jsonLines(replay.stdout)
        #expect(task1.allSatisfy { ($0["stream"] as? String) == "task/TASK-1" })
        let taskLSNs = task1.map { ($0["lsn"] as! NSNumber).uint64Value }
        #expect(taskLSNs == taskLSNs.sorted())
        let expectedTask1 = try jsonLines(
            try aibrain(["export", "--store", store]).stdout
        ).filter { ($0["stream"] as? String) == "task/TASK-1" }.count
        #expect(task1.count == expectedTask1)

        // Idempotent re-emit: same id → exit 0, the original LSN, duplicate: true.
        let again = try aibrain([
            "emit", "decision.recorded", "--task", "TASK-0", "--event-id", "w1-e2-0", "--data", "{}", "-o", "json",
            "--store", store,
        ])
        #expect(again.status == 0)
        let ack = try again.json()
        #expect(ack["duplicate"] as? Bool == true)
        let original = try jsonLines(try aibrain(["export", "--store", store]).stdout).first {
            $0["event_id"] as? String == "w1-e2-0"
        }
        #expect((ack["lsn"] as? NSNumber) == (original?["lsn"] as? NSNumber))
        #expect(try jsonLines(try aibrain(["export", "--store", store]).stdout).count == total)

        // Verify clean, then damage a sealed segment and see verify name it and exit 5.
        #expect(try aibrain(["seal", "--store", store]).status == 0)
        let clean = try aibrain(["verify", "--deep", "--store", store])
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        #expect(clean.stdout.contains("verify: OK"))
        let logDir = try FileManager.default.contentsOfDirectory(atPath: store + "/log")[0]
        let seg = try FileManager.default.contentsOfDirectory(atPath: store + "/log/" + logDir).first {
            $0.hasSuffix(".seg")
        }!
        let path = store + "/log/" + logDir + "/" + seg
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x10
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let damaged = try aibrain(["verify", "--store", store])
        #expect(damaged.status == 5)
        #expect(
            damaged.stdout.contains(seg) && damaged.stderr.contains(seg),
            "verify names \(seg): \(damaged.stdout) \(damaged.stderr)")
        let damagedJSON = try aibrain(["verify", "-o", "json", "--store", store])
        #expect(damagedJSON.status == 5)
        let problems = try damagedJSON.json()["problems"] as? [[String: Any]] ?? []
        #expect(
            problems.contains {
                ($0["kind"] as? String) == "corruption" && ($0["file"] as? String)?.hasSuffix(seg) == true
            })
    }

    @Test func streamModeAcksEveryLineAndRefusesOnlyTheBadOnes() throws {
        let (_, store) = try makeStore()
        let input = [
            #"{"type":"work_item.enqueued","task_id":"T-1","event_id":"a-1","work_item_id":"WI-1"}"#,
            #"{"type":"Bad Type","task_id":"T-1"}"#,
            "",
            #"{"type":"work_item.leased","task_id":"T-1","data":{"work_item_id":"WI-1","lease_id":"L-1","worker":"ops-1"}}"#,
            #"{"type":"work_item.enqueued","task_id":"T-1","event_id":"a-1","work_item_id":"WI-1"}"#,
            #"{"type":"note.added","task_id":"T-1","contact":"someone@example.org"}"#,
        ].joined(separator: "\n")
        let r = try aibrain(["emit", "--stream", "--store", store], stdin: input)
        #expect(r.status == 4, "the worst line (PII) decides the exit status: \(r.stderr)")
        let acks = try jsonLines(r.stdout)
        #expect(acks.map { ($0["line"] as! NSNumber).intValue } == [1, 2, 4, 5, 6])
        #expect(
            acks[0]["lsn"] as? NSNumber == 1 && acks[0]["durable"] as? Bool == true
                && acks[0]["duplicate"] as? Bool == false)
        #expect((acks[0]["cursor"] as? String)?.hasPrefix("c1-") == true)
        let e2 = acks[1]["error"] as? [String: Any]
        #expect((e2?["message"] as? String)?.contains("type") == true && e2?["exit"] as? NSNumber == 1)
        #expect(acks[2]["lsn"] as? NSNumber == 2)
        #expect(acks[3]["duplicate"] as? Bool == true && acks[3]["lsn"] as? NSNumber == 1)
        let e6 = acks[4]["error"] as? [String: Any]
        #expect(e6?["detector"] as? String == "email" && e6?["field"] as? String == "data.contact")
        #expect(
            !r.stdout.contains("someone@example.org") && !r.stderr.contains("someone@example.org"),
            "never echo the value")
        #expect(try jsonLines(try aibrain(["export", "--store", store]).stdout).count == 2)
    }

    @Test func batchIsAllOrNothingAndNamesTheBadLine() throws {
        let (_, store) = try makeStore()
        let good = #"{"type":"decision.recorded","task_id":"T-9","data":{"kind":"APPROACH"}}"#
        let bad = #"{"type":"decision.recorded","task_id":"T-9","data":[1,2]}"#
        let r = try aibrain(
            ["emit", "--batch", "--store", store], stdin: [good, good, bad, good].joined(separator: "\n"))
        #expect(r.status == 1)
        #expect(r.stderr.contains("line 3") && r.stderr.contains("`data`"), "\(r.stderr)")
        #expect(try aibrain(["export", "--store", store]).stdout.isEmpty, "nothing appended")
        let ok = try aibrain(
            ["emit", "--batch", "-o", "json", "--store", store], stdin: [good, good, good].joined(separator: "\n"))
        #expect(ok.status == 0)
        let j = try ok.json()
        #expect(j["appended"] as? NSNumber == 3 && j["first_lsn"] as? NSNumber == 1 && j["last_lsn"] as? NSNumber == 3)
    }

    @Test func expectVersionConflictExitsThreeWithTheCurrentVersion() throws {
        let (_, store) = try makeStore()
        #expect(
            try aibrain(["emit", "task.created", "--task", "T-2", "--expect-version", "0", "--store", store]).status
                == 0)
        let r = try aibrain([
            "emit", "task.updated", "--task", "T-2", "--expect-version", "0", "-o", "json", "--store", store,
        ])
        #expect(r.status == 3)
        let err = try r.json()["error"] as? [String: Any]
        #expect(err?["current_version"] as? NSNumber == 1 && err?["code"] as? String == "precondition-failed")
        #expect(
            try aibrain(["emit", "task.updated", "--task", "T-2", "--expect-version", "1", "--store", store]).status
                == 0)
    }

    @Test func piiIsRejectedWithFieldAndDetectorButNeverTheValue() throws {
        let (_, store) = try makeStore()
        for (data, detector) in [
            (#"{"provider":{"npi":"1234567893"}}"#, "npi"), (#"{"note":"SSN 219-09-9999 on file"}"#, "ssn"),
            (#"{"to":"dr.house@princeton-plainsboro.org"}"#, "email"),
        ] {
            let r = try aibrain(["emit", "note.added", "--task", "T-3", "--data", data, "--store", store])
            #expect(r.status == 4, "\(data)")
            #expect(r.stderr.contains(detector))
            for secret in ["1234567893", "219-09-9999", "dr.house@"] { #expect(!r.stderr.contains(secret)) }
        }
        let actor = try aibrain([
            "emit", "note.added", "--task", "T-3", "--actor", "jane@example.com", "--store", store,
        ])
        #expect(actor.status == 4 && actor.stderr.contains("`actor`"))
        #expect(try aibrain(["export", "--store", store]).stdout.isEmpty)
        let warned = try aibrain([
            "emit", "note.added", "--task", "T-3", "--data", #"{"to":"a@b.io"}"#, "--pii-policy", "warn", "--store",
            store,
        ])
        #expect(warned.status == 0 && warned.stderr.contains("warning"))
    }

    @Test func importExportRoundTripAndReimportIsANoOp() throws {
        let python = try requireTool("python3")
        let (dir, store) = try makeStore()
        let file = dir + "/events.jsonl"
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: python)
        gen.arguments = [packageRoot + "/Benchmarks/gen_events.py", "3000", file]
        gen.standardOutput = FileHandle.nullDevice
        try gen.run()
        gen.waitUntilExit()
        #expect(gen.terminationStatus == 0)
        let first = try aibrain(["import", "jsonl", file, "-o", "json", "--store", store])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try first.json()["appended"] as? NSNumber == 3000)
        let second = try aibrain(["import", "jsonl", file, "-o", "json", "--store", store])
        let secondJSON = try second.json()
        #expect(secondJSON["appended"] as? NSNumber == 0 && secondJSON["duplicates"] as? NSNumber == 3000)

        let exported = try aibrain(["export", "--store", store]).stdout
        try exported.write(toFile: dir + "/export.jsonl", atomically: true, encoding: .utf8)
        let (_, other) = try makeStore("roundTripTarget", origin: "other")
        #expect(try aibrain(["import", "jsonl", dir + "/export.jsonl", "--store", other]).status == 0)
        let a = try jsonLines(exported)
        let b = try jsonLines(try aibrain(["export", "--store", other]).stdout)
        #expect(a.count == b.count)
        let kept = [
            "event_id", "type", "type_version", "stream", "keys", "actor", "team", "correlation_id", "causation_id",
            "occurred_at", "provenance", "data",
        ]
        for (x, y) in zip(a, b) {
            for k in kept { #expect(canonical(x[k]) == canonical(y[k]), "\(k) of \(x["event_id"]!)") }
        }
        #expect(a.first?["provenance"] as? String == file + ":1", "a file import records FILE:LINE")

        // An event that was not imported carries its source origin/epoch/lsn into the other store.
        #expect(
            try aibrain(["emit", "note.added", "--task", "T-1", "--event-id", "direct-1", "--store", store]).status == 0
        )
        let direct = try aibrain(["export", "--task", "T-1", "--store", store]).stdout
        let line = try jsonLines(direct).first { $0["event_id"] as? String == "direct-1" }!
        let copy = try aibrain(["import", "jsonl", "-", "--store", other], stdin: direct)
        #expect(copy.status == 0)
        let imported = try jsonLines(try aibrain(["export", "--task", "T-1", "--store", other]).stdout).first {
            $0["event_id"] as? String == "direct-1"
        }
        #expect(imported?["provenance"] as? String == "\(line["origin"]!)/\(line["epoch"]!)/\(line["lsn"]!)")
    }

    /// A JSON value as canonical text (sorted keys), for comparing parsed objects.
    func canonical(_ v: Any?) -> String {
        guard let v, !(v is NSNull) else { return "null" }
        guard let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) else {
            return "\(v)"
        }
        return String(decoding: d, as: UTF8.self)
    }

    @Test func storeDiscoveryWalksUpAndInitKeepsOlderMemory() throws {
        let dir = temporaryDirectory()
        let legacy = dir + "/.aibrain"
        try FileManager.default.createDirectory(atPath: legacy + "/decisions", withIntermediateDirectories: true)
        try "{\"task_id\":\"TASK-1\"}\n".write(
            toFile: legacy + "/decisions/TASK-1.jsonl", atomically: true, encoding: .utf8)
        let sub = dir + "/src/deep"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        let none = try aibrain(["tail", "-n", "1"], cwd: sub)
        #expect(none.status == 1 && none.stderr.contains("older file-based memory"), "\(none.stderr)")
        #expect(try aibrain(["init", "--origin", "cm"], cwd: dir).status == 0)
        #expect(FileManager.default.fileExists(atPath: legacy + "/decisions/TASK-1.jsonl"), "older files are kept")
        #expect(try aibrain(["emit", "x.happened", "--task", "T"], cwd: sub).status == 0, "found by walking up")
        #expect(try aibrain(["init"], cwd: dir).status == 1, "no re-init")
        let viaEnv = try aibrain(["tail", "-o", "jsonl"], cwd: "/", environment: ["AIBRAIN_STORE": dir])
        #expect(viaEnv.status == 0 && viaEnv.lines.count == 1)
        let wrong = try aibrain(["tail"], cwd: "/", environment: ["AIBRAIN_STORE": sub])
        #expect(wrong.status == 1 && wrong.stderr.contains("AIBRAIN_STORE"))
    }

    @Test func copiedStoreRefusesToAppendUntilRecoverNewEpoch() throws {
        let (dir, store) = try makeStore()
        #expect(try aibrain(["emit", "a.b", "--task", "T", "--store", store]).status == 0)
        let copy = dir + "/copy"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        let cp = Process()
        cp.executableURL = URL(fileURLWithPath: "/bin/cp")
        cp.arguments = ["-a", store, copy + "/.aibrain"]
        try cp.run()
        cp.waitUntilExit()
        let refused = try aibrain(["emit", "a.b", "--task", "T", "--store", copy])
        #expect(refused.status == 3 && refused.stderr.contains("recover --new-epoch"), "\(refused.stderr)")
        let rec = try aibrain(["recover", "--new-epoch", "-o", "json", "--store", copy])
        let recEpoch = try rec.json()["epoch"] as? NSNumber
        #expect(rec.status == 0 && recEpoch == 2)
        let ok = try aibrain(["emit", "a.b", "--task", "T", "-o", "json", "--store", copy])
        let okEpoch = try ok.json()["epoch"] as? NSNumber
        #expect(ok.status == 0 && okEpoch == 2)
    }

    @Test func tailFiltersReplayUntilAndForeignCursors() throws {
        let (_, store) = try makeStore()
        let lines = [
            #"{"type":"decision.recorded","task_id":"A","agent":"dev-1","team":"dev","event_id":"e1"}"#,
            #"{"type":"decision.superseded","task_id":"B","agent":"dev-2","team":"dev","event_id":"e2"}"#,
            #"{"type":"session.checkpointed","task_id":"A","agent":"qa-1","team":"qa","event_id":"e3"}"#,
            #"{"type":"work_item.enqueued","task_id":"C","agent":"ops-1","team":"ops","event_id":"e4","work_item_id":"WI-4"}"#,
        ]
        #expect(try aibrain(["emit", "--batch", "--store", store], stdin: lines.joined(separator: "\n")).status == 0)
        func ids(_ args: [String]) throws -> [String] {
            try jsonLines(try aibrain(["tail", "-o", "jsonl"] + args + ["--store", store]).stdout).map {
                $0["event_id"] as! String
            }
        }
        #expect(try ids(["--type", "decision.*"]) == ["e1", "e2"])
        #expect(try ids(["--task", "A", "--task", "C"]) == ["e1", "e3", "e4"], "same field: OR")
        #expect(try ids(["--task", "A", "--team", "qa"]) == ["e3"], "different fields: AND")
        #expect(try ids(["-n", "2"]) == ["e3", "e4"])
        #expect(try ids(["--actor", "dev-2", "--actor", "ops-1"]) == ["e2", "e4"])

        let replayIDs = { (args: [String]) in
            try jsonLines(try aibrain(["replay", "--task", "A", "-o", "jsonl"] + args + ["--store", store]).stdout).map
            { $0["event_id"] as! String }
        }
        #expect(try replayIDs([]) == ["e1", "e3"])
        #expect(try replayIDs(["--reverse"]) == ["e3", "e1"])
        #expect(try replayIDs(["--until", "2"]) == ["e1"])
        #expect(try replayIDs(["--until", "test:3"]) == ["e1", "e3"])
        #expect(try replayIDs(["--until", "2001-01-01"]) == [])
        let md = try aibrain(["replay", "--task", "A", "-o", "md", "--store", store])
        #expect(md.stdout.hasPrefix("# Task A: history") && md.stdout.contains("decision.recorded"))

        let shown = try aibrain(["tail", "-n", "1", "--show-cursor", "--store", store])
        let token = shown.lines.last!.replacingOccurrences(of: "-- cursor: ", with: "")
        #expect(try ids(["--after-cursor", token]) == [])
        let (_, other) = try makeStore("foreignCursor")
        let foreign = try aibrain(["tail", "--after-cursor", token, "--store", other])
        #expect(foreign.status == 1 && foreign.stderr.contains("does not match this log"), "\(foreign.stderr)")
        let garbage = try aibrain(["tail", "--after-cursor", "c1-AAAA", "--store", store])
        #expect(garbage.status == 1)
    }

    /// Found in review: PII through import's writer fields or a duplicate member name, output errors that
    /// looked like success, and integer traps on absurd arguments.
    @Test func reviewFindingsStayFixed() throws {
        let (dir, store) = try makeStore()
        // Writer members of other shapes are ignored: no provenance is built from them.
        let odd = #"{"type":"t.y","task_id":"T2","origin":"jane.doe@example.com","lsn":"123-45-6789","data":{}}"#
        let r1 = try aibrain(["import", "jsonl", "-", "--store", store], stdin: odd)
        #expect(r1.status == 0, "\(r1.stderr)")
        let line = try jsonLines(try aibrain(["export", "--store", store]).stdout)[0]
        #expect(line["provenance"] as? String == "stdin:1")
        // A duplicate member name is refused without quoting it.
        let dup = #"{"type":"t.x","task_id":"T1","jane.doe@example.com":1,"jane.doe@example.com":2}"#
        let r2 = try aibrain(["emit", "--batch", "-o", "json", "--store", store], stdin: dup)
        #expect(r2.status == 1)
        #expect(!r2.stdout.contains("jane") && !r2.stderr.contains("jane"), "\(r2.stderr)")
        // A file name that names a person is refused before anything is appended.
        let named = dir + "/jane.doe@example.com.jsonl"
        try #"{"type":"t.z","task_id":"T3"}"#.write(toFile: named, atomically: true, encoding: .utf8)
        let r3 = try aibrain(["import", "jsonl", named, "--store", store])
        #expect(r3.status == 4 && !r3.stderr.contains("jane.doe@"), "\(r3.stderr)")
        // A full disk is an error, not a quiet success.
        let full = Process()
        full.executableURL = URL(fileURLWithPath: aibrainBinary)
        full.arguments = ["export", "--store", store]
        full.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
        full.standardError = FileHandle.nullDevice
        try full.run()
        full.waitUntilExit()
        #expect(full.terminationStatus == 1, "export > /dev/full")
        // Absurd numbers are usage errors or simply "all", never a trap.
        #expect(try aibrain(["tail", "--since", "999999999999999d", "--store", store]).status == 64)
        #expect(try aibrain(["tail", "-n", "9223372036854775807", "--type", "t.*", "--store", store]).status == 0)
    }

    /// Until shipping lands, an adopted origin is a sealed `log/<origin-id>/` folder moved into the store.
    /// Replay merges it by (hlc, origin, lsn); a running `tail -f` picks the new origin up and prints its events.
    @Test func adoptedOriginsAreMergedAndFollowed() throws {
        let (dirA, storeA) = try makeStore(origin: "orchestrator")
        let (_, storeB) = try makeStore("adoptedOriginB", origin: "credentialmate")
        for i in 0..<6 {
            let store = i % 2 == 0 ? storeA : storeB
            #expect(try aibrain(["emit", "a.b", "--task", "T", "--event-id", "x\(i)", "--store", store]).status == 0)
        }
        #expect(try aibrain(["seal", "--store", storeB]).status == 0)
        let tail = try RunningCommand(["tail", "-f", "-n", "0", "-o", "jsonl", "--store", storeA])
        usleep(300_000)
        let originB = try FileManager.default.contentsOfDirectory(atPath: storeB + "/log")[0]
        let staging = dirA + "/staging-" + originB
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: storeB + "/log/" + originB)
        where f.hasSuffix(".seg") {
            try FileManager.default.copyItem(atPath: storeB + "/log/\(originB)/\(f)", toPath: staging + "/" + f)
        }
        try FileManager.default.moveItem(atPath: staging, toPath: storeA + "/log/" + originB)
        let followed = tail.waitForLines(3, timeout: 10)
        _ = tail.stop(SIGTERM)
        #expect(
            try jsonLines(followed.joined(separator: "\n")).map { $0["event_id"] as! String } == ["x1", "x3", "x5"])
        let merged = try jsonLines(try aibrain(["replay", "--task", "T", "-o", "jsonl", "--store", storeA]).stdout)
        #expect(merged.map { $0["event_id"] as! String } == (0..<6).map { "x\($0)" }, "merged by the writers' clocks")
        let stats = try aibrain(["stats", "-o", "json", "--store", storeA]).json()
        #expect((stats["origins"] as? [[String: Any]])?.count == 2)
        #expect(try aibrain(["verify", "--store", storeA]).status == 0)
    }

    /// `import` parses a large file on two cores: the first bad line of the file is the one reported, with
    /// its right number, and nothing is appended.
    @Test func importReportsTheFirstBadLineOfALargeFile() throws {
        let (dir, store) = try makeStore()
        let filler = String(repeating: "z", count: 400)
        var lines = (1...4000).map { #"{"type":"a.b","task_id":"T-\#($0 % 9)","n":\#($0),"fill":"\#(filler)"}"# }
        lines[3499] = #"{"type":"Not A Type","task_id":"T"}"#
        let file = dir + "/big.jsonl"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let late = try aibrain(["import", "jsonl", file, "--store", store])
        #expect(late.status == 1 && late.stderr.contains("line 3500"), "\(late.stderr)")
        lines[120] = #"{"type":"b.c","task_id":"T","data":[]}"#
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let early = try aibrain(["import", "jsonl", file, "--store", store])
        #expect(early.status == 1 && early.stderr.contains("line 121"), "\(early.stderr)")
        #expect(try aibrain(["export", "--store", store]).stdout.isEmpty, "nothing appended")
        lines[120] = lines[0]
        lines[3499] = lines[1]
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let ok = try aibrain(["import", "jsonl", file, "-o", "json", "--store", store])
        #expect(ok.status == 0)
        // Lines 121 and 3500 repeat lines 1 and 2 exactly: their derived ids count occurrences, so all 4000 are kept.
        #expect(try ok.json()["appended"] as? NSNumber == 4000)
        let again = try aibrain(["import", "jsonl", file, "-o", "json", "--store", store])
        #expect(try again.json()["appended"] as? NSNumber == 0)
    }
}
