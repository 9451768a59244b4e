import EventLog

/// A JSON value for machine output, members in the order given (our `-o json` shapes are API: a test pins
/// them, so their order must not depend on a dictionary). `raw` embeds bytes that are JSON already (an
/// event line, a payload) without re-encoding them.
public indirect enum JSONOut: Sendable {
    case string(String)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case null
    case raw([UInt8])
    case array([JSONOut])
    case object([(String, JSONOut)])

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    public func write(into out: inout [UInt8]) {
        switch self {
        case .string(let s): JSONScanner.quote(s, into: &out)
        case .int(let v): out += Array(String(v).utf8)
        case .uint(let v): out += Array(String(v).utf8)
        case .double(let v): out += Array((v.isFinite ? String(v) : "null").utf8)
        case .bool(let v): out += Array((v ? "true" : "false").utf8)
        case .null: out += Array("null".utf8)
        case .raw(let b): out += b
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, v) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONScanner.quote(k, into: &out)
                out.append(UInt8(ascii: ":"))
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func optional(_ v: UInt64?) -> JSONOut { v.map { .uint($0) } ?? .null }
    static func optional(_ v: String?) -> JSONOut { v.map { .string($0) } ?? .null }
}

/// A parsed JSON value that keeps member order and number text, for rendering payloads to people.
enum JSONTree {
    case object([(String, JSONTree)])
    case array([JSONTree])
    case string(String)
    /// Numbers, `true`, `false`, `null`, exactly as written.
    case literal(String)

    /// Parses `bytes`; nil if they are not one JSON value.
    static func parse(_ bytes: [UInt8]) -> JSONTree? {
        var p = Parser(b: bytes)
        guard let v = p.value(depth: 0) else { return nil }
        p.space()
        return p.i == bytes.count ? v : nil
    }

    struct Parser {
        let b: [UInt8]
        var i = 0

        mutating func space() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }

        mutating func value(depth: Int) -> JSONTree? {
            guard depth < 64 else { return nil }
            space()
            guard i < b.count else { return nil }
            switch b[i] {
            case UInt8(ascii: "{"):
                i += 1
                var members: [(String, JSONTree)] = []
                space()
                if i < b.count, b[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object([])
                }
                while true {
                    space()
                    guard let k = string() else { return nil }
                    space()
                    guard i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
                    i += 1
                    guard let v = value(depth: depth + 1) else { return nil }
                    members.append((k, v))
                    space()
                    guard i < b.count else { return nil }
                    if b[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    guard b[i] == UInt8(ascii: "}") else { return nil }
                    i += 1
                    return .object(members)
                }
            case UInt8(ascii: "["):
                i += 1
                var items: [JSONTree] = []
                space()
                if i < b.count, b[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array([])
                }
                while true {
                    guard let v = value(depth: depth + 1) else { return nil }
                    items.append(v)
                    space()
                    guard i < b.count else { return nil }
                    if b[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    guard b[i] == UInt8(ascii: "]") else { return nil }
                    i += 1
                    return .array(items)
                }
            case UInt8(ascii: "\""):
                return string().map { .string($0) }
            default:
                let start = i
                while i < b.count, !",}] \n\r\t".utf8.contains(b[i]) { i += 1 }
                guard i > start else { return nil }
                return .literal(String(decoding: b[start..<i], as: UTF8.self))
            }
        }

        mutating func string() -> String? {
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { return nil }
            var j = i + 1
            var escaped = false
            while j < b.count, b[j] != UInt8(ascii: "\"") {
                if b[j] == UInt8(ascii: "\\") {
                    escaped = true
                    j += 1
                }
                j += 1
            }
            guard j < b.count else { return nil }
            defer { i = j + 1 }
            if !escaped { return String(decoding: b[(i + 1)..<j], as: UTF8.self) }
            return JSONScanner.unescape(b[i...j])
        }
    }

    /// Compact JSON text (for values nested too deep to lay out).
    var compact: String {
        switch self {
        case .string(let s):
            var o: [UInt8] = []
            JSONScanner.quote(s, into: &o)
            return String(decoding: o, as: UTF8.self)
        case .literal(let l): return l
        case .array(let items): return "[" + items.map(\.compact).joined(separator: ",") + "]"
        case .object(let m):
            return "{" + m.map { JSONTree.string($0.0).compact + ":" + $0.1.compact }.joined(separator: ",") + "}"
        }
    }

    /// Pretty JSON (two-space indent), member order and number text kept.
    func pretty(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .object(let m) where !m.isEmpty:
            return "{\n"
                + m.map { inner + JSONTree.string($0.0).compact + ": " + $0.1.pretty(indent: inner) }.joined(
                    separator: ",\n") + "\n" + indent + "}"
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { inner + $0.pretty(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        default: return compact
        }
    }

    /// Text for a person: strings unquoted, short lists joined, objects as `k=v` pairs.
    var readable: String {
        switch self {
        case .string(let s): return s
        case .literal(let l): return l
        case .array(let items):
            if items.allSatisfy({ if case .string = $0 { return true } else { return false } }) {
                return items.map(\.readable).joined(separator: ", ")
            }
            return "[" + items.map(\.readable).joined(separator: ", ") + "]"
        case .object(let m): return m.map { "\($0.0)=\($0.1.readableInline)" }.joined(separator: " ")
        }
    }

    /// Like `readable`, quoting strings that contain spaces (so `k=v` pairs stay unambiguous).
    var readableInline: String {
        switch self {
        case .string(let s): return s.contains(" ") || s.isEmpty ? compact : s
        case .object: return "{" + readable + "}"
        default: return readable
        }
    }
}
