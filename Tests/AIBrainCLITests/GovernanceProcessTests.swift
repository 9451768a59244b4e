import Foundation
import StorageTesting
import Testing

@testable import EventLog

/// Governance contracts enforced by `aibrain emit` (issue 6), through the real binary: exit 4 naming the rule
/// and nothing appended; `--batch` refused whole; `--stream` refusing only the line; no file, no rules; a
/// broken file refusing every append (exit 1) and naming the file and line. Serialized (`make test` runs
/// every *ProcessTests suite on its own).
@Suite(.serialized) struct GovernanceProcessTests {
    /// The pinned example (fixtures/governance/contracts.yaml) installed in a fresh store.
    func governedStore(_ name: String = #function, contracts: String? = nil) throws -> String {
        let (_, store) = try makeStore(name)
        let text =
            try contracts
            ?? String(contentsOfFile: packageRoot + "/fixtures/governance/contracts.yaml", encoding: .utf8)
        try PosixFileSystem().writeFileAtomically(store + "/contracts.yaml", Array(text.utf8))
        return store
    }

    /// The events the store holds (stats), to prove that a refusal appended nothing.
    func eventCount(_ store: String) throws -> Int {
        let stats = try aibrain(["stats", "-o", "json", "--store", store]).json()
        let origins = try #require(stats["origins"] as? [[String: Any]])
        return origins.reduce(0) { $0 + (($1["events"] as? NSNumber)?.intValue ?? 0) }
    }

    func override(_ severity: String, approver: String? = nil) -> String {
        #"{"kind":"GUARDRAIL_OVERRIDE","value":"allow_external_api","severity":"\#(severity)""#
            + (approver.map { #","approver":"\#($0)""# } ?? "") + "}"
    }

    func emit(_ store: String, data: String, actor: String = "claude-dev-1", team: String = "dev", json: Bool = false)
        throws -> CommandResult
    {
        try aibrain(
            [
                "emit", "decision.recorded", "--task", "TASK-1", "--data", data, "--actor", actor, "--team", team,
                "--store", store,
            ] + (json ? ["-o", "json"] : []))
    }

    @Test func anOverrideWithoutAHumanApproverExits4NamingTheRuleAndAppendsNothing() throws {
        let store = try governedStore()
        for severity in ["medium", "high", "critical"] {
            let r = try emit(store, data: override(severity))
            #expect(r.status == 4, "\(severity): \(r.stderr)")
            #expect(
                r.stderr.contains(
                    "rule override-needs-human: GUARDRAIL_OVERRIDE of severity \(severity) needs a human approver (field data.approver): it has none"
                ), "\(r.stderr)")
            #expect(r.stderr.contains("nothing was appended"))
        }
        // An agent or the actor itself is no human approver.
        #expect(try emit(store, data: override("high", approver: "claude-lead")).status == 4)
        #expect(try emit(store, data: override("high", approver: "alice"), actor: "alice").status == 4)
        #expect(try eventCount(store) == 0)

        let j = try emit(store, data: override("high"), json: true)
        #expect(j.status == 4)
        let error = try #require(try j.json()["error"] as? [String: Any])
        #expect(error["code"] as? String == "governance")
        #expect(error["rule"] as? String == "override-needs-human")
        #expect(error["field"] as? String == "data.approver")
        #expect(error["exit"] as? Int == 4)
        // Team dev is at L2, where an override above medium also needs approval: both rules are listed.
        let rules = (error["violations"] as? [[String: Any]])?.map { $0["rule"] as? String }
        #expect(rules == ["override-needs-human", "team-autonomy"])

        let ok = try emit(store, data: override("high", approver: "alice"))
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try emit(store, data: override("low")).status == 0, "below the threshold")
        #expect(try eventCount(store) == 2)
    }

    @Test func theTeamsAutonomyLevelLimitsAnAgent() throws {
        let store = try governedStore()
        let approach = #"{"kind":"APPROACH","value":"retry"}"#
        let r = try emit(store, data: approach, team: "research")
        #expect(r.status == 4)
        #expect(r.stderr.contains("rule team-autonomy: team research is at autonomy level L0.5"), "\(r.stderr)")
        #expect(try emit(store, data: approach, team: "qa").status == 0)
        #expect(try emit(store, data: approach, actor: "alice", team: "research").status == 0, "humans are not limited")
        #expect(try eventCount(store) == 2)
    }

    @Test func aBatchWithOneViolatingLineIsRefusedWhole() throws {
        let store = try governedStore()
        let lines = [
            #"{"type":"decision.recorded","task_id":"T-1","actor":"claude-dev-1","team":"dev","data":{"kind":"APPROACH","value":"a"}}"#,
            #"{"type":"decision.recorded","task_id":"T-1","actor":"claude-dev-1","team":"dev","data":\#(override("high"))}"#,
            #"{"type":"session.checkpointed","task_id":"T-1","actor":"claude-dev-1","team":"dev","checkpoint_id":"CP-1","iteration":1,"verdict":"PASS"}"#,
        ]
        let r = try aibrain(
            ["emit", "--batch", "-o", "json", "--store", store], stdin: lines.joined(separator: "\n") + "\n")
        #expect(r.status == 4, "\(r.stderr)")
        #expect(r.stderr.contains("stdin: line 2: rule override-needs-human"), "\(r.stderr)")
        #expect(r.stderr.contains("none of its events was appended"))
        let error = try #require(try r.json()["error"] as? [String: Any])
        #expect(error["code"] as? String == "governance" && error["line"] as? Int == 2)
        #expect(try eventCount(store) == 0)

        let fixed = lines[0] + "\n" + lines[1].replacingOccurrences(of: #""high""#, with: #""high","approver":"alice""#)
        #expect(try aibrain(["emit", "--batch", "--store", store], stdin: fixed + "\n" + lines[2] + "\n").status == 0)
        #expect(try eventCount(store) == 3)
    }

    @Test func aStreamRefusesOnlyTheViolatingLine() throws {
        let store = try governedStore()
        let input =
            [
                #"{"type":"decision.recorded","task_id":"T-1","actor":"claude-dev-1","team":"dev","data":{"kind":"APPROACH","value":"a"}}"#,
                #"{"type":"decision.recorded","task_id":"T-1","actor":"claude-dev-1","team":"dev","data":\#(override("critical"))}"#,
                #"{"type":"decision.recorded","task_id":"T-1","actor":"claude-dev-1","team":"dev","data":\#(override("medium", approver: "alice"))}"#,
            ].joined(separator: "\n") + "\n"
        let r = try aibrain(["emit", "--stream", "--store", store], stdin: input)
        #expect(r.status == 4, "the exit status is the worst line's: \(r.stderr)")
        let acks = try jsonLines(r.stdout)
        try #require(acks.map { $0["line"] as? Int } == [1, 2, 3], "\(r.stdout)")
        #expect(acks[0]["lsn"] as? Int == 1 && acks[2]["lsn"] as? Int == 2)
        let error = try #require(acks[1]["error"] as? [String: Any])
        #expect(error["code"] as? String == "governance" && error["rule"] as? String == "override-needs-human")
        #expect(error["exit"] as? Int == 4)
        #expect((error["message"] as? String)?.contains("GUARDRAIL_OVERRIDE of severity critical") == true)
        #expect(try eventCount(store) == 2)
    }

    @Test func withoutAContractsFileEverythingPasses() throws {
        let (_, store) = try makeStore()
        #expect(try emit(store, data: override("critical")).status == 0)
        #expect(try emit(store, data: #"{"kind":"APPROACH","value":"a"}"#, actor: "", team: "").status == 0)
        let line =
            #"{"type":"decision.recorded","task_id":"T-1","actor":"claude-dev-1","data":\#(override("high"))}"#
        #expect(try aibrain(["emit", "--batch", "--store", store], stdin: line + "\n").status == 0)
        #expect(try aibrain(["emit", "--stream", "--store", store], stdin: line + "\n").status == 0)
        #expect(try eventCount(store) == 4)
    }

    @Test func aRetryOfAStoredEventIsADuplicateNotARefusal() throws {
        let (_, store) = try makeStore()
        let args = [
            "emit", "decision.recorded", "--task", "T-1", "--event-id", "ovr-1", "--data", override("high"), "--actor",
            "claude-dev-1", "--store", store,
        ]
        #expect(try aibrain(args).status == 0)
        // The rules arrive after the event was stored: re-sending it is a no-op, as every retry is.
        try PosixFileSystem().writeFileAtomically(
            store + "/contracts.yaml",
            Array(try String(contentsOfFile: packageRoot + "/fixtures/governance/contracts.yaml", encoding: .utf8).utf8)
        )
        let again = try aibrain(args + ["-o", "json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try again.json()["duplicate"] as? Bool == true)
        #expect(try eventCount(store) == 1)
    }

    @Test func aBrokenContractsFileRefusesEveryAppendNamingTheFileAndLine() throws {
        let fixture = try String(contentsOfFile: packageRoot + "/fixtures/governance/contracts.yaml", encoding: .utf8)
        let broken = fixture.replacingOccurrences(of: "min_severity: medium", with: "min_severity: severe")
        let line =
            try #require(
                broken.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("severe") })
            + 1
        let store = try governedStore(contracts: broken)
        let approach = #"{"kind":"APPROACH","value":"a"}"#
        let r = try emit(store, data: approach)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains(store + "/contracts.yaml:\(line):"), "\(r.stderr)")
        #expect(r.stderr.contains("rules[0].match.min_severity: unknown severity \"severe\""), "\(r.stderr)")
        let j = try emit(store, data: approach, json: true)
        let error = try #require(try j.json()["error"] as? [String: Any])
        #expect(error["code"] as? String == "contracts-invalid" && error["line"] as? Int == line)
        let event = #"{"type":"decision.recorded","task_id":"T-1","data":\#(approach)}"#
        #expect(try aibrain(["emit", "--batch", "--store", store], stdin: event + "\n").status == 1)
        #expect(try aibrain(["emit", "--stream", "--store", store], stdin: event + "\n").status == 1)

        try PosixFileSystem().writeFileAtomically(store + "/contracts.yaml", Array("version: 1\nrules: [\n".utf8))
        let syntax = try emit(store, data: approach)
        #expect(syntax.status == 1)
        #expect(
            syntax.stderr.contains(store + "/contracts.yaml:3:") && syntax.stderr.contains("not valid YAML"),
            "\(syntax.stderr)")
        #expect(try eventCount(store) == 0)
    }
}
