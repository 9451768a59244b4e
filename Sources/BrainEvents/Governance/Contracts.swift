// Governance contracts (issue 6): rules a store enforces on the events it appends, read from
// `.aibrain/contracts.yaml` (schemas/FORMAT.md, "contracts.yaml"; schemas/contracts.schema.json).
// Nothing is enforced until that file exists; `aibrain init` writes none. Parsing is in
// Contracts+YAML.swift, evaluation in Contracts+Check.swift.

/// The rules of one contracts file, checked and ready to evaluate.
public struct Contracts: Sendable, Equatable {
    /// The file's name inside the store directory.
    public static let fileName = "contracts.yaml"
    /// The one format version this build reads.
    public static let currentVersion = 1
    /// Who counts as an agent when `agent_patterns` is left out: the actor names our agents use.
    public static let defaultAgentPatterns = ["agent:*", "claude-*", "gpt-*", "*-bot"].map { ActorPattern($0) }

    public var version: Int
    /// Actor names that are agents, never human approvers (`*` any run of characters, `?` one; ASCII case
    /// ignored).
    public var agentPatterns: [ActorPattern]
    public var rules: [GovernanceRule]

    public init(
        version: Int = currentVersion, agentPatterns: [ActorPattern] = defaultAgentPatterns, rules: [GovernanceRule]
    ) {
        self.version = version
        self.agentPatterns = agentPatterns
        self.rules = rules
    }

    /// The first agent pattern `name` matches, or nil.
    public func agentPattern(matching name: String) -> ActorPattern? {
        agentPatterns.first { $0.matches(name) }
    }

    /// Whether an actor is an agent: it matches an agent pattern, or it is empty (an actor nobody named is
    /// not known to be a human, so leaving `actor` out never escapes an autonomy rule).
    public func isAgent(actor: String) -> Bool {
        let name = actor.trimmingASCIIWhitespace()
        return name.isEmpty || agentPattern(matching: name) != nil
    }

    /// Why `approver` is not a human approver of an event by `actor`, or nil when it is one.
    ///
    /// A human approver is a `data.approver` that is (1) a string, (2) not empty once white space is trimmed,
    /// (3) matched by no agent pattern, and (4) not the event's own actor (ASCII case ignored): nobody
    /// approves their own decision.
    public func approverProblem(_ approver: ApproverField, actor: String) -> String? {
        switch approver {
        case .absent: return "it has none"
        case .notAString: return "data.approver is not a string"
        case .string(let raw):
            let name = raw.trimmingASCIIWhitespace()
            if name.isEmpty { return "data.approver is empty" }
            // A value the PII gate replaced (`--pii-policy redact`) names nobody: it approves nothing.
            if name.hasPrefix(PIIGate.redactedValue("").dropLast()) {
                return
                    "data.approver was redacted by the PII gate (record a pseudonymous approver id, not personal data)"
            }
            // The approver is named by its role only, never quoted: under `--pii-policy warn` it may hold
            // what the gate flagged.
            if let p = agentPattern(matching: name) {
                return "data.approver is an agent (it matches the agent pattern \(p.text))"
            }
            if name.lowercasedASCII() == actor.trimmingASCIIWhitespace().lowercasedASCII() {
                return "data.approver is the event's own actor (nobody approves their own decision)"
            }
            return nil
        }
    }
}

/// What a payload holds in `approver`.
public enum ApproverField: Sendable, Equatable {
    case absent
    case notAString
    case string(String)
}

/// One rule: an id (shown in errors), why it exists, which events it looks at, and what it demands.
public struct GovernanceRule: Sendable, Equatable {
    public var id: String
    public var description: String
    public var match: RuleMatch
    public var kind: Kind

    public enum Kind: Sendable, Equatable {
        /// Matching events need a human approver (`Contracts.approverProblem`).
        case requireApprover
        /// What an agent may record without approval, by team.
        case autonomy(AutonomyPolicy)
    }

    /// The `kind` spellings of the file, in the order errors list them.
    public static let kindNames = ["require_approver", "autonomy"]

    public init(id: String, description: String, match: RuleMatch = RuleMatch(), kind: Kind) {
        self.id = id
        self.description = description
        self.match = match
        self.kind = kind
    }
}

/// Which events a rule looks at. Every condition given must hold; one left out holds for all events.
public struct RuleMatch: Sendable, Equatable {
    /// Event types (`*` any run of characters): `decision.recorded` when left out.
    public var types: [ActorPattern]
    /// The payload's `kind` (decision kinds such as `GUARDRAIL_OVERRIDE`); nil: any kind.
    public var decisionKinds: [String]?
    /// The lowest `data.severity` the rule applies to; nil: any severity, or none. An event without a
    /// severity (or with one the catalogue does not know) counts as `critical`: leaving it out never
    /// escapes a threshold.
    public var minSeverity: Severity?
    /// The envelope's `team`; nil: every team.
    public var teams: [String]?

    public static let defaultTypes = [ActorPattern("decision.recorded")]

    public init(
        types: [ActorPattern] = defaultTypes, decisionKinds: [String]? = nil, minSeverity: Severity? = nil,
        teams: [String]? = nil
    ) {
        self.types = types
        self.decisionKinds = decisionKinds
        self.minSeverity = minSeverity
        self.teams = teams
    }
}

/// Autonomy levels: per team, which decision kinds an agent may record without a human approver.
public struct AutonomyPolicy: Sendable, Equatable {
    /// Level name → what it allows. The file's `levels` replace the defaults of the same name.
    public var levels: [String: AutonomyLevel]
    /// Team → level name.
    public var teams: [String: String]
    /// The level of a team `teams` does not list (and of events without a team).
    public var defaultLevel: String

    /// L0.5: nothing without approval. L1: APPROACH and ESTIMATION_ADJUSTMENT. L2: every kind, but a
    /// GUARDRAIL_OVERRIDE only up to severity medium (high and critical need approval).
    public static let defaultLevels: [String: AutonomyLevel] = [
        "L0.5": AutonomyLevel(allow: []),
        "L1": AutonomyLevel(allow: ["APPROACH", "ESTIMATION_ADJUSTMENT"]),
        "L2": AutonomyLevel(allow: [AutonomyLevel.anyKind], maxSeverity: ["GUARDRAIL_OVERRIDE": .medium]),
    ]
    public static let defaultLevelName = "L0.5"

    public init(
        levels: [String: AutonomyLevel] = defaultLevels, teams: [String: String] = [:],
        defaultLevel: String = defaultLevelName
    ) {
        self.levels = levels
        self.teams = teams
        self.defaultLevel = defaultLevel
    }

    /// The level name that applies to `team`.
    public func levelName(forTeam team: String) -> String { teams[team] ?? defaultLevel }
}

/// What one autonomy level lets an agent record on its own.
public struct AutonomyLevel: Sendable, Equatable {
    /// In `allow`: every kind.
    public static let anyKind = "*"

    /// Decision kinds allowed without approval (`*`: all).
    public var allow: [String]
    /// Kind → the highest severity allowed without approval (an event without a severity counts as
    /// critical).
    public var maxSeverity: [String: Severity]

    public init(allow: [String], maxSeverity: [String: Severity] = [:]) {
        self.allow = allow
        self.maxSeverity = maxSeverity
    }

    /// Whether an agent may record a decision of `kind` and `severity` without approval.
    public func permits(kind: String, severity: Severity?) -> Bool {
        guard allow.contains(Self.anyKind) || allow.contains(kind) else { return false }
        guard let cap = maxSeverity[kind] else { return true }
        return (severity ?? .critical).order <= cap.order
    }
}

/// A name pattern: `*` matches any run of characters, `?` one character, anything else itself (ASCII
/// case ignored).
public struct ActorPattern: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    private let folded: [UInt8]

    public init(_ text: String) {
        self.text = text
        folded = Array(text.lowercasedASCII().utf8)
    }

    public var description: String { text }

    public func matches(_ name: String) -> Bool {
        let s = Array(name.lowercasedASCII().utf8)
        // Iterative glob with one backtrack point (the last `*`): linear in practice, no recursion.
        var p = 0
        var i = 0
        var star: Int?
        var resume = 0
        while i < s.count {
            if p < folded.count && (folded[p] == UInt8(ascii: "?") || folded[p] == s[i]) {
                p += 1
                i += 1
            } else if p < folded.count && folded[p] == UInt8(ascii: "*") {
                star = p
                resume = i
                p += 1
            } else if let st = star {
                p = st + 1
                resume += 1
                i = resume
            } else {
                return false
            }
        }
        while p < folded.count && folded[p] == UInt8(ascii: "*") { p += 1 }
        return p == folded.count
    }
}

extension Severity {
    /// low < medium < high < critical: the order of the schema's enum (`CaseIterable`).
    var order: Int { Severity.allCases.firstIndex(of: self)! }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let bytes = Array(utf8)
        let isSpace = { (c: UInt8) in c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = bytes.lastIndex(where: { !isSpace($0) })!
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    func lowercasedASCII() -> String {
        String(
            decoding: utf8.map { $0 &- UInt8(ascii: "A") < 26 ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
