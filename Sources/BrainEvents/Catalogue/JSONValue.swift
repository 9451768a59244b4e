/// Any JSON value, for the payload fields the catalogue leaves open (`session.checkpointed` `state`,
/// `work_item.completed` `result`, `ko.proposed` `source_sessions`).
///
/// Numbers keep their text (`"0.1"`, `"-3"`), so no value is rounded through a `Double` on its way back
/// out. Objects keep their members as ordered pairs, so a value built in code encodes in the order given.
///
/// Two limits of `JSONDecoder` (swift-foundation) show through: it does not report the order of an
/// object's members (its keyed container holds a `Dictionary`), so decoding sorts members by key; and it
/// hands out numbers, not their text, so a decoded number's text is its canonical form (`1.0` and `1e0`
/// decode as `"1"`, `0.10` as `"0.1"`). Equality therefore ignores member order, as JSON does (RFC 8259
/// §4: objects are unordered), and compares numbers by text.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// A JSON number's text, e.g. `"42"`, `"-0.5"`, `"1e-3"`.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// An object's value for `key` (the last member of that name), or nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }
}

extension JSONValue: Equatable {
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            let sortedX = x.sorted { $0.0 < $1.0 }
            let sortedY = y.sorted { $0.0 < $1.0 }
            return sortedX.elementsEqual(sortedY) { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}

extension JSONValue: Codable {
    /// A member name as a coding key, for objects of any shape.
    struct MemberKey: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: MemberKey.self) {
            var members: [(String, JSONValue)] = []
            for key in object.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                members.append((key.stringValue, try object.decode(JSONValue.self, forKey: key)))
            }
            self = .object(members)
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            if let count = array.count { elements.reserveCapacity(count) }
            while !array.isAtEnd { elements.append(try array.decode(JSONValue.self)) }
            self = .array(elements)
            return
        }
        let single = try decoder.singleValueContainer()
        // Bool before the numbers: JSONDecoder refuses `true` as an Int and `1` as a Bool, so the order only
        // matters for decoders that convert.
        if single.decodeNil() {
            self = .null
        } else if let b = try? single.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? single.decode(Int64.self) {
            self = .number(String(i))
        } else if let u = try? single.decode(UInt64.self) {
            self = .number(String(u))
        } else if let d = try? single.decode(Double.self) {
            self = .number(d.description)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .object(let members):
            var object = encoder.container(keyedBy: MemberKey.self)
            for (k, v) in members { try object.encode(v, forKey: MemberKey(stringValue: k)) }
        case .array(let elements):
            var array = encoder.unkeyedContainer()
            for v in elements { try array.encode(v) }
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let b):
            var single = encoder.singleValueContainer()
            try single.encode(b)
        case .string(let s):
            var single = encoder.singleValueContainer()
            try single.encode(s)
        case .number(let text):
            var single = encoder.singleValueContainer()
            if let i = Int64(text) {
                try single.encode(i)
            } else if let u = UInt64(text) {
                try single.encode(u)
            } else if let d = Double(text), d.isFinite {
                try single.encode(d)
            } else {
                throw EncodingError.invalidValue(
                    self,
                    EncodingError.Context(
                        codingPath: encoder.codingPath, debugDescription: "not a JSON number: \(text.prefix(40))"))
            }
        }
    }
}

/// A JSON object with any members, for the payload fields that must be objects but have no fixed shape
/// (`usage`, `work_item.enqueued` `metadata`). Decoding refuses anything but an object.
public struct JSONObject: Sendable, Equatable, Codable {
    /// The members; on decoding, sorted by key (see `JSONValue`).
    public var members: [(String, JSONValue)]

    public init(_ members: [(String, JSONValue)] = []) { self.members = members }

    public subscript(key: String) -> JSONValue? { JSONValue.object(members)[key] }

    public static func == (a: JSONObject, b: JSONObject) -> Bool { JSONValue.object(a.members) == .object(b.members) }

    public init(from decoder: any Decoder) throws {
        // Ask for a keyed container first: it fails with a type mismatch on anything but an object.
        _ = try decoder.container(keyedBy: JSONValue.MemberKey.self)
        guard case .object(let members) = try JSONValue(from: decoder) else {
            throw DecodingError.typeMismatch(
                JSONObject.self,
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "not an object"))
        }
        self.members = members
    }

    public func encode(to encoder: any Encoder) throws { try JSONValue.object(members).encode(to: encoder) }
}
