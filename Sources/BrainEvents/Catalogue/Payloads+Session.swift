// Session payloads (schemas/events/session.*.schema.json).
//
// Every payload also carries the fields the catalogue allows everywhere: `cost` (usage block v0), `usage`
// (a provider's raw usage object), and the workload generator's `repo` and `project`.

/// `session.started` v1: an agent session began.
public struct SessionStarted: CataloguePayload, Equatable {
    public static let eventType = "session.started"
    public static let typeVersion: UInt16 = 1

    public var sessionID: String
    public var goal: String?
    public var model: String?
    /// The session that started this one, for sub-agents.
    public var parentSession: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case goal, model
        case parentSession = "parent_session"
        case cost, usage, repo, project
    }

    public init(
        sessionID: String, goal: String? = nil, model: String? = nil, parentSession: String? = nil,
        cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.sessionID = sessionID
        self.goal = goal
        self.model = model
        self.parentSession = parentSession
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sessionID = try c.decode(String.self, forKey: .sessionID)
        goal = try c.decodeUnlessAbsent(String.self, forKey: .goal)
        model = try c.decodeUnlessAbsent(String.self, forKey: .model)
        parentSession = try c.decodeUnlessAbsent(String.self, forKey: .parentSession)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(sessionID, "session_id")
        try PayloadRule.id(parentSession, "parent_session")
        try cost?.validate()
    }

    public static var example: SessionStarted {
        SessionStarted(
            sessionID: "S-20261201-002", goal: "JWT validation for the provider portal", model: "claude-opus-4",
            parentSession: "S-20261201-001", cost: .example, usage: JSONObject([("input_tokens", .number("1840"))]),
            repo: "credentialmate", project: "provider-portal")
    }
}

/// `session.checkpointed` v1: an agent saved its progress at the end of an iteration.
public struct SessionCheckpointed: CataloguePayload, Equatable {
    public static let eventType = "session.checkpointed"
    public static let typeVersion: UInt16 = 1

    /// From 0.
    public var iteration: Int
    public var verdict: Verdict
    /// Optional: derived from the event when absent.
    public var checkpointID: String?
    public var parentCheckpoint: String?
    public var branch: String?
    public var sessionID: String?
    public var summary: String?
    /// Whatever the agent needs to resume. `.null` when the payload says `null`, nil when it says nothing.
    public var state: JSONValue?
    public var filesTouched: [String]?
    public var nextSteps: [String]?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case iteration, verdict
        case checkpointID = "checkpoint_id"
        case parentCheckpoint = "parent_checkpoint"
        case branch
        case sessionID = "session_id"
        case summary, state
        case filesTouched = "files_touched"
        case nextSteps = "next_steps"
        case cost, usage, repo, project
    }

    public init(
        iteration: Int, verdict: Verdict, checkpointID: String? = nil, parentCheckpoint: String? = nil,
        branch: String? = nil, sessionID: String? = nil, summary: String? = nil, state: JSONValue? = nil,
        filesTouched: [String]? = nil, nextSteps: [String]? = nil,
        cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.iteration = iteration
        self.verdict = verdict
        self.checkpointID = checkpointID
        self.parentCheckpoint = parentCheckpoint
        self.branch = branch
        self.sessionID = sessionID
        self.summary = summary
        self.state = state
        self.filesTouched = filesTouched
        self.nextSteps = nextSteps
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        iteration = try c.decode(Int.self, forKey: .iteration)
        verdict = try c.decode(Verdict.self, forKey: .verdict)
        checkpointID = try c.decodeUnlessAbsent(String.self, forKey: .checkpointID)
        parentCheckpoint = try c.decodeUnlessAbsent(String.self, forKey: .parentCheckpoint)
        branch = try c.decodeUnlessAbsent(String.self, forKey: .branch)
        sessionID = try c.decodeUnlessAbsent(String.self, forKey: .sessionID)
        summary = try c.decodeUnlessAbsent(String.self, forKey: .summary)
        state = try c.decodeUnlessAbsent(JSONValue.self, forKey: .state)
        filesTouched = try c.decodeUnlessAbsent([String].self, forKey: .filesTouched)
        nextSteps = try c.decodeUnlessAbsent([String].self, forKey: .nextSteps)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.atLeast(iteration, "iteration", 0)
        try PayloadRule.id(checkpointID, "checkpoint_id")
        try PayloadRule.id(parentCheckpoint, "parent_checkpoint")
        try PayloadRule.id(branch, "branch")
        try PayloadRule.id(sessionID, "session_id")
        try cost?.validate()
    }

    public static var example: SessionCheckpointed {
        SessionCheckpointed(
            iteration: 3, verdict: .partial, checkpointID: "CP-3", parentCheckpoint: "CP-2", branch: "main",
            sessionID: "S-20261201-001", summary: "middleware wired, 3 tests failing",
            state: .object([("failing", .number("3")), ("open_files", .array([.string("Sources/Auth/JWT.swift")]))]),
            filesTouched: ["Sources/Auth/JWT.swift", "Tests/AuthTests/JWTTests.swift"],
            nextSteps: ["fix clock-skew test"], cost: .example, usage: JSONObject([("output_tokens", .number("312"))]),
            repo: "credentialmate", project: "provider-portal")
    }
}

/// `session.forked` v1: a new branch of work starts from an earlier checkpoint.
public struct SessionForked: CataloguePayload, Equatable {
    public static let eventType = "session.forked"
    public static let typeVersion: UInt16 = 1

    public var fromCheckpoint: String
    /// At least one character.
    public var reason: String
    public var branch: String?
    public var sessionID: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case fromCheckpoint = "from_checkpoint"
        case reason, branch
        case sessionID = "session_id"
        case cost, usage, repo, project
    }

    public init(
        fromCheckpoint: String, reason: String, branch: String? = nil, sessionID: String? = nil,
        cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.fromCheckpoint = fromCheckpoint
        self.reason = reason
        self.branch = branch
        self.sessionID = sessionID
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        fromCheckpoint = try c.decode(String.self, forKey: .fromCheckpoint)
        reason = try c.decode(String.self, forKey: .reason)
        branch = try c.decodeUnlessAbsent(String.self, forKey: .branch)
        sessionID = try c.decodeUnlessAbsent(String.self, forKey: .sessionID)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(fromCheckpoint, "from_checkpoint")
        try PayloadRule.minLength(reason, "reason", 1)
        try PayloadRule.id(branch, "branch")
        try PayloadRule.id(sessionID, "session_id")
        try cost?.validate()
    }

    public static var example: SessionForked {
        SessionForked(
            fromCheckpoint: "CP-2", reason: "try the shared middleware instead", branch: "alt-middleware",
            sessionID: "S-20261201-003", cost: .example, usage: JSONObject(), repo: "credentialmate",
            project: "provider-portal")
    }
}

/// `session.ended` v1: an agent session finished.
public struct SessionEnded: CataloguePayload, Equatable {
    public static let eventType = "session.ended"
    public static let typeVersion: UInt16 = 1

    public var sessionID: String?
    public var reason: String?
    public var verdict: Verdict?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case reason, verdict
        case cost, usage, repo, project
    }

    public init(
        sessionID: String? = nil, reason: String? = nil, verdict: Verdict? = nil,
        cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.sessionID = sessionID
        self.reason = reason
        self.verdict = verdict
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sessionID = try c.decodeUnlessAbsent(String.self, forKey: .sessionID)
        reason = try c.decodeUnlessAbsent(String.self, forKey: .reason)
        verdict = try c.decodeUnlessAbsent(Verdict.self, forKey: .verdict)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(sessionID, "session_id")
        try cost?.validate()
    }

    public static var example: SessionEnded {
        SessionEnded(
            sessionID: "S-20261201-001", reason: "goal reached", verdict: .pass, cost: .example,
            usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}
