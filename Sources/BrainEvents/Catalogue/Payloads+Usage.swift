// The usage payload (schemas/events/usage.recorded.schema.json). Its `usage` member is required here; the
// other payloads may carry one too (see Payloads+Session.swift). Reading usage for reports: Usage.swift.

/// `usage.recorded` v1: a model call's usage and price.
public struct UsageRecorded: CataloguePayload, Equatable {
    public static let eventType = "usage.recorded"
    public static let typeVersion: UInt16 = 1

    public var provider: String
    public var model: String
    /// The provider's raw usage object, kept verbatim.
    public var usage: JSONObject
    /// Normalized input tokens, from 0.
    public var inputTokens: Int?
    /// Normalized cached input tokens, from 0.
    public var cachedTokens: Int?
    /// Normalized output tokens, from 0.
    public var outputTokens: Int?
    /// The price: a number >= 0 or an exact decimal string.
    public var usd: USDAmount?
    /// The price table the price was computed with.
    public var priceTable: String?
    public var workItemID: String?
    /// From 1.
    public var attempt: Int?
    public var cost: Cost?
    public var repo: String?
    public var project: String?

    enum CodingKeys: String, CodingKey {
        case provider, model, usage
        case inputTokens = "input_tokens"
        case cachedTokens = "cached_tokens"
        case outputTokens = "output_tokens"
        case usd
        case priceTable = "price_table"
        case workItemID = "work_item_id"
        case attempt
        case cost, repo, project
    }

    public init(
        provider: String, model: String, usage: JSONObject, inputTokens: Int? = nil, cachedTokens: Int? = nil,
        outputTokens: Int? = nil, usd: USDAmount? = nil, priceTable: String? = nil, workItemID: String? = nil,
        attempt: Int? = nil, cost: Cost? = nil, repo: String? = nil, project: String? = nil
    ) {
        self.provider = provider
        self.model = model
        self.usage = usage
        self.inputTokens = inputTokens
        self.cachedTokens = cachedTokens
        self.outputTokens = outputTokens
        self.usd = usd
        self.priceTable = priceTable
        self.workItemID = workItemID
        self.attempt = attempt
        self.cost = cost
        self.repo = repo
        self.project = project
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        provider = try c.decode(String.self, forKey: .provider)
        model = try c.decode(String.self, forKey: .model)
        usage = try c.decode(JSONObject.self, forKey: .usage)
        inputTokens = try c.decodeUnlessAbsent(Int.self, forKey: .inputTokens)
        cachedTokens = try c.decodeUnlessAbsent(Int.self, forKey: .cachedTokens)
        outputTokens = try c.decodeUnlessAbsent(Int.self, forKey: .outputTokens)
        usd = try c.decodeUnlessAbsent(USDAmount.self, forKey: .usd)
        priceTable = try c.decodeUnlessAbsent(String.self, forKey: .priceTable)
        workItemID = try c.decodeUnlessAbsent(String.self, forKey: .workItemID)
        attempt = try c.decodeUnlessAbsent(Int.self, forKey: .attempt)
        cost = try c.decodeUnlessAbsent(Cost.self, forKey: .cost)
        repo = try c.decodeUnlessAbsent(String.self, forKey: .repo)
        project = try c.decodeUnlessAbsent(String.self, forKey: .project)
    }

    public func validate() throws(PayloadError) {
        try PayloadRule.atLeast(inputTokens, "input_tokens", 0)
        try PayloadRule.atLeast(cachedTokens, "cached_tokens", 0)
        try PayloadRule.atLeast(outputTokens, "output_tokens", 0)
        try usd?.validate(at: "usd")
        try PayloadRule.id(workItemID, "work_item_id")
        try PayloadRule.atLeast(attempt, "attempt", 1)
        try cost?.validate()
    }

    public static var example: UsageRecorded {
        UsageRecorded(
            provider: "anthropic", model: "claude-sonnet-4",
            usage: JSONObject([("input_tokens", .number("1840")), ("output_tokens", .number("312"))]),
            inputTokens: 1840, cachedTokens: 512, outputTokens: 312, usd: .decimal("0.0127"),
            priceTable: "anthropic-2026-01", workItemID: "WI-7", attempt: 1, cost: .example, repo: "credentialmate",
            project: "provider-portal")
    }
}
