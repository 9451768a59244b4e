// Knowledge object and outcome payloads (schemas/events/ko.*.schema.json, task.outcome.schema.json). Like
// every payload they also carry `cost`, `usage`, `repo` and `project` (see Payloads+Session.swift).

/// `ko.proposed` v1: a knowledge object (a lesson for future sessions) was proposed.
public struct KOProposed: CataloguePayload, Equatable {
    public static let eventType = "ko.proposed"
    public static let typeVersion: UInt16 = 1

    public var koID: String
    /// One-line summary.
    public var title: String
    public var tags: [String]?
    /// Projects it applies to.
    public var projects: [String]?
    /// The lesson.
    public var body: String?
    /// The sessions it was learned in: session ids or richer references.
    public var sourceSessions: [JSONValue]?
    /// Carried over by `import legacy`: the legacy file's `consultation_count`, and
    /// round(effectiveness × consultation_count) when it gave an effectiveness.
    public var legacyConsultations: Int?
    public var legacySuccesses: Int?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case koID = "ko_id"
        case title, tags, projects, body
        case sourceSessions = "source_sessions"
        case legacyConsultations = "legacy_consultations"
        case legacySuccesses = "legacy_successes"
        case cost, usage, repo, project
    }

    public init(
        koID: String, title: String, tags: [String]? = nil, projects: [String]? = nil, body: String? = nil,
        sourceSessions: [JSONValue]? = nil, legacyConsultations: Int? = nil, legacySuccesses: Int? = nil,
        cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil,
        project: String? = nil
    ) {
        self.koID = koID
        self.title = title
        self.tags = tags
        self.projects = projects
        self.body = body
        self.sourceSessions = sourceSessions
        self.legacyConsultations = legacyConsultations
        self.legacySuccesses = legacySuccesses
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        koID = try c.decode(String.self, forKey: .koID)
        title = try c.decode(String.self, forKey: .title)
        tags = try c.decodeUnlessAbsent([String].self, forKey: .tags)
        projects = try c.decodeUnlessAbsent([String].self, forKey: .projects)
        body = try c.decodeUnlessAbsent(String.self, forKey: .body)
        sourceSessions = try c.decodeUnlessAbsent([JSONValue].self, forKey: .sourceSessions)
        legacyConsultations = try c.decodeUnlessAbsent(Int.self, forKey: .legacyConsultations)
        legacySuccesses = try c.decodeUnlessAbsent(Int.self, forKey: .legacySuccesses)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(koID, "ko_id")
        if let c = legacyConsultations, c < 0 || c > Int(Int32.max) {
            throw PayloadError(field: "legacy_consultations", reason: "must be 0 to 2147483647")
        }
        if let s = legacySuccesses {
            guard let c = legacyConsultations, s >= 0, s <= c else {
                throw PayloadError(
                    field: "legacy_successes", reason: "needs legacy_consultations and must lie between 0 and it")
            }
        }
        try cost?.validate()
    }

    public static var example: KOProposed {
        KOProposed(
            koID: "KO-npdb-retry", title: "Retry NPDB queries on 503 with backoff", tags: ["npdb", "retry"],
            projects: ["credentialmate"], body: "The NPDB gateway sheds load with 503s; back off 2 s.",
            sourceSessions: [.string("S-20261201-001")], legacyConsultations: 45, legacySuccesses: 39, cost: .example,
            usage: JSONObject(), repo: "credentialmate",
            project: "provider-portal")
    }
}

/// `ko.approved` v1: a proposed knowledge object was approved for use.
public struct KOApproved: CataloguePayload, Equatable {
    public static let eventType = "ko.approved"
    public static let typeVersion: UInt16 = 1

    public var koID: String
    public var approver: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case koID = "ko_id"
        case approver
        case cost, usage, repo, project
    }

    public init(
        koID: String, approver: String? = nil, cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil,
        project: String? = nil
    ) {
        self.koID = koID
        self.approver = approver
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        koID = try c.decode(String.self, forKey: .koID)
        approver = try c.decodeUnlessAbsent(String.self, forKey: .approver)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(koID, "ko_id")
        try cost?.validate()
    }

    public static var example: KOApproved {
        KOApproved(
            koID: "KO-npdb-retry", approver: "qa-lead", cost: .example, usage: JSONObject(), repo: "credentialmate",
            project: "provider-portal")
    }
}

/// `ko.superseded` v1: a knowledge object was replaced by another.
public struct KOSuperseded: CataloguePayload, Equatable {
    public static let eventType = "ko.superseded"
    public static let typeVersion: UInt16 = 1

    public var koID: String
    /// The replacing knowledge object.
    public var by: String
    public var rationale: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case koID = "ko_id"
        case by, rationale
        case cost, usage, repo, project
    }

    public init(
        koID: String, by: String, rationale: String? = nil, cost: Cost? = nil, usage: JSONObject? = nil,
        repo: String? = nil, project: String? = nil
    ) {
        self.koID = koID
        self.by = by
        self.rationale = rationale
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        koID = try c.decode(String.self, forKey: .koID)
        by = try c.decode(String.self, forKey: .by)
        rationale = try c.decodeUnlessAbsent(String.self, forKey: .rationale)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(koID, "ko_id")
        try PayloadRule.id(by, "by")
        try cost?.validate()
    }

    public static var example: KOSuperseded {
        KOSuperseded(
            koID: "KO-npdb-retry", by: "KO-npdb-retry-v2", rationale: "gateway now sends Retry-After",
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}

/// `ko.retired` v1: a knowledge object is no longer offered.
public struct KORetired: CataloguePayload, Equatable {
    public static let eventType = "ko.retired"
    public static let typeVersion: UInt16 = 1

    public var koID: String
    public var reason: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case koID = "ko_id"
        case reason
        case cost, usage, repo, project
    }

    public init(
        koID: String, reason: String? = nil, cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil,
        project: String? = nil
    ) {
        self.koID = koID
        self.reason = reason
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        koID = try c.decode(String.self, forKey: .koID)
        reason = try c.decodeUnlessAbsent(String.self, forKey: .reason)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(koID, "ko_id")
        try cost?.validate()
    }

    public static var example: KORetired {
        KORetired(
            koID: "KO-npdb-retry", reason: "NPDB gateway replaced", cost: .example, usage: JSONObject(),
            repo: "credentialmate", project: "provider-portal")
    }
}

/// `ko.consulted` v1: a session was shown a knowledge object.
public struct KOConsulted: CataloguePayload, Equatable {
    public static let eventType = "ko.consulted"
    public static let typeVersion: UInt16 = 1

    public var koID: String
    public var sessionID: String?
    /// Its position in the results, from 1.
    public var rank: Int?
    /// Retrieval score.
    public var score: Double?
    /// Carried by the benchmark workload; ignored (outcomes come from `task.outcome`).
    public var success: Bool?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case koID = "ko_id"
        case sessionID = "session_id"
        case rank, score, success
        case cost, usage, repo, project
    }

    public init(
        koID: String, sessionID: String? = nil, rank: Int? = nil, score: Double? = nil, success: Bool? = nil,
        cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.koID = koID
        self.sessionID = sessionID
        self.rank = rank
        self.score = score
        self.success = success
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        koID = try c.decode(String.self, forKey: .koID)
        sessionID = try c.decodeUnlessAbsent(String.self, forKey: .sessionID)
        rank = try c.decodeUnlessAbsent(Int.self, forKey: .rank)
        score = try c.decodeUnlessAbsent(Double.self, forKey: .score)
        success = try c.decodeUnlessAbsent(Bool.self, forKey: .success)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(koID, "ko_id")
        try PayloadRule.id(sessionID, "session_id")
        try PayloadRule.atLeast(rank, "rank", 1)
        try cost?.validate()
    }

    public static var example: KOConsulted {
        KOConsulted(
            koID: "KO-npdb-retry", sessionID: "S-20261201-001", rank: 1, score: 0.91, success: true,
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}

/// `task.outcome` v1: how a task ended, for attributing success to the knowledge objects consulted.
public struct TaskOutcome: CataloguePayload, Equatable {
    public static let eventType = "task.outcome"
    public static let typeVersion: UInt16 = 1

    public var success: Bool
    public var verdict: Verdict?
    /// Optional attribution to one knowledge object.
    public var koID: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case success, verdict
        case koID = "ko_id"
        case cost, usage, repo, project
    }

    public init(
        success: Bool, verdict: Verdict? = nil, koID: String? = nil, cost: Cost? = nil, usage: JSONObject? = nil,
        repo: String? = nil, project: String? = nil
    ) {
        self.success = success
        self.verdict = verdict
        self.koID = koID
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        success = try c.decode(Bool.self, forKey: .success)
        verdict = try c.decodeUnlessAbsent(Verdict.self, forKey: .verdict)
        koID = try c.decodeUnlessAbsent(String.self, forKey: .koID)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(koID, "ko_id")
        try cost?.validate()
    }

    public static var example: TaskOutcome {
        TaskOutcome(
            success: true, verdict: .pass, koID: "KO-npdb-retry", cost: .example, usage: JSONObject(),
            repo: "credentialmate", project: "provider-portal")
    }
}

/// `ko.outcome` v1: legacy: whether a task that used a knowledge object succeeded (the
/// benchmark workload's events). Read and upcast; aibrain's own commands write `task.outcome`.
public struct KOOutcomeV1: CataloguePayload, Equatable {
    public static let eventType = "ko.outcome"
    public static let typeVersion: UInt16 = 1

    public var koID: String
    public var success: Bool
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case koID = "ko_id"
        case success
        case cost, usage, repo, project
    }

    public init(
        koID: String, success: Bool, cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil,
        project: String? = nil
    ) {
        self.koID = koID
        self.success = success
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        koID = try c.decode(String.self, forKey: .koID)
        success = try c.decode(Bool.self, forKey: .success)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(koID, "ko_id")
        try cost?.validate()
    }

    public static var example: KOOutcomeV1 {
        KOOutcomeV1(
            koID: "KO-npdb-retry", success: true, cost: .example, usage: JSONObject(), repo: "credentialmate",
            project: "provider-portal")
    }
}

/// `ko.embedded` v1: an embedding of a knowledge object's text, made by the store's embedding command.
public struct KOEmbedded: CataloguePayload, Equatable {
    public static let eventType = "ko.embedded"
    public static let typeVersion: UInt16 = 1

    public var koID: String
    public var model: String
    public var vector: [Double]
    public var textHash: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case koID = "ko_id"
        case model, vector
        case textHash = "text_hash"
        case cost, usage, repo, project
    }

    public init(
        koID: String, model: String, vector: [Double], textHash: String? = nil, cost: Cost? = nil,
        usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.koID = koID
        self.model = model
        self.vector = vector
        self.textHash = textHash
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        koID = try c.decode(String.self, forKey: .koID)
        model = try c.decode(String.self, forKey: .model)
        vector = try c.decode([Double].self, forKey: .vector)
        textHash = try c.decodeUnlessAbsent(String.self, forKey: .textHash)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(koID, "ko_id")
        guard (1...4096).contains(vector.count) else {
            throw PayloadError(field: "vector", reason: "must hold 1 to 4,096 numbers, not \(vector.count)")
        }
        guard vector.allSatisfy(\.isFinite) else { throw PayloadError(field: "vector", reason: "must be finite") }
        if let h = textHash,
            h.utf8.count != 16 || !h.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        {
            throw PayloadError(field: "text_hash", reason: "must be 16 lowercase hex digits")
        }
        try cost?.validate()
    }

    public static var example: KOEmbedded {
        KOEmbedded(
            koID: "KO-npdb-retry", model: "all-MiniLM-L6-v2", vector: [0.125, -0.5, 0.25], textHash: "0123456789abcdef",
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}
