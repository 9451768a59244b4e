import EventLog
import Foundation
import Yams

/// A problem in a file `ko add` or `import legacy` reads: the file, the line (1-based) when known, the field,
/// and what to do.
public struct LegacyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var field: String?
    public var reason: String
    public var hint: String?

    public init(file: String, line: Int? = nil, field: String? = nil, _ reason: String, hint: String? = nil) {
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
        self.hint = hint
    }

    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): " + detail }

    /// The field, the reason and the hint without the place, for a report that names the file and line already.
    public var detail: String { "\(field.map { "\($0): " } ?? "")\(reason)" + (hint.map { " (\($0))" } ?? "") }
}

/// A knowledge object as a markdown file: front matter (`---` YAML or JSON `---`: id, title, tags, projects;
/// other members kept as metadata), then the markdown body (schemas/legacy.md, "Knowledge objects").
public struct KOMarkdown: Sendable, Equatable {
    public var id: String
    public var title: String
    public var tags: [String]
    public var projects: [String]
    public var body: String
    /// Front-matter members other than id, title, tags and projects, in file order.
    public var metadata: [(String, JSONValue)]

    public init(
        id: String, title: String, tags: [String] = [], projects: [String] = [], body: String = "",
        metadata: [(String, JSONValue)] = []
    ) {
        self.id = id
        self.title = title
        self.tags = tags
        self.projects = projects
        self.body = body
        self.metadata = metadata
    }

    public static func == (a: KOMarkdown, b: KOMarkdown) -> Bool {
        a.id == b.id && a.title == b.title && a.tags == b.tags && a.projects == b.projects && a.body == b.body
            && JSONValue.object(a.metadata) == JSONValue.object(b.metadata)
    }

    static let known = ["id", "title", "tags", "projects"]

    /// Parses a KO file. `defaultID` (e.g. the file name without `.md`) is used when the front matter has no id.
    public static func parse(_ bytes: [UInt8], file: String, defaultID: String? = nil) throws(LegacyError) -> KOMarkdown
    {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw LegacyError(file: file, "is not UTF-8 text")
        }
        let (front, body, bodyLine) = try FrontMatter.split(text, file: file)
        var members: [(String, JSONValue)] = []
        if let front { members = try FrontMatter.members(front, file: file) }
        func string(_ k: String) throws(LegacyError) -> String? {
            guard let v = members.last(where: { $0.0 == k })?.1 else { return nil }
            switch v {
            case .string(let s): return s
            case .number(let n): return n
            case .null: return nil
            default: throw LegacyError(file: file, line: 2, field: k, "must be a string")
            }
        }
        func list(_ k: String) throws(LegacyError) -> [String]? {
            guard let v = members.last(where: { $0.0 == k })?.1 else { return nil }
            switch v {
            case .array(let items):
                var out: [String] = []
                for i in items {
                    guard case .string(let s) = i else {
                        throw LegacyError(file: file, line: 2, field: k, "must be a list of strings")
                    }
                    out.append(s)
                }
                return out
            case .string(let s):
                // `tags: auth, jwt` is a common hand-written form.
                return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            case .null: return []
            default: throw LegacyError(file: file, line: 2, field: k, "must be a list of strings")
            }
        }
        var bodyText = body
        var title = try string("title")
        if title == nil || title!.isEmpty {
            // No title in the front matter: the first `# ` heading of the body.
            if let h = bodyText.split(separator: "\n", omittingEmptySubsequences: false).first(where: {
                $0.hasPrefix("# ")
            }) {
                title = String(h.dropFirst(2)).trimmingCharacters(in: .whitespaces)
            }
        }
        guard let id = try string("id") ?? defaultID, !id.isEmpty else {
            throw LegacyError(file: file, line: 1, field: "id", "no id", hint: "add `id: KO-…` to the front matter")
        }
        guard let title, !title.isEmpty else {
            throw LegacyError(
                file: file, line: front == nil ? bodyLine : 2, field: "title", "no title",
                hint: "add `title:` to the front matter or a `# Title` line")
        }
        var tags = try list("tags")
        if tags == nil {
            // Liberal: a `Tags: a, b` line in the body when the front matter has none.
            let lines = bodyText.split(separator: "\n", omittingEmptySubsequences: false)
            if let i = lines.firstIndex(where: { Self.tagLine($0) != nil }) {
                tags = Self.tagLine(lines[i])
                var kept = lines
                kept.remove(at: i)
                bodyText = kept.joined(separator: "\n")
            }
        }
        return KOMarkdown(
            id: id, title: title, tags: tags ?? [], projects: try list("projects") ?? [], body: bodyText,
            metadata: members.filter { !Self.known.contains($0.0) })
    }

    static func tagLine(_ line: Substring) -> [String]? {
        var s = line.trimmingCharacters(in: .whitespaces)
        for p in ["**Tags:**", "**Tags**:", "Tags:", "tags:"] where s.hasPrefix(p) {
            s = String(s.dropFirst(p.count))
            return s.split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`#"))
            }.filter { !$0.isEmpty }
        }
        return nil
    }

    /// The file `export legacy` writes: YAML front matter (id, title, tags, projects, then the metadata as
    /// JSON values, which YAML reads), a blank-free `---`, then the body.
    public var text: String {
        var lines = ["---", "id: " + FrontMatter.yamlScalar(id), "title: " + FrontMatter.yamlScalar(title)]
        lines.append("tags: [" + tags.map(FrontMatter.yamlScalar).joined(separator: ", ") + "]")
        lines.append("projects: [" + projects.map(FrontMatter.yamlScalar).joined(separator: ", ") + "]")
        for (k, v) in metadata { lines.append(FrontMatter.yamlScalar(k) + ": " + v.jsonText) }
        lines = lines.map(FrontMatter.yamlPrintable)
        lines.append("---")
        return lines.joined(separator: "\n") + "\n" + body
    }
}

/// Front matter: a first line `---`, then YAML (or one JSON object) up to the next line that is `---`.
public enum FrontMatter {
    /// The front matter text (nil when the file has none), the body after it, and the body's first line number.
    public static func split(_ text: String, file: String) throws(LegacyError) -> (String?, String, Int) {
        // CRLF files are read as LF (Swift takes "\r\n" for one character, which a split at "\n" never finds).
        var normalized = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        if normalized.unicodeScalars.contains("\r") { normalized = lineFeeds(normalized) }
        guard normalized.hasPrefix("---\n") else { return (nil, normalized, 1) }
        let lines = normalized.split(separator: "\n", omittingEmptySubsequences: false)
        guard
            let end = lines.indices.dropFirst().first(where: { lines[$0].trimmingCharacters(in: .whitespaces) == "---" }
            )
        else {
            throw LegacyError(
                file: file, line: 1, "front matter opened with `---` is never closed",
                hint: "end it with a line `---`")
        }
        let front = lines[1..<end].joined(separator: "\n")
        let body = lines[(end + 1)...].joined(separator: "\n")
        return (front, body, end + 2)
    }

    /// The members of a front matter (YAML mapping, or a JSON object), in order, as JSON values.
    public static func members(_ front: String, file: String) throws(LegacyError) -> [(String, JSONValue)] {
        let node: Node?
        do {
            node = try Yams.compose(yaml: front)
        } catch let e as YamlError {
            throw LegacyError(file: file, line: 2, "front matter is not YAML or JSON: \(e)")
        } catch {
            throw LegacyError(file: file, line: 2, "front matter is not YAML or JSON: \(error)")
        }
        guard let node else { return [] }
        guard case .object(let m) = try json(node, file: file, depth: 0) else {
            throw LegacyError(file: file, line: 2, "front matter must be a mapping of names to values")
        }
        return m
    }

    static func json(_ n: Node, file: String, depth: Int) throws(LegacyError) -> JSONValue {
        guard depth < 32 else { throw LegacyError(file: file, line: 2, "front matter nests deeper than 32 levels") }
        switch n {
        case .scalar(let s):
            if s.style == .plain {
                switch s.string {
                case "null", "~", "": return .null
                case "true", "True", "TRUE": return .bool(true)
                case "false", "False", "FALSE": return .bool(false)
                default:
                    // Only a JSON number stays a number (`01`, `1.`, `.5` are text: they are not JSON).
                    if JSONScanner.isNumber(s.string) {
                        return .number(s.string)
                    }
                }
            }
            return .string(s.string)
        case .sequence(let seq):
            var out: [JSONValue] = []
            for x in seq { out.append(try json(x, file: file, depth: depth + 1)) }
            return .array(out)
        case .mapping(let map):
            var out: [(String, JSONValue)] = []
            var seen: Set<String> = []
            for (k, v) in map {
                guard case .scalar(let key) = k else {
                    throw LegacyError(file: file, line: k.mark.map { $0.line + 1 }, "front matter keys must be text")
                }
                // YAML reads a key of a flow mapping only up to 1,024 characters, and what export writes back
                // must read back: names are kept short and printable (libFuzzer's legacy-session found a key
                // of tabs that exported, escaped, past the limit).
                let name = key.string
                guard (1...128).contains(name.unicodeScalars.count),
                    !name.unicodeScalars.contains(where: {
                        $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x2029
                    })
                else {
                    throw LegacyError(
                        file: file, line: k.mark.map { $0.line + 1 },
                        "a front matter name must be 1 to 128 Unicode scalars without control characters, not "
                            + JSONValue.string(String(name.prefix(40))).jsonText + (name.count > 40 ? "…" : ""),
                        hint: "rename it")
                }
                // A name given twice is ambiguous (YAML forbids it; JSON readers keep either one): refused, so
                // that what is kept and written back is what any reader of the file saw.
                guard seen.insert(key.string).inserted else {
                    throw LegacyError(
                        file: file, line: k.mark.map { $0.line + 1 },
                        "front matter names \(JSONValue.string(key.string).jsonText) twice",
                        hint: "keep one of them")
                }
                out.append((key.string, try json(v, file: file, depth: depth + 1)))
            }
            return .object(out)
        case .alias:
            throw LegacyError(file: file, line: 2, "front matter aliases (*name) are not accepted")
        }
    }

    /// Every run of CRs ending a line becomes one LF; a CR inside a line stays. Idempotent, unlike replacing
    /// "\r\n" once ("\r\r\n" gave "\r\n", which the next read turned into "\n": the fuzz target
    /// `legacy-session` found a session file whose export read back with another body).
    static func lineFeeds(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var crs = 0
        for u in text.unicodeScalars {
            if u == "\r" {
                crs += 1
                continue
            }
            if u != "\n" { out.append(contentsOf: repeatElement("\r" as Unicode.Scalar, count: crs)) }
            crs = 0
            out.append(u)
        }
        out.append(contentsOf: repeatElement("\r" as Unicode.Scalar, count: crs))
        return String(out)
    }

    /// `line` with every character outside YAML's printable set (YAML 1.2 §5.1: 0x20–0x7E, 0xA0–0xD7FF,
    /// 0xE000–0xFFFD, 0x10000 and up; a BOM only at the start of a stream), and the line and paragraph
    /// separators U+2028 and U+2029 (line breaks to YAML 1.1 parsers), written as a `\uXXXX` escape. In a
    /// line of front matter built from `yamlScalar` and JSON text such a character can only sit inside a JSON
    /// string (JSON leaves DEL, C1 controls and noncharacters raw; a YAML parser refuses them), where the escape
    /// reads back, in YAML and in JSON, as the same character. The fuzz target `legacy-ko` found a title with
    /// a DEL, then a metadata key with a U+2029 (YAML's `\P`), that exported to a file `import legacy` refused.
    public static func yamlPrintable(_ line: String) -> String {
        func printable(_ v: UInt32) -> Bool {
            (0x20...0x7E).contains(v) || ((0xA0...0xD7FF).contains(v) && v != 0x2028 && v != 0x2029)
                || ((0xE000...0xFFFD).contains(v) && v != 0xFEFF) || v >= 0x10000
        }
        guard !line.unicodeScalars.allSatisfy({ printable($0.value) }) else { return line }
        var out = String.UnicodeScalarView()
        for u in line.unicodeScalars {
            if printable(u.value) || u.value == 0x09 {
                out.append(u)
            } else {
                let hex = String(u.value, radix: 16, uppercase: true)
                out.append(
                    contentsOf: ("\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex).unicodeScalars)
            }
        }
        return String(out)
    }

    /// A YAML flow scalar: plain when that reads back as the same string, else a JSON string (valid YAML).
    public static func yamlScalar(_ s: String) -> String {
        let plain =
            !s.isEmpty
            && s.unicodeScalars.allSatisfy {
                CharacterSet.alphanumerics.contains($0) || "-_./ ".unicodeScalars.contains($0)
            }
            && !s.hasPrefix(" ") && !s.hasSuffix(" ") && !s.hasPrefix("-") && Double(s) == nil
            && !["null", "true", "false", "yes", "no", "on", "off", "~"].contains(s.lowercased())
        return plain ? s : JSONValue.string(s).jsonText
    }
}

extension JSONValue {
    /// Compact JSON text (members in their order, numbers as their text).
    public var jsonText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n
        case .string(let s): return Self.quote(s)
        case .array(let a): return "[" + a.map(\.jsonText).joined(separator: ",") + "]"
        case .object(let m): return "{" + m.map { Self.quote($0.0) + ":" + $0.1.jsonText }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        JSONScanner.quote(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

}
