import Foundation

/// A payload type of the event catalogue: the `data` object of one event type and version, as described by
/// `schemas/events/<type>.schema.json`.
///
/// Rule: decoding followed by `validate()` accepts exactly what the type's schema accepts. Codable refuses
/// missing required fields, wrong JSON types (an explicit null included, except where the schema allows
/// it) and values outside an enum; `validate()` checks what Codable cannot: ranges, lengths and id
/// patterns. Why: the CLI checks payloads without the schema files, and projections trust what they
/// decode. What happens if broken: `CatalogueSchemaTests` finds the example on which the two disagree.
/// Members a type does not list are allowed by the schemas and dropped by decoding.
public protocol CataloguePayload: Codable, Sendable {
    /// The event type, e.g. `session.checkpointed`.
    static var eventType: String { get }
    /// The version of the type this struct decodes (the envelope's `type_version`).
    static var typeVersion: UInt16 { get }
    /// A payload with every field set, for tests and documentation.
    static var example: Self { get }
    /// Checks the rules Codable cannot express: ranges, lengths, patterns.
    func validate() throws(PayloadError)
}

extension CataloguePayload {
    /// Decodes a payload (the `data` object's JSON) and validates it.
    public static func decodeValidated(from json: [UInt8]) throws -> Self {
        let value = try JSONDecoder().decode(Self.self, from: Data(json))
        try value.validate()
        return value
    }
}

/// Every payload type of the catalogue, one per schema file.
public enum PayloadTypes {
    public static let all: [any CataloguePayload.Type] = [
        SessionStarted.self, SessionCheckpointed.self, SessionForked.self, SessionEnded.self,
        WorkItemEnqueued.self, WorkItemLeased.self, WorkItemHeartbeat.self, WorkItemCompleted.self,
        WorkItemFailed.self, WorkItemRetryScheduled.self, WorkItemRescued.self, WorkItemDiscarded.self,
        WorkItemCancelled.self, WorkItemTransitionedV1.self,
        DecisionRecorded.self, DecisionSuperseded.self,
        KOProposed.self, KOApproved.self, KOSuperseded.self, KORetired.self, KOConsulted.self,
        TaskOutcome.self, KOOutcomeV1.self, UsageRecorded.self, StreamShredded.self, KOEmbedded.self,
    ]

    /// The payload type of an event type, or nil for a type outside the catalogue.
    public static func type(for eventType: String) -> (any CataloguePayload.Type)? {
        all.first { $0.eventType == eventType }
    }
}

/// A payload field that breaks a rule of its schema. The message names the field and shows at most 40
/// characters of the value.
public struct PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field's path inside the payload, e.g. `ttl_ms` or `cost.usd`.
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "data.\(field): \(reason)" }

    /// `s` in double quotes, cut to 40 characters (then `…`), with quotes and control characters escaped:
    /// a message shows enough to find the value, never a whole document.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for (i, c) in s.unicodeScalars.enumerated() {
            if i == 40 {
                out += "…"
                break
            }
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if c.value < 0x20 {
                    let hex = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}

/// How an iteration, session or task went.
public enum Verdict: String, Codable, Sendable, CaseIterable {
    case pass = "PASS"
    case fail = "FAIL"
    case partial = "PARTIAL"
    case blocked = "BLOCKED"
}

/// A decision's severity.
public enum Severity: String, Codable, Sendable, CaseIterable {
    case low, medium, high, critical
}

/// A state of the legacy work item state machine (`work_item.transitioned`).
public enum LegacyItemState: String, Codable, Sendable, CaseIterable {
    case pending, claimed
    case inProgress = "in_progress"
    case completed, failed, retrying
}

/// The usage block v0 every payload may carry as `cost`. Other members are allowed and dropped.
public struct Cost: Codable, Sendable, Equatable {
    public var tokensIn: Int?
    public var tokensOut: Int?
    public var usd: Double?

    enum CodingKeys: String, CodingKey {
        case tokensIn = "tokens_in"
        case tokensOut = "tokens_out"
        case usd
    }

    public init(tokensIn: Int? = nil, tokensOut: Int? = nil, usd: Double? = nil) {
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.usd = usd
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tokensIn = try c.decodeUnlessAbsent(Int.self, forKey: .tokensIn)
        tokensOut = try c.decodeUnlessAbsent(Int.self, forKey: .tokensOut)
        usd = try c.decodeUnlessAbsent(Double.self, forKey: .usd)
    }

    /// Checks the block found at `field` (normally `cost`).
    func validate(at field: String = "cost") throws(PayloadError) {
        try PayloadRule.atLeast(tokensIn, "\(field).tokens_in", 0)
        try PayloadRule.atLeast(tokensOut, "\(field).tokens_out", 0)
        try PayloadRule.atLeast(usd, "\(field).usd", 0)
    }

    static let example = Cost(tokensIn: 1840, tokensOut: 312, usd: 0.0127)
}

/// A price in US dollars: a JSON number, or a decimal string (`"0.0042"`) for an exact amount.
public enum USDAmount: Codable, Sendable, Equatable {
    case number(Double)
    /// Digits with an optional fraction: `^[0-9]+(\.[0-9]+)?$`.
    case decimal(String)

    public init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let d = try? single.decode(Double.self) {
            self = .number(d)
        } else {
            self = .decimal(try single.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        switch self {
        case .number(let d): try single.encode(d)
        case .decimal(let s): try single.encode(s)
        }
    }

    func validate(at field: String) throws(PayloadError) {
        switch self {
        case .number(let d): try PayloadRule.atLeast(d, field, 0)
        case .decimal(let s):
            // ^[0-9]+(\.[0-9]+)?$
            let parts = s.utf8.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
            let ok = parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0 &- 0x30 < 10 } }
            if !ok { throw PayloadError(field: field, reason: "\(PayloadError.quoted(s)) is not a decimal number") }
        }
    }
}

extension KeyedDecodingContainer {
    /// The value for `key`, or nil when the key is absent. Unlike `decodeIfPresent`, an explicit null is
    /// refused: the schemas say `"type": "string"` (or integer, …), and null is none of those.
    func decodeUnlessAbsent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard contains(key) else { return nil }
        return try decode(T.self, forKey: key)
    }
}

/// The checks of `validate()`, one per schema keyword the payloads use. Each takes an optional value
/// (absent passes) and the field's name for the message.
enum PayloadRule {
    /// `#/$defs/id`: `^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`.
    static func id(_ value: String?, _ field: String) throws(PayloadError) {
        guard let value else { return }
        let b = Array(value.utf8)
        let ok =
            (1...128).contains(b.count) && isAlphanumeric(b[0])
            && b.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == colon || $0 == dash
            }
        if !ok {
            throw PayloadError(
                field: field,
                reason:
                    "\(PayloadError.quoted(value)) is not an id (1 to 128 of A-Za-z0-9._:-, a letter or digit first)"
            )
        }
    }

    /// `#/$defs/event_ref`: an event_id, `^[A-Za-z0-9._:-]{1,128}$`.
    static func eventRef(_ value: String?, _ field: String) throws(PayloadError) {
        guard let value else { return }
        let b = Array(value.utf8)
        let ok =
            (1...128).contains(b.count)
            && b.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == colon || $0 == dash
            }
        if !ok {
            throw PayloadError(
                field: field,
                reason: "\(PayloadError.quoted(value)) is not an event id (1 to 128 of A-Z a-z 0-9 . _ : -)")
        }
    }

    /// A pattern written as a predicate on the string's UTF-8 bytes, with the pattern for the message.
    static func matches(
        _ value: String?, _ field: String, pattern: String, _ predicate: ([UInt8]) -> Bool
    ) throws(PayloadError) {
        guard let value else { return }
        if !predicate(Array(value.utf8)) {
            throw PayloadError(field: field, reason: "\(PayloadError.quoted(value)) does not match \(pattern)")
        }
    }

    static func range(_ value: Int?, _ field: String, _ bounds: ClosedRange<Int>) throws(PayloadError) {
        guard let value, !bounds.contains(value) else { return }
        throw PayloadError(field: field, reason: "\(value) is not in \(bounds.lowerBound)...\(bounds.upperBound)")
    }

    static func range(_ value: Double?, _ field: String, _ bounds: ClosedRange<Double>) throws(PayloadError) {
        guard let value, !bounds.contains(value) else { return }
        throw PayloadError(
            field: field, reason: "\(text(value)) is not in \(text(bounds.lowerBound))...\(text(bounds.upperBound))")
    }

    static func atLeast(_ value: Int?, _ field: String, _ minimum: Int) throws(PayloadError) {
        guard let value, value < minimum else { return }
        throw PayloadError(field: field, reason: "\(value) is less than the minimum \(minimum)")
    }

    static func atLeast(_ value: Double?, _ field: String, _ minimum: Double) throws(PayloadError) {
        guard let value, value < minimum else { return }
        throw PayloadError(field: field, reason: "\(text(value)) is less than the minimum \(text(minimum))")
    }

    /// A number as messages show it: integral values without a fraction (`0`, not `0.0`).
    static func text(_ d: Double) -> String {
        if d.isFinite, d.rounded(.towardZero) == d, abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    /// Length in Unicode scalars, as JSON Schema counts (`minLength`, `maxLength`).
    static func length(_ value: String?, _ field: String, _ bounds: ClosedRange<Int>) throws(PayloadError) {
        guard let value else { return }
        let n = value.unicodeScalars.count
        if !bounds.contains(n) {
            throw PayloadError(
                field: field,
                reason:
                    "\(PayloadError.quoted(value)) has \(n) characters, not \(bounds.lowerBound)...\(bounds.upperBound)"
            )
        }
    }

    static func minLength(_ value: String?, _ field: String, _ minimum: Int) throws(PayloadError) {
        guard let value, value.unicodeScalars.count < minimum else { return }
        throw PayloadError(field: field, reason: "\(PayloadError.quoted(value)) is shorter than \(minimum) characters")
    }

    static func isAlphanumeric(_ b: UInt8) -> Bool {
        b &- UInt8(ascii: "0") < 10 || b &- UInt8(ascii: "A") < 26 || b &- UInt8(ascii: "a") < 26
    }

    static let colon = UInt8(ascii: ":")
    static let dash = UInt8(ascii: "-")
}
