import ArgumentParser
import BrainEvents
import EventLog
import Foundation
import Projections

struct Decisions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decisions",
        abstract: "The decision log: APPROACH, GUARDRAIL_OVERRIDE, ESTIMATION_ADJUSTMENT (and any other kind).",
        discussion: """
            Decisions are immutable events; a later decision.superseded marks one as replaced (it stays \
            listed with --all). Overrides are summarised by severity and approver.
            """)
    @Option(help: ArgumentHelp("Only this task's decisions.", valueName: "id")) var task: String?
    @Option(help: ArgumentHelp("Only this kind.", valueName: "kind")) var kind: String?
    @Option(help: ArgumentHelp("Only this severity.", valueName: "level")) var severity: String?
    @Option(help: ArgumentHelp("Only this approver.", valueName: "name")) var approver: String?
    @Flag(help: "Include superseded decisions.") var all = false
    @Option(help: ArgumentHelp("At most N (newest; 0: all).", valueName: "n")) var limit = 50
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let access = try ProjectionAccess(root: try store.locate())
            let selected = access.engine.decisions.select(task: task, kind: kind).filter {
                (severity == nil || $0.severity == severity) && (approver == nil || $0.approver == approver)
                    && (all || $0.supersededBy.isEmpty)
            }
            let shown = limit > 0 ? Array(selected.suffix(limit)) : selected
            var byKind: [String: Int] = [:]
            var overrides: [String: [String: Int]] = [:]
            for d in selected {
                byKind[d.kind, default: 0] += 1
                if d.kind == "GUARDRAIL_OVERRIDE" {
                    overrides[d.severity.isEmpty ? "(none)" : d.severity, default: [:]][
                        d.approver.isEmpty ? "(none)" : d.approver, default: 0] += 1
                }
            }
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("count", .int(Int64(selected.count))),
                        ("by_kind", .object(byKind.keys.sorted().map { ($0, .int(Int64(byKind[$0]!))) })),
                        (
                            "overrides",
                            .object(
                                overrides.keys.sorted().map { s in
                                    (
                                        s,
                                        .object(
                                            overrides[s]!.keys.sorted().map { ($0, .int(Int64(overrides[s]![$0]!))) })
                                    )
                                })
                        ),
                        ("decisions", .array(try shown.map { try decisionJSON($0, access) })),
                    ]).text)
                return
            }
            let kinds: [String] = byKind.keys.sorted().map { k in "\(byKind[k]!) \(k)" }
            let plural = selected.count == 1 ? "" : "s"
            try Output.stdout.line(
                "\(selected.count) decision\(plural)" + (kinds.isEmpty ? "" : ": " + kinds.joined(separator: ", ")))
            for s in overrides.keys.sorted() {
                try Output.stdout.line(
                    "  overrides of severity \(s): "
                        + overrides[s]!.keys.sorted().map { "\(overrides[s]![$0]!) by \($0)" }.joined(separator: ", "))
            }
            for d in shown {
                var extra: [String] = []
                if !d.severity.isEmpty { extra.append("severity \(d.severity)") }
                if !d.approver.isEmpty { extra.append("approver \(d.approver)") }
                if !d.confidence.isEmpty { extra.append("confidence \(d.confidence)") }
                if !d.supersededBy.isEmpty { extra.append("superseded by \(d.supersededBy)") }
                var line = "\(rfc3339(HLC.milliseconds(d.hlc)))  \(d.task)  \(d.kind)  \(d.value)"
                if !extra.isEmpty { line += "  (" + extra.joined(separator: ", ") + ")" }
                if !d.actor.isEmpty { line += "  by \(d.actor)" }
                line += "  [\(access.position(d.ref))]"
                try Output.stdout.line(line)
            }
            if shown.count < selected.count {
                try Output.stdout.line("(\(selected.count - shown.count) older: --limit 0 shows all)")
            }
        }
    }

    func decisionJSON(_ d: Decision, _ access: ProjectionAccess) throws -> JSONOut {
        var rationale: JSONOut = .null
        var alternatives: JSONOut = .null
        if task != nil, let e = try access.event(d.ref) {
            let f = PayloadFields()
            e.payload.withUnsafeBytes { p in
                guard f.scan(p) else { return }
                rationale = f.string(.rationale).map { .string($0) } ?? .null
                alternatives = f.strings(.alternatives).map { .array($0.map { .string($0) }) } ?? .null
            }
        }
        return .object([
            ("event_id", .string(d.eventID)), ("task_id", .string(d.task)), ("kind", .string(d.kind)),
            ("value", .string(d.value)), ("severity", d.severity.isEmpty ? .null : .string(d.severity)),
            ("approver", d.approver.isEmpty ? .null : .string(d.approver)),
            ("confidence", d.confidence.isEmpty ? .null : .raw(Array(d.confidence.utf8))),
            ("actor", .string(d.actor)), ("team", .string(d.team)),
            ("timestamp", .string(rfc3339(HLC.milliseconds(d.hlc)))), ("position", .string(access.position(d.ref))),
            ("superseded_by", d.supersededBy.isEmpty ? .null : .string(d.supersededBy)),
            ("rationale", rationale), ("alternatives", alternatives),
        ])
    }
}

struct KnowledgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ko",
        abstract: "Knowledge objects: add and curate them, search them, and their effectiveness from outcomes.",
        subcommands: [
            KOAdd.self, KOApprove.self, KOSupersede.self, KORetire.self, KOConsult.self, KOSearchCommand.self,
            KOEmbed.self,
            KOShow.self, KORank.self,
        ])
}

func koJSON(_ k: KnowledgeObject) -> JSONOut {
    .object([
        ("id", .string(k.id)), ("title", .string(k.title)), ("status", .string(k.status.name)),
        ("superseded_by", k.supersededBy.isEmpty ? .null : .string(k.supersededBy)),
        ("tags", .array(k.tags.map { .string($0) })), ("projects", .array(k.projects.map { .string($0) })),
        ("consultations", .int(Int64(k.consultations))), ("successes", .int(Int64(k.successes))),
        ("failures", .int(Int64(k.failures))),
        // Carried over by `import legacy` (null: the legacy file gave none); effectiveness and success_rate
        // count them with this store's own.
        (
            "legacy_consultations",
            k.legacySuccesses >= 0 || k.legacyConsultations > 0 ? .int(Int64(k.legacyConsultations)) : .null
        ),
        ("legacy_successes", k.legacySuccesses >= 0 ? .int(Int64(k.legacySuccesses)) : .null),
        ("effectiveness", .double(k.effectiveness)), ("success_rate", k.successRate.map { .double($0) } ?? .null),
    ])
}

struct KOShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One knowledge object.")
    @Argument(help: ArgumentHelp("The KO id.", valueName: "ko")) var ko: String
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let access = try ProjectionAccess(root: try store.locate())
            guard let k = access.engine.knowledge.ko(ko) else {
                throw CLIError(.error, code: "not-found", "no knowledge object \(ko)", hint: "see `aibrain ko rank`")
            }
            if report.json {
                try Output.stdout.line(koJSON(k).text)
                return
            }
            try Output.stdout.line(
                [
                    "\(k.id): \(k.title.isEmpty ? "(untitled)" : k.title) [\(k.status.name)]"
                        + (k.supersededBy.isEmpty ? "" : " superseded by \(k.supersededBy)"),
                    "  consulted \(k.consultations) time(s): \(k.successes) followed by success, \(k.failures) by failure",
                    "  effectiveness (s+1)/(c+2) = \(String(format: "%.3f", k.effectiveness))",
                    "  tags: " + (k.tags.isEmpty ? "-" : k.tags.joined(separator: ", ")),
                ].joined(separator: "\n"))
        }
    }
}

struct KORank: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank",
        abstract: "Knowledge objects by effectiveness (s+1)/(c+2): consultations followed by a task's success.")
    @Option(help: ArgumentHelp("Only KOs with this tag.", valueName: "tag")) var tag: String?
    @Flag(help: "Include superseded and retired KOs.") var all = false
    @Option(help: ArgumentHelp("At most N (0: all).", valueName: "n")) var limit = 20
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let access = try ProjectionAccess(root: try store.locate())
            let ranked = access.engine.knowledge.ranked(all: all, tag: tag)
            let shown = limit > 0 ? Array(ranked.prefix(limit)) : ranked
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([("count", .int(Int64(ranked.count))), ("kos", .array(shown.map(koJSON)))]).text)
                return
            }
            try Output.stdout.line(
                table(
                    ["RANK", "KO", "EFFECTIVENESS", "CONSULTED", "SUCCESSES", "STATUS", "TITLE"],
                    shown.enumerated().map { i, k in
                        [
                            String(i + 1), k.id, String(format: "%.3f", k.effectiveness), String(k.consultations),
                            String(k.successes), k.status.name, k.title,
                        ]
                    }))
        }
    }
}

struct CostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cost",
        abstract: "Token usage and dollars by agent, team, project, task, work-item attempt or model.",
        discussion: """
            From usage.recorded events (normalized: Anthropic counts cache tokens on top of input, OpenAI \
            inside it; priced with the versioned table when the event gives no price) and from usage blocks \
            flagged in the envelope (the workload's cost{} object). Dollars are summed exactly in nano-dollars.
            """)
    @Option(help: ArgumentHelp("Group by agent, team, project, task, attempt or model.", valueName: "dimension"))
    var by: String = "agent"
    @Option(help: ArgumentHelp("At most N groups (0: all).", valueName: "n")) var limit = 20
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            guard let d = CostProjection.Dimension(rawValue: by) else {
                throw CLIError.usage(
                    "--by \(by): unknown",
                    hint: "use one of " + CostProjection.Dimension.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let access = try ProjectionAccess(root: try store.locate())
            let c = access.engine.cost
            let rows = c.breakdown(d)
            let shown = limit > 0 ? Array(rows.prefix(limit)) : rows
            func bucket(_ b: CostBucket) -> [(String, JSONOut)] {
                [
                    ("events", .int(Int64(b.events))), ("input_tokens", .int(b.input)),
                    ("cached_tokens", .int(b.cached)),
                    ("output_tokens", .int(b.output)), ("usd", .raw(Array(b.usd.utf8))),
                    ("unpriced_events", .int(Int64(b.unpriced))),
                ]
            }
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("by", .string(d.rawValue)), ("price_table", .string(PriceTable.current.version)),
                        ("total", .object(bucket(c.total))), ("groups", .int(Int64(rows.count))),
                        ("rows", .array(shown.map { .object([("key", .string($0.key))] + bucket($0.bucket)) })),
                    ]).text)
                return
            }
            try Output.stdout.line(
                "total $\(c.total.usd) over \(c.total.events) event(s): \(c.total.input) input (\(c.total.cached) cached), \(c.total.output) output tokens"
                    + (c.total.unpriced > 0 ? "; \(c.total.unpriced) unpriced" : ""))
            try Output.stdout.line(
                table(
                    [d.rawValue.uppercased(), "USD", "EVENTS", "INPUT", "CACHED", "OUTPUT"],
                    shown.map {
                        [
                            $0.key, $0.bucket.usd, String($0.bucket.events), String($0.bucket.input),
                            String($0.bucket.cached), String($0.bucket.output),
                        ]
                    }))
            if shown.count < rows.count {
                try Output.stdout.line("(\(rows.count - shown.count) more: --limit 0 shows all)")
            }
        }
    }
}

struct Rebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Fold the whole log into every projection again and write fresh snapshots.",
        discussion: """
            --check writes nothing: it brings the snapshots up to date incrementally in memory, rebuilds \
            from scratch beside them, and compares the two byte for byte (exit 5 if they differ).
            """)
    @Flag(help: "Prove incremental == from scratch, byte for byte; write nothing.") var check = false
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            let reader = try StoreReader(root: root)
            let projections = ProjectionStore(paths: reader.paths, fs: reader.fs)
            let start = DispatchTime.now().uptimeNanoseconds
            let fresh: ReplayEngine
            do { fresh = try ProjectionStore.rebuild(reader) } catch let e as EventLogError { throw e } catch {
                throw CLIError(.error, code: "projection", "folding the log failed: \(error)")
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            keptUntilExit.append(fresh)
            var differences: [String] = []
            var incrementalNote: String?
            // Encoded once: compared in memory with --check, written otherwise.
            let freshFiles: [(name: String, bytes: Int)]
            if check {
                let encoded = ProjectionStore.encode(fresh)
                freshFiles = encoded.map { ($0.name, $0.bytes.count) }
                let (incremental, outcome) = try projections.open(reader, save: .never)
                keptUntilExit.append(incremental)
                incrementalNote = outcome.rebuiltBecause
                let inc = Dictionary(
                    uniqueKeysWithValues: ProjectionStore.encode(incremental).map { ($0.name, $0.bytes) })
                for (name, bytes) in encoded where inc[name] != bytes { differences.append(name) }
                for name in inc.keys where !encoded.contains(where: { $0.name == name }) { differences.append(name) }
            } else {
                freshFiles = try projections.save(fresh)
            }
            let perType = EventKind.allCases.compactMap { k in fresh.counts[k].map { (k.typeName, $0) } }
            if report.json {
                var m: [(String, JSONOut)] = [
                    ("events", .int(Int64(fresh.total))), ("seconds", .double(seconds)),
                    ("events_per_second", .double(seconds > 0 ? Double(fresh.total) / seconds : 0)),
                    ("types", .object(perType.map { ($0.0, .int(Int64($0.1))) })),
                    (
                        "unknown_types",
                        .object(fresh.unknownTypes.keys.sorted().map { ($0, .int(Int64(fresh.unknownTypes[$0]!))) })
                    ),
                    ("unused", .int(Int64(fresh.unused))), ("unparsable", .int(Int64(fresh.unparsable))),
                    ("duplicates", .int(Int64(fresh.duplicates))),
                    (
                        "snapshots",
                        .array(
                            freshFiles.map {
                                .object([("name", .string($0.name)), ("bytes", .int(Int64($0.bytes)))])
                            })
                    ),
                ]
                // Only on stores with unreadable payloads, so the shape of every other store's output stays.
                if fresh.unreadable > 0 { m.append(("unreadable", .int(Int64(fresh.unreadable)))) }
                if check {
                    m.append(("identical", .bool(differences.isEmpty)))
                    m.append(("differences", .array(differences.map { .string($0) })))
                    m.append(("snapshot_note", incrementalNote.map { .string($0) } ?? .null))
                }
                try Output.stdout.line(JSONOut.object(m).text)
            } else {
                try Output.stdout.line(
                    "folded \(fresh.total) event(s) in \(String(format: "%.2f", seconds)) s"
                        + (seconds > 0 ? " (\(Int(Double(fresh.total) / seconds)) events/s)" : ""))
                for (t, n) in perType { try Output.stdout.line("  \(t): \(n)") }
                for t in fresh.unknownTypes.keys.sorted() {
                    try Output.stdout.line(
                        "  \(t): \(fresh.unknownTypes[t]!) (type not in the catalogue: kept, not folded)")
                }
                if fresh.unused > 0 {
                    try Output.stdout.line("  \(fresh.unused) event(s) of known types fed no projection")
                }
                if fresh.unparsable > 0 {
                    try Output.stdout.line("  \(fresh.unparsable) payload(s) were not JSON objects")
                }
                if fresh.duplicates > 0 {
                    try Output.stdout.line("  \(fresh.duplicates) cross-origin duplicate(s) skipped")
                }
                if fresh.unreadable > 0 {
                    try Output.stdout.line(
                        "  \(fresh.unreadable) event(s) not folded: payload encrypted without its team's key here, or shredded"
                    )
                }
                let bytes = freshFiles.reduce(0) { $0 + $1.bytes }
                if check {
                    if let n = incrementalNote {
                        try Output.stdout.line("  (the snapshots on disk were not usable: \(n))")
                    }
                    try Output.stdout.line(
                        differences.isEmpty
                            ? "check: incremental and from-scratch snapshots are identical (\(freshFiles.count) files, \(bytes) bytes)"
                            : "check: DIFFERENT: " + differences.joined(separator: ", "))
                } else {
                    try Output.stdout.line(
                        "wrote \(freshFiles.count) snapshot(s), \(bytes) bytes, to \(projections.directory)")
                }
            }
            if !differences.isEmpty {
                var e = CLIError(
                    .corruption, code: "projection-mismatch",
                    "incremental projections differ from a rebuild: " + differences.joined(separator: ", "),
                    hint: "run `aibrain rebuild` to replace the snapshots, and report this as a bug")
                e.reportedOnStdout = report.json
                throw e
            }
        }
    }
}

struct ExportSQLite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sqlite",
        abstract:
            "Write the projections to a SQLite database: work_items, checkpoints, decisions, costs, knowledge_objects.")
    @Argument(help: ArgumentHelp("The database file to write (replaced atomically).", valueName: "file.db")) var file:
        String
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let access = try ProjectionAccess(root: try store.locate())
            let path = file.hasPrefix("/") ? file : StoreLocator.workingDirectory() + "/" + file
            let counts: SQLiteExport.Counts
            do {
                counts = try SQLiteExport.write(
                    access.engine, to: path, fs: access.reader.fs, tmpSuffix: String(getpid()))
            } catch let e as EventLogError { throw e } catch {
                throw CLIError(
                    .error, code: "sqlite", "\(path): \(error)", hint: "check the folder exists and is writable")
            }
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("path", .string(path)), ("work_items", .int(Int64(counts.workItems))),
                        ("checkpoints", .int(Int64(counts.checkpoints))), ("decisions", .int(Int64(counts.decisions))),
                        ("costs", .int(Int64(counts.costs))),
                        ("knowledge_objects", .int(Int64(counts.knowledgeObjects))),
                    ]).text)
            } else {
                try Output.stdout.line(
                    "wrote \(path): \(counts.workItems) work items, \(counts.checkpoints) checkpoints, \(counts.decisions) decisions, \(counts.costs) cost rows, \(counts.knowledgeObjects) knowledge objects"
                )
            }
        }
    }
}
