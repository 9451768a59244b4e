import Foundation

/// Token usage normalized across providers, and its price.
///
/// Providers count differently (langsmith-sdk PR #2519, Langfuse #10592): Anthropic reports
/// `input_tokens` *without* the cache, with `cache_read_input_tokens` and `cache_creation_input_tokens` on top;
/// OpenAI reports `prompt_tokens` (or `input_tokens`) *including* `cached_tokens`. Normalized `input` is
/// every input token, cached or not; `cached` is the part read from a cache.
public struct NormalizedUsage: Sendable, Equatable {
    public var input: Int64
    public var cached: Int64
    public var output: Int64
    /// Billionths of a US dollar; nil when the event gave no price and the model is not in the table.
    public var nanoUSD: Int64?

    public init(input: Int64, cached: Int64, output: Int64, nanoUSD: Int64?) {
        self.input = input
        self.cached = cached
        self.output = output
        self.nanoUSD = nanoUSD
    }

    /// Reads the usage carried by a payload: a `usage.recorded` event (`usage` holds the raw report), or the
    /// benchmark workload's `cost` object (usage v0: `tokens_in`, `tokens_out`, `usd`). Nil when there is none.
    public static func read(_ f: PayloadFields, kind: EventKind?) -> NormalizedUsage? {
        if kind == .usageRecorded {
            let provider = f.string(.provider) ?? ""
            let model = f.string(.model) ?? ""
            var u: NormalizedUsage
            if let i = f.int(.inputTokens) {
                u = NormalizedUsage(
                    input: i, cached: f.int(.cachedTokens) ?? 0, output: f.int(.outputTokens) ?? 0, nanoUSD: nil)
            } else if let raw = f.nested(.usage) {
                u = normalize(provider: provider, raw: raw)
            } else {
                return nil
            }
            u.nanoUSD = f.decimal(.usd, scale: 9) ?? PriceTable.current.price(model: model, usage: u)
            return u
        }
        if let raw = f.raw(.cost), let fast = v0(raw) { return fast }
        if let cost = f.nested(.cost) {
            return NormalizedUsage(
                input: cost.int(.tokensIn) ?? 0, cached: 0, output: cost.int(.tokensOut) ?? 0,
                nanoUSD: cost.decimal(.usd, scale: 9))
        }
        if let raw = f.nested(.usage) {
            var u = normalize(provider: f.string(.provider) ?? "", raw: raw)
            u.nanoUSD = f.decimal(.usd, scale: 9) ?? PriceTable.current.price(model: f.string(.model) ?? "", usage: u)
            return u
        }
        return nil
    }

    /// The benchmark workload writes every `cost` object in one minified shape,
    /// `{"tokens_in":N,"tokens_out":N,"usd":D}`: matched directly (a tenth of a general scan), anything else
    /// falls back to the scanner.
    static func v0(_ r: UnsafeRawBufferPointer) -> NormalizedUsage? {
        // StaticStrings: their bytes live in the binary, nothing is allocated per event.
        let a: StaticString = #"{"tokens_in":"#
        let b: StaticString = #","tokens_out":"#
        let c: StaticString = #","usd":"#
        guard let p = r.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let n = r.count
        var i = 0
        guard n > a.utf8CodeUnitCount, memcmp(p, a.utf8Start, a.utf8CodeUnitCount) == 0 else { return nil }
        i = a.utf8CodeUnitCount
        var start = i
        while i < n, p[i] != UInt8(ascii: ",") { i += 1 }
        guard i < n, let tin = PayloadFields.parseInt(UnsafeRawBufferPointer(start: p + start, count: i - start)),
            n - i > b.utf8CodeUnitCount, memcmp(p + i, b.utf8Start, b.utf8CodeUnitCount) == 0
        else { return nil }
        i += b.utf8CodeUnitCount
        start = i
        while i < n, p[i] != UInt8(ascii: ",") { i += 1 }
        guard i < n, let tout = PayloadFields.parseInt(UnsafeRawBufferPointer(start: p + start, count: i - start)),
            n - i > c.utf8CodeUnitCount, memcmp(p + i, c.utf8Start, c.utf8CodeUnitCount) == 0
        else { return nil }
        i += c.utf8CodeUnitCount
        guard n - i >= 2, p[n - 1] == UInt8(ascii: "}") else { return nil }
        let usd = UnsafeRawBufferPointer(start: p + i, count: n - 1 - i)
        guard memchr(p + i, Int32(UInt8(ascii: ",")), n - 1 - i) == nil else { return nil }
        return NormalizedUsage(input: tin, cached: 0, output: tout, nanoUSD: PayloadFields.parseDecimal(usd, scale: 9))
    }

    /// Normalizes a provider's raw usage object.
    public static func normalize(provider: String, raw: PayloadFields) -> NormalizedUsage {
        let p = raw.rawText(named: "cache_read_input_tokens").flatMap(Int64.init)
        if provider.lowercased() == "anthropic" || p != nil {
            let input = raw.int(.inputTokens) ?? 0
            let read = p ?? 0
            let created = raw.rawText(named: "cache_creation_input_tokens").flatMap(Int64.init) ?? 0
            return NormalizedUsage(
                input: input + read + created, cached: read, output: raw.int(.outputTokens) ?? 0, nanoUSD: nil)
        }
        // OpenAI: chat completions (`prompt_tokens`, `prompt_tokens_details.cached_tokens`) or responses
        // (`input_tokens`, `input_tokens_details.cached_tokens`); the cached part is inside the input.
        let input = raw.rawText(named: "prompt_tokens").flatMap(Int64.init) ?? raw.int(.inputTokens) ?? 0
        let output = raw.rawText(named: "completion_tokens").flatMap(Int64.init) ?? raw.int(.outputTokens) ?? 0
        var cached: Int64 = raw.int(.cachedTokens) ?? 0
        for details in ["prompt_tokens_details", "input_tokens_details"] {
            if let d = raw.nestedObject(named: details), let c = d.int(.cachedTokens) { cached = c }
        }
        return NormalizedUsage(input: input, cached: min(cached, input), output: output, nanoUSD: nil)
    }
}

/// Prices per million tokens, versioned: a cost computed at ingestion names the table it used, and raw
/// usage stays in the log so costs can be recomputed under a later table.
public struct PriceTable: Sendable {
    public struct Price: Sendable {
        /// Model name prefix, matched longest first.
        public var model: String
        /// US dollars per million tokens: uncached input, cached input, output.
        public var input: Double
        public var cachedInput: Double
        public var output: Double
    }

    public var version: String
    public var prices: [Price]

    /// List prices as published by the providers in November 2026 (cache writes priced as plain input).
    public static let current = PriceTable(
        version: "2026-11-01",
        prices: [
            Price(model: "claude-opus-4", input: 15, cachedInput: 1.5, output: 75),
            Price(model: "claude-sonnet-4", input: 3, cachedInput: 0.3, output: 15),
            Price(model: "claude-haiku-4", input: 1, cachedInput: 0.1, output: 5),
            Price(model: "gpt-5-mini", input: 0.25, cachedInput: 0.025, output: 2),
            Price(model: "gpt-5", input: 1.25, cachedInput: 0.125, output: 10),
            Price(model: "gpt-4.1", input: 2, cachedInput: 0.5, output: 8),
            Price(model: "gpt-4o", input: 2.5, cachedInput: 1.25, output: 10),
            Price(model: "o3", input: 2, cachedInput: 0.5, output: 8),
        ].sorted { $0.model.count > $1.model.count })

    /// Billionths of a dollar, or nil for a model the table does not list.
    public func price(model: String, usage u: NormalizedUsage) -> Int64? {
        guard let p = prices.first(where: { model.hasPrefix($0.model) }) else { return nil }
        // Per token, in nano-dollars: $/Mtok × 1000. Integer arithmetic after one rounding per rate.
        let i = Int64((p.input * 1000).rounded())
        let c = Int64((p.cachedInput * 1000).rounded())
        let o = Int64((p.output * 1000).rounded())
        // Reported counts can be anything: overflow means "no price", never a trap.
        let (a, o1) = (u.input - u.cached).multipliedReportingOverflow(by: i)
        let (b, o2) = u.cached.multipliedReportingOverflow(by: c)
        let (d, o3) = u.output.multipliedReportingOverflow(by: o)
        let (ab, o4) = a.addingReportingOverflow(b)
        let (sum, o5) = ab.addingReportingOverflow(d)
        guard u.input >= u.cached, u.cached >= 0, u.output >= 0, !(o1 || o2 || o3 || o4 || o5) else { return nil }
        return sum
    }
}

extension PayloadFields {
    /// The raw text of a member that is not a `FieldKey` (rare paths: provider usage objects).
    func rawText(named name: String) -> String? {
        guard let r = rawMember(named: name) else { return nil }
        return String(decoding: r, as: UTF8.self)
    }

    /// A fresh scanner over a nested object member that is not a `FieldKey` (rare paths only).
    func nestedObject(named name: String) -> PayloadFields? {
        guard let r = rawMember(named: name), r.first == UInt8(ascii: "{") else { return nil }
        let f = PayloadFields()
        return f.scan(r) ? f : nil
    }
}
