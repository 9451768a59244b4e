import EventLog
import Yams

// Reading `.aibrain/contracts.yaml`. The file is strict: every key is known, every value has the type
// schemas/contracts.schema.json gives it, every severity and level exists. Any doubt is an error naming the
// file, the line and column (libyaml's marks, 1-based) and the key path, because governance fails closed: a
// file that cannot be read refuses every append (exit 1) until it is fixed or removed, it never silently
// turns the rules off.

/// Why a contracts file cannot be used.
public struct ContractsError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The file exists and cannot be read (permissions, a directory, not UTF-8).
        case unreadable
        /// Not YAML (libyaml's scanner, parser or composer refused it), or a duplicate key.
        case syntax
        /// YAML, but not a contracts file: unknown key, wrong type, unknown rule kind, severity or level.
        case invalid
    }

    public var code: Code
    public var file: String
    /// 1-based; nil when the problem has no place (an unreadable file).
    public var line: Int?
    public var column: Int?
    /// Where in the document: `rules[1].match.min_severity`; empty for the whole file.
    public var keyPath: String
    public var reason: String
    /// What the user can do.
    public var hint: String

    public init(
        _ code: Code, file: String, line: Int? = nil, column: Int? = nil, keyPath: String = "", reason: String,
        hint: String = ContractsError.defaultHint
    ) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.reason = reason
        self.hint = hint
    }

    public static let defaultHint =
        "fix the file (schemas/FORMAT.md, \"contracts.yaml\", describes it) or remove it to enforce no rules;"
        + " until then nothing can be appended"

    /// `file:line:column`.
    public var location: String {
        guard let line else { return file }
        return "\(file):\(line)" + (column.map { ":\($0)" } ?? "")
    }

    public var description: String { "\(location): \(keyPath.isEmpty ? "" : keyPath + ": ")\(reason)" }
}

extension Contracts {
    /// The contracts of the store at `storeDirectory` (the `.aibrain` directory), or nil when it has no
    /// `contracts.yaml`: then nothing is enforced. Read through the FileSystem seam.
    public static func load(storeDirectory: String, fileSystem: any FileSystem = PosixFileSystem())
        throws(ContractsError) -> Contracts?
    {
        let path = storeDirectory + "/" + fileName
        let bytes: [UInt8]
        do {
            guard let st = try fileSystem.stat(path) else { return nil }
            guard !st.isDirectory else {
                throw ContractsError(.unreadable, file: path, reason: "is a directory, not a YAML file")
            }
            bytes = try fileSystem.readFile(path)
        } catch let e as ContractsError {
            throw e
        } catch {
            throw ContractsError(.unreadable, file: path, reason: "cannot be read: \(error)")
        }
        return try parse(bytes, file: path)
    }

    /// Parses a contracts file's bytes (UTF-8 YAML); `file` names it in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws(ContractsError) -> Contracts {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ContractsError(.unreadable, file: file, reason: "is not UTF-8 text")
        }
        return try parse(yaml: text, file: file)
    }

    /// Parses a contracts document; `file` names it in errors.
    public static func parse(yaml: String, file: String) throws(ContractsError) -> Contracts {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let e as YamlError {
            throw ContractsReader(file: file).syntaxError(e)
        } catch {
            throw ContractsError(.syntax, file: file, reason: "not YAML: \(error)")
        }
        guard let root else {
            throw ContractsError(
                .invalid, file: file, reason: "the file is empty",
                hint: "write `version: 1` and a `rules` list, or remove the file to enforce no rules")
        }
        return try ContractsReader(file: file).contracts(root)
    }
}

/// Walks the YAML tree, checking each node and naming its place when it is wrong.
struct ContractsReader {
    let file: String

    static let topKeys = ["version", "agent_patterns", "rules"]
    static let ruleKeys = ["id", "kind", "description", "match"]
    static let autonomyKeys = ["levels", "teams", "default_level"]
    static let matchKeys = ["type", "decision_kind", "min_severity", "teams"]
    static let levelKeys = ["allow", "max_severity"]

    func contracts(_ root: Node) throws(ContractsError) -> Contracts {
        let top = try members(root, "", allowed: Self.topKeys, what: "the document")
        guard let versionNode = top.first(where: { $0.key == "version" })?.value else {
            throw fail(root, "", "no `version`", hint: "start the file with `version: 1`")
        }
        let version = try int(versionNode, "version")
        guard version == Contracts.currentVersion else {
            throw fail(
                versionNode, "version", "version \(version) is not one this aibrain reads (it reads version 1)",
                hint: "write `version: 1`, or upgrade aibrain")
        }
        var patterns = Contracts.defaultAgentPatterns
        if let p = top.first(where: { $0.key == "agent_patterns" })?.value {
            patterns = []
            for (text, node) in try strings(p, "agent_patterns", single: false) {
                guard !text.isEmpty else { throw fail(node, "agent_patterns", "an empty pattern") }
                patterns.append(ActorPattern(text))
            }
        }
        guard let rulesNode = top.first(where: { $0.key == "rules" })?.value else {
            throw fail(root, "", "no `rules` list", hint: "add `rules:` with at least one rule, or remove the file")
        }
        guard case .sequence(let list) = rulesNode else {
            throw fail(rulesNode, "rules", "expected a list of rules, found \(Self.kind(of: rulesNode))")
        }
        var rules: [GovernanceRule] = []
        var lines: [String: Int] = [:]
        for (i, node) in list.enumerated() {
            let rule = try self.rule(node, "rules[\(i)]")
            if let first = lines[rule.id] {
                throw fail(
                    node, "rules[\(i)].id", "rule id \(rule.id) is already used by the rule at line \(first)",
                    hint: "give every rule its own id (errors name it)")
            }
            lines[rule.id] = node.mark?.line ?? 0
            rules.append(rule)
        }
        return Contracts(version: version, agentPatterns: patterns, rules: rules)
    }

    func rule(_ node: Node, _ path: String) throws(ContractsError) -> GovernanceRule {
        let m = try members(node, path, allowed: nil, what: "a rule")
        func value(_ key: String) -> Node? { m.first { $0.key == key }?.value }
        func required(_ key: String) throws(ContractsError) -> Node {
            guard let v = value(key) else { throw fail(node, path, "the rule has no `\(key)`") }
            return v
        }
        let idNode = try required("id")
        let id = try string(idNode, path + ".id")
        guard Self.isRuleID(id) else {
            throw fail(
                idNode, path + ".id",
                "\"\(id)\" is not a rule id (1–64 of [A-Za-z0-9._-], starting with a letter or digit)")
        }
        let kindNode = try required("kind")
        let kindName = try string(kindNode, path + ".kind")
        guard GovernanceRule.kindNames.contains(kindName) else {
            throw fail(
                kindNode, path + ".kind",
                "unknown rule kind \"\(kindName)\" (expected \(GovernanceRule.kindNames.joined(separator: " or ")))")
        }
        let allowed = Self.ruleKeys + (kindName == "autonomy" ? Self.autonomyKeys : [])
        for (key, keyNode, _) in m where !allowed.contains(key) {
            let also = Self.autonomyKeys.contains(key) ? " (it belongs to autonomy rules)" : ""
            throw fail(
                keyNode, path + "." + key, "unknown key `\(key)` in a \(kindName) rule\(also)",
                hint: "the keys of a \(kindName) rule are \(allowed.joined(separator: ", "))")
        }
        let descriptionNode = try required("description")
        let description = try string(descriptionNode, path + ".description")
        guard !description.trimmingASCIIWhitespace().isEmpty else {
            throw fail(descriptionNode, path + ".description", "an empty description", hint: "say why the rule exists")
        }
        let match = try self.match(try required("match"), path + ".match")
        switch kindName {
        case "require_approver":
            return GovernanceRule(id: id, description: description, match: match, kind: .requireApprover)
        default:
            var policy = AutonomyPolicy()
            if let levels = value("levels") {
                for (name, keyNode, levelNode) in try members(levels, path + ".levels", allowed: nil, what: "levels") {
                    guard Self.isLevelName(name) else {
                        throw fail(
                            keyNode, path + ".levels." + name,
                            "\"\(name)\" is not a level name (L followed by a number: L0.5, L1, L2, L3 …)")
                    }
                    policy.levels[name] = try level(levelNode, path + ".levels." + name)
                }
            }
            if let d = value("default_level") {
                policy.defaultLevel = try levelReference(d, path + ".default_level", policy)
            }
            if let teams = value("teams") {
                for (team, _, levelNode) in try members(teams, path + ".teams", allowed: nil, what: "teams") {
                    policy.teams[team] = try levelReference(levelNode, path + ".teams." + team, policy)
                }
            }
            return GovernanceRule(id: id, description: description, match: match, kind: .autonomy(policy))
        }
    }

    func match(_ node: Node, _ path: String) throws(ContractsError) -> RuleMatch {
        var out = RuleMatch()
        for (key, _, value) in try members(node, path, allowed: Self.matchKeys, what: "a match") {
            let at = path + "." + key
            switch key {
            case "type":
                out.types = []
                for (text, n) in try strings(value, at, single: true) {
                    guard Self.isTypePattern(text) else {
                        throw fail(n, at, "\"\(text)\" is not an event type (e.g. decision.recorded, or decision.*)")
                    }
                    out.types.append(ActorPattern(text))
                }
            case "decision_kind":
                var kinds: [String] = []
                for (text, n) in try strings(value, at, single: true) {
                    guard Self.isDecisionKind(text) else {
                        throw fail(
                            n, at, "\"\(text)\" is not a decision kind (upper case, e.g. GUARDRAIL_OVERRIDE)",
                            hint: "leave decision_kind out to match every kind")
                    }
                    kinds.append(text)
                }
                out.decisionKinds = kinds
            case "min_severity":
                out.minSeverity = try severity(value, at)
            default:
                var teams: [String] = []
                for (text, n) in try strings(value, at, single: true) {
                    guard !text.isEmpty else { throw fail(n, at, "an empty team name") }
                    teams.append(text)
                }
                out.teams = teams
            }
        }
        return out
    }

    func level(_ node: Node, _ path: String) throws(ContractsError) -> AutonomyLevel {
        let m = try members(node, path, allowed: Self.levelKeys, what: "a level")
        guard let allowNode = m.first(where: { $0.key == "allow" })?.value else {
            throw fail(
                node, path, "the level has no `allow` list", hint: "write `allow: []` for a level that allows nothing")
        }
        var allow: [String] = []
        for (text, n) in try strings(allowNode, path + ".allow", single: false) {
            guard text == AutonomyLevel.anyKind || Self.isDecisionKind(text) else {
                throw fail(n, path + ".allow", "\"\(text)\" is not a decision kind (upper case, or * for every kind)")
            }
            allow.append(text)
        }
        var caps: [String: Severity] = [:]
        if let capsNode = m.first(where: { $0.key == "max_severity" })?.value {
            for (kind, keyNode, value) in try members(
                capsNode, path + ".max_severity", allowed: nil, what: "max_severity")
            {
                let at = path + ".max_severity." + kind
                guard Self.isDecisionKind(kind) else {
                    throw fail(keyNode, at, "\"\(kind)\" is not a decision kind (upper case, e.g. GUARDRAIL_OVERRIDE)")
                }
                guard allow.contains(AutonomyLevel.anyKind) || allow.contains(kind) else {
                    throw fail(
                        keyNode, at, "the level does not allow \(kind) at all, so a severity cap means nothing",
                        hint: "add \(kind) to `allow`, or remove the cap")
                }
                caps[kind] = try severity(value, at)
            }
        }
        return AutonomyLevel(allow: allow, maxSeverity: caps)
    }

    func levelReference(_ node: Node, _ path: String, _ policy: AutonomyPolicy) throws(ContractsError) -> String {
        let name = try string(node, path)
        guard policy.levels[name] != nil else {
            throw fail(
                node, path,
                "unknown autonomy level \"\(name)\" (defined: \(policy.levels.keys.sorted().joined(separator: ", ")))",
                hint: "use a defined level, or define it under `levels`")
        }
        return name
    }

    // MARK: Typed values

    /// A mapping's members in file order; with `allowed`, a key outside it is an error.
    func members(_ node: Node, _ path: String, allowed: [String]?, what: String) throws(ContractsError)
        -> [(key: String, keyNode: Node, value: Node)]
    {
        guard case .mapping(let mapping) = node else {
            throw fail(node, path, "expected \(what) (a mapping of keys to values), found \(Self.kind(of: node))")
        }
        var out: [(key: String, keyNode: Node, value: Node)] = []
        for (k, v) in mapping {
            guard case .scalar(let s) = k else {
                throw fail(k, path, "a key must be a plain name, found \(Self.kind(of: k))")
            }
            let at = path.isEmpty ? s.string : path + "." + s.string
            if let allowed, !allowed.contains(s.string) {
                throw fail(
                    k, at, "unknown key `\(s.string)` in \(what)",
                    hint: "the keys of \(what) are \(allowed.joined(separator: ", ")); "
                        + "fix the spelling or remove the key (schemas/FORMAT.md, \"contracts.yaml\")")
            }
            out.append((s.string, k, v))
        }
        return out
    }

    func string(_ node: Node, _ path: String) throws(ContractsError) -> String {
        guard case .scalar(let s) = node, node.tag.rawValue == Tag.Name.str.rawValue else {
            throw fail(node, path, "expected a string, found \(Self.kind(of: node))", hint: Self.quoteHint)
        }
        return s.string
    }

    /// A list of strings, each with its node (for errors); `single` also takes one string alone.
    func strings(_ node: Node, _ path: String, single: Bool) throws(ContractsError) -> [(String, Node)] {
        if single, case .scalar = node { return [(try string(node, path), node)] }
        guard case .sequence(let seq) = node else {
            throw fail(
                node, path, "expected a list of strings\(single ? " or one string" : ""), found \(Self.kind(of: node))")
        }
        var out: [(String, Node)] = []
        for (i, n) in seq.enumerated() { out.append((try string(n, "\(path)[\(i)]"), n)) }
        return out
    }

    func int(_ node: Node, _ path: String) throws(ContractsError) -> Int {
        guard case .scalar = node, node.tag.rawValue == Tag.Name.int.rawValue, let v = node.int else {
            throw fail(node, path, "expected an integer, found \(Self.kind(of: node))")
        }
        return v
    }

    func severity(_ node: Node, _ path: String) throws(ContractsError) -> Severity {
        let text = try string(node, path)
        guard let s = Severity(rawValue: text) else {
            throw fail(
                node, path,
                "unknown severity \"\(text)\" (expected \(Severity.allCases.map(\.rawValue).joined(separator: ", ")),"
                    + " lowest first)")
        }
        return s
    }

    // MARK: Errors

    func fail(_ node: Node?, _ path: String, _ reason: String, hint: String = ContractsError.defaultHint)
        -> ContractsError
    {
        ContractsError(
            .invalid, file: file, line: node?.mark?.line, column: node?.mark?.column, keyPath: path, reason: reason,
            hint: hint)
    }

    func syntaxError(_ e: YamlError) -> ContractsError {
        func error(_ problem: String, _ context: YamlError.Context?, _ mark: Mark) -> ContractsError {
            let around = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return ContractsError(
                .syntax, file: file, line: mark.line, column: mark.column, reason: "not valid YAML: \(problem)\(around)"
            )
        }
        switch e {
        case .scanner(let context, let problem, let mark, _): return error(problem, context, mark)
        case .parser(let context, let problem, let mark, _): return error(problem, context, mark)
        case .composer(let context, let problem, let mark, _): return error(problem, context, mark)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ContractsError(
                .syntax, file: file, line: context.mark.line, column: context.mark.column,
                reason: "duplicate key \(duplicates.map { "`\($0)`" }.joined(separator: ", ")) in one mapping",
                hint: "give each key once")
        case .reader(let problem, let offset, _, _):
            return ContractsError(
                .syntax, file: file,
                reason: "cannot be read as YAML: \(problem)\(offset.map { " at character \($0)" } ?? "")")
        default:
            return ContractsError(.syntax, file: file, reason: "not valid YAML: \(e)")
        }
    }

    static let quoteHint =
        "quote the value (\"…\") if YAML reads it as a number, boolean or null; " + ContractsError.defaultHint

    static func kind(of node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let s):
            switch node.tag.rawValue {
            case Tag.Name.int.rawValue: return "the integer \(s.string)"
            case Tag.Name.float.rawValue: return "the number \(s.string)"
            case Tag.Name.bool.rawValue: return "the boolean \(s.string)"
            case Tag.Name.null.rawValue: return "nothing (null)"
            case Tag.Name.str.rawValue: return "the string \"\(s.string)\""
            default: return "a \(node.tag.rawValue) value"
            }
        }
    }

    // MARK: Names

    static func isRuleID(_ s: String) -> Bool {
        let b = Array(s.utf8)
        return (1...64).contains(b.count) && isAlnum(b[0])
            && b.allSatisfy {
                isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
    }

    /// `^[A-Z][A-Z0-9_]{0,63}$`, the catalogue's `kind` pattern.
    static func isDecisionKind(_ s: String) -> Bool {
        let b = Array(s.utf8)
        return (1...64).contains(b.count) && b[0] &- UInt8(ascii: "A") < 26
            && b.allSatisfy { $0 &- UInt8(ascii: "A") < 26 || $0 &- UInt8(ascii: "0") < 10 || $0 == UInt8(ascii: "_") }
    }

    /// `L` then digits, optionally `.digits`: L0.5, L1, L2.
    static func isLevelName(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count >= 2, b.count <= 16, b[0] == UInt8(ascii: "L") else { return false }
        let parts = b.dropFirst().split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return (1...2).contains(parts.count)
            && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0 &- UInt8(ascii: "0") < 10 } }
    }

    /// An envelope type (`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`), or a pattern of those characters with `*`.
    static func isTypePattern(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard !b.isEmpty, b.count <= 128 else { return false }
        let charsOK = b.allSatisfy {
            $0 &- UInt8(ascii: "a") < 26 || $0 &- UInt8(ascii: "0") < 10 || $0 == UInt8(ascii: "_")
                || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "*")
        }
        guard charsOK else { return false }
        if b.contains(UInt8(ascii: "*")) { return true }
        let parts = b.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count >= 2 && parts.allSatisfy { p in p.first.map { $0 &- UInt8(ascii: "a") < 26 } ?? false }
    }

    static func isAlnum(_ c: UInt8) -> Bool {
        c &- UInt8(ascii: "a") < 26 || c &- UInt8(ascii: "A") < 26 || c &- UInt8(ascii: "0") < 10
    }
}
