import EventLog
import Foundation

/// A JSON Schema (draft 2020-12) validator for exactly the keywords the payload schemas in
/// `schemas/events/` use: `type` (a name or an array of names), `required`, `properties`, boolean
/// `additionalProperties`, `enum`, `const`, `minimum`, `maximum`, `minLength`, `maxLength`, `pattern`,
/// `items`, `minItems`, and `$ref` to `#/$defs/<name>`. A schema with any other validation keyword is
/// refused when it is compiled, so nothing is silently ignored; Python's `jsonschema` is the referee
/// (`CatalogueSchemaTests`).
///
/// Semantics follow the specification (json-schema.org, draft 2020-12 "Validation", §6): numeric and
/// length keywords apply only to numbers and strings, a number with a zero fraction (`1.0`) is an
/// integer, lengths count Unicode scalars, `pattern` is an unanchored search (ICU's regex dialect, as
/// close to ECMA-262 as the patterns here need).
public struct SchemaValidator: Sendable {
    /// The schema's `$id`, if it has one.
    public let schemaID: String?
    /// The schema's `title`, if it has one.
    public let title: String?
    let root: SchemaNode
    let definitions: [String: SchemaNode]

    public init(schemaJSON: [UInt8]) throws(SchemaError) {
        let any: Any
        do {
            any = try JSONSerialization.jsonObject(with: Data(schemaJSON), options: [.fragmentsAllowed])
        } catch {
            throw SchemaError(path: "", reason: "not valid JSON")
        }
        guard let json = ParsedJSON(any) else { throw SchemaError(path: "", reason: "not valid JSON") }
        var compiler = SchemaCompiler()
        if case .object(let members) = json, case .object(let defs)? = members["$defs"] {
            var compiled: [String: SchemaNode] = [:]
            for (name, def) in defs { compiled[name] = try compiler.node(def, at: "$defs." + name) }
            definitions = compiled
        } else {
            definitions = [:]
        }
        root = try compiler.node(json, at: "", isRoot: true)
        for (ref, at) in compiler.references where definitions[ref] == nil {
            throw SchemaError(path: at, reason: "$ref to an undefined #/$defs/\(ref)")
        }
        if case .object(let members) = json {
            if case .string(let s)? = members["$id"] { schemaID = s } else { schemaID = nil }
            if case .string(let s)? = members["title"] { title = s } else { title = nil }
        } else {
            schemaID = nil
            title = nil
        }
    }

    /// The problems of a payload (the `data` object's JSON), each naming its JSON path, e.g.
    /// `data.verdict: "DONE" is not one of PASS, FAIL, PARTIAL, BLOCKED`; empty when the payload is valid.
    /// Strings are shown cut to 40 characters.
    public func validate(payload: [UInt8]) -> [String] {
        guard let any = try? JSONSerialization.jsonObject(with: Data(payload), options: [.fragmentsAllowed]),
            let json = ParsedJSON(any)
        else { return ["data: not valid JSON"] }
        var problems: [String] = []
        check(json, root, at: "data", depth: 0, into: &problems)
        return problems
    }

    private func check(
        _ value: ParsedJSON, _ node: SchemaNode, at path: String, depth: Int, into problems: inout [String]
    ) {
        guard depth < 64 else {
            problems.append("\(path): schema nests $ref too deeply")
            return
        }
        guard case .keywords(let k) = node else {
            if case .boolean(false) = node { problems.append("\(path): no value is allowed here") }
            return
        }
        if let ref = k.ref, let target = definitions[ref] {
            check(value, target, at: path, depth: depth + 1, into: &problems)
        }
        if let types = k.types, !types.contains(where: { $0.matches(value) }) {
            let names = types.map(\.rawValue).joined(separator: " or ")
            problems.append("\(path): \(value.shortDescription) is not of type \(names)")
            return
        }
        if let values = k.enumValues, !values.contains(where: { $0.equalsAsJSON(value) }) {
            let list = values.map { if case .string(let s) = $0 { s } else { $0.shortDescription } }
            problems.append("\(path): \(value.shortDescription) is not one of \(list.joined(separator: ", "))")
        }
        if let c = k.constValue, !c.equalsAsJSON(value) {
            problems.append("\(path): \(value.shortDescription) is not \(c.shortDescription)")
        }
        switch value {
        case .number(let d, _, _):
            if let m = k.minimum, d < m {
                problems.append("\(path): \(value.shortDescription) is less than the minimum \(ParsedJSON.text(m))")
            }
            if let m = k.maximum, d > m {
                problems.append("\(path): \(value.shortDescription) is greater than the maximum \(ParsedJSON.text(m))")
            }
        case .string(let s):
            let n = s.unicodeScalars.count
            if let m = k.minLength, n < m {
                problems.append("\(path): \(value.shortDescription) is shorter than \(m) characters")
            }
            if let m = k.maxLength, n > m {
                problems.append("\(path): \(value.shortDescription) is longer than \(m) characters (\(n))")
            }
            if let p = k.pattern, !p.matches(s) {
                problems.append("\(path): \(value.shortDescription) does not match \(p.source)")
            }
        case .array(let elements):
            if let m = k.minItems, elements.count < m {
                problems.append("\(path): an array of \(elements.count) items has fewer than \(m)")
            }
            if let items = k.items {
                for (i, e) in elements.enumerated() {
                    check(e, items, at: "\(path)[\(i)]", depth: depth, into: &problems)
                }
            }
        case .object(let members):
            for name in k.required where members[name] == nil {
                problems.append("\(ParsedJSON.path(path, name)): required but missing")
            }
            for (name, schema) in k.properties {
                if let v = members[name] {
                    check(v, schema, at: ParsedJSON.path(path, name), depth: depth, into: &problems)
                }
            }
            if k.additionalProperties == false {
                let known = Set(k.properties.map(\.0))
                for name in members.keys.sorted() where !known.contains(name) {
                    problems.append("\(ParsedJSON.path(path, name)): additional property not allowed")
                }
            }
        case .null, .bool:
            break
        }
    }
}

/// A schema that cannot be compiled: not JSON, a keyword `SchemaValidator` does not support, a keyword
/// with a value of the wrong shape, or a `$ref` to nothing.
public struct SchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the schema came from: a file path, `embedded <type>`, or empty.
    public var source: String
    /// The place inside the schema, e.g. `properties.verdict.enum`; empty for the whole document.
    public var path: String
    public var reason: String

    public init(source: String = "", path: String, reason: String) {
        self.source = source
        self.path = path
        self.reason = reason
    }

    public var description: String {
        let prefix = source.isEmpty ? "" : source + ": "
        return path.isEmpty ? "\(prefix)schema: \(reason)" : "\(prefix)schema at \(path): \(reason)"
    }
}

/// The payload schemas by event type, from `schemas/events/` or from the copy compiled into the binary.
public enum EventSchemas {
    /// `<type>.schema.json`, e.g. `session.checkpointed.schema.json`.
    public static let fileSuffix = ".schema.json"

    /// Compiles every `<type>.schema.json` of `directory`, keyed by type.
    public static func load(directory: String, fileSystem: any FileSystem = PosixFileSystem()) throws(SchemaError)
        -> [String: SchemaValidator]
    {
        let names: [String]
        do { names = try fileSystem.listDirectory(directory) } catch {
            throw SchemaError(source: directory, path: "", reason: "cannot list the directory: \(error)")
        }
        var out: [String: SchemaValidator] = [:]
        for name in names.sorted() where name.hasSuffix(fileSuffix) {
            let path = directory + "/" + name
            let bytes: [UInt8]
            do { bytes = try fileSystem.readFile(path) } catch {
                throw SchemaError(source: path, path: "", reason: "cannot read: \(error)")
            }
            do { out[String(name.dropLast(fileSuffix.count))] = try SchemaValidator(schemaJSON: bytes) } catch {
                throw SchemaError(source: path, path: error.path, reason: error.reason)
            }
        }
        return out
    }

    /// The schemas compiled into the binary (`EmbeddedSchemas`), so the CLI validates without the repository.
    /// A schema that does not compile is a programmer error: the build embedded a broken file that
    /// `CatalogueSchemaTests` would have refused.
    public static let embedded: [String: SchemaValidator] = {
        var out: [String: SchemaValidator] = [:]
        for (type, text) in EmbeddedSchemas.byType {
            do { out[type] = try SchemaValidator(schemaJSON: Array(text.utf8)) } catch {
                preconditionFailure("embedded schema \(type): \(error)")
            }
        }
        return out
    }()
}

// MARK: - Compiled schemas

/// A compiled schema: `true`/`false`, or an object of keywords.
indirect enum SchemaNode: Sendable {
    case boolean(Bool)
    case keywords(SchemaKeywords)
}

/// The validation keywords of one schema object. Absent keywords are nil or empty.
struct SchemaKeywords: Sendable {
    var types: [JSONType]?
    var required: [String] = []
    /// Sorted by name, so problems come out in a stable order.
    var properties: [(String, SchemaNode)] = []
    var additionalProperties: Bool?
    var enumValues: [ParsedJSON]?
    var constValue: ParsedJSON?
    var minimum: Double?
    var maximum: Double?
    var minLength: Int?
    var maxLength: Int?
    var pattern: SchemaPattern?
    var items: SchemaNode?
    var minItems: Int?
    /// The name under `#/$defs/`.
    var ref: String?
}

struct SchemaPattern: Sendable {
    var source: String
    /// `NSRegularExpression` is immutable and safe to use from any thread (Apple's class reference).
    var regex: NSRegularExpression

    func matches(_ s: String) -> Bool {
        regex.firstMatch(in: s, options: [], range: NSRange(s.startIndex..., in: s)) != nil
    }
}

enum JSONType: String, Sendable {
    case null, boolean, object, array, number, string, integer

    func matches(_ v: ParsedJSON) -> Bool {
        switch (self, v) {
        case (.null, .null), (.boolean, .bool), (.object, .object), (.array, .array), (.string, .string),
            (.number, .number):
            return true
        case (.integer, .number(_, let isInteger, _)): return isInteger
        default: return false
        }
    }
}

/// Turns parsed schema JSON into `SchemaNode`s, refusing what the validator does not implement.
struct SchemaCompiler {
    /// Every `$ref` seen, with where, to check once `$defs` are known.
    var references: [(String, String)] = []

    /// Keywords that only annotate: accepted and ignored.
    static let annotations: Set<String> = ["$schema", "$id", "title", "description", "$comment", "examples", "default"]

    mutating func node(_ json: ParsedJSON, at path: String, isRoot: Bool = false) throws(SchemaError) -> SchemaNode {
        if case .bool(let b) = json { return .boolean(b) }
        guard case .object(let members) = json else {
            throw SchemaError(path: path, reason: "a schema must be an object or a boolean")
        }
        var k = SchemaKeywords()
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            let at = path.isEmpty ? key : path + "." + key
            switch key {
            case _ where Self.annotations.contains(key):
                continue
            case "$defs":
                // Compiled by SchemaValidator.init; only the root's are reachable through "#/$defs/…".
                if !isRoot { throw SchemaError(path: at, reason: "$defs is supported at the root only") }
            case "type":
                k.types = try types(value, at: at)
            case "required":
                guard case .array(let names) = value else { throw SchemaError(path: at, reason: "must be an array") }
                k.required = try names.map { (n) throws(SchemaError) -> String in
                    guard case .string(let s) = n else { throw SchemaError(path: at, reason: "must hold strings") }
                    return s
                }
            case "properties":
                guard case .object(let props) = value else { throw SchemaError(path: at, reason: "must be an object") }
                for (name, schema) in props.sorted(by: { $0.key < $1.key }) {
                    k.properties.append((name, try node(schema, at: at + "." + name)))
                }
            case "additionalProperties":
                guard case .bool(let b) = value else {
                    throw SchemaError(path: at, reason: "only a boolean additionalProperties is supported")
                }
                k.additionalProperties = b
            case "enum":
                guard case .array(let values) = value else { throw SchemaError(path: at, reason: "must be an array") }
                k.enumValues = values
            case "const":
                k.constValue = value
            case "minimum": k.minimum = try number(value, at: at)
            case "maximum": k.maximum = try number(value, at: at)
            case "minLength": k.minLength = try count(value, at: at)
            case "maxLength": k.maxLength = try count(value, at: at)
            case "minItems": k.minItems = try count(value, at: at)
            case "pattern":
                guard case .string(let source) = value else { throw SchemaError(path: at, reason: "must be a string") }
                guard let regex = try? NSRegularExpression(pattern: source) else {
                    throw SchemaError(path: at, reason: "not a regular expression")
                }
                k.pattern = SchemaPattern(source: source, regex: regex)
            case "items":
                k.items = try node(value, at: at)
            case "$ref":
                let prefix = "#/$defs/"
                guard case .string(let ref) = value, ref.hasPrefix(prefix), ref.count > prefix.count else {
                    throw SchemaError(path: at, reason: "only $ref to \"#/$defs/<name>\" is supported")
                }
                let name = String(ref.dropFirst(prefix.count))
                k.ref = name
                references.append((name, at))
            default:
                throw SchemaError(path: at, reason: "keyword \(key) is not supported by SchemaValidator")
            }
        }
        return .keywords(k)
    }

    func types(_ value: ParsedJSON, at path: String) throws(SchemaError) -> [JSONType] {
        let names: [ParsedJSON]
        switch value {
        case .string: names = [value]
        case .array(let a) where !a.isEmpty: names = a
        default: throw SchemaError(path: path, reason: "must be a type name or an array of them")
        }
        return try names.map { (n) throws(SchemaError) -> JSONType in
            guard case .string(let s) = n, let t = JSONType(rawValue: s) else {
                throw SchemaError(path: path, reason: "\(n.shortDescription) is not a JSON Schema type")
            }
            return t
        }
    }

    func number(_ value: ParsedJSON, at path: String) throws(SchemaError) -> Double {
        guard case .number(let d, _, _) = value else { throw SchemaError(path: path, reason: "must be a number") }
        return d
    }

    func count(_ value: ParsedJSON, at path: String) throws(SchemaError) -> Int {
        guard case .number(let d, true, _) = value, d >= 0, d <= Double(Int32.max) else {
            throw SchemaError(path: path, reason: "must be a non-negative integer")
        }
        return Int(d)
    }
}

// MARK: - Parsed JSON

/// A JSON value as `JSONSerialization` parsed it, with booleans told apart from numbers.
enum ParsedJSON: Sendable {
    case null
    case bool(Bool)
    /// The value, whether it is an integer (no fraction; `1.0` counts), and its text for messages.
    case number(Double, isInteger: Bool, text: String)
    case string(String)
    case array([ParsedJSON])
    case object([String: ParsedJSON])

    /// Converts `JSONSerialization` output. Booleans and numbers both arrive as `NSNumber`, and on Linux
    /// `NSNumber(1) as? Bool` succeeds, so `as? Bool` cannot tell them apart. `objCType` can: JSON booleans
    /// are `CFBoolean`s (`__NSCFBoolean`) whose type is "c" (char), and JSONSerialization makes every
    /// number an Int64/UInt64 ("q", "Q", or "i" for small values) or a Double ("d"), never a char.
    init?(_ any: Any) {
        switch any {
        case is NSNull:
            self = .null
        case let n as NSNumber:
            let type = String(cString: n.objCType)
            switch type {
            case "c", "B":
                self = .bool(n.boolValue)
            case "d", "f":
                let d = n.doubleValue
                self = .number(d, isInteger: d.isFinite && d.rounded(.towardZero) == d, text: ParsedJSON.text(d))
            case "Q", "L", "I", "S", "C":
                self = .number(n.doubleValue, isInteger: true, text: String(n.uint64Value))
            default:
                self = .number(n.doubleValue, isInteger: true, text: String(n.int64Value))
            }
        case let s as String:
            self = .string(s)
        case let a as [Any]:
            var out: [ParsedJSON] = []
            out.reserveCapacity(a.count)
            for e in a {
                guard let p = ParsedJSON(e) else { return nil }
                out.append(p)
            }
            self = .array(out)
        case let o as [String: Any]:
            var out: [String: ParsedJSON] = [:]
            for (k, v) in o {
                guard let p = ParsedJSON(v) else { return nil }
                out[k] = p
            }
            self = .object(out)
        default:
            return nil
        }
    }

    /// JSON equality as `enum` and `const` use it: numbers by value (`1` equals `1.0`), booleans never equal
    /// to numbers, objects by members.
    func equalsAsJSON(_ other: ParsedJSON) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a, _, _), .number(let b, _, _)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.equalsAsJSON($1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count && a.allSatisfy { k, v in b[k].map { v.equalsAsJSON($0) } ?? false }
        default: return false
        }
    }

    /// The value for a message: strings quoted and cut to 40 characters, containers by kind only.
    var shortDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(_, _, let text): return text
        case .string(let s): return PayloadError.quoted(s)
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// A number as a message shows it: integers without a fraction.
    static func text(_ d: Double) -> String { PayloadRule.text(d) }

    /// `data.name` for plain names, `data["odd name"]` for the rest.
    static func path(_ base: String, _ name: String) -> String {
        let plain =
            !name.isEmpty && name.utf8.allSatisfy { PayloadRule.isAlphanumeric($0) || $0 == UInt8(ascii: "_") }
            && !(name.utf8.first! &- UInt8(ascii: "0") < 10)
        return plain ? base + "." + name : base + "[" + PayloadError.quoted(name) + "]"
    }
}
