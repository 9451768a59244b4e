// Work item payloads (schemas/events/work_item.*.schema.json): the queue's events. Like every payload they
// also carry `cost`, `usage`, `repo` and `project` (see Payloads+Session.swift).

/// `work_item.enqueued` v1: a work item joined the queue.
public struct WorkItemEnqueued: CataloguePayload, Equatable {
    public static let eventType = "work_item.enqueued"
    public static let typeVersion: UInt16 = 1

    public var workItemID: String
    public var project: String?
    /// The orchestrator that enqueued it.
    public var orchestratorID: String?
    /// The team expected to work on it.
    public var team: String?
    /// Deduplication key, 1 to 256 characters: at most one live item per key.
    public var uniqueKey: String?
    /// The origin (store) that owns the item: 32 lowercase hex digits.
    public var homeOrigin: String?
    /// The session that asked for the work.
    public var sessionRef: String?
    /// 1 to 100.
    public var maxAttempts: Int?
    /// -1000 to 1000; higher runs first, 0 is normal.
    public var priority: Int?
    public var description: String?
    /// Free-form details for the worker.
    public var metadata: JSONObject?
    /// Set by `import legacy`: the legacy work queue's `status`, `retry_count` and `error_log` (schemas/legacy.md).
    public var legacy: JSONObject?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?

    enum CodingKeys: String, CodingKey {
        case workItemID = "work_item_id"
        case orchestratorID = "orchestrator_id"
        case team
        case uniqueKey = "unique_key"
        case homeOrigin = "home_origin"
        case sessionRef = "session_ref"
        case maxAttempts = "max_attempts"
        case priority
        case description, metadata, legacy
        case project, cost, usage, repo
    }

    public init(
        workItemID: String, project: String? = nil, orchestratorID: String? = nil, team: String? = nil,
        uniqueKey: String? = nil, homeOrigin: String? = nil, sessionRef: String? = nil, maxAttempts: Int? = nil,
        priority: Int? = nil, description: String? = nil, metadata: JSONObject? = nil, legacy: JSONObject? = nil,
        cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil
    ) {
        self.workItemID = workItemID
        self.project = project
        self.orchestratorID = orchestratorID
        self.team = team
        self.uniqueKey = uniqueKey
        self.homeOrigin = homeOrigin
        self.sessionRef = sessionRef
        self.maxAttempts = maxAttempts
        self.priority = priority
        self.description = description
        self.metadata = metadata
        self.legacy = legacy
        self.cost = cost
        self.usage = usage
        self.repo = repo
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workItemID = try c.decode(String.self, forKey: .workItemID)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
        orchestratorID = try c.decodeUnlessAbsent(String.self, forKey: .orchestratorID)
        team = try c.decodeUnlessAbsent(String.self, forKey: .team)
        uniqueKey = try c.decodeUnlessAbsent(String.self, forKey: .uniqueKey)
        homeOrigin = try c.decodeUnlessAbsent(String.self, forKey: .homeOrigin)
        sessionRef = try c.decodeUnlessAbsent(String.self, forKey: .sessionRef)
        maxAttempts = try c.decodeUnlessAbsent(Int.self, forKey: .maxAttempts)
        priority = try c.decodeUnlessAbsent(Int.self, forKey: .priority)
        description = try c.decodeUnlessAbsent(String.self, forKey: .description)
        metadata = try c.decodeUnlessAbsent(JSONObject.self, forKey: .metadata)
        legacy = try c.decodeUnlessAbsent(JSONObject.self, forKey: .legacy)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(workItemID, "work_item_id")
        try PayloadRule.length(uniqueKey, "unique_key", 1...256)
        try PayloadRule.matches(homeOrigin, "home_origin", pattern: "^[0-9a-f]{32}$") { b in
            b.count == 32 && b.allSatisfy { $0 &- UInt8(ascii: "0") < 10 || $0 &- UInt8(ascii: "a") < 6 }
        }
        try PayloadRule.range(maxAttempts, "max_attempts", 1...100)
        try PayloadRule.range(priority, "priority", -1000...1000)
        try cost?.validate()
    }

    public static var example: WorkItemEnqueued {
        WorkItemEnqueued(
            workItemID: "WI-cred-0412", project: "credentialmate", orchestratorID: "orch-main", team: "ops",
            uniqueKey: "license-renewal:TX:prov-8841", homeOrigin: "a3f0c2e9b7d14e6fa8c5b2d9e0f7a1c4",
            sessionRef: "S-20261201-001", maxAttempts: 5, priority: 10, description: "verify Texas license renewal",
            metadata: JSONObject([("state", .string("TX"))]),
            legacy: JSONObject([
                ("status", .string("pending")), ("retry_count", .number("1")),
                ("error_log", .array([.string("sandbox timeout")])),
            ]), cost: .example, usage: JSONObject(), repo: "credentialmate")
    }
}

/// `work_item.leased` v1: a worker took a lease on a work item.
public struct WorkItemLeased: CataloguePayload, Equatable {
    public static let eventType = "work_item.leased"
    public static let typeVersion: UInt16 = 1

    public var workItemID: String
    public var leaseID: String
    /// The worker holding the lease.
    public var worker: String?
    /// Lease time to live: 1 ms to 7 days (604800000 ms).
    public var ttlMs: Int?
    /// From 1.
    public var attempt: Int?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case workItemID = "work_item_id"
        case leaseID = "lease_id"
        case worker
        case ttlMs = "ttl_ms"
        case attempt
        case cost, usage, repo, project
    }

    public init(
        workItemID: String, leaseID: String, worker: String? = nil, ttlMs: Int? = nil, attempt: Int? = nil,
        cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.workItemID = workItemID
        self.leaseID = leaseID
        self.worker = worker
        self.ttlMs = ttlMs
        self.attempt = attempt
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workItemID = try c.decode(String.self, forKey: .workItemID)
        leaseID = try c.decode(String.self, forKey: .leaseID)
        worker = try c.decodeUnlessAbsent(String.self, forKey: .worker)
        ttlMs = try c.decodeUnlessAbsent(Int.self, forKey: .ttlMs)
        attempt = try c.decodeUnlessAbsent(Int.self, forKey: .attempt)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(workItemID, "work_item_id")
        try PayloadRule.id(leaseID, "lease_id")
        try PayloadRule.range(ttlMs, "ttl_ms", 1...604_800_000)
        try PayloadRule.atLeast(attempt, "attempt", 1)
        try cost?.validate()
    }

    public static var example: WorkItemLeased {
        WorkItemLeased(
            workItemID: "WI-7", leaseID: "L-7f3a", worker: "claude-ops-1", ttlMs: 30_000, attempt: 2,
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}

/// `work_item.heartbeat` v1: the lease holder is still working and extends its lease.
public struct WorkItemHeartbeat: CataloguePayload, Equatable {
    public static let eventType = "work_item.heartbeat"
    public static let typeVersion: UInt16 = 1

    public var workItemID: String
    public var leaseID: String
    /// The new time to live: 1 ms to 7 days.
    public var ttlMs: Int?
    public var progress: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case workItemID = "work_item_id"
        case leaseID = "lease_id"
        case ttlMs = "ttl_ms"
        case progress
        case cost, usage, repo, project
    }

    public init(
        workItemID: String, leaseID: String, ttlMs: Int? = nil, progress: String? = nil, cost: Cost? = nil,
        usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.workItemID = workItemID
        self.leaseID = leaseID
        self.ttlMs = ttlMs
        self.progress = progress
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workItemID = try c.decode(String.self, forKey: .workItemID)
        leaseID = try c.decode(String.self, forKey: .leaseID)
        ttlMs = try c.decodeUnlessAbsent(Int.self, forKey: .ttlMs)
        progress = try c.decodeUnlessAbsent(String.self, forKey: .progress)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(workItemID, "work_item_id")
        try PayloadRule.id(leaseID, "lease_id")
        try PayloadRule.range(ttlMs, "ttl_ms", 1...604_800_000)
        try cost?.validate()
    }

    public static var example: WorkItemHeartbeat {
        WorkItemHeartbeat(
            workItemID: "WI-7", leaseID: "L-7f3a", ttlMs: 30_000, progress: "3 of 8 boards checked",
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}

/// `work_item.completed` v1: a work item is done.
public struct WorkItemCompleted: CataloguePayload, Equatable {
    public static let eventType = "work_item.completed"
    public static let typeVersion: UInt16 = 1

    public var workItemID: String
    /// The lease it was completed under.
    public var leaseID: String?
    /// The session that did the work.
    public var sessionRef: String?
    /// Any JSON value; `.null` when the payload says `null`.
    public var result: JSONValue?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case workItemID = "work_item_id"
        case leaseID = "lease_id"
        case sessionRef = "session_ref"
        case result
        case cost, usage, repo, project
    }

    public init(
        workItemID: String, leaseID: String? = nil, sessionRef: String? = nil, result: JSONValue? = nil,
        cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.workItemID = workItemID
        self.leaseID = leaseID
        self.sessionRef = sessionRef
        self.result = result
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workItemID = try c.decode(String.self, forKey: .workItemID)
        leaseID = try c.decodeUnlessAbsent(String.self, forKey: .leaseID)
        sessionRef = try c.decodeUnlessAbsent(String.self, forKey: .sessionRef)
        result = try c.decodeUnlessAbsent(JSONValue.self, forKey: .result)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(workItemID, "work_item_id")
        try PayloadRule.id(leaseID, "lease_id")
        try cost?.validate()
    }

    public static var example: WorkItemCompleted {
        WorkItemCompleted(
            workItemID: "WI-7", leaseID: "L-7f3a", sessionRef: "S-20261201-001",
            result: .object([("boards_checked", .number("8")), ("status", .string("verified"))]),
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}

/// `work_item.failed` v1: an attempt at a work item failed.
public struct WorkItemFailed: CataloguePayload, Equatable {
    public static let eventType = "work_item.failed"
    public static let typeVersion: UInt16 = 1

    public var workItemID: String
    public var error: String
    /// Whether another attempt may succeed.
    public var retryable: Bool
    /// The lease the attempt ran under.
    public var leaseID: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case workItemID = "work_item_id"
        case error, retryable
        case leaseID = "lease_id"
        case cost, usage, repo, project
    }

    public init(
        workItemID: String, error: String, retryable: Bool, leaseID: String? = nil, cost: Cost? = nil,
        usage: JSONObject? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.workItemID = workItemID
        self.error = error
        self.retryable = retryable
        self.leaseID = leaseID
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workItemID = try c.decode(String.self, forKey: .workItemID)
        error = try c.decode(String.self, forKey: .error)
        retryable = try c.decode(Bool.self, forKey: .retryable)
        leaseID = try c.decodeUnlessAbsent(String.self, forKey: .leaseID)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(workItemID, "work_item_id")
        try PayloadRule.id(leaseID, "lease_id")
        try cost?.validate()
    }

    public static var example: WorkItemFailed {
        WorkItemFailed(
            workItemID: "WI-7", error: "board site timed out", retryable: true, leaseID: "L-7f3a",
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}

/// `work_item.retry_scheduled` v1: a failed work item will be offered again after a backoff.
public struct WorkItemRetryScheduled: CataloguePayload, Equatable {
    public static let eventType = "work_item.retry_scheduled"
    public static let typeVersion: UInt16 = 1

    public var workItemID: String
    /// 0 to 86400000 (one day).
    public var backoffMs: Int
    /// The attempt the retry will be, from 1.
    public var attempt: Int?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case workItemID = "work_item_id"
        case backoffMs = "backoff_ms"
        case attempt
        case cost, usage, repo, project
    }

    public init(
        workItemID: String, backoffMs: Int, attempt: Int? = nil, cost: Cost? = nil, usage: JSONObject? = nil,
        repo: String? = nil, project: String? = nil
    ) {
        self.workItemID = workItemID
        self.backoffMs = backoffMs
        self.attempt = attempt
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workItemID = try c.decode(String.self, forKey: .workItemID)
        backoffMs = try c.decode(Int.self, forKey: .backoffMs)
        attempt = try c.decodeUnlessAbsent(Int.self, forKey: .attempt)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(workItemID, "work_item_id")
        try PayloadRule.range(backoffMs, "backoff_ms", 0...86_400_000)
        try PayloadRule.atLeast(attempt, "attempt", 1)
        try cost?.validate()
    }

    public static var example: WorkItemRetryScheduled {
        WorkItemRetryScheduled(
            workItemID: "WI-7", backoffMs: 5_000, attempt: 3,
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}

/// `work_item.rescued` v1: an expired lease was taken back, so the item can be leased again.
public struct WorkItemRescued: CataloguePayload, Equatable {
    public static let eventType = "work_item.rescued"
    public static let typeVersion: UInt16 = 1

    public var workItemID: String
    /// The expired lease.
    public var leaseID: String
    public var reason: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case workItemID = "work_item_id"
        case leaseID = "lease_id"
        case reason
        case cost, usage, repo, project
    }

    public init(
        workItemID: String, leaseID: String, reason: String? = nil, cost: Cost? = nil, usage: JSONObject? = nil,
        repo: String? = nil, project: String? = nil
    ) {
        self.workItemID = workItemID
        self.leaseID = leaseID
        self.reason = reason
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workItemID = try c.decode(String.self, forKey: .workItemID)
        leaseID = try c.decode(String.self, forKey: .leaseID)
        reason = try c.decodeUnlessAbsent(String.self, forKey: .reason)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(workItemID, "work_item_id")
        try PayloadRule.id(leaseID, "lease_id")
        try cost?.validate()
    }

    public static var example: WorkItemRescued {
        WorkItemRescued(
            workItemID: "WI-7", leaseID: "L-7f3a", reason: "lease expired after 30 s",
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}

/// `work_item.discarded` v1: a work item was given up for good.
public struct WorkItemDiscarded: CataloguePayload, Equatable {
    public static let eventType = "work_item.discarded"
    public static let typeVersion: UInt16 = 1

    public var workItemID: String
    /// Why, e.g. attempts exhausted (may be empty).
    public var reason: String
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case workItemID = "work_item_id"
        case reason
        case cost, usage, repo, project
    }

    public init(
        workItemID: String, reason: String, cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil,
        project: String? = nil
    ) {
        self.workItemID = workItemID
        self.reason = reason
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workItemID = try c.decode(String.self, forKey: .workItemID)
        reason = try c.decode(String.self, forKey: .reason)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(workItemID, "work_item_id")
        try cost?.validate()
    }

    public static var example: WorkItemDiscarded {
        WorkItemDiscarded(
            workItemID: "WI-7", reason: "attempts exhausted",
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}

/// `work_item.cancelled` v1: a work item was withdrawn before it finished.
public struct WorkItemCancelled: CataloguePayload, Equatable {
    public static let eventType = "work_item.cancelled"
    public static let typeVersion: UInt16 = 1

    public var workItemID: String
    public var reason: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case workItemID = "work_item_id"
        case reason
        case cost, usage, repo, project
    }

    public init(
        workItemID: String, reason: String? = nil, cost: Cost? = nil, usage: JSONObject? = nil, repo: String? = nil,
        project: String? = nil
    ) {
        self.workItemID = workItemID
        self.reason = reason
        self.cost = cost
        self.usage = usage
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workItemID = try c.decode(String.self, forKey: .workItemID)
        reason = try c.decodeUnlessAbsent(String.self, forKey: .reason)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(workItemID, "work_item_id")
        try cost?.validate()
    }

    public static var example: WorkItemCancelled {
        WorkItemCancelled(
            workItemID: "WI-7", reason: "provider left the network",
            cost: .example, usage: JSONObject(), repo: "credentialmate", project: "provider-portal")
    }
}

/// `work_item.transitioned` v1: legacy: a work item moved between states of the old state machine (the benchmark
/// workload's events). Read and upcast; aibrain's own commands write the specific `work_item.*` events.
public struct WorkItemTransitionedV1: CataloguePayload, Equatable {
    public static let eventType = "work_item.transitioned"
    public static let typeVersion: UInt16 = 1

    public var workItemID: String
    public var from: LegacyItemState
    public var to: LegacyItemState
    public var project: String?
    /// From 0.
    public var retryCount: Int?
    /// The last error. The schema allows `null`: null and absent both decode to nil.
    public var error: String?
    public var cost: Cost?
    public var usage: JSONObject?
    public var repo: String?

    enum CodingKeys: String, CodingKey {
        case workItemID = "work_item_id"
        case from, to
        case retryCount = "retry_count"
        case error
        case project, cost, usage, repo
    }

    public init(
        workItemID: String, from: LegacyItemState, to: LegacyItemState, project: String? = nil,
        retryCount: Int? = nil, error: String? = nil, cost: Cost? = nil, usage: JSONObject? = nil,
        repo: String? = nil
    ) {
        self.workItemID = workItemID
        self.from = from
        self.to = to
        self.project = project
        self.retryCount = retryCount
        self.error = error
        self.cost = cost
        self.usage = usage
        self.repo = repo
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workItemID = try c.decode(String.self, forKey: .workItemID)
        from = try c.decode(LegacyItemState.self, forKey: .from)
        to = try c.decode(LegacyItemState.self, forKey: .to)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
        retryCount = try c.decodeUnlessAbsent(Int.self, forKey: .retryCount)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        usage = try c.decodeUnlessAbsent(JSONObject.self, forKey: .usage)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.id(workItemID, "work_item_id")
        try PayloadRule.atLeast(retryCount, "retry_count", 0)
        try cost?.validate()
    }

    public static var example: WorkItemTransitionedV1 {
        WorkItemTransitionedV1(
            workItemID: "WI-7", from: .inProgress, to: .failed, project: "credentialmate", retryCount: 2,
            error: "board site timed out", cost: .example, usage: JSONObject(), repo: "credentialmate")
    }
}
