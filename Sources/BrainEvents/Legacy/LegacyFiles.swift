import EventLog
import Foundation

/// The memory files teams kept before aibrain (schemas/legacy.md): decision JSONL files, KO metadata JSON
/// files, session handoff files and work queue JSON files. Liberal in what they accept (optional members may be
/// missing; unknown members are kept as metadata), precise in what they reject (the file, line and field).
public enum LegacyFiles {
    /// One line of `.aibrain/decisions/{task_id}.jsonl`.
    public struct Decision: Sendable, Equatable {
        public var line: Int
        public var timestamp: String
        public var taskID: String
        public var repo: String?
        public var kind: String
        public var value: String
        public var severity: String?
        public var approver: String?
        /// The number's text, as written (`0.85`).
        public var confidence: String?
        /// Every other member, in file order.
        public var extra: [(String, JSONValue)]
        /// The members as written, key-sorted, for a content-derived event id.
        public var canonical: String

        public init(
            line: Int, timestamp: String, taskID: String, repo: String?, kind: String, value: String, severity: String?,
            approver: String?, confidence: String?, extra: [(String, JSONValue)], canonical: String
        ) {
            self.line = line
            self.timestamp = timestamp
            self.taskID = taskID
            self.repo = repo
            self.kind = kind
            self.value = value
            self.severity = severity
            self.approver = approver
            self.confidence = confidence
            self.extra = extra
            self.canonical = canonical
        }

        public static func == (a: Decision, b: Decision) -> Bool {
            a.timestamp == b.timestamp && a.taskID == b.taskID && a.repo == b.repo && a.kind == b.kind
                && a.value == b.value && a.severity == b.severity && a.approver == b.approver
                && a.confidence == b.confidence && JSONValue.object(a.extra) == JSONValue.object(b.extra)
        }

        static let known = ["timestamp", "task_id", "repo", "decision", "value", "severity", "approver", "confidence"]

        /// The JSONL line `export legacy` writes (the legacy member order, then the extra members).
        public var jsonLine: String {
            var m: [(String, JSONValue)] = [("timestamp", .string(timestamp)), ("task_id", .string(taskID))]
            if let repo { m.append(("repo", .string(repo))) }
            m.append(("decision", .string(kind)))
            m.append(("value", .string(value)))
            if let severity { m.append(("severity", .string(severity))) }
            if let approver { m.append(("approver", .string(approver))) }
            if let confidence { m.append(("confidence", .number(confidence))) }
            return JSONValue.object(m + extra).jsonText
        }
    }

    /// Parses a decision JSONL file. Blank lines are skipped; every bad line is an error naming its number
    /// (the import reports them and goes on with the good lines).
    public static func decisions(_ bytes: [UInt8], file: String, defaultTask: String?) -> (
        [Decision], [LegacyError]
    ) {
        var out: [Decision] = []
        var problems: [LegacyError] = []
        var number = 0
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            do throws(LegacyError) {
                out.append(try decision(text, file: file, line: number, defaultTask: defaultTask))
            } catch {
                problems.append(error)
            }
        }
        return (out, problems)
    }

    static func decision(_ text: String, file: String, line: Int, defaultTask: String?) throws(LegacyError) -> Decision
    {
        guard let v = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)), case .object = v else {
            throw LegacyError(file: file, line: line, "not a JSON object", hint: "one JSON object per line")
        }
        let members = orderedMembers(text) ?? { if case .object(let m) = v { return m } else { return [] } }()
        func str(_ k: String, required: Bool) throws(LegacyError) -> String? {
            guard let x = members.last(where: { $0.0 == k })?.1 else {
                if required { throw LegacyError(file: file, line: line, field: k, "missing") }
                return nil
            }
            switch x {
            case .string(let s): return s
            case .null where !required: return nil
            default: throw LegacyError(file: file, line: line, field: k, "must be a string")
            }
        }
        let timestamp = try str("timestamp", required: true)!
        guard ISO8601.parse(timestamp) != nil else {
            throw LegacyError(
                file: file, line: line, field: "timestamp", "not an RFC 3339 time",
                hint: "write it like 2026-02-07T10:15:00Z")
        }
        guard let task = try str("task_id", required: defaultTask == nil) ?? defaultTask, !task.isEmpty else {
            throw LegacyError(file: file, line: line, field: "task_id", "empty")
        }
        let kind = try str("decision", required: true)!
        guard kind.range(of: "^[A-Z][A-Z0-9_]{0,63}$", options: .regularExpression) != nil else {
            throw LegacyError(
                file: file, line: line, field: "decision", "must be an upper-case kind such as APPROACH",
                hint: "APPROACH, GUARDRAIL_OVERRIDE, ESTIMATION_ADJUSTMENT, …")
        }
        let value = try str("value", required: true)!
        let severity = try str("severity", required: false)
        if let severity, Severity(rawValue: severity) == nil {
            throw LegacyError(file: file, line: line, field: "severity", "must be low, medium, high or critical")
        }
        var confidence: String?
        if let c = members.last(where: { $0.0 == "confidence" })?.1 {
            switch c {
            case .number(let n):
                guard let d = Double(n), (0...1).contains(d) else {
                    throw LegacyError(file: file, line: line, field: "confidence", "must lie between 0 and 1")
                }
                confidence = n
            case .null: break
            default: throw LegacyError(file: file, line: line, field: "confidence", "must be a number")
            }
        }
        var d = Decision(
            line: line, timestamp: timestamp, taskID: task, repo: try str("repo", required: false), kind: kind,
            value: value, severity: severity, approver: try str("approver", required: false), confidence: confidence,
            extra: members.filter { !Decision.known.contains($0.0) }, canonical: "")
        // The id's material is the record as export writes it back (task from the file name filled in, nulls
        // dropped), so importing an export gives the same ids.
        d.canonical = d.jsonLine
        return d
    }

    /// An object's members in file order with numbers as written (JSONDecoder sorts keys and reformats numbers).
    static func orderedMembers(_ text: String) -> [(String, JSONValue)]? {
        let bytes = Array(text.utf8)
        guard let m = try? JSONScanner.members(of: bytes) else { return nil }
        var out: [(String, JSONValue)] = []
        for member in m {
            guard let v = value(member.value) else { return nil }
            out.append((member.key, v))
        }
        return out
    }

    /// A JSON value from its raw text (numbers keep their text, members their order).
    public static func value(_ raw: ArraySlice<UInt8>) -> JSONValue? {
        guard let first = raw.first else { return nil }
        switch first {
        case UInt8(ascii: "\""): return JSONScanner.unescape(raw).map { .string($0) }
        case UInt8(ascii: "{"):
            guard let m = try? JSONScanner.members(of: Array(raw)) else { return nil }
            var out: [(String, JSONValue)] = []
            for member in m {
                guard let v = value(member.value) else { return nil }
                out.append((member.key, v))
            }
            return .object(out)
        case UInt8(ascii: "t"): return .bool(true)
        case UInt8(ascii: "f"): return .bool(false)
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "["):
            return try? JSONDecoder().decode(JSONValue.self, from: Data(raw))
        default: return .number(String(decoding: raw, as: UTF8.self))
        }
    }

    /// `knowledge/approved/<id>.json`: the KO's metadata beside its markdown.
    public struct KOMetadata: Sendable, Equatable {
        public var id: String
        public var title: String?
        public var sourceSessions: JSONValue?
        public var projects: [String]?
        public var consultationCount: Int?
        /// The number's text, as written.
        public var effectiveness: String?
        public var extra: [(String, JSONValue)]
        /// The `aibrain` member `export legacy` writes (nil in a file no aibrain wrote).
        public var export: ExportMarker?

        /// What `aibrain export legacy` adds under `"aibrain"` to a KO's JSON: what the file's totals were made
        /// of. Importing such a file again — into the store that wrote it or another — takes the legacy counts
        /// from here, plus whatever an old tool added to the totals since, so it neither counts the exporting
        /// store's own consultations twice (they travel in shipped segments) nor records a new revision.
        public struct ExportMarker: Sendable, Equatable {
            public var exportedBy: String
            /// The legacy counts of the KO's import (nil: none, or the KO was not imported).
            public var legacyConsultations: Int?
            public var legacySuccesses: Int?
            /// The totals written beside the marker (`consultation_count`, and the successes behind
            /// `effectiveness`).
            public var consultationCount: Int?
            public var successes: Int?
            /// The import's record of the original JSON file (`legacy_file`), nil when there was none.
            public var legacyFile: JSONValue?

            public init(
                exportedBy: String, legacyConsultations: Int?, legacySuccesses: Int?, consultationCount: Int?,
                successes: Int?, legacyFile: JSONValue?
            ) {
                self.exportedBy = exportedBy
                self.legacyConsultations = legacyConsultations
                self.legacySuccesses = legacySuccesses
                self.consultationCount = consultationCount
                self.successes = successes
                self.legacyFile = legacyFile
            }

            public var json: JSONValue {
                var m: [(String, JSONValue)] = [("exported_by", .string(exportedBy))]
                func int(_ k: String, _ v: Int?) { if let v { m.append((k, .number(String(v)))) } }
                int("legacy_consultations", legacyConsultations)
                int("legacy_successes", legacySuccesses)
                int("consultation_count", consultationCount)
                int("successes", successes)
                if let legacyFile { m.append(("legacy_file", legacyFile)) }
                return .object(m)
            }

            /// The marker in `value`, nil when it is not one (a legacy tool's own `aibrain` member stays extra).
            init?(_ value: JSONValue) {
                guard case .object(let m) = value, case .string(let by)? = m.last(where: { $0.0 == "exported_by" })?.1
                else { return nil }
                func int(_ k: String) -> Int? {
                    guard case .number(let n)? = m.last(where: { $0.0 == k })?.1, let v = Int(n), v >= 0,
                        v <= Int(Int32.max)
                    else { return nil }
                    return v
                }
                self.init(
                    exportedBy: by, legacyConsultations: int("legacy_consultations"),
                    legacySuccesses: int("legacy_successes"), consultationCount: int("consultation_count"),
                    successes: int("successes"), legacyFile: m.last(where: { $0.0 == "legacy_file" })?.1)
            }
        }

        public init(
            id: String, title: String?, sourceSessions: JSONValue?, projects: [String]?, consultationCount: Int?,
            effectiveness: String?, extra: [(String, JSONValue)]
        ) {
            self.id = id
            self.title = title
            self.sourceSessions = sourceSessions
            self.projects = projects
            self.consultationCount = consultationCount
            self.effectiveness = effectiveness
            self.extra = extra
        }

        public static func == (a: KOMetadata, b: KOMetadata) -> Bool {
            a.id == b.id && a.title == b.title && a.sourceSessions == b.sourceSessions && a.projects == b.projects
                && a.consultationCount == b.consultationCount
                && a.effectiveness.flatMap(Double.init) == b.effectiveness.flatMap(Double.init)
                && JSONValue.object(a.extra) == JSONValue.object(b.extra) && a.export == b.export
        }

        static let known = ["id", "title", "source_sessions", "projects", "consultation_count", "effectiveness"]

        /// successes = round(effectiveness × consultation_count); nil without both.
        public var successes: Int? {
            guard let c = consultationCount, let e = effectiveness.flatMap(Double.init) else { return nil }
            return min(c, max(0, Int((e * Double(c)).rounded())))
        }

        public var jsonText: String {
            var m: [(String, JSONValue)] = [("id", .string(id))]
            if let title { m.append(("title", .string(title))) }
            if let sourceSessions { m.append(("source_sessions", sourceSessions)) }
            if let projects { m.append(("projects", .array(projects.map { .string($0) }))) }
            if let consultationCount { m.append(("consultation_count", .number(String(consultationCount)))) }
            if let effectiveness { m.append(("effectiveness", .number(effectiveness))) }
            m += extra
            if let export { m.append(("aibrain", export.json)) }
            return JSONValue.object(m).jsonText
        }
    }

    public static func koMetadata(_ bytes: [UInt8], file: String) throws(LegacyError) -> KOMetadata {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let members = orderedMembers(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw LegacyError(file: file, line: 1, "not a JSON object")
        }
        func get(_ k: String) -> JSONValue? { members.last { $0.0 == k }?.1 }
        guard case .string(let id)? = get("id"), !id.isEmpty else {
            throw LegacyError(file: file, field: "id", "missing or not a string")
        }
        var title: String?
        if let t = get("title") {
            guard case .string(let s) = t else { throw LegacyError(file: file, field: "title", "must be a string") }
            title = s
        }
        var projects: [String]?
        if let p = get("projects") {
            guard case .array(let items) = p else {
                throw LegacyError(file: file, field: "projects", "must be a list of strings")
            }
            var list: [String] = []
            for i in items {
                guard case .string(let s) = i else {
                    throw LegacyError(file: file, field: "projects", "must be a list of strings")
                }
                list.append(s)
            }
            projects = list
        }
        var count: Int?
        if let c = get("consultation_count"), c != .null {
            guard case .number(let n) = c, let v = Int(n), v >= 0, v <= Int(Int32.max) else {
                throw LegacyError(file: file, field: "consultation_count", "must be a whole number 0 or more")
            }
            count = v
        }
        var effectiveness: String?
        if let e = get("effectiveness"), e != .null {
            guard case .number(let n) = e, let v = Double(n), (0...1).contains(v) else {
                throw LegacyError(file: file, field: "effectiveness", "must be a number between 0 and 1")
            }
            effectiveness = n
        }
        if let s = get("source_sessions"), case .array = s {
        } else if get("source_sessions") != nil && get("source_sessions") != .null {
            throw LegacyError(file: file, field: "source_sessions", "must be a list")
        }
        let export = get("aibrain").flatMap(KOMetadata.ExportMarker.init)
        var meta = KOMetadata(
            id: id, title: title, sourceSessions: get("source_sessions").flatMap { $0 == .null ? nil : $0 },
            projects: projects, consultationCount: count, effectiveness: effectiveness,
            extra: members.filter { !KOMetadata.known.contains($0.0) && (export == nil || $0.0 != "aibrain") })
        meta.export = export
        return meta
    }

    /// `.aibrain/session-{task_id}-{checkpoint}.md`: JSON front matter, then a markdown body.
    public struct SessionFile: Sendable, Equatable {
        public var taskID: String
        public var checkpoint: String
        public var iteration: Int?
        public var verdict: String?
        public var sessionID: String?
        public var timestamp: String?
        public var body: String
        /// Other front-matter members, in order.
        public var extra: [(String, JSONValue)]

        public init(
            taskID: String, checkpoint: String, iteration: Int?, verdict: String?, sessionID: String?,
            timestamp: String?, body: String, extra: [(String, JSONValue)]
        ) {
            self.taskID = taskID
            self.checkpoint = checkpoint
            self.iteration = iteration
            self.verdict = verdict
            self.sessionID = sessionID
            self.timestamp = timestamp
            self.body = body
            self.extra = extra
        }

        public static func == (a: SessionFile, b: SessionFile) -> Bool {
            a.taskID == b.taskID && a.checkpoint == b.checkpoint && a.iteration == b.iteration
                && a.verdict == b.verdict && a.sessionID == b.sessionID && a.timestamp == b.timestamp
                && a.body == b.body && JSONValue.object(a.extra) == JSONValue.object(b.extra)
        }

        static let known = ["task_id", "checkpoint", "iteration", "verdict", "session_id", "timestamp"]

        public var fileName: String { "session-\(taskID)-\(checkpoint).md" }

        public var text: String {
            var m: [(String, JSONValue)] = [("task_id", .string(taskID)), ("checkpoint", .string(checkpoint))]
            if let iteration { m.append(("iteration", .number(String(iteration)))) }
            if let verdict { m.append(("verdict", .string(verdict))) }
            if let sessionID { m.append(("session_id", .string(sessionID))) }
            if let timestamp { m.append(("timestamp", .string(timestamp))) }
            // JSON front matter is read back by a YAML parser: what YAML cannot hold raw is escaped.
            return "---\n" + FrontMatter.yamlPrintable(JSONValue.object(m + extra).jsonText) + "\n---\n" + body
        }
    }

    public enum SessionParse: Sendable, Equatable {
        case session(SessionFile)
        /// aibrain wrote it (its front matter names an `aibrain/` generator): a view of the log, not a record.
        case generatedByAIBrain(String)
    }

    /// Parses a session file; `fileName` supplies task and checkpoint when the front matter lacks them
    /// (`session-{task}-{checkpoint}.md`, split at the last `-`).
    public static func session(_ bytes: [UInt8], file: String, fileName: String) throws(LegacyError) -> SessionParse {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw LegacyError(file: file, "is not UTF-8 text")
        }
        let (front, body, _) = try FrontMatter.split(text, file: file)
        guard let front else {
            throw LegacyError(file: file, line: 1, "no front matter", hint: "the file must start with `---`")
        }
        let members = try FrontMatter.members(front, file: file)
        func get(_ k: String) -> JSONValue? { members.last { $0.0 == k }?.1 }
        if case .string(let g)? = get("generator"), g.hasPrefix("aibrain/") { return .generatedByAIBrain(g) }
        var nameTask: String?
        var nameCheckpoint: String?
        if fileName.hasPrefix("session-"), fileName.hasSuffix(".md") {
            let core = fileName.dropFirst("session-".count).dropLast(3)
            if let dash = core.lastIndex(of: "-") {
                nameTask = String(core[..<dash])
                nameCheckpoint = String(core[core.index(after: dash)...])
            }
        }
        func str(_ k: String) throws(LegacyError) -> String? {
            guard let v = get(k) else { return nil }
            switch v {
            case .string(let s): return s
            case .number(let n): return n
            case .null: return nil
            default: throw LegacyError(file: file, line: 2, field: k, "must be a string")
            }
        }
        guard let task = try str("task_id") ?? nameTask, !task.isEmpty else {
            throw LegacyError(file: file, line: 2, field: "task_id", "missing (and not in the file name)")
        }
        let namedCheckpoint = try str("checkpoint")
        let checkpointID = try str("checkpoint_id")
        guard let checkpoint = namedCheckpoint ?? checkpointID ?? nameCheckpoint, !checkpoint.isEmpty else {
            throw LegacyError(file: file, line: 2, field: "checkpoint", "missing (and not in the file name)")
        }
        var iteration: Int?
        if let i = get("iteration"), i != .null {
            guard case .number(let n) = i, let v = Int(n), v >= 0 else {
                throw LegacyError(file: file, line: 2, field: "iteration", "must be a whole number 0 or more")
            }
            iteration = v
        }
        let verdict = try str("verdict")
        if let verdict, Verdict(rawValue: verdict.uppercased()) == nil {
            throw LegacyError(file: file, line: 2, field: "verdict", "must be PASS, FAIL, PARTIAL or BLOCKED")
        }
        let timestamp = try str("timestamp")
        if let timestamp, ISO8601.parse(timestamp) == nil {
            throw LegacyError(file: file, line: 2, field: "timestamp", "not an RFC 3339 time")
        }
        return .session(
            SessionFile(
                taskID: task, checkpoint: checkpoint, iteration: iteration, verdict: verdict,
                sessionID: try str("session_id"), timestamp: timestamp, body: body,
                extra: members.filter { !SessionFile.known.contains($0.0) && $0.0 != "checkpoint_id" }))
    }
}

extension LegacyFiles {
    /// One work item of `tasks/work_queue_<project>.json` (the `work_items` columns).
    public struct WorkItemRecord: Sendable, Equatable {
        public var id: String
        public var taskID: String
        public var project: String?
        public var orchestratorID: String?
        public var status: String
        public var sessionRef: String?
        public var retryCount: Int
        public var errorLog: [String]
        public var metadata: JSONValue?
        /// Other members, in order.
        public var extra: [(String, JSONValue)]

        public init(
            id: String, taskID: String, project: String?, orchestratorID: String?, status: String,
            sessionRef: String?, retryCount: Int, errorLog: [String], metadata: JSONValue?, extra: [(String, JSONValue)]
        ) {
            self.id = id
            self.taskID = taskID
            self.project = project
            self.orchestratorID = orchestratorID
            self.status = status
            self.sessionRef = sessionRef
            self.retryCount = retryCount
            self.errorLog = errorLog
            self.metadata = metadata
            self.extra = extra
        }

        public static func == (a: WorkItemRecord, b: WorkItemRecord) -> Bool {
            a.id == b.id && a.taskID == b.taskID && (a.project ?? "") == (b.project ?? "")
                && (a.orchestratorID ?? "") == (b.orchestratorID ?? "") && a.status == b.status
                && (a.sessionRef ?? "") == (b.sessionRef ?? "") && a.retryCount == b.retryCount
                && a.errorLog == b.errorLog && (a.metadata ?? .object([])) == (b.metadata ?? .object([]))
                && JSONValue.object(a.extra) == JSONValue.object(b.extra)
        }

        static let known = [
            "id", "task_id", "project", "orchestrator_id", "status", "session_ref", "retry_count", "error_log",
            "metadata",
        ]

        public var json: JSONValue {
            var m: [(String, JSONValue)] = [
                ("id", .string(id)), ("task_id", .string(taskID)), ("project", project.map { .string($0) } ?? .null),
                ("orchestrator_id", orchestratorID.map { .string($0) } ?? .null), ("status", .string(status)),
                ("session_ref", sessionRef.map { .string($0) } ?? .null), ("retry_count", .number(String(retryCount))),
                ("error_log", .array(errorLog.map { .string($0) })), ("metadata", metadata ?? .object([])),
            ]
            m += extra
            return .object(m)
        }
    }

    /// Parses a work queue file: a JSON list of items, or an object holding the list under `work_items` or
    /// `items`. `error_log` may be a list of strings, one string, or null.
    public static func workQueue(_ bytes: [UInt8], file: String) -> ([WorkItemRecord], [LegacyError]) {
        guard let root = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
            return ([], [LegacyError(file: file, line: 1, "not JSON", hint: "a JSON list of work items")])
        }
        // Member order and number text: re-read each item with the order-keeping reader when possible.
        var list: [JSONValue]
        switch root {
        case .array(let a): list = a
        case .object:
            if root["work_items"] != nil && root["items"] != nil {
                return (
                    [],
                    [
                        LegacyError(
                            file: file, line: 1, "an object with both a `work_items` and an `items` member",
                            hint: "keep the one list that holds the queue")
                    ]
                )
            }
            guard case .array(let a)? = root["work_items"] ?? root["items"] else {
                return ([], [LegacyError(file: file, line: 1, "an object without a `work_items` list")])
            }
            list = a
        default: return ([], [LegacyError(file: file, line: 1, "not a list of work items")])
        }
        let ordered = orderedItems(bytes)
        if let ordered, ordered.count == list.count { list = ordered }
        var out: [WorkItemRecord] = []
        var problems: [LegacyError] = []
        for (i, v) in list.enumerated() {
            let field = "work item \(i + 1)"
            guard case .object(let m) = v else {
                problems.append(LegacyError(file: file, field: field, "not an object"))
                continue
            }
            func get(_ k: String) -> JSONValue? { m.last { $0.0 == k }?.1 }
            func str(_ k: String) -> (String?, Bool) {
                switch get(k) {
                case nil, .null?: return (nil, true)
                case .string(let s)?: return (s, true)
                case .number(let n)?: return (n, true)
                default: return (nil, false)
                }
            }
            var bad: String?
            let (id, idOK) = str("id")
            let (task, taskOK) = str("task_id")
            let (project, pOK) = str("project")
            let (orch, oOK) = str("orchestrator_id")
            let (status, sOK) = str("status")
            let (ref, rOK) = str("session_ref")
            for (ok, k) in [
                (idOK, "id"), (taskOK, "task_id"), (pOK, "project"), (oOK, "orchestrator_id"),
                (sOK, "status"), (rOK, "session_ref"),
            ] where !ok {
                bad = bad ?? "\(k): must be a string"
            }
            if bad == nil, id?.isEmpty ?? true { bad = "id: missing" }
            if bad == nil, task?.isEmpty ?? true { bad = "task_id: missing" }
            var retries = 0
            if let r = get("retry_count"), r != .null {
                if case .number(let n) = r, let v = Int(n), v >= 0 {
                    retries = v
                } else {
                    bad = bad ?? "retry_count: must be a whole number 0 or more"
                }
            }
            var errors: [String] = []
            switch get("error_log") {
            case nil, .null?: break
            case .string(let s)?: if !s.isEmpty { errors = [s] }
            case .array(let items)?:
                for x in items {
                    if case .string(let s) = x { errors.append(s) } else { bad = bad ?? "error_log: must hold strings" }
                }
            default: bad = bad ?? "error_log: must be a list of strings"
            }
            var metadata: JSONValue?
            switch get("metadata") {
            case nil, .null?: break
            case .object(let o)?: metadata = .object(o)
            case .string(let s)?:
                // A JSON text in a string column (a database dump).
                if let v = try? JSONDecoder().decode(JSONValue.self, from: Data(s.utf8)), case .object = v {
                    metadata = v
                } else {
                    bad = bad ?? "metadata: must be a JSON object"
                }
            default: bad = bad ?? "metadata: must be a JSON object"
            }
            let st = (status ?? "pending").lowercased()
            if bad == nil, st.range(of: "^[a-z][a-z_-]{0,31}$", options: .regularExpression) == nil {
                bad = "status: `\(status ?? "")` is not a status word"
            }
            if let bad {
                problems.append(LegacyError(file: file, field: "\(field)" + (id.map { " (\($0))" } ?? ""), bad))
                continue
            }
            out.append(
                WorkItemRecord(
                    id: id!, taskID: task!, project: project, orchestratorID: orch,
                    status: status ?? "pending",
                    sessionRef: ref, retryCount: retries, errorLog: errors, metadata: metadata,
                    extra: m.filter { !WorkItemRecord.known.contains($0.0) }))
        }
        return (out, problems)
    }

    /// The items of a top-level list (or of a `work_items` / `items` member) in file order with numbers as text.
    static func orderedItems(_ bytes: [UInt8]) -> [JSONValue]? {
        var slice = ArraySlice(bytes)
        while let f = slice.first,
            f == 0x20 || f == 0x0A || f == 0x0D || f == 0x09 || f == 0xEF || f == 0xBB || f == 0xBF
        {
            slice = slice.dropFirst()
        }
        if slice.first == UInt8(ascii: "{") {
            guard let m = try? JSONScanner.members(of: Array(slice)),
                let list = m.last(where: { $0.key == "work_items" || $0.key == "items" })
            else { return nil }
            slice = list.value
        }
        guard slice.first == UInt8(ascii: "[") else { return nil }
        // Split the list at top-level commas, then read each element with `value`.
        var items: [JSONValue] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start = slice.startIndex + 1
        for i in slice.indices.dropFirst() {
            let c = slice[i]
            if inString {
                if escaped {
                    escaped = false
                } else if c == UInt8(ascii: "\\") {
                    escaped = true
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch c {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"): depth -= 1
            case UInt8(ascii: "]"):
                if depth == 0 {
                    let part = trim(slice[start..<i])
                    if !part.isEmpty {
                        guard let v = value(part) else { return nil }
                        items.append(v)
                    }
                    return items
                }
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 0 {
                    guard let v = value(trim(slice[start..<i])) else { return nil }
                    items.append(v)
                    start = i + 1
                }
            default: break
            }
        }
        return nil
    }

    static func trim(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var t = s
        while let f = t.first, f == 0x20 || f == 0x0A || f == 0x0D || f == 0x09 { t = t.dropFirst() }
        while let l = t.last, l == 0x20 || l == 0x0A || l == 0x0D || l == 0x09 { t = t.dropLast() }
        return t
    }
}
