import ArgumentParser
import BrainEvents
import EventLog
import Foundation
import Projections

/// Where the legacy files live under a project directory (schemas/legacy.md).
enum LegacyLayout {
    static let knowledge = "knowledge/approved"
    static let decisions = ".aibrain/decisions"
    static let sessions = ".aibrain"
    static let queues = "tasks"
}

struct ImportLegacy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "legacy",
        abstract:
            "Move in from legacy memory files: KOs, decision logs, session files, work queues (schemas/legacy.md).",
        discussion: """
            Reads DIR/knowledge/approved/*.md (with <id>.json beside), DIR/.aibrain/decisions/*.jsonl, \
            DIR/.aibrain/session-*.md and DIR/tasks/work_queue_*.json. Each record becomes events with its original timestamp (occurred_at) and \
            its provenance (legacy:PATH[:LINE]); event ids derive from the records' content, never from paths \
            or origins, so importing again, or in two repositories that later exchange segments, adds nothing \
            twice. Session files that aibrain generated (handoff files) are skipped. Every skipped file or line \
            is reported with its reason; the rest is imported. Exit 1 when anything was skipped for an error.
            """)
    @Argument(help: ArgumentHelp("The project directory holding the legacy files.", valueName: "dir")) var dir: String
    @Flag(name: .customLong("dry-run"), help: "Check and report; append nothing.") var dryRun = false
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    struct Skip {
        var file: String
        var line: Int?
        var reason: String
        var error: Bool
    }

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            let fs = PosixFileSystem()
            guard (try? fs.stat(dir)) != nil else {
                throw CLIError(.error, code: "io", "\(dir): no such directory", hint: "give the project directory")
            }
            let a = CommandAppender(
                root: root, actor: who.actor ?? ProcessInfo.processInfo.environment["AIBRAIN_ACTOR"] ?? "legacy-import",
                team: who.team)
            var records: [(what: String, file: String, line: Int?, drafts: [EventDraft])] = []
            var skipped: [Skip] = []
            func list(_ sub: String) -> [String] {
                ((try? fs.listDirectory(dir + "/" + sub)) ?? []).sorted()
            }
            func read(_ rel: String) -> [UInt8]? {
                do throws(SystemError) { return try fs.readFile(dir + "/" + rel) } catch {
                    skipped.append(Skip(file: rel, reason: "cannot be read: \(error)", error: true))
                    return nil
                }
            }
            func record(_ what: String, _ file: String, _ line: Int?, _ build: () throws -> [EventDraft]) {
                do {
                    records.append((what, file, line, try build()))
                } catch let e as CLIError {
                    skipped.append(Skip(file: file, line: line, reason: e.message, error: true))
                } catch {
                    skipped.append(Skip(file: file, line: line, reason: "\(error)", error: true))
                }
            }
            var appended = 0
            var present = 0
            var imported: [String: Int] = [:]
            // Knowledge objects: <id>.md, with <id>.json beside it (either may be alone).
            let koNames = list(LegacyLayout.knowledge)
            let ids = Set(
                koNames.compactMap { n -> String? in
                    n.hasSuffix(".md") ? String(n.dropLast(3)) : n.hasSuffix(".json") ? String(n.dropLast(5)) : nil
                }
            ).sorted()
            for id in ids {
                let mdRel = LegacyLayout.knowledge + "/" + id + ".md"
                let jsonRel = LegacyLayout.knowledge + "/" + id + ".json"
                var md: KOMarkdown?
                var meta: LegacyFiles.KOMetadata?
                if koNames.contains(id + ".md") {
                    guard let b = read(mdRel) else { continue }
                    do throws(LegacyError) { md = try KOMarkdown.parse(b, file: mdRel, defaultID: id) } catch {
                        skipped.append(Skip(file: mdRel, line: error.line, reason: error.detail, error: true))
                        continue
                    }
                }
                if koNames.contains(id + ".json") {
                    guard let b = read(jsonRel) else { continue }
                    do throws(LegacyError) { meta = try LegacyFiles.koMetadata(b, file: jsonRel) } catch {
                        skipped.append(Skip(file: jsonRel, line: error.line, reason: error.detail, error: true))
                        continue
                    }
                }
                if let md, let meta, md.id != meta.id {
                    skipped.append(
                        Skip(file: jsonRel, reason: "id \(meta.id) differs from \(mdRel)'s id \(md.id)", error: true))
                    continue
                }
                guard md != nil || meta != nil else { continue }
                var ko = md ?? KOMarkdown(id: meta!.id, title: meta!.title ?? "")
                if ko.title.isEmpty, let t = meta?.title { ko.title = t }
                if ko.projects.isEmpty, let p = meta?.projects { ko.projects = p }
                guard !ko.title.isEmpty else {
                    skipped.append(Skip(file: jsonRel, reason: "no title in either file", error: true))
                    continue
                }
                let m = meta
                var counts = m?.consultationCount.map { (consultations: $0, successes: m?.successes) }
                var legacyFile: JSONValue? =
                    LegacyKOFile(
                        jsonPresent: m != nil, jsonTitle: m?.title, jsonProjects: m?.projects, extra: m?.extra ?? [],
                        effectivenessText: m?.effectiveness
                    ).json
                if let x = m?.export {
                    // Written by `export legacy`: the counts it was made of, plus what an old tool added since.
                    counts = Self.countsOfExport(x, m!)
                    // The original file's record, unless an old tool changed what export wrote from it (the
                    // title or the kept members): then the file as it is now, a new revision.
                    if Self.exportUnchanged(m!, x, title: ko.title) { legacyFile = x.legacyFile }
                }
                record("knowledge object", md != nil ? mdRel : jsonRel, nil) {
                    try koDrafts(
                        ko, approve: true, approver: nil, appender: a, legacy: counts,
                        sourceSessions: m?.sourceSessions, provenance: "legacy:" + (md != nil ? mdRel : jsonRel),
                        legacyFile: legacyFile)
                }
            }
            // Decision logs: one JSONL file per task.
            for n in list(LegacyLayout.decisions) where n.hasSuffix(".jsonl") {
                let rel = LegacyLayout.decisions + "/" + n
                guard let b = read(rel) else { continue }
                let (lines, problems) = LegacyFiles.decisions(b, file: rel, defaultTask: String(n.dropLast(6)))
                for p in problems { skipped.append(Skip(file: rel, line: p.line, reason: p.detail, error: true)) }
                for d in lines {
                    record("decision", rel, d.line) { try Self.decisionDraft(d, rel, a) }
                }
            }
            // Session files.
            for n in list(LegacyLayout.sessions) where n.hasPrefix("session-") && n.hasSuffix(".md") {
                let rel = LegacyLayout.sessions + "/" + n
                guard let b = read(rel) else { continue }
                do throws(LegacyError) {
                    switch try LegacyFiles.session(b, file: rel, fileName: n) {
                    case .generatedByAIBrain(let g):
                        skipped.append(
                            Skip(file: rel, reason: "generated by \(g) (a view of the log, not a record)", error: false)
                        )
                    case .session(let s):
                        record("session checkpoint", rel, nil) { try Self.sessionDraft(s, rel, a) }
                    }
                } catch {
                    skipped.append(Skip(file: rel, line: error.line, reason: error.detail, error: true))
                }
            }
            // Work queues: each item enqueued, then brought to its legacy status.
            for n in list(LegacyLayout.queues) where n.hasPrefix("work_queue_") && n.hasSuffix(".json") {
                let rel = LegacyLayout.queues + "/" + n
                guard let b = read(rel) else { continue }
                let (items, problems) = LegacyFiles.workQueue(b, file: rel)
                for p in problems { skipped.append(Skip(file: rel, reason: p.detail, error: true)) }
                for item in items {
                    record("work item", rel, nil) { try Self.workItemDrafts(item, rel, a) }
                }
            }
            // A work item already in this store by the same enqueue event is already imported (the queue's rules
            // would refuse a second enqueue before the duplicate ids were seen); by another event, it is a conflict.
            let queue = records.contains { $0.what == "work item" } ? try ProjectionAccess(root: root) : nil
            records = try records.filter { r in
                guard r.what == "work item", let queue, let first = r.drafts.first else { return true }
                guard let id = first.keys.first(where: { $0.hasPrefix("item/") }).map({ String($0.dropFirst(5)) }),
                    let existing = queue.engine.queue.item(id)
                else { return true }
                if let e = try queue.event(existing.enqueued), e.eventID == first.eventID {
                    present += r.drafts.count
                    imported[r.what, default: 0] += 1
                    return false
                }
                skipped.append(
                    Skip(
                        file: r.file, line: r.line,
                        reason:
                            "work item \(id) already exists in this store (enqueued by another event); left as it is",
                        error: true))
                return false
            }
            if !dryRun {
                for r in records {
                    do {
                        let (res, _) = try a.append(r.drafts)
                        let new = res.events.filter { !$0.duplicate }.count
                        appended += new
                        present += res.events.count - new
                        imported[r.what, default: 0] += 1
                    } catch let e as CLIError {
                        skipped.append(Skip(file: r.file, line: r.line, reason: e.message, error: true))
                    }
                }
            } else {
                for r in records { imported[r.what, default: 0] += 1 }
            }
            let failed = skipped.filter(\.error).count
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("dir", .string(dir)), ("dry_run", .bool(dryRun)),
                        (
                            "records",
                            .object(imported.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })
                        ),
                        ("appended", .int(Int64(appended))), ("already_present", .int(Int64(present))),
                        (
                            "skipped",
                            .array(
                                skipped.map { s in
                                    .object([
                                        ("file", .string(s.file)), ("line", s.line.map { .int(Int64($0)) } ?? .null),
                                        ("reason", .string(s.reason)), ("error", .bool(s.error)),
                                    ])
                                })
                        ),
                    ]).text)
            } else {
                let kinds = imported.sorted { $0.key < $1.key }.map {
                    "\($0.value) \($0.key)\($0.value == 1 ? "" : "s")"
                }
                try Output.stdout.line(
                    (dryRun ? "would import " : "imported ")
                        + (kinds.isEmpty ? "nothing" : kinds.joined(separator: ", "))
                        + (dryRun ? "" : ": \(appended) events appended, \(present) already present"))
                for s in skipped {
                    try Output.stdout.line("skipped \(s.file)\(s.line.map { ":\($0)" } ?? ""): \(s.reason)")
                }
            }
            if failed > 0 {
                var e = CLIError(
                    .error, code: "legacy-skipped",
                    "\(failed) legacy record\(failed == 1 ? " was" : "s were") not imported",
                    hint:
                        "fix what each skipped line names and run the import again (what was imported is not repeated)")
                e.reportedOnStdout = report.json
                throw e
            }
        }
    }

    static func decisionDraft(_ d: LegacyFiles.Decision, _ rel: String, _ a: CommandAppender) throws -> [EventDraft] {
        var members: [(String, JSONOut)] = [("kind", .string(d.kind)), ("value", .string(d.value))]
        if let c = d.confidence { members.append(("confidence", .raw(Array(c.utf8)))) }
        if let s = d.severity { members.append(("severity", .string(s))) }
        if let p = d.approver { members.append(("approver", .string(p))) }
        if let r = d.repo { members.append(("repo", .string(r))) }
        if !d.extra.isEmpty {
            members.append(("legacy_metadata", .raw(Array(JSONValue.object(d.extra).jsonText.utf8))))
        }
        var draft = try a.draft(.decisionRecorded, task: d.taskID, members)
        draft.eventID = contentEventID(["legacy.decision", d.canonical])
        draft.occurredAt = d.timestamp
        draft.provenance = "legacy:\(rel):\(d.line)"
        return [draft]
    }

    /// The legacy statuses and the events that bring an imported item there (anything else stays available,
    /// its status word kept and written back while the item is untouched).
    static func workItemDrafts(_ w: LegacyFiles.WorkItemRecord, _ rel: String, _ a: CommandAppender) throws
        -> [EventDraft]
    {
        let status = w.status.lowercased()
        let canonical = w.json.jsonText
        var drafts: [EventDraft] = []
        func add(_ kind: EventKind, _ members: [(String, JSONOut)]) throws {
            var d = try a.draft(kind, task: w.taskID, members)
            d.eventID = contentEventID(["legacy.work_item", kind.typeName, canonical])
            d.provenance = "legacy:\(rel):\(w.id)"
            drafts.append(d)
        }
        let lease = "L-legacy-" + String(contentEventID(["legacy.lease", canonical]).prefix(12))
        let steps: [EventKind]
        switch status {
        case "in_progress", "in-progress", "claimed", "leased", "running": steps = [.workItemLeased]
        case "completed", "done", "complete": steps = [.workItemLeased, .workItemCompleted]
        case "failed", "dead", "error": steps = [.workItemLeased, .workItemFailed]
        case "cancelled", "canceled": steps = [.workItemCancelled]
        default: steps = []
        }
        var legacy: [(String, JSONValue)] = [
            ("status", .string(w.status)), ("retry_count", .number(String(w.retryCount))),
            ("error_log", .array(w.errorLog.map { .string($0) })), ("events", .number(String(1 + steps.count))),
        ]
        if !w.extra.isEmpty { legacy.append(("extra", .object(w.extra))) }
        try add(
            .workItemEnqueued,
            [
                ("work_item_id", .string(w.id)), ("project", w.project.map { .string($0) } ?? .null),
                ("orchestrator_id", w.orchestratorID.map { .string($0) } ?? .null),
                ("session_ref", w.sessionRef.flatMap { $0.isEmpty ? nil : .string($0) } ?? .null),
                ("max_attempts", .int(100)),
                ("metadata", .raw(Array((w.metadata ?? .object([])).jsonText.utf8))),
                ("legacy", .raw(Array(JSONValue.object(legacy).jsonText.utf8))),
            ])
        for k in steps {
            switch k {
            case .workItemLeased:
                try add(
                    k,
                    [
                        ("work_item_id", .string(w.id)), ("lease_id", .string(lease)),
                        ("worker", .string("legacy-import")), ("ttl_ms", .int(15 * 60_000)), ("attempt", .int(1)),
                    ])
            case .workItemCompleted:
                try add(k, [("work_item_id", .string(w.id)), ("lease_id", .string(lease))])
            case .workItemFailed:
                try add(
                    k,
                    [
                        ("work_item_id", .string(w.id)), ("lease_id", .string(lease)), ("error", .string("")),
                        ("retryable", .bool(false)),
                    ])
            default:
                try add(k, [("work_item_id", .string(w.id)), ("reason", .string("imported as \(w.status)"))])
            }
        }
        return drafts
    }

    static func sessionDraft(_ s: LegacyFiles.SessionFile, _ rel: String, _ a: CommandAppender) throws -> [EventDraft] {
        guard let iteration = s.iteration else {
            throw CLIError.invalid("\(rel): iteration: missing", hint: "a checkpoint needs its iteration")
        }
        guard let verdict = s.verdict else {
            throw CLIError.invalid("\(rel): verdict: missing", hint: "PASS, FAIL, PARTIAL or BLOCKED")
        }
        var members: [(String, JSONOut)] = [
            ("iteration", .int(Int64(iteration))), ("verdict", .string(verdict.uppercased())),
            ("checkpoint_id", .string(s.checkpoint)), ("summary", .string(s.body)),
        ]
        if let id = s.sessionID { members.append(("session_id", .string(id))) }
        if verdict != verdict.uppercased() { members.append(("legacy_verdict", .string(verdict))) }
        if !s.extra.isEmpty {
            members.append(("legacy_metadata", .raw(Array(JSONValue.object(s.extra).jsonText.utf8))))
        }
        var draft = try a.draft(.sessionCheckpointed, task: s.taskID, members)
        draft.eventID = contentEventID(["legacy.session", s.text])
        draft.occurredAt = s.timestamp ?? ""
        draft.provenance = "legacy:" + rel
        return [draft]
    }
}

extension ImportLegacy {
    /// Whether a KO file's title and kept members are what `export legacy` wrote from the marker's record.
    static func exportUnchanged(
        _ file: LegacyFiles.KOMetadata, _ x: LegacyFiles.KOMetadata.ExportMarker, title: String
    ) -> Bool {
        var originalTitle: String?
        var originalExtra: JSONValue = .object([])
        if case .object(let m)? = x.legacyFile {
            if case .string(let t)? = m.last(where: { $0.0 == "title" })?.1 { originalTitle = t }
            if let e = m.last(where: { $0.0 == "extra" })?.1 { originalExtra = e }
        }
        return file.title == (originalTitle ?? title) && JSONValue.object(file.extra) == originalExtra
    }

    /// The legacy counts of a KO file `export legacy` wrote: those of the KO's own import, plus any
    /// consultations and successes an old tool added to the totals since the export (never fewer).
    static func countsOfExport(_ x: LegacyFiles.KOMetadata.ExportMarker, _ file: LegacyFiles.KOMetadata)
        -> (consultations: Int, successes: Int?)?
    {
        var c = x.legacyConsultations
        var s = x.legacySuccesses
        if let now = file.consultationCount, let then = x.consultationCount, now > then {
            c = min((c ?? 0) + (now - then), Int(Int32.max))
            if let sn = file.successes, let st = x.successes, sn >= st { s = min((s ?? 0) + (sn - st), c!) }
        }
        return c.map { ($0, s) }
    }
}

/// What a legacy KO's `<id>.json` held beyond the markdown, kept on `ko.proposed` so export writes it back.
struct LegacyKOFile {
    var jsonPresent: Bool
    var jsonTitle: String?
    var jsonProjects: [String]?
    var extra: [(String, JSONValue)]
    var effectivenessText: String?

    var json: JSONValue {
        var m: [(String, JSONValue)] = [("json_file", .bool(jsonPresent))]
        if let jsonTitle { m.append(("title", .string(jsonTitle))) }
        if let jsonProjects { m.append(("projects", .array(jsonProjects.map { .string($0) }))) }
        if let effectivenessText { m.append(("effectiveness", .number(effectivenessText))) }
        if !extra.isEmpty { m.append(("extra", .object(extra))) }
        return .object(m)
    }
}

extension ExportLegacy {
    /// The legacy status word of an item's state.
    static func legacyStatus(_ i: WorkItem) -> String {
        switch i.status {
        case .available, .retryable: return "pending"
        case .leased: return "in_progress"
        case .completed: return "completed"
        case .failed, .discarded: return "failed"
        case .cancelled: return "cancelled"
        }
    }
}

struct ExportLegacy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "legacy",
        abstract: "Write the legacy memory files back from the projections (for tools that read them).",
        discussion: """
            Writes DIR/knowledge/approved/<id>.md and <id>.json for every approved KO (consultation_count and \
            the plain success rate rounded to 2 places, legacy counts included), \
            DIR/.aibrain/decisions/<task>.jsonl for every task with decisions, and \
            DIR/.aibrain/session-<task>-<checkpoint>.md for every checkpoint, and \
            DIR/tasks/work_queue_<project>.json for every work item. Existing files are left as they are \
            unless --force; each file is written atomically.
            """)
    @Argument(help: ArgumentHelp("The directory to write into.", valueName: "dir")) var dir: String
    @Flag(help: "Overwrite files that exist.") var force = false
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let access = try ProjectionAccess(root: try store.locate())
            let fs = PosixFileSystem()
            var files: [(String, String)] = []
            func payload(_ ref: EventRef) throws -> (Event, [(String, JSONValue)])? {
                guard let e = try access.event(ref) else { return nil }
                let members = (try? JSONScanner.members(of: e.payload))?.compactMap { m in
                    LegacyFiles.value(m.value).map { (m.key, $0) }
                }
                return (e, members ?? [])
            }
            func get(_ m: [(String, JSONValue)], _ k: String) -> JSONValue? { m.last { $0.0 == k }?.1 }
            // Knowledge objects.
            var leftOut: [String] = []
            for k in access.engine.knowledge.kos.values.sorted(by: { $0.id < $1.id }) where k.status == .approved {
                guard Handoff.isFileNameID(k.id) else {
                    leftOut.append("knowledge object \(k.id): its id cannot name a file")
                    continue
                }
                guard let ref = k.bodyRef ?? k.proposed, let (_, m) = try payload(ref) else { continue }
                var meta: [(String, JSONValue)] = []
                if case .object(let x)? = get(m, "metadata") { meta = x }
                let md = KOMarkdown(
                    id: k.id, title: k.title, tags: k.tags, projects: k.projects, body: try access.requireBody(of: k),
                    metadata: meta)
                files.append((LegacyLayout.knowledge + "/\(k.id).md", md.text))
                let legacy = get(m, "legacy_file")
                var json = LegacyFiles.KOMetadata(
                    id: k.id,
                    title: legacy?["title"].flatMap { if case .string(let s) = $0 { s } else { nil } } ?? k.title,
                    sourceSessions: get(m, "source_sessions"),
                    projects: k.projects, consultationCount: nil, effectiveness: nil, extra: [])
                if case .object(let x)? = legacy?["extra"] { json.extra = x }
                let hadCounts = get(m, "legacy_consultations") != nil
                if hadCounts || k.consultations > 0 { json.consultationCount = k.totalConsultations }
                if let rate = k.successRate { json.effectiveness = String(format: "%.2f", rate) }
                func int(_ v: JSONValue?) -> Int? { if case .number(let n)? = v { Int(n) } else { nil } }
                json.export = .init(
                    exportedBy: Handoff.generatorPrefix + AIBrain.version,
                    legacyConsultations: int(get(m, "legacy_consultations")),
                    legacySuccesses: int(get(m, "legacy_successes")), consultationCount: json.consultationCount,
                    successes: json.successes, legacyFile: legacy)
                if legacy?["json_file"] != .bool(false) || hadCounts || k.consultations > 0 {
                    files.append((LegacyLayout.knowledge + "/\(k.id).json", json.jsonText + "\n"))
                }
            }
            // Decisions, one file per task, in log order.
            var byTask: [String: [String]] = [:]
            var taskOrder: [String] = []
            for d in access.engine.decisions.decisions where !d.task.isEmpty {
                guard let (e, m) = try payload(d.ref) else { continue }
                func s(_ k: String) -> String? { if case .string(let v)? = get(m, k) { v } else { nil } }
                var line = LegacyFiles.Decision(
                    line: 0,
                    timestamp: e.draft.occurredAt.isEmpty ? rfc3339(HLC.milliseconds(e.hlc)) : e.draft.occurredAt,
                    taskID: d.task, repo: s("repo"), kind: d.kind, value: d.value, severity: s("severity"),
                    approver: s("approver"), confidence: nil, extra: [], canonical: "")
                if case .number(let c)? = get(m, "confidence") { line.confidence = c }
                if case .object(let x)? = get(m, "legacy_metadata") { line.extra = x }
                if byTask[d.task] == nil { taskOrder.append(d.task) }
                byTask[d.task, default: []].append(line.jsonLine)
            }
            for t in taskOrder where !Handoff.isFileNameID(t) {
                leftOut.append("decisions of task \(t): its id cannot name a file")
            }
            for t in taskOrder where Handoff.isFileNameID(t) {
                files.append((LegacyLayout.decisions + "/\(t).jsonl", byTask[t]!.joined(separator: "\n") + "\n"))
            }
            // Session files, one per checkpoint.
            for (task, t) in access.engine.sessions.tasks.sorted(by: { $0.key < $1.key })
            where Handoff.isFileNameID(task) {
                for c in t.checkpoints where Handoff.isFileNameID(c.id) {
                    guard let (e, m) = try payload(c.ref) else { continue }
                    var verdict = c.verdict
                    if case .string(let v)? = get(m, "legacy_verdict") { verdict = v }
                    var sf = LegacyFiles.SessionFile(
                        taskID: task, checkpoint: c.id, iteration: c.iteration, verdict: verdict,
                        sessionID: c.session.isEmpty ? nil : c.session,
                        timestamp: e.draft.occurredAt.isEmpty ? nil : e.draft.occurredAt,
                        body: { if case .string(let b)? = get(m, "summary") { b } else { "" } }(), extra: [])
                    if case .object(let x)? = get(m, "legacy_metadata") { sf.extra = x }
                    files.append((LegacyLayout.sessions + "/" + sf.fileName, sf.text))
                }
            }
            // Work queues, one file per project (items of no project: work_queue_default.json).
            var queues: [String: [JSONValue]] = [:]
            for (id, i) in access.engine.queue.items.sorted(by: { $0.key < $1.key }) {
                guard let (_, m) = try payload(i.enqueued) else { continue }
                let legacy = get(m, "legacy")
                var record = LegacyFiles.WorkItemRecord(
                    id: id, taskID: i.task, project: i.project.isEmpty ? nil : i.project,
                    orchestratorID: i.orchestrator.isEmpty ? nil : i.orchestrator, status: Self.legacyStatus(i),
                    sessionRef: i.sessionRef.isEmpty ? nil : i.sessionRef, retryCount: i.retryCount,
                    errorLog: i.errors,
                    metadata: LegacyFiles.value(ArraySlice(Array((i.metadata.isEmpty ? "{}" : i.metadata).utf8))),
                    extra: [])
                if let legacy, case .number(let n)? = legacy["events"], Int(n) == i.events {
                    // Untouched since the import: the legacy file's own words and counts.
                    if case .string(let st)? = legacy["status"] { record.status = st }
                    if case .number(let r)? = legacy["retry_count"], let v = Int(r) { record.retryCount = v }
                    if case .array(let log)? = legacy["error_log"] {
                        record.errorLog = log.compactMap { if case .string(let s) = $0 { s } else { nil } }
                    }
                }
                if case .object(let x)? = legacy?["extra"] { record.extra = x }
                queues[i.project.isEmpty ? "default" : i.project, default: []].append(record.json)
            }
            for (project, items) in queues.sorted(by: { $0.key < $1.key }) where Handoff.isFileNameID(project) {
                let text = "[\n" + items.map { "  " + $0.jsonText }.joined(separator: ",\n") + "\n]\n"
                files.append((LegacyLayout.queues + "/work_queue_\(project).json", text))
            }
            var written = 0
            var kept: [String] = []
            for (rel, text) in files {
                let path = dir + "/" + rel
                if !force, (try? fs.stat(path)) != nil {
                    kept.append(rel)
                    continue
                }
                let parent = String(path[..<path.lastIndex(of: "/")!])
                try fs.attempt("writing a legacy file", path: path) { () throws(SystemError) in
                    try fs.makeDirectories(parent)
                    try fs.writeFileAtomically(path, Array(text.utf8))
                }
                written += 1
            }
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("dir", .string(dir)), ("written", .int(Int64(written))),
                        ("kept", .array(kept.map { .string($0) })), ("left_out", .array(leftOut.map { .string($0) })),
                    ]).text)
            } else {
                try Output.stdout.line("wrote \(written) file\(written == 1 ? "" : "s") into \(dir)")
                for k in kept { try Output.stdout.line("kept \(k) (exists; --force to overwrite)") }
                for l in leftOut { try Output.stdout.line("left out \(l)") }
            }
        }
    }
}
