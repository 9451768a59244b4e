// Decision payloads (schemas/events/decision.*.schema.json). Like every payload they also carry `cost`,
// `usage`, `repo` and `project` (see Payloads+Session.swift).

/// `decision.recorded` v1: an agent or a human made a decision worth keeping.
public struct DecisionRecorded: CataloguePayload, Equatable {
    public static let eventType = "decision.recorded"
    public static let typeVersion: UInt16 = 1

    /// Upper case, `^[A-Z][A-Z0-9_]{0,63}$`. Well-known kinds: `APPROACH`, `GUARDRAIL_OVERRIDE`,
    /// `ESTIMATION_ADJUSTMENT`.
    public var kind: String
    public var value: String
    public var alternatives: [String]?
    /// From 0 to 1.
    public var confidence: Double?
    public var severity: Severity?
    public var approver: String?
    public var rationale: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    /// The kinds the catalogue documents; others are allowed.
    public static let wellKnownKinds = ["APPROACH", "GUARDRAIL_OVERRIDE", "ESTIMATION_ADJUSTMENT"]

    enum CodingKeys: String, CodingKey {
        case kind, value, alternatives, confidence, severity, approver, rationale
        case cost, usage, repo, project
    }

    public init(
        kind: String, value: String, alternatives: [String]? = nil, confidence: Double? = nil,
        severity: Severity? = nil, approver: String? = nil, rationale: String? = nil,
        cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.kind = kind
        self.value = value
        self.alternatives = alternatives
        self.confidence = confidence
        self.severity = severity
        self.approver = approver
        self.rationale = rationale
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(String.self, forKey: .kind)
        value = try c.decode(String.self, forKey: .value)
        alternatives = try c.decodeUnlessAbsent([String].self, forKey: .alternatives)
        confidence = try c.decodeUnlessAbsent(Double.self, forKey: .confidence)
        severity = try c.decodeUnlessAbsent(Severity.self, forKey: .severity)
        approver = try c.decodeUnlessAbsent(String.self, forKey: .approver)
        rationale = try c.decodeUnlessAbsent(String.self, forKey: .rationale)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.matches(kind, "kind", pattern: "^[A-Z][A-Z0-9_]{0,63}$") { b in
            (1...64).contains(b.count) && b[0] &- UInt8(ascii: "A") < 26
                && b.allSatisfy {
                    $0 &- UInt8(ascii: "A") < 26 || $0 &- UInt8(ascii: "0") < 10 || $0 == UInt8(ascii: "_")
                }
        }
        try PayloadRule.range(confidence, "confidence", 0...1)
        try cost?.validate()
    }

    public static var example: DecisionRecorded {
        DecisionRecorded(
            kind: "GUARDRAIL_OVERRIDE", value: "allow_external_api", alternatives: ["mock the board API"],
            confidence: 0.82, severity: .medium, approver: "human", rationale: "sandbox credentials only",
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}

/// `decision.superseded` v1: an earlier decision no longer holds.
public struct DecisionSuperseded: CataloguePayload, Equatable {
    public static let eventType = "decision.superseded"
    public static let typeVersion: UInt16 = 1

    /// The event_id of the superseded `decision.recorded` event (`^[A-Za-z0-9._:-]{1,128}$`).
    public var decisionID: String
    /// The event_id of the decision that replaces it.
    public var by: String?
    public var reason: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case decisionID = "decision_id"
        case by, reason
        case cost, usage, repo, project
    }

    public init(
        decisionID: String, by: String? = nil, reason: String? = nil,
        cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.decisionID = decisionID
        self.by = by
        self.reason = reason
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        decisionID = try c.decode(String.self, forKey: .decisionID)
        by = try c.decodeUnlessAbsent(String.self, forKey: .by)
        reason = try c.decodeUnlessAbsent(String.self, forKey: .reason)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.eventRef(decisionID, "decision_id")
        try PayloadRule.eventRef(by, "by")
        try cost?.validate()
    }

    public static var example: DecisionSuperseded {
        DecisionSuperseded(
            decisionID: "5f0c8a2e4b7d4c1e9a3f6b2d8e1c7a40", by: "dec.v2:approach",
            reason: "board API now has a sandbox", cost: .example, usage: JSONObject(), repo: "credentialmate",
            project: "provider-portal")
    }
}
