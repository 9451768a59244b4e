import Foundation
import Testing
import Yams

@testable import BrainEvents
@testable import EventLog

/// Governance contracts (issue 6): `.aibrain/contracts.yaml` parsed strictly (each error names the file, the
/// line and the key path), its JSON Schema held to the same verdicts by Python's `jsonschema`, and the rules
/// evaluated on drafts: severity thresholds, what counts as a human approver, autonomy levels per team.
@Suite struct GovernanceTests {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let fixtureDirectory = root + "/fixtures/governance"

    static func parse(_ yaml: String) throws(ContractsError) -> Contracts {
        try Contracts.parse(yaml: yaml, file: "contracts.yaml")
    }

    static func draft(
        type: String = "decision.recorded", actor: String = "claude-qa-1", team: String = "qa", _ data: String
    ) -> EventDraft {
        EventDraft(eventID: "e1", type: type, actor: actor, team: team, payload: Array(data.utf8))
    }

    // MARK: Parsing

    @Test func thePinnedExampleParsesIntoTheDocumentedRules() throws {
        let c = try #require(try Contracts.load(storeDirectory: Self.fixtureDirectory))
        #expect(c.version == 1)
        #expect(c.agentPatterns.map(\.text) == ["agent:*", "claude-*", "gpt-*", "*-bot"])
        #expect(c.rules.map(\.id) == ["override-needs-human", "team-autonomy"])
        let override = c.rules[0]
        #expect(override.kind == .requireApprover)
        #expect(override.match.types.map(\.text) == ["decision.recorded"])
        #expect(override.match.decisionKinds == ["GUARDRAIL_OVERRIDE"])
        #expect(override.match.minSeverity == .medium)
        guard case .autonomy(let policy) = c.rules[1].kind else {
            Issue.record("team-autonomy is not an autonomy rule")
            return
        }
        #expect(policy.levels == AutonomyPolicy.defaultLevels, "the example spells out the defaults")
        #expect(policy.teams == ["dev": "L2", "qa": "L1", "research": "L0.5"])
        #expect(policy.defaultLevel == "L1")
    }

    @Test func noContractsFileMeansNothingIsEnforced() throws {
        #expect(try Contracts.load(storeDirectory: Self.root + "/fixtures") == nil)
    }

    @Test func leftOutPartsTakeTheirDocumentedDefaults() throws {
        let c = try Self.parse(
            """
            version: 1
            rules:
              - id: autonomy
                kind: autonomy
                description: by team
                match: {}
            """)
        #expect(c.agentPatterns == Contracts.defaultAgentPatterns)
        guard case .autonomy(let policy) = c.rules[0].kind else {
            Issue.record("the rule is not an autonomy rule")
            return
        }
        #expect(c.rules[0].match == RuleMatch(types: [ActorPattern("decision.recorded")]))
        #expect(policy.levels == AutonomyPolicy.defaultLevels)
        #expect(policy.defaultLevel == "L0.5")
        #expect(policy.levels["L1"]?.allow == ["APPROACH", "ESTIMATION_ADJUSTMENT"])
        #expect(policy.levels["L2"]?.maxSeverity == ["GUARDRAIL_OVERRIDE": .medium])
    }

    struct BadFile: CustomStringConvertible, Sendable {
        var name: String
        var yaml: String
        var code: ContractsError.Code
        var line: Int?
        var keyPath: String
        var reason: String
        var description: String { name }
    }

    static let rule = """
        version: 1
        rules:
          - id: override-needs-human
            kind: require_approver
            description: overrides need a human
            match:
              decision_kind: GUARDRAIL_OVERRIDE

        """

    static let badFiles: [BadFile] = [
        BadFile(
            name: "unknown top-level key", yaml: "version: 1\nrule: []\n", code: .invalid, line: 2, keyPath: "rule",
            reason: "unknown key `rule` in the document"),
        BadFile(
            name: "no version", yaml: "rules: []\n", code: .invalid, line: 1, keyPath: "", reason: "no `version`"),
        BadFile(
            name: "version as a string", yaml: "version: \"1\"\nrules: []\n", code: .invalid, line: 1,
            keyPath: "version", reason: "expected an integer, found the string \"1\""),
        BadFile(
            name: "a later version", yaml: "version: 2\nrules: []\n", code: .invalid, line: 1, keyPath: "version",
            reason: "version 2 is not one this aibrain reads"),
        BadFile(
            name: "rules not a list", yaml: "version: 1\nrules:\n  a: 1\n", code: .invalid, line: 3, keyPath: "rules",
            reason: "expected a list of rules, found a mapping"),
        BadFile(
            name: "unknown rule kind", yaml: rule.replacingOccurrences(of: "require_approver", with: "require_aprover"),
            code: .invalid, line: 4, keyPath: "rules[0].kind",
            reason: "unknown rule kind \"require_aprover\" (expected require_approver or autonomy)"),
        BadFile(
            name: "unknown severity", yaml: rule + "      min_severity: severe\n", code: .invalid, line: 8,
            keyPath: "rules[0].match.min_severity",
            reason: "unknown severity \"severe\" (expected low, medium, high, critical, lowest first)"),
        BadFile(
            name: "unknown match key", yaml: rule + "      severity: high\n", code: .invalid, line: 8,
            keyPath: "rules[0].match.severity", reason: "unknown key `severity` in a match"),
        BadFile(
            name: "lower-case decision kind",
            yaml: rule.replacingOccurrences(of: "GUARDRAIL_OVERRIDE", with: "override"),
            code: .invalid, line: 7, keyPath: "rules[0].match.decision_kind",
            reason: "\"override\" is not a decision kind"),
        BadFile(
            name: "autonomy key on a require_approver rule", yaml: rule + "    default_level: L1\n", code: .invalid,
            line: 8, keyPath: "rules[0].default_level",
            reason: "unknown key `default_level` in a require_approver rule (it belongs to autonomy rules)"),
        BadFile(
            name: "no description",
            yaml: rule.replacingOccurrences(of: "    description: overrides need a human\n", with: ""),
            code: .invalid, line: 3, keyPath: "rules[0]", reason: "the rule has no `description`"),
        BadFile(
            name: "a rule id used twice", yaml: rule + rule.split(separator: "\n").dropFirst(2).joined(separator: "\n"),
            code: .invalid, line: 8, keyPath: "rules[1].id",
            reason: "rule id override-needs-human is already used by the rule at line 3"),
        BadFile(
            name: "unknown level of a team",
            yaml: """
                version: 1
                rules:
                  - id: autonomy
                    kind: autonomy
                    description: by team
                    match: {}
                    teams:
                      dev: L3
                """, code: .invalid, line: 8, keyPath: "rules[0].teams.dev",
            reason: "unknown autonomy level \"L3\" (defined: L0.5, L1, L2)"),
        BadFile(
            name: "unknown default level",
            yaml: """
                version: 1
                rules:
                  - id: autonomy
                    kind: autonomy
                    description: by team
                    match: {}
                    default_level: full
                """, code: .invalid, line: 7, keyPath: "rules[0].default_level",
            reason: "unknown autonomy level \"full\""),
        BadFile(
            name: "a cap on a kind the level does not allow",
            yaml: """
                version: 1
                rules:
                  - id: autonomy
                    kind: autonomy
                    description: by team
                    match: {}
                    levels:
                      L1:
                        allow: [APPROACH]
                        max_severity: {GUARDRAIL_OVERRIDE: low}
                """, code: .invalid, line: 10, keyPath: "rules[0].levels.L1.max_severity.GUARDRAIL_OVERRIDE",
            reason: "the level does not allow GUARDRAIL_OVERRIDE at all"),
        BadFile(
            name: "a level without allow",
            yaml: """
                version: 1
                rules:
                  - id: autonomy
                    kind: autonomy
                    description: by team
                    match: {}
                    levels:
                      L3: {}
                """, code: .invalid, line: 8, keyPath: "rules[0].levels.L3", reason: "the level has no `allow` list"),
        BadFile(
            name: "not YAML", yaml: "version: 1\nrules: [\n  - id: x\n", code: .syntax, line: 3, keyPath: "",
            reason: "not valid YAML"),
        BadFile(
            name: "a duplicate key", yaml: "version: 1\nversion: 1\nrules: []\n", code: .syntax, line: 1,
            keyPath: "", reason: "duplicate key `version` in one mapping"),
        BadFile(
            name: "empty", yaml: "# nothing\n", code: .invalid, line: nil, keyPath: "", reason: "the file is empty"),
    ]

    @Test(arguments: badFiles) func aBrokenFileIsAnErrorNamingTheFileTheLineAndTheKey(_ bad: BadFile) {
        do throws(ContractsError) {
            _ = try Self.parse(bad.yaml)
            Issue.record("\(bad.name): accepted")
        } catch {
            #expect(error.code == bad.code, "\(error)")
            #expect(error.file == "contracts.yaml")
            #expect(error.line == bad.line, "\(error)")
            #expect(error.keyPath == bad.keyPath, "\(error)")
            #expect(error.reason.contains(bad.reason), "\(error)")
            #expect(error.description.hasPrefix("contracts.yaml" + (bad.line.map { ":\($0):" } ?? ":")), "\(error)")
            #expect(!error.hint.isEmpty)
        }
    }

    @Test func aFileThatIsNotUTF8IsUnreadable() {
        #expect(throws: ContractsError.self) { try Contracts.parse([0x76, 0xFF, 0xFE], file: "contracts.yaml") }
    }

    // MARK: The schema

    /// Each file of the table, as the JSON tree YAML reads into (through Yams, so no Python YAML module is
    /// needed), judged by Python's jsonschema against schemas/contracts.schema.json; the parser must agree.
    /// (Two checks only the parser makes are left out: levels referenced but not defined, and a cap on a kind
    /// the level does not allow.)
    @Test func theSchemaAndTheParserAgree() throws {
        let onlyTheParser = [
            "unknown level of a team", "unknown default level", "a cap on a kind the level does not allow",
            "a rule id used twice",
        ]
        var rows: [(name: String, yaml: String)] = [
            ("fixture", try String(contentsOfFile: Self.fixtureDirectory + "/contracts.yaml", encoding: .utf8))
        ]
        rows += Self.badFiles.filter { $0.code == .invalid && $0.line != nil && !onlyTheParser.contains($0.name) }
            .map { ($0.name, $0.yaml) }
        var table = ""
        for row in rows {
            let tree = try #require(try Yams.load(yaml: row.yaml), "\(row.name)")
            let event = try JSONSerialization.data(withJSONObject: Self.jsonTree(tree))
            let valid = (try? Self.parse(row.yaml)) != nil
            table +=
                #"{"name":"\#(row.name)","valid":\#(valid),"event":"# + String(decoding: event, as: UTF8.self) + "}\n"
        }
        let python = try requirePython()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [
            Self.root + "/Tests/AIBrainCLITests/schema_check.py", Self.root + "/schemas/contracts.schema.json",
            "/dev/stdin",
        ]
        let input = Pipe()
        let out = Pipe()
        let err = Pipe()
        p.standardInput = input
        p.standardOutput = out
        p.standardError = err
        try p.run()
        input.fileHandleForWriting.write(Data(table.utf8))
        try input.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(
            p.terminationStatus == 0, "schema_check.py failed (python3-jsonschema missing? run `make deps`): \(errors)")
        var verdicts: [String: Bool] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "\t")
            verdicts[String(parts[0])] = parts[1] == "true"
        }
        #expect(verdicts.count == rows.count)
        #expect(verdicts["fixture"] == true, "the pinned example is valid under the schema")
        for row in rows {
            let parser = (try? Self.parse(row.yaml)) != nil
            #expect(
                verdicts[row.name] == parser,
                "\(row.name): jsonschema \(String(describing: verdicts[row.name])), parser \(parser)")
        }
    }

    /// Yams' tree with string keys, as JSONSerialization wants it.
    static func jsonTree(_ value: Any) -> Any {
        if let m = value as? [AnyHashable: Any] {
            return Dictionary(uniqueKeysWithValues: m.map { ("\($0.key.base)", jsonTree($0.value)) })
        }
        if let a = value as? [Any] { return a.map(jsonTree) }
        return value
    }

    /// python3 on PATH, or a failure naming it (never a skip).
    func requirePython() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/python3") {
            return "\(dir)/python3"
        }
        throw CocoaError(
            .fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "python3 is not installed: run `make deps`"])
    }

    // MARK: require_approver

    static let overrideRule = """
        version: 1
        rules:
          - id: override-needs-human
            kind: require_approver
            description: overrides need a human
            match:
              type: decision.recorded
              decision_kind: GUARDRAIL_OVERRIDE
              min_severity: medium
        """

    @Test(arguments: [
        ("low", false), ("medium", true), ("high", true), ("critical", true),
    ])
    func theSeverityThresholdIsInclusive(_ severity: String, _ refused: Bool) throws {
        let c = try Self.parse(Self.overrideRule)
        let v = c.violations(for: Self.draft(#"{"kind":"GUARDRAIL_OVERRIDE","value":"x","severity":"\#(severity)"}"#))
        #expect(!v.isEmpty == refused, "\(v)")
        if refused {
            #expect(v.map(\.ruleID) == ["override-needs-human"])
            #expect(v[0].field == "data.approver")
            #expect(
                v[0].description
                    == "rule override-needs-human: GUARDRAIL_OVERRIDE of severity \(severity) needs a human approver (field data.approver): it has none"
            )
        }
    }

    @Test func noSeverityOrAnUnknownOneCountsAsCritical() throws {
        let c = try Self.parse(Self.overrideRule)
        let none = c.violations(for: Self.draft(#"{"kind":"GUARDRAIL_OVERRIDE","value":"x"}"#))
        #expect(none.first?.reason.hasPrefix("GUARDRAIL_OVERRIDE without a severity (counted as critical)") == true)
        let odd = c.violations(for: Self.draft(#"{"kind":"GUARDRAIL_OVERRIDE","value":"x","severity":"HIGH"}"#))
        #expect(
            odd.first?.reason.hasPrefix("GUARDRAIL_OVERRIDE of unknown severity HIGH (counted as critical)") == true)
    }

    @Test(
        arguments: [
            (#""approver":"alice""#, nil),
            (#""approver":"  Tech Lead  ""#, nil),
            ("", "it has none"),
            (#""approver":"""#, "data.approver is empty"),
            (#""approver":"   ""#, "data.approver is empty"),
            (#""approver":7"#, "data.approver is not a string"),
            (#""approver":"claude-qa-1""#, "data.approver is an agent (it matches the agent pattern claude-*)"),
            (#""approver":"Claude-Lead""#, "data.approver is an agent (it matches the agent pattern claude-*)"),
            (#""approver":"[redacted: email]""#, "data.approver was redacted by the PII gate"),
            (#""approver":"agent:reviewer""#, "is an agent (it matches the agent pattern agent:*)"),
            (#""approver":"deploy-bot""#, "is an agent (it matches the agent pattern *-bot)"),
            (#""approver":"gpt-4o""#, "is an agent (it matches the agent pattern gpt-*)"),
        ] as [(String, String?)])
    func aHumanApproverIsPresentNotEmptyAndNoAgent(_ member: String, _ problem: String?) throws {
        let c = try Self.parse(Self.overrideRule)
        let data =
            #"{"kind":"GUARDRAIL_OVERRIDE","value":"x","severity":"high""# + (member.isEmpty ? "" : "," + member) + "}"
        let v = c.violations(for: Self.draft(data))
        if let problem {
            #expect(v.count == 1 && v[0].reason.contains(problem), "\(v)")
        } else {
            #expect(v.isEmpty, "\(v)")
        }
    }

    @Test func selfApprovalIsRefused() throws {
        let c = try Self.parse(Self.overrideRule)
        let data = #"{"kind":"GUARDRAIL_OVERRIDE","value":"x","severity":"high","approver":"ALICE "}"#
        let v = c.violations(for: Self.draft(actor: "alice", data))
        #expect(
            v.first?.reason.hasSuffix("data.approver is the event's own actor (nobody approves their own decision)")
                == true
        )
        #expect(c.violations(for: Self.draft(actor: "bob", data)).isEmpty)
    }

    @Test func agentPatternsAreConfigurable() throws {
        let c = try Self.parse(
            Self.overrideRule.replacingOccurrences(of: "rules:", with: "agent_patterns: [\"svc-?\"]\nrules:"))
        let data = { (a: String) in #"{"kind":"GUARDRAIL_OVERRIDE","value":"x","severity":"high","approver":"\#(a)"}"# }
        #expect(c.violations(for: Self.draft(actor: "x", data("svc-1"))).count == 1)
        #expect(c.violations(for: Self.draft(actor: "x", data("svc-12"))).isEmpty, "? is one character")
        #expect(c.violations(for: Self.draft(actor: "x", data("claude-lead"))).isEmpty, "the defaults are replaced")
    }

    @Test func otherTypesKindsAndTeamsAreNotMatched() throws {
        let c = try Self.parse(Self.overrideRule + "\n      teams: [qa, dev]\n")
        #expect(c.violations(for: Self.draft(#"{"kind":"APPROACH","value":"x","severity":"high"}"#)).isEmpty)
        #expect(c.violations(for: Self.draft(type: "decision.superseded", #"{"decision_id":"d1"}"#)).isEmpty)
        #expect(c.violations(for: Self.draft(team: "ops", #"{"kind":"GUARDRAIL_OVERRIDE","value":"x"}"#)).isEmpty)
        #expect(c.violations(for: Self.draft(team: "dev", #"{"kind":"GUARDRAIL_OVERRIDE","value":"x"}"#)).count == 1)
        let glob = try Self.parse(
            Self.overrideRule.replacingOccurrences(of: "type: decision.recorded", with: "type: \"decision.*\""))
        #expect(glob.violations(for: Self.draft(#"{"kind":"GUARDRAIL_OVERRIDE","value":"x"}"#)).count == 1)
    }

    // MARK: autonomy

    static let autonomy = """
        version: 1
        rules:
          - id: team-autonomy
            kind: autonomy
            description: by team
            match: {type: decision.recorded}
            teams: {dev: L2, qa: L1, research: L0.5}
            default_level: L1
        """

    @Test(
        arguments: [
            // team, kind, severity, refused
            ("dev", "APPROACH", nil, false),
            ("dev", "CUSTOM_KIND", nil, false),
            ("dev", "GUARDRAIL_OVERRIDE", "medium", false),
            ("dev", "GUARDRAIL_OVERRIDE", "high", true),
            ("dev", "GUARDRAIL_OVERRIDE", nil, true),
            ("qa", "APPROACH", nil, false),
            ("qa", "ESTIMATION_ADJUSTMENT", "low", false),
            ("qa", "GUARDRAIL_OVERRIDE", "low", true),
            ("research", "APPROACH", nil, true),
            ("ops", "APPROACH", nil, false),
            ("ops", "GUARDRAIL_OVERRIDE", "low", true),
            ("", "GUARDRAIL_OVERRIDE", "low", true),
        ] as [(String, String, String?, Bool)])
    func anAgentRecordsOnItsOwnOnlyWhatItsTeamsLevelAllows(
        _ team: String, _ kind: String, _ severity: String?, _ refused: Bool
    ) throws {
        let c = try Self.parse(Self.autonomy)
        let s = severity.map { #","severity":"\#($0)""# } ?? ""
        let d = Self.draft(team: team, #"{"kind":"\#(kind)","value":"x"\#(s)}"#)
        let v = c.violations(for: d)
        #expect(!v.isEmpty == refused, "\(team) \(kind) \(severity ?? "-"): \(v)")
        if refused {
            #expect(v[0].ruleID == "team-autonomy" && v[0].field == "data.approver")
            // With a human approver the agent may record it.
            let approved = Self.draft(team: team, #"{"kind":"\#(kind)","value":"x"\#(s),"approver":"alice"}"#)
            #expect(c.violations(for: approved).isEmpty)
        }
    }

    @Test func theAutonomyMessageNamesTheTeamItsLevelAndWhatItAllows() throws {
        let c = try Self.parse(Self.autonomy)
        let qa = c.violations(for: Self.draft(#"{"kind":"GUARDRAIL_OVERRIDE","value":"x","severity":"low"}"#))
        #expect(
            qa.first?.description
                == "rule team-autonomy: team qa is at autonomy level L1, where an agent records APPROACH, ESTIMATION_ADJUSTMENT without approval: GUARDRAIL_OVERRIDE of severity low by agent \"claude-qa-1\" needs a human approver (field data.approver): it has none"
        )
        let ops = c.violations(for: Self.draft(team: "ops", #"{"kind":"X","value":"x"}"#))
        #expect(
            ops.first?.reason.hasPrefix("team ops is not listed, so it is at the default autonomy level L1") == true)
        let dev = c.violations(
            for: Self.draft(team: "dev", #"{"kind":"GUARDRAIL_OVERRIDE","value":"x","severity":"high"}"#))
        #expect(dev.first?.reason.contains("every kind (GUARDRAIL_OVERRIDE up to medium)") == true)
    }

    @Test func autonomyLimitsAgentsNotHumansAndAnUnnamedActorIsAnAgent() throws {
        let c = try Self.parse(Self.autonomy)
        let override = #"{"kind":"GUARDRAIL_OVERRIDE","value":"x","severity":"critical"}"#
        #expect(c.violations(for: Self.draft(actor: "alice", team: "research", override)).isEmpty)
        let unnamed = c.violations(for: Self.draft(actor: "", team: "research", override))
        #expect(unnamed.count == 1 && unnamed[0].reason.contains("by an unnamed actor (counted as an agent)"))
        #expect(c.violations(for: Self.draft(actor: "agent:planner", team: "research", override)).count == 1)
    }

    @Test func levelsInTheFileReplaceTheDefaultsOfTheSameName() throws {
        let c = try Self.parse(
            Self.autonomy + """

                    levels:
                      L1: {allow: [APPROACH, CUSTOM_KIND]}
                      L3: {allow: ["*"]}
                """)
        guard case .autonomy(let p) = c.rules[0].kind else {
            Issue.record("the rule is not an autonomy rule")
            return
        }
        #expect(p.levels["L1"] == AutonomyLevel(allow: ["APPROACH", "CUSTOM_KIND"]))
        #expect(p.levels["L2"] == AutonomyPolicy.defaultLevels["L2"])
        #expect(p.levels["L3"] == AutonomyLevel(allow: ["*"]))
        #expect(c.violations(for: Self.draft(#"{"kind":"ESTIMATION_ADJUSTMENT","value":"x"}"#)).count == 1)
        #expect(c.violations(for: Self.draft(#"{"kind":"CUSTOM_KIND","value":"x"}"#)).isEmpty)
    }

    @Test func bothRulesOfTheExampleReportTogether() throws {
        let c = try #require(try Contracts.load(storeDirectory: Self.fixtureDirectory))
        let v = c.violations(for: Self.draft(#"{"kind":"GUARDRAIL_OVERRIDE","value":"x","severity":"high"}"#))
        #expect(v.map(\.ruleID) == ["override-needs-human", "team-autonomy"])
    }

    @Test(arguments: [
        ("claude-*", "claude-dev-1", true), ("claude-*", "claude", false), ("*-bot", "deploy-bot", true),
        ("*-bot", "bot", false), ("a*b*c", "aXbYc", true), ("a*b*c", "aXbY", false), ("a?c", "abc", true),
        ("a?c", "ac", false), ("*", "", true), ("agent:*", "AGENT:x", true),
    ])
    func actorPatternsGlob(_ pattern: String, _ name: String, _ matches: Bool) {
        #expect(ActorPattern(pattern).matches(name) == matches)
    }
}
