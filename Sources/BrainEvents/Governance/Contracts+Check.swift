import EventLog

// Evaluating contracts on a draft: pure (no clock, no store), so the CLI can run it in the append's
// precondition under the writer lock and tests can run it on values.

/// One rule an event breaks: which rule, why, and the field that would satisfy it.
public struct Violation: Sendable, Equatable, CustomStringConvertible {
    public var ruleID: String
    /// What is missing, e.g. `GUARDRAIL_OVERRIDE of severity high needs a human approver (field
    /// data.approver): it has none`.
    public var reason: String
    /// The field that would satisfy the rule, as the input names it (`data.approver`).
    public var field: String

    public init(ruleID: String, reason: String, field: String) {
        self.ruleID = ruleID
        self.reason = reason
        self.field = field
    }

    public var description: String { "rule \(ruleID): \(reason)" }
}

extension Contracts {
    /// The rules `draft` breaks, in the file's order; empty when it may be appended.
    public func violations(for draft: EventDraft) -> [Violation] {
        let candidates = rules.filter { r in r.match.types.contains { $0.matches(draft.type) } }
        guard !candidates.isEmpty else { return [] }
        let fields = GovernedFields(payload: draft.payload)
        var out: [Violation] = []
        for rule in candidates where rule.match.admits(team: draft.team, fields) {
            switch rule.kind {
            case .requireApprover:
                guard let problem = approverProblem(fields.approver, actor: draft.actor) else { continue }
                let subject = fields.subject(type: draft.type, severityMatters: rule.match.minSeverity != nil)
                out.append(
                    Violation(
                        ruleID: rule.id,
                        reason: "\(subject) needs a human approver (field data.approver): \(problem)",
                        field: "data.approver"))
            case .autonomy(let policy):
                // Autonomy limits agents; a human records any kind (other rules may still want an approver).
                guard isAgent(actor: draft.actor) else { continue }
                let levelName = policy.levelName(forTeam: draft.team)
                // A level the file does not define cannot come from the parser; in code it allows nothing.
                let level = policy.levels[levelName] ?? AutonomyLevel(allow: [])
                let kind = fields.kind ?? ""
                if level.permits(kind: kind, severity: fields.severity) { continue }
                guard let problem = approverProblem(fields.approver, actor: draft.actor) else { continue }
                let who =
                    draft.team.isEmpty
                    ? "an event without a team is at the default autonomy level \(levelName)"
                    : policy.teams[draft.team] == nil
                        ? "team \(draft.team) is not listed, so it is at the default autonomy level \(levelName)"
                        : "team \(draft.team) is at autonomy level \(levelName)"
                let subject = fields.subject(type: draft.type, severityMatters: level.maxSeverity[kind] != nil)
                let by =
                    draft.actor.trimmingASCIIWhitespace().isEmpty
                    ? "by an unnamed actor (counted as an agent)" : "by agent \"\(draft.actor)\""
                out.append(
                    Violation(
                        ruleID: rule.id,
                        reason:
                            "\(who), where an agent records \(level.summary) without approval: \(subject) \(by) needs a "
                            + "human approver (field data.approver): \(problem)",
                        field: "data.approver"))
            }
        }
        return out
    }
}

extension RuleMatch {
    /// Whether the event's team and payload meet this match (its type was matched already).
    func admits(team: String, _ fields: GovernedFields) -> Bool {
        if let teams, !teams.contains(team) { return false }
        if let decisionKinds {
            guard let kind = fields.kind, decisionKinds.contains(kind) else { return false }
        }
        if let minSeverity, (fields.severity ?? .critical).order < minSeverity.order { return false }
        return true
    }
}

extension AutonomyLevel {
    /// `APPROACH, ESTIMATION_ADJUSTMENT`, `every kind (GUARDRAIL_OVERRIDE up to medium)`, `nothing`.
    var summary: String {
        let kinds =
            allow.contains(Self.anyKind)
            ? "every kind" : allow.isEmpty ? "nothing" : allow.joined(separator: ", ")
        let caps = maxSeverity.sorted { $0.key < $1.key }.map { "\($0.key) up to \($0.value.rawValue)" }
        return caps.isEmpty ? kinds : kinds + " (" + caps.joined(separator: ", ") + ")"
    }
}

/// The payload members governance reads: `kind`, `severity` and `approver` of `decision.recorded` v1
/// (schemas/events/decision.recorded.schema.json). v1 is the only shape of that type, so there is nothing
/// to upcast; a later version must be mapped here. Other types are read by the same member names.
struct GovernedFields {
    var kind: String?
    /// nil when absent or not one of the catalogue's severities (then it counts as critical).
    var severity: Severity?
    /// The text given, when it is not a known severity.
    var unknownSeverity: String?
    var approver: ApproverField = .absent

    init(payload: [UInt8]) {
        // The input layer accepted only a JSON object; anything else reads as an empty payload, which the
        // rules treat as strictly as possible (no approver, severity critical).
        guard let members = try? JSONScanner.members(of: payload) else { return }
        for m in members {
            switch m.key {
            case "kind": kind = JSONScanner.unescape(m.value)
            case "severity":
                let text = JSONScanner.unescape(m.value)
                severity = text.flatMap(Severity.init(rawValue:))
                if severity == nil { unknownSeverity = text ?? String(decoding: m.value, as: UTF8.self) }
            case "approver":
                approver = JSONScanner.unescape(m.value).map(ApproverField.string) ?? .notAString
            default: break
            }
        }
    }

    /// `GUARDRAIL_OVERRIDE of severity high`, `GUARDRAIL_OVERRIDE without a severity (counted as critical)`.
    func subject(type: String, severityMatters: Bool) -> String {
        let what = kind ?? "a \(type) event"
        if let severity { return "\(what) of severity \(severity.rawValue)" }
        guard severityMatters else { return what }
        if let unknownSeverity { return "\(what) of unknown severity \(unknownSeverity) (counted as critical)" }
        return "\(what) without a severity (counted as critical)"
    }
}
