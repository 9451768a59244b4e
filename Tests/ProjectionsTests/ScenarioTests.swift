import BrainEvents
import Foundation
import StorageTesting
import Testing

@testable import EventLog
@testable import Projections

/// A scripted multi-agent day: three teams share a queue, leases expire and are rescued, retries run into
/// the dead letters, decisions are recorded and superseded, KOs are consulted before outcomes, a session
/// forks. The expectations are written down by the script as it goes (an independent model), then the
/// projections must agree with them.
@Suite struct ScenarioTests {
    @Test func threeTeamsLeasesRetriesDecisionsKnowledgeAndAFork() throws {
        let fs = SimulatedFileSystem(seed: 7)
        let clock = ManualClock()
        let s = try TestStore("orch", fs: fs, clock: clock)
        // The model the projections must match.
        var status: [String: ItemStatus] = [:]
        var retries: [String: Int] = [:]
        var team: [String: String] = [:]

        func enqueue(_ id: String, _ t: String, team tm: String, max: Int = 3) throws {
            #expect(
                try s.emit(
                    "work_item.enqueued", task: "T-\(id)", team: tm,
                    #"{"work_item_id":"\#(id)","project":"credentialmate","team":"\#(tm)","max_attempts":\#(max),"orchestrator_id":"orch-1"}"#
                )
                    == nil)
            status[id] = .available
            retries[id] = 0
            team[id] = tm
            _ = t
        }
        func lease(_ id: String, _ l: String, ttl: Int = 60_000) throws -> String? {
            try s.emit(
                "work_item.leased", task: "T-\(id)",
                #"{"work_item_id":"\#(id)","lease_id":"\#(l)","worker":"w","ttl_ms":\#(ttl)}"#)
        }

        for (i, tm) in ["dev", "qa", "ops"].enumerated() {
            for k in 1...3 { try enqueue("WI-\(tm)-\(k)", "T-\(i)", team: tm, max: k == 3 ? 2 : 3) }
        }
        // dev-1: leased, heartbeat, completed.
        #expect(try lease("WI-dev-1", "L1") == nil)
        clock.advance(30_000)
        #expect(
            try s.emit(
                "work_item.heartbeat", task: "T-WI-dev-1",
                #"{"work_item_id":"WI-dev-1","lease_id":"L1","ttl_ms":60000}"#) == nil)
        clock.advance(50_000)  // beyond the first ttl, within the extended one
        #expect(
            try s.emit("work_item.completed", task: "T-WI-dev-1", #"{"work_item_id":"WI-dev-1","lease_id":"L1"}"#)
                == nil)
        status["WI-dev-1"] = .completed

        // Illegal transitions are refused at emit time, naming the state.
        let refused = try s.emit("work_item.completed", task: "T-WI-dev-1", #"{"work_item_id":"WI-dev-1"}"#)
        #expect(refused?.contains("completed") == true, "\(refused ?? "nil")")
        #expect(
            try s.emit("work_item.leased", task: nil, #"{"work_item_id":"WI-nope","lease_id":"L9"}"#)?.contains(
                "never enqueued") == true)
        #expect(
            try s.emit("work_item.enqueued", task: nil, #"{"work_item_id":"WI-dev-1"}"#)?.contains("already enqueued")
                == true)

        // qa-1: the lease expires; a completion citing it afterwards is refused; the rescue counts an attempt.
        #expect(try lease("WI-qa-1", "L2", ttl: 10_000) == nil)
        clock.advance(20_000)
        #expect(
            try s.emit("work_item.completed", task: "T-WI-qa-1", #"{"work_item_id":"WI-qa-1","lease_id":"L2"}"#)?
                .contains("expired") == true)
        #expect(
            try s.emit("work_item.rescued", task: "T-WI-qa-1", #"{"work_item_id":"WI-qa-1","lease_id":"L2"}"#) == nil)
        status["WI-qa-1"] = .retryable
        retries["WI-qa-1"]! += 1
        #expect(try lease("WI-qa-1", "L3") == nil)
        #expect(
            try s.emit("work_item.completed", task: "T-WI-qa-1", #"{"work_item_id":"WI-qa-1","lease_id":"L3"}"#) == nil)
        status["WI-qa-1"] = .completed

        // ops-3 (max 2 attempts): fails twice, then is discarded into the dead letters.
        #expect(try lease("WI-ops-3", "L4") == nil)
        #expect(
            try s.emit(
                "work_item.failed", task: "T-WI-ops-3",
                #"{"work_item_id":"WI-ops-3","error":"timeout after 600s","retryable":true}"#) == nil)
        retries["WI-ops-3"]! += 1
        #expect(try lease("WI-ops-3", "L5")?.contains("retryable only from") == true, "backoff holds the retry back")
        clock.advance(120_000)
        #expect(try lease("WI-ops-3", "L5") == nil)
        #expect(
            try s.emit(
                "work_item.failed", task: "T-WI-ops-3",
                #"{"work_item_id":"WI-ops-3","error":"lint failed","retryable":true}"#) == nil)
        retries["WI-ops-3"]! += 1
        #expect(
            try s.emit(
                "work_item.discarded", task: "T-WI-ops-3", #"{"work_item_id":"WI-ops-3","reason":"attempts exhausted"}"#
            ) == nil)
        status["WI-ops-3"] = .discarded
        // dev-2: cancelled. qa-2: leased and still held.
        #expect(
            try s.emit("work_item.cancelled", task: "T-WI-dev-2", #"{"work_item_id":"WI-dev-2","reason":"duplicate"}"#)
                == nil)
        status["WI-dev-2"] = .cancelled
        #expect(try lease("WI-qa-2", "L6", ttl: 3_600_000) == nil)
        status["WI-qa-2"] = .leased

        // Decisions, one superseded.
        try s.raw([
            s.draft(
                "decision.recorded", task: "T-1", id: "D1",
                #"{"kind":"APPROACH","value":"reuse adapter","confidence":0.8}"#),
            s.draft(
                "decision.recorded", task: "T-1", id: "D2",
                #"{"kind":"GUARDRAIL_OVERRIDE","value":"allow_external_api","severity":"medium","approver":"human"}"#),
            s.draft("decision.recorded", task: "T-2", id: "D3", #"{"kind":"ESTIMATION_ADJUSTMENT","value":"x1.5"}"#),
            s.draft("decision.superseded", task: "T-1", #"{"decision_id":"D1","by":"D4"}"#),
            s.draft("decision.recorded", task: "T-1", id: "D4", #"{"kind":"APPROACH","value":"rewrite module"}"#),
        ])
        // Knowledge: KO-a consulted by two tasks that succeed and one that fails; KO-b once, no outcome yet.
        try s.raw([
            s.draft("ko.proposed", task: nil, #"{"ko_id":"KO-a","title":"JWT validation","tags":["auth"]}"#),
            s.draft("ko.approved", task: nil, #"{"ko_id":"KO-a"}"#),
            s.draft("ko.consulted", task: "T-1", #"{"ko_id":"KO-a","rank":1}"#),
            s.draft("ko.consulted", task: "T-2", #"{"ko_id":"KO-a","rank":2}"#),
            s.draft("ko.consulted", task: "T-3", #"{"ko_id":"KO-a","rank":1}"#),
            s.draft("ko.consulted", task: "T-3", #"{"ko_id":"KO-b","rank":2}"#),
            s.draft("task.outcome", task: "T-1", #"{"success":true,"verdict":"PASS"}"#),
            s.draft("task.outcome", task: "T-2", #"{"success":true}"#),
            s.draft("task.outcome", task: "T-2", #"{"success":false}"#),  // nothing pending: credits nothing
            s.draft("ko.consulted", task: "T-4", #"{"ko_id":"KO-b","rank":1}"#),
            s.draft("task.outcome", task: "T-3", #"{"success":false}"#),
        ])
        // Sessions: three checkpoints, a fork from the first, one checkpoint on the fork.
        try s.raw([
            s.draft("session.started", task: "T-1", #"{"session_id":"S-1"}"#),
            s.draft(
                "session.checkpointed", task: "T-1",
                #"{"checkpoint_id":"C1","iteration":1,"verdict":"PARTIAL","state":{"step":1}}"#),
            s.draft("session.checkpointed", task: "T-1", #"{"checkpoint_id":"C2","iteration":2,"verdict":"FAIL"}"#),
            s.draft("session.checkpointed", task: "T-1", #"{"checkpoint_id":"C3","iteration":3,"verdict":"FAIL"}"#),
            s.draft(
                "session.forked", task: "T-1",
                #"{"from_checkpoint":"C1","reason":"C2 went the wrong way","branch":"retry"}"#),
            s.draft(
                "session.checkpointed", task: "T-1",
                #"{"checkpoint_id":"C4","iteration":2,"verdict":"PASS","state":{"step":2}}"#),
            // A duplicate id: refused, listed.
            s.draft("session.checkpointed", task: "T-1", #"{"checkpoint_id":"C4","iteration":3,"verdict":"PASS"}"#),
        ])
        // Usage: Anthropic counts cache reads on top of input; OpenAI inside it.
        try s.raw([
            s.draft(
                "usage.recorded", task: "T-1", actor: "claude-dev-1", team: "dev",
                #"{"provider":"anthropic","model":"claude-sonnet-4-5","usage":{"input_tokens":1000,"cache_read_input_tokens":4000,"output_tokens":500},"work_item_id":"WI-dev-1"}"#
            ),
            s.draft(
                "usage.recorded", task: "T-2", actor: "codex-a", team: "qa",
                #"{"provider":"openai","model":"gpt-5","usage":{"prompt_tokens":3000,"prompt_tokens_details":{"cached_tokens":1000},"completion_tokens":200},"usd":"0.01"}"#
            ),
        ])

        let e = try s.rebuild()
        for (id, st) in status { #expect(e.queue.items[id]?.status == st, "\(id)") }
        for (id, n) in retries { #expect(e.queue.items[id]?.retryCount == n, "\(id) retries") }
        for (id, tm) in team { #expect(e.queue.items[id]?.team == tm) }
        #expect(e.queue.items["WI-qa-1"]?.attempts == 2, "the rescue ended an attempt")
        #expect(e.queue.items["WI-ops-3"]?.errors == ["timeout after 600s", "lint failed"])
        #expect(e.queue.conflicts.isEmpty, "refused events never reached the log: \(e.queue.conflicts)")
        let claimableOps = e.queue.claimable(team: "ops", atMS: clock.now).map(\.id)
        #expect(claimableOps == ["WI-ops-1", "WI-ops-2"])

        #expect(e.decisions.decisions.count == 4)
        #expect(e.decisions.decisions.first { $0.eventID == "D1" }?.supersededBy == "D4")
        #expect(e.decisions.select(task: "T-1", kind: "APPROACH").map(\.value) == ["reuse adapter", "rewrite module"])

        let a = try #require(e.knowledge.kos["KO-a"])
        #expect((a.status, a.consultations, a.successes, a.failures) == (.approved, 3, 2, 1))
        #expect(abs(a.effectiveness - 3.0 / 5.0) < 1e-12)
        let b = try #require(e.knowledge.kos["KO-b"])
        #expect((b.consultations, b.successes, b.failures) == (2, 0, 1), "T-4's consultation awaits its outcome")
        #expect(e.knowledge.ranked().map(\.id) == ["KO-a", "KO-b"])

        let t = try #require(e.sessions.tasks["T-1"])
        #expect(t.checkpoints.map(\.id) == ["C1", "C2", "C3", "C4"])
        #expect(t.activeBranch == "retry")
        #expect(t.latest?.id == "C4" && t.latest?.parent == "C1" && t.latest?.iteration == 2)
        #expect(t.conflicts.count == 1 && t.conflicts[0].contains("C4"))
        #expect(t.checkpoints[0].stateHash == XXH3.hash(Array(#"{"step":1}"#.utf8)))

        let c = e.cost
        #expect(c.groups(.agent)["claude-dev-1"]?.input == 5000)
        #expect(c.groups(.agent)["claude-dev-1"]?.cached == 4000)
        // Sonnet: 1000 × $3 + 4000 × $0.30 + 500 × $15 per Mtok = $0.0117.
        #expect(c.groups(.agent)["claude-dev-1"]?.nanoUSD == 11_700_000)
        #expect(c.groups(.team)["qa"]?.input == 3000 && c.groups(.team)["qa"]?.cached == 1000)
        #expect(c.groups(.team)["qa"]?.usd == "0.010000")
        #expect(c.groups(.attempt)["WI-dev-1#1"]?.events == 1)

        // Incremental through snapshots equals the rebuild, byte for byte.
        let (inc, outcome) = try s.incremental()
        #expect(outcome.rebuiltBecause != nil, "first open has no snapshot")
        #expect(snapshotBytes(inc) == snapshotBytes(e))
        try s.raw([s.draft("decision.recorded", task: "T-9", id: "D5", #"{"kind":"APPROACH","value":"late"}"#)])
        let (inc2, outcome2) = try s.incremental()
        #expect(outcome2.rebuiltBecause == nil && outcome2.folded == 1)
        #expect(snapshotBytes(inc2) == snapshotBytes(try s.rebuild()))

        // The commands' policy: a few new events are folded in memory, the snapshots are not rewritten.
        let before = try fs.readFile(s.root + "/projections/decisions.snap")
        try s.raw([s.draft("decision.recorded", task: "T-9", id: "D6", #"{"kind":"APPROACH","value":"later"}"#)])
        let r = try s.reader()
        let (lazy, o3) = try ProjectionStore(paths: r.paths, fs: fs).open(r)
        #expect(o3.folded == 1 && lazy.decisions.decisions.last?.eventID == "D6")
        #expect(try fs.readFile(s.root + "/projections/decisions.snap") == before, "not rewritten for one event")
        #expect(snapshotBytes(lazy) == snapshotBytes(try s.rebuild()))
    }

    /// The benchmark workload's v1 shapes: transitions upcast to lease events, `ko.outcome` to
    /// `task.outcome`, `cost{}` to usage; an illegal v1 transition is stored and listed as a conflict.
    @Test func legacyWorkloadShapesAreUpcast() throws {
        let fs = SimulatedFileSystem(seed: 8)
        let s = try TestStore("legacy", fs: fs, clock: ManualClock())
        func t(_ item: String, _ from: String, _ to: String, err: String = "null") -> EventDraft {
            s.draft(
                "work_item.transitioned", task: "T-1",
                #"{"work_item_id":"\#(item)","project":"karematch","from":"\#(from)","to":"\#(to)","retry_count":0,"error":\#(err),"cost":{"tokens_in":100,"tokens_out":10,"usd":0.0005}}"#
            )
        }
        try s.raw([
            t("WI-1", "pending", "claimed"), t("WI-1", "claimed", "in_progress"),
            t("WI-1", "in_progress", "retrying", err: #""flaky""#), t("WI-1", "retrying", "claimed"),
            t("WI-1", "claimed", "in_progress"), t("WI-1", "in_progress", "completed"),
            t("WI-2", "pending", "claimed"), t("WI-2", "claimed", "in_progress"),
            t("WI-2", "in_progress", "failed", err: #""boom""#),
            t("WI-2", "claimed", "in_progress"),  // illegal: WI-2 is failed
            s.draft("ko.consulted", task: "T-1", #"{"ko_id":"KO-1","success":true}"#),
            s.draft("ko.outcome", task: "T-1", #"{"ko_id":"KO-1","success":true}"#),
        ])
        let e = try s.rebuild()
        #expect(e.queue.items["WI-1"]?.status == .completed)
        #expect(e.queue.items["WI-1"]?.attempts == 2)
        #expect(e.queue.items["WI-2"]?.status == .discarded, "a v1 failure is a dead letter")
        #expect(e.queue.conflicts.count == 1 && e.queue.conflicts[0].item == "WI-2")
        #expect(e.queue.conflicts[0].reason.contains("the item is failed"))
        #expect(e.knowledge.kos["KO-1"]?.successes == 1)
        #expect(e.cost.total.events == 10 && e.cost.total.nanoUSD == 5_000_000)
        #expect(e.cost.groups(.project)["karematch"]?.events == 10)
        #expect(e.cost.groups(.attempt)["WI-1#2"]?.events == 3)
        #expect(e.counts[.workItemTransitionedV1] == 10 && e.unused == 0)
    }

    /// Types the catalogue does not know are kept, counted and never folded.
    @Test func unknownTypesAreCountedNotDropped() throws {
        let s = try TestStore("unknown", fs: SimulatedFileSystem(seed: 9), clock: ManualClock())
        try s.raw([
            s.draft("agent.dreamed", task: "T-1", #"{"about":"sheep"}"#), s.draft("agent.dreamed", task: nil, "{}"),
        ])
        let e = try s.rebuild()
        #expect(e.unknownTypes == ["agent.dreamed": 2] && e.total == 2)
        #expect(try s.reader().history(stream: "task/T-1").count == 1)
    }

    /// Inputs the schemas allow, or that no schema checks at emit, never trap or skew the fold.
    @Test func hostileInputsNeverTrapTheFold() throws {
        let s = try TestStore("hostile", fs: SimulatedFileSystem(seed: 10), clock: ManualClock())
        let nfc = "Jos\u{E9}"
        let nfd = "Jose\u{301}"
        try s.raw([
            // Dollars and tokens far beyond Int64 nano-dollars: never a crash.
            s.draft(
                "usage.recorded", task: "T-1",
                #"{"provider":"anthropic","model":"claude-opus-4","usage":{"input_tokens":1,"output_tokens":1},"usd":10000000000}"#
            ),
            s.draft(
                "usage.recorded", task: "T-1",
                #"{"provider":"anthropic","model":"claude-opus-4","input_tokens":999999999999999999,"output_tokens":999999999999999999}"#
            ),
            s.draft(
                "usage.recorded", task: "T-1",
                #"{"provider":"openai","model":"gpt-5","usage":{"prompt_tokens":10},"work_item_id":"WI-x","attempt":2000000000}"#
            ),
            // A usage block on a type the catalogue does not know still counts; a newer version of a known
            // type is kept and counted, not folded by v1 rules.
            s.draft("tool.called", task: "T-2", #"{"cost":{"tokens_in":5,"tokens_out":1,"usd":0.25}}"#),
            // The workload's exact `cost` shape has a fast path; any other order takes the general scanner.
            s.draft("tool.called", task: "T-2", #"{"cost":{"usd":"0.5","tokens_out":1,"tokens_in":2}}"#),
            EventDraft(
                eventID: "v2", type: "work_item.enqueued", typeVersion: 2, stream: "task/T-3",
                payload: Array(#"{"work_item_id":"WI-v2"}"#.utf8)),
            // Canonically equivalent but different bytes: two agents, two buckets.
            s.draft("tool.called", task: "T-4", actor: nfc, #"{"cost":{"tokens_in":1,"tokens_out":0,"usd":1}}"#),
            s.draft("tool.called", task: "T-4", actor: nfd, #"{"cost":{"tokens_in":2,"tokens_out":0,"usd":2}}"#),
            // An iteration run again without a checkpoint id gets the next free id.
            s.draft("session.checkpointed", task: "T-5", #"{"iteration":5,"verdict":"FAIL"}"#),
            s.draft("session.checkpointed", task: "T-5", #"{"iteration":5,"verdict":"PASS"}"#),
        ])
        let e = try s.rebuild()
        // The absurd `usd` is not believed, so the price table prices that event (1 + 1 opus tokens); the
        // overflowing token counts have no price.
        #expect(e.cost.total.events == 7 && e.cost.total.unpriced == 1, "\(e.cost.total)")
        #expect(e.cost.total.nanoUSD == (15_000 + 75_000) + 10 * 1250 + 250_000_000 + 500_000_000 + 3_000_000_000)
        #expect(e.cost.groups(.task)["T-2"]?.input == 7 && e.cost.groups(.task)["T-2"]?.output == 2)
        #expect(e.cost.groups(.attempt)["WI-x#0"]?.events == 1, "an attempt the queue never granted is not believed")
        #expect(e.unknownTypes == ["tool.called": 4, "work_item.enqueued v2": 1])
        #expect(e.queue.item("WI-v2") == nil)
        let agents = e.cost.breakdown(.agent).map(\.key)
        #expect(agents.filter { $0.unicodeScalars.elementsEqual(nfc.unicodeScalars) }.count == 1)
        #expect(agents.filter { $0.unicodeScalars.elementsEqual(nfd.unicodeScalars) }.count == 1)
        #expect(e.sessions.task("T-5")?.checkpoints.map(\.id) == ["i5", "i5-2"])
        let (inc, _) = try s.incremental()
        #expect(snapshotBytes(inc) == snapshotBytes(e))
        let (again, o) = try s.incremental()
        #expect(o.rebuiltBecause == nil, "the snapshot with both spellings decodes: \(o)")
        #expect(snapshotBytes(again) == snapshotBytes(e))
    }
}
