import Foundation
import StorageTesting
import Testing

/// `aibrain ship` end to end with the real rsync binary: convergence of three stores, SIGKILLed transfers,
/// a remote shell, `tail -f` on adopted events, and the errors users meet.
@Suite(.serialized) struct ShipProcessTests {
    /// A small deterministic generator (the test prints its seed on failure).
    struct Rand {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func shuffle<T>(_ a: [T]) -> [T] {
            var a = a
            for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, below(i + 1)) }
            return a
        }
    }

    /// One burst of realistic events from `who`: work items, checkpoints, decisions, and a shared task.
    static func burst(_ who: String, round: Int, count: Int) -> String {
        (0..<count).map { i in
            let n = round * 1000 + i
            switch i % 4 {
            case 0:
                return
                    #"{"type":"work_item.enqueued","task_id":"T-\#(who)-\#(n)","team":"dev","event_id":"\#(who)-wi-\#(n)","data":{"work_item_id":"WI-\#(who)-\#(n)","project":"\#(who)"}}"#
            case 1:
                return
                    #"{"type":"session.checkpointed","task_id":"T-\#(who)-\#(round)","agent":"claude-\#(who)","event_id":"\#(who)-cp-\#(n)","data":{"checkpoint_id":"CP-\#(n)","iteration":\#(n),"verdict":"PARTIAL"}}"#
            case 2:
                return
                    #"{"type":"decision.recorded","task_id":"T-SHARED","agent":"claude-\#(who)","event_id":"\#(who)-d-\#(n)","data":{"kind":"APPROACH","value":"\#(who) round \#(round)"}}"#
            default:
                return
                    #"{"type":"ko.consulted","task_id":"T-SHARED","agent":"claude-\#(who)","event_id":"\#(who)-ko-\#(n)","data":{"ko_id":"KO-\#(n % 3)"}}"#
            }
        }.joined(separator: "\n") + "\n"
    }

    @Test func threeStoresConvergeThroughMeshAndHubRounds() throws {
        _ = try requireTool("rsync")
        let names = ["orchestrator", "credentialmate", "karematch"]
        let stores = try names.map { try makeStore("conv-\($0)", origin: $0) }
        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        var rng = Rand(state: seed)
        let acked = LockedCounter()

        // Phase 1: every store emits while random pushes, pulls and adoptions run between random pairs.
        for round in 0..<5 {
            var ops: [(Int, Int, String)] = []
            for _ in 0..<3 {
                let a = rng.below(3)
                let b = (a + 1 + rng.below(2)) % 3
                ops.append((a, b, ["push", "push-seal", "pull", "adopt"][rng.below(4)]))
            }
            let planned = ops
            onThreads(3 + planned.count) { t in
                if t < 3 {
                    let r = try! aibrain(
                        ["emit", "--stream"], cwd: stores[t].dir, stdin: Self.burst(names[t], round: round, count: 40))
                    #expect(r.status == 0, "seed \(seed): \(r.stderr)")
                    acked.add(r.lines.count)
                } else {
                    let (a, b, op) = planned[t - 3]
                    let args: [String]
                    switch op {
                    case "push": args = ["ship", "push", stores[b].dir]
                    case "push-seal": args = ["ship", "push", stores[b].dir, "--seal", "--force"]
                    case "pull": args = ["ship", "pull", stores[b].dir]
                    default: args = ["ship", "adopt"]
                    }
                    let r = try! aibrain(args, cwd: stores[a].dir)
                    #expect(r.status == 0, "seed \(seed): \(names[a]) \(args.joined(separator: " ")): \(r.stderr)")
                }
            }
            for i in rng.shuffle([0, 1, 2]) {
                let r = try aibrain(["ship", "adopt"], cwd: stores[i].dir)
                #expect(r.status == 0, "seed \(seed): \(r.stderr)")
            }
        }
        // Phase 2: through the hub only (orchestrator); the spokes never talk to each other.
        for round in 5..<8 {
            onThreads(3) { t in
                let r = try! aibrain(
                    ["emit", "--stream"], cwd: stores[t].dir, stdin: Self.burst(names[t], round: round, count: 30))
                #expect(r.status == 0)
                acked.add(r.lines.count)
            }
            try hubRound(stores, seed: seed)
        }
        // Final: seal everything, then hub rounds until every pair reports in sync.
        for s in stores { #expect(try aibrain(["seal"], cwd: s.dir).status == 0) }
        try hubRound(stores, seed: seed)
        try hubRound(stores, seed: seed)
        for i in 0..<3 {
            for j in 0..<3 where i != j {
                let r = try aibrain(["ship", "status", stores[j].dir, "-o", "json"], cwd: stores[i].dir)
                #expect(r.status == 0, "\(r.stderr)")
                let peers = try r.json()["peers"] as? [[String: Any]]
                #expect(
                    peers?.first?["in_sync"] as? Bool == true, "seed \(seed): \(names[i]) vs \(names[j]): \(r.stdout)")
            }
            let text = try aibrain(["ship", "status", stores[(i + 1) % 3].dir], cwd: stores[i].dir)
            #expect(text.stdout.contains(": in sync"), "\(text.stdout)")
        }
        // Every acknowledged event is in every store, once.
        for s in stores {
            let stats = try aibrain(["stats", "-o", "json"], cwd: s.dir)
            let rows = (try stats.json()["origins"] as? [[String: Any]]) ?? []
            let total = rows.reduce(0) { $0 + (($1["events"] as? Int) ?? 0) }
            #expect(total == acked.value, "seed \(seed): \(s.dir) holds \(total) of \(acked.value) events")
            #expect(try aibrain(["verify"], cwd: s.dir).status == 0)
        }
        // Same segments, same projections: byte for byte.
        var snapshots: [[String: Data]] = []
        for s in stores {
            let check = try aibrain(["rebuild", "--check", "-o", "json"], cwd: s.dir)
            let identical = try check.json()["identical"] as? Bool
            #expect(check.status == 0 && identical == true, "\(check.stdout)")
            #expect(try aibrain(["rebuild"], cwd: s.dir).status == 0)
            let dir = s.store + "/projections"
            var files: [String: Data] = [:]
            for n in try FileManager.default.contentsOfDirectory(atPath: dir) where n.hasSuffix(".snap") {
                files[n] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + n))
            }
            snapshots.append(files)
        }
        #expect(snapshots[0].count >= 5)
        #expect(snapshots[0] == snapshots[1] && snapshots[1] == snapshots[2], "seed \(seed): snapshots differ")
    }

    /// Spokes push to the hub, the hub adopts and relays to the spokes, the spokes adopt.
    func hubRound(_ stores: [(dir: String, store: String)], seed: UInt64) throws {
        for spoke in [1, 2] {
            let r = try aibrain(["ship", "push", stores[0].dir, "--seal", "--force"], cwd: stores[spoke].dir)
            #expect(r.status == 0, "seed \(seed): \(r.stderr)")
        }
        #expect(try aibrain(["ship", "adopt"], cwd: stores[0].dir).status == 0)
        for spoke in [1, 2] {
            let r = try aibrain(["ship", "push", stores[spoke].dir, "--seal", "--force"], cwd: stores[0].dir)
            #expect(r.status == 0, "seed \(seed): \(r.stderr)")
            let a = try aibrain(["ship", "adopt"], cwd: stores[spoke].dir)
            #expect(a.status == 0, "seed \(seed): \(a.stdout) \(a.stderr)")
        }
    }

    /// rsync killed with SIGKILL at random points, at least 30 times: nothing partial is ever adopted, a
    /// re-run completes, and the heads are equal.
    @Test func rsyncKilledAtRandomPointsNeverLeavesAPartialAdoption() throws {
        _ = try requireTool("rsync")
        let (a, _) = try makeStore("kill-a", origin: "sender")
        let (b, bStore) = try makeStore("kill-b", origin: "receiver")
        // Segments of ~80 KB of incompressible-ish payloads (letters only: no digit run can look like an
        // identifier to the PII gate). More are written whenever a transfer completes, so that most kills
        // land mid-transfer.
        var rng = Rand(state: 42)
        var written = 0
        func writeSegments(_ count: Int, lines perSegment: Int = 130) throws {
            for _ in 0..<count {
                let s = written
                written += 1
                let lines = (0..<perSegment).map { i -> String in
                    let text = String((0..<600).map { _ in Character(UnicodeScalar(UInt8(97 + rng.below(26)))) })
                    return
                        #"{"type":"task.note","task_id":"T-\#(s)","event_id":"k-\#(s)-\#(i)","data":{"text":"\#(text)"}}"#
                }
                let r = try aibrain(["emit", "--stream"], cwd: a, stdin: lines.joined(separator: "\n") + "\n")
                #expect(r.status == 0, "\(r.stderr)")
                #expect(try aibrain(["seal"], cwd: a).status == 0)
            }
        }
        try writeSegments(12)
        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        rng = Rand(state: seed)
        var kills = 0
        var attempts = 0
        var partial = 0
        var adoptedBetween = 0
        while kills < 30 && attempts < 100 {
            attempts += 1
            let push = Process()
            push.executableURL = URL(fileURLWithPath: aibrainBinary)
            push.arguments = ["ship", "push", b, "--bwlimit", "1000"]
            push.currentDirectoryURL = URL(fileURLWithPath: a)
            push.standardOutput = FileHandle.nullDevice
            push.standardError = FileHandle.nullDevice
            try push.run()
            // Every third time an adoption runs while this transfer is writing into incoming/.
            var racing: Process?
            if attempts % 3 == 0 {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: aibrainBinary)
                p.arguments = ["ship", "adopt"]
                p.currentDirectoryURL = URL(fileURLWithPath: b)
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                racing = p
            }
            usleep(UInt32(10_000 + rng.below(150_000)))
            // Only the segment transfer counts (not the --help probe or the catalog fetch before it).
            let victims = descendants(of: push.processIdentifier).filter {
                $0.name == "rsync"
                    && ((try? String(contentsOfFile: "/proc/\($0.pid)/cmdline", encoding: .utf8)) ?? "").contains(
                        "--compare-dest")
            }
            for v in victims { kill(v.pid, SIGKILL) }
            if !victims.isEmpty { kills += 1 }
            push.waitUntilExit()
            // (A kill can land after rsync finished its work: then the push succeeded, which is fine.)
            if let racing {
                racing.waitUntilExit()
                #expect(racing.terminationStatus == 0, "an adoption racing a transfer finds nothing wrong")
            }
            // Whatever arrived, adoption takes only complete, verified segments.
            let adopt = try aibrain(["ship", "adopt", "-o", "json"], cwd: b)
            let report = try adopt.json()
            #expect(report["corrupt"] as? Int == 0 && report["forks"] as? Int == 0, "seed \(seed): \(adopt.stdout)")
            if (report["partial_transfers"] as? Int ?? 0) > 0 { partial += 1 }
            let adopted = report["adopted"] as? Int ?? 0
            adoptedBetween += adopted
            // A transfer that completed leaves nothing to cut: one more ~250 KB segment (0.25 s at 1 MB/s).
            if victims.isEmpty { try writeSegments(1, lines: 400) }
            if attempts % 3 == 0 {
                let verify = try aibrain(["verify"], cwd: b)
                #expect(verify.status == 0, "seed \(seed), attempt \(attempts): \(verify.stdout)")
            }
        }
        #expect(kills >= 30, "only \(kills) kills in \(attempts) attempts")
        // The kills landed mid-transfer (rsync's partial files were left behind), and the runs in between
        // made progress: segments that arrived whole were adopted while later ones were cut off.
        #expect(partial > 0 && adoptedBetween > 0, "partial \(partial), adopted \(adoptedBetween)")
        print(
            "ship kill campaign (seed \(seed)): \(kills) rsync SIGKILLs in \(attempts) pushes, partial files left after \(partial), \(adoptedBetween) segments adopted between kills, \(written) segments in all"
        )
        // A plain re-run completes; the heads are equal.
        #expect(try aibrain(["ship", "push", b], cwd: a).status == 0)
        #expect(try aibrain(["ship", "adopt"], cwd: b).status == 0)
        let status = try aibrain(["ship", "status", a, "-o", "json"], cwd: b)
        let peers = try status.json()["peers"] as? [[String: Any]]
        #expect(peers?.first?["in_sync"] as? Bool == true, "\(status.stdout)")
        let mine = try aibrain(["ship", "status", "-o", "json"], cwd: a).json()["origins"] as? [[String: Any]]
        let theirs = try status.json()["origins"] as? [[String: Any]]
        let head = { (rows: [[String: Any]]?) in
            rows?.first { $0["segments"] as? Int == written }?["head_seal_hash"] as? String
        }
        #expect(head(mine) != nil && head(mine) == head(theirs))
        #expect(try aibrain(["verify", "--deep"], cwd: b).status == 0)
        // No partial file ever got a segment name in log/.
        let logNames = try FileManager.default.subpathsOfDirectory(atPath: bStore + "/log")
        #expect(!logNames.contains { $0.contains(".rsync") || lastComponent($0).hasPrefix(".") })
    }

    /// Pushes and pulls into one store at once (cron pushes from a store, a pull from the other side, an
    /// adoption): `--delay-updates` stages files in one shared `.rsync-partial/`, and a transfer that loses
    /// the rename race to another is run again instead of failing. Every command succeeds and every event
    /// arrives once.
    @Test func concurrentTransfersIntoOneStoreAllSucceed() throws {
        _ = try requireTool("rsync")
        let (a, _) = try makeStore("race-a", origin: "orchestrator")
        let (b, _) = try makeStore("race-b", origin: "credentialmate")
        var events = 0
        for round in 0..<3 {
            for s in 0..<12 {
                let lines = (0..<5).map { i in
                    #"{"type":"task.note","task_id":"T-\#(round)-\#(s)","event_id":"race-\#(round)-\#(s)-\#(i)","data":{"n":\#(i)}}"#
                }
                #expect(
                    try aibrain(["emit", "--stream"], cwd: a, stdin: lines.joined(separator: "\n") + "\n").status == 0)
                #expect(try aibrain(["seal"], cwd: a).status == 0)
                events += lines.count
            }
            let ops: [([String], String)] = [
                (["ship", "push", b], a), (["ship", "push", b], a), (["ship", "push", b], a),
                (["ship", "pull", a], b), (["ship", "adopt"], b),
            ]
            onThreads(ops.count) { t in
                let r = try! aibrain(ops[t].0, cwd: ops[t].1)
                #expect(r.status == 0, "round \(round): \(ops[t].0.joined(separator: " ")): \(r.stderr)")
            }
        }
        #expect(try aibrain(["ship", "adopt"], cwd: b).status == 0)
        let stats = try aibrain(["stats", "-o", "json"], cwd: b)
        let rows = (try stats.json()["origins"] as? [[String: Any]]) ?? []
        let held = rows.reduce(0) { $0 + (($1["events"] as? Int) ?? 0) }
        #expect(held == events, "the receiver holds \(held) of \(events) events: \(stats.stdout)")
        #expect(try aibrain(["verify"], cwd: b).status == 0)
    }

    /// host:path peers through a remote shell (a stand-in for ssh that runs the command locally, as sshd would).
    @Test func shipsToHostPathPeersThroughARemoteShell() throws {
        _ = try requireTool("rsync")
        let (a, _) = try makeStore("rsh-a", origin: "laptop")
        let (b, _) = try makeStore("rsh-b", origin: "server")
        let (c, _) = try makeStore("rsh-c", origin: "ci")
        let rsh = temporaryDirectory("rsh") + "/fake-ssh"
        try """
        #!/bin/sh
        # fake ssh: skip options and the host, then run the command here (what sshd would do)
        while [ $# -gt 0 ]; do case "$1" in -l|-p|-o|-i) shift 2;; -*) shift;; *) break;; esac; done
        shift
        exec /bin/sh -c "$*"
        """.write(toFile: rsh, atomically: true, encoding: .utf8)
        chmod(rsh, 0o755)
        #expect(try aibrain(["emit", "task.note", "--task", "T-R", "--data", #"{"n":1}"#], cwd: a).status == 0)
        // A manifest temporary left by a push that was killed (its pid is gone) is cleaned up by the next one.
        var dead: Int32 = 3_999_999
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        let leftover = a + "/.aibrain/log/MANIFEST.json.tmp.\(dead)"
        _ = FileManager.default.createFile(atPath: leftover, contents: Data("{".utf8))
        let push = try aibrain(["ship", "push", "localhost:" + b, "--seal", "--force", "-e", rsh], cwd: a)
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stdout.contains("sent 1 segment"), "\(push.stdout)")
        #expect(try aibrain(["ship", "adopt"], cwd: b).status == 0)
        let status = try aibrain(
            ["ship", "status", "localhost:" + b, "-o", "json"], cwd: a, environment: ["AIBRAIN_RSH": rsh])
        #expect(
            (try status.json()["peers"] as? [[String: Any]])?.first?["in_sync"] as? Bool == true, "\(status.stdout)")
        let pull = try aibrain(
            ["ship", "pull", "localhost:" + b, "-o", "json"], cwd: c, environment: ["AIBRAIN_RSH": rsh])
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(((try pull.json()["adoption"] as? [String: Any])?["adopted"] as? Int) == 1)
        let replay = try aibrain(["replay", "--task", "T-R", "-o", "jsonl"], cwd: c)
        #expect(try jsonLines(replay.stdout).count == 1)
    }

    /// Adopted events reach `tail -f` and the projections at once.
    @Test func adoptedEventsReachTailAndProjectionsAtOnce() throws {
        _ = try requireTool("rsync")
        let (a, _) = try makeStore("tail-a", origin: "agent-box")
        let (b, _) = try makeStore("tail-b", origin: "auditor")
        #expect(try aibrain(["queue", "ls"], cwd: b).status == 0)  // snapshots exist before the adoption
        let tail = try RunningCommand(["tail", "-f", "-n", "0", "-o", "jsonl"], cwd: b)
        usleep(300_000)
        let input = (0..<5).map { i in
            #"{"type":"work_item.enqueued","task_id":"T-A","event_id":"t-\#(i)","data":{"work_item_id":"WI-\#(i)"}}"#
        }.joined(separator: "\n")
        #expect(try aibrain(["emit", "--stream"], cwd: a, stdin: input + "\n").status == 0)
        #expect(try aibrain(["ship", "push", b, "--seal", "--force"], cwd: a).status == 0)
        #expect(try aibrain(["ship", "adopt"], cwd: b).status == 0)
        let lines = tail.waitForLines(5, timeout: 10)
        _ = tail.stop(SIGTERM)
        #expect(lines.count == 5, "\(lines)")
        let queue = try aibrain(["queue", "ls", "-o", "json"], cwd: b)
        #expect(queue.stdout.contains("WI-4"), "\(queue.stdout)")
    }

    /// A copy of a store that started a new epoch writes the same LSNs as the original: whichever arrives
    /// second at a peer is a fork, quarantined (exit 5), and `ship status` says where the histories part.
    @Test func aForkIsQuarantinedByAdoptAndNamedByStatus() throws {
        _ = try requireTool("rsync")
        let (a, aStore) = try makeStore("fork-a", origin: "writer")
        let (b, bStore) = try makeStore("fork-b", origin: "reader")
        #expect(try aibrain(["emit", "task.note", "--task", "T-F", "--data", #"{"n":1}"#], cwd: a).status == 0)
        #expect(try aibrain(["seal"], cwd: a).status == 0)
        // The twin: a copy of a's store in a new epoch (same origin id), then both write LSN 2 differently.
        let twin = temporaryDirectory("fork-twin")
        let cp = Process()
        cp.executableURL = URL(fileURLWithPath: "/bin/cp")
        cp.arguments = ["-a", aStore, twin + "/.aibrain"]
        try cp.run()
        cp.waitUntilExit()
        #expect(try aibrain(["recover", "--new-epoch"], cwd: twin).status == 0)
        for (dir, n) in [(a, 2), (twin, 3)] {
            #expect(
                try aibrain(["emit", "task.note", "--task", "T-F", "--data", #"{"n":\#(n)}"#], cwd: dir).status == 0)
            #expect(try aibrain(["seal"], cwd: dir).status == 0)
        }
        #expect(try aibrain(["ship", "push", b], cwd: a).status == 0)
        #expect(try aibrain(["ship", "adopt"], cwd: b).status == 0)
        #expect(try aibrain(["ship", "push", b], cwd: twin).status == 0)
        let adopt = try aibrain(["ship", "adopt", "-o", "json"], cwd: b)
        #expect(adopt.status == 5, "\(adopt.stdout)")
        let report = try adopt.json()
        #expect(report["forks"] as? Int == 1 && report["adopted"] as? Int == 0, "\(adopt.stdout)")
        let q = try FileManager.default.subpathsOfDirectory(atPath: bStore + "/quarantine")
        #expect(q.contains { $0.hasSuffix(".json") } && q.contains { $0.contains(".seg.") && !$0.hasSuffix(".json") })
        // b still holds a's history, and says where the twin parts from it.
        let replay = try jsonLines(try aibrain(["replay", "--task", "T-F", "-o", "jsonl"], cwd: b).stdout)
        #expect(replay.compactMap { ($0["data"] as? [String: Any])?["n"] as? Int } == [1, 2])
        let status = try aibrain(["ship", "status", twin], cwd: b)
        #expect(status.status == 5 && status.stdout.contains("forked at"), "\(status.stdout)")
        // From a's side, the twin holds other segments of a's own origin: never "behind".
        let own = try aibrain(["ship", "status", twin, "-o", "json"], cwd: a)
        #expect(own.status == 5)
        let rows = ((try own.json()["peers"] as? [[String: Any]])?.first?["origins"] as? [[String: Any]]) ?? []
        #expect(
            rows.contains { ["forked", "own-origin-ahead"].contains($0["state"] as? String ?? "") }, "\(own.stdout)")
    }

    /// Adopted segments never passed this store's PII gate: `scan` finds what they carry, naming the origin,
    /// LSN and field, never the value.
    @Test func scanReportsIdentifiersInAnAdoptedSegment() throws {
        _ = try requireTool("rsync")
        let (a, _) = try makeStore("scan-a", origin: "intake")
        let (b, _) = try makeStore("scan-b", origin: "audit")
        #expect(try aibrain(["emit", "task.note", "--task", "T-S", "--data", #"{"n":1}"#], cwd: a).status == 0)
        let npi = "1245319599"
        let warn = try aibrain(
            [
                "emit", "task.note", "--task", "T-S", "--pii-policy", "warn", "--data",
                #"{"provider":{"npi":"\#(npi)"}}"#,
            ],
            cwd: a)
        #expect(warn.status == 0, "\(warn.stderr)")
        #expect(try aibrain(["ship", "push", b, "--seal", "--force"], cwd: a).status == 0)
        #expect(try aibrain(["scan"], cwd: b).status == 0, "nothing adopted yet: clean")
        #expect(try aibrain(["ship", "adopt"], cwd: b).status == 0)
        let scan = try aibrain(["scan", "-o", "json"], cwd: b)
        #expect(scan.status == 4, "\(scan.stdout) \(scan.stderr)")
        #expect(!scan.stdout.contains(npi) && !scan.stderr.contains(npi), "the value is never echoed")
        let report = try scan.json()
        let f = (report["findings"] as? [[String: Any]])?.first
        #expect(report["events_with_findings"] as? Int == 1 && report["scanned"] as? Int == 2)
        #expect(
            f?["lsn"] as? Int == 2 && f?["field"] as? String == "data.provider.npi"
                && f?["detector"] as? String == "npi")
        #expect(f?["name"] as? String == "intake", "named from the manifest it shipped")
        // The trust issue's detectors too: a DEA number, a Medicare MBI and an SSN, one event each.
        let planted = [
            ("dea", #"{"prescriber":"DEA AB1234563"}"#), ("mbi", #"{"member":"1EG4-TE5-MK73"}"#),
            ("ssn", #"{"note":"SSN 219-09-9999 on file"}"#),
        ]
        for (_, data) in planted {
            #expect(
                try aibrain(["emit", "task.note", "--task", "T-S", "--pii-policy", "warn", "--data", data], cwd: a)
                    .status == 0)
        }
        #expect(try aibrain(["ship", "push", b, "--seal", "--force"], cwd: a).status == 0)
        #expect(try aibrain(["ship", "adopt"], cwd: b).status == 0)
        let all = try aibrain(["scan", "-o", "json"], cwd: b)
        let detectors = ((try all.json()["findings"] as? [[String: Any]]) ?? []).compactMap {
            $0["detector"] as? String
        }
        #expect(all.status == 4 && detectors.sorted() == ["dea", "mbi", "npi", "ssn"], "\(all.stdout)")
        for v in ["AB1234563", "1EG4-TE5-MK73", "219-09-9999"] { #expect(!all.stdout.contains(v)) }
        let text = try aibrain(["scan", "--origin", "audit"], cwd: b)
        #expect(text.status == 0 && text.stdout.contains("scanned 0 events"), "\(text.stdout)")
    }

    @Test func badPeersAndMissingToolsAreClearErrors() throws {
        let (a, _) = try makeStore("err-a", origin: "a")
        let empty = temporaryDirectory("err-empty")
        let r1 = try aibrain(["ship", "push", empty], cwd: a)
        #expect(
            r1.status == 1 && r1.stderr.contains("holds no store") && r1.stderr.contains("aibrain init"), "\(r1.stderr)"
        )
        let r2 = try aibrain(["ship", "push", a], cwd: a)
        #expect(r2.status == 1 && r2.stderr.contains("is this store"), "\(r2.stderr)")
        let r3 = try aibrain(["ship", "push", "rsync://host/module"], cwd: a)
        #expect(r3.status == 64 && r3.stderr.contains("rsync daemon"), "\(r3.stderr)")
        let (b, _) = try makeStore("err-b", origin: "b")
        let r4 = try aibrain(
            ["ship", "push", b, "-o", "json"], cwd: a, environment: ["AIBRAIN_RSYNC": "/nonexistent/rsync"])
        #expect(r4.status == 1 && r4.stdout.contains("tool-missing"), "\(r4.stdout)")
        let r5 = try aibrain(["ship", "push", b, "--force"], cwd: a)
        #expect(r5.status == 64)
        // A path that does not exist: rsync's failure names the path and says what to do.
        let r6 = try aibrain(["ship", "status", empty + "/nowhere"], cwd: a)
        #expect(r6.status == 1 && r6.stderr.contains("nowhere") && r6.stderr.contains("hint:"), "\(r6.stderr)")
        // A copy of this store (same origin id) is refused before anything is sent or sealed.
        let copy = temporaryDirectory("err-copy")
        let cp = Process()
        cp.executableURL = URL(fileURLWithPath: "/bin/cp")
        cp.arguments = ["-a", a + "/.aibrain", copy + "/.aibrain"]
        try cp.run()
        cp.waitUntilExit()
        let r7 = try aibrain(["ship", "push", copy, "--seal", "--force"], cwd: a)
        #expect(r7.status == 1 && r7.stderr.contains("this store's origin id"), "\(r7.stderr)")
    }
}

/// Thread-safe event counter.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add(_ k: Int) {
        lock.lock()
        n += k
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return n
    }
}

func lastComponent(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }

/// Every live descendant of `pid` (from /proc), with its command name.
func descendants(of pid: Int32) -> [(pid: Int32, name: String)] {
    var parent: [Int32: (Int32, String)] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let p = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { continue }
        let name = String(stat[stat.index(after: open)..<close])
        let rest = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard rest.count > 2, rest[0] != "Z", let pp = Int32(rest[1]) else { continue }
        parent[p] = (pp, name)
    }
    var out: [(Int32, String)] = []
    var frontier = [pid]
    while let p = frontier.popLast() {
        for (child, (pp, name)) in parent where pp == p {
            out.append((child, name))
            frontier.append(child)
        }
    }
    return out
}
