import ArgumentParser
import BrainEvents
import EventLog
import Foundation
import Projections

/// 32 hex digits of XXH3-128 over `parts` (NUL-separated): event ids that derive from what a record says, so the
/// same KO added twice, or imported in two repositories that later exchange segments, is one event.
func contentEventID(_ parts: [String]) -> String {
    Array(parts.joined(separator: "\u{0}").utf8).withUnsafeBytes { ID128($0) }.hex
}

/// Appends one event of aibrain's own commands and prints what was appended.
func appendOne(
    _ a: CommandAppender, _ kind: EventKind, task: String?, _ members: [(String, JSONOut)], json: Bool,
    extra: [(String, JSONOut)]
) throws {
    let d = try a.draft(kind, task: task, members)
    let (r, _) = try a.append([d])
    try reportAppended(r, [d], json: json, extra: extra)
}

extension ProjectionAccess {
    /// A KO's body: in memory when folded in this process, else read from its `ko.proposed` event (the
    /// snapshot keeps bodies out).
    /// nil when its event cannot be read (the caller must not cache or export a body it did not get).
    func body(of k: KnowledgeObject) -> String? {
        if k.bodyKnown { return k.body }
        guard let b = field(of: k.bodyRef, { $0.string(.body) }) else { return nil }
        k.body = b
        k.bodyKnown = true
        return b
    }

    /// The embedding (reading it from its `ko.embedded` event after a snapshot load), nil when unreadable.
    func vector(of k: KnowledgeObject) -> [Float]? {
        if k.vectorKnown { return k.vector }
        guard let v = field(of: k.vectorRef, { $0.floats(.vector) }) else { return nil }
        k.vector = v
        k.vectorKnown = true
        return v
    }

    /// One payload field of the event at `ref`, nil when there is no such event or field.
    private func field<T>(of ref: EventRef?, _ read: (PayloadFields) -> T?) -> T? {
        guard let ref, let e = try? event(ref) else { return nil }
        let f = PayloadFields()
        return e.payload.withUnsafeBytes { f.scan($0) ? read(f) : nil }
    }

    /// The body, or exit 1 naming the KO and its event.
    func requireBody(of k: KnowledgeObject) throws -> String {
        guard let b = body(of: k) else {
            throw CLIError(
                .error, code: "unreadable",
                "the body of knowledge object \(k.id) could not be read from its event \(k.bodyRef.map { position($0) } ?? "?")",
                hint: "run `aibrain verify` to see why")
        }
        return b
    }
}

/// The knowledge object `id` as the projections see it now, or exit 1 `not-found`.
func existingKO(_ id: String, _ access: ProjectionAccess) throws -> KnowledgeObject {
    guard let k = access.engine.knowledge.ko(id), k.status != .unknown else {
        throw CLIError(
            .error, code: "not-found", "no knowledge object \(id)", hint: "add it with `aibrain ko add FILE.md`")
    }
    return k
}

/// The `ko.proposed` (and `ko.approved`) drafts of a KO file: ids derived from the content.
func koDrafts(
    _ ko: KOMarkdown, approve: Bool, approver: String?, appender a: CommandAppender, occurredAt: String = "",
    legacy: (consultations: Int, successes: Int?)? = nil, sourceSessions: JSONValue? = nil, provenance: String = "",
    legacyFile: JSONValue? = nil
) throws -> [EventDraft] {
    var members: [(String, JSONOut)] = [
        ("ko_id", .string(ko.id)), ("title", .string(ko.title)), ("tags", .array(ko.tags.map { .string($0) })),
        ("projects", .array(ko.projects.map { .string($0) })), ("body", .string(ko.body)),
    ]
    if let s = sourceSessions { members.append(("source_sessions", .raw(Array(s.jsonText.utf8)))) }
    if let legacy {
        members.append(("legacy_consultations", .int(Int64(legacy.consultations))))
        if let s = legacy.successes { members.append(("legacy_successes", .int(Int64(s)))) }
    }
    if !ko.metadata.isEmpty { members.append(("metadata", .raw(Array(JSONValue.object(ko.metadata).jsonText.utf8)))) }
    if let legacyFile { members.append(("legacy_file", .raw(Array(legacyFile.jsonText.utf8)))) }
    var proposed = try a.draft(.koProposed, task: nil, members)
    let content = String(decoding: proposed.payload, as: UTF8.self)
    proposed.eventID = contentEventID(["ko.proposed", ko.id, content])
    proposed.occurredAt = occurredAt
    proposed.provenance = provenance
    guard approve else { return [proposed] }
    var approved = try a.draft(
        .koApproved, task: nil, [("ko_id", .string(ko.id)), ("approver", approver.map { .string($0) } ?? .null)])
    approved.eventID = contentEventID(["ko.approved", ko.id, content])
    approved.occurredAt = occurredAt
    approved.provenance = provenance
    return [proposed, approved]
}

struct KOAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a knowledge object from a markdown file (proposed and approved, so it is searchable at once).",
        discussion: """
            The file starts with front matter (YAML between `---` lines, or one JSON object): id (default: the \
            file name without .md), title (default: the first `# ` heading), tags, projects; other members are \
            kept as metadata. The rest is the body. Event ids derive from the content: adding the same file \
            again appends nothing; an edited file records a new revision. With --draft it is only proposed \
            (not searchable until `ko approve`).
            """)
    @Argument(help: ArgumentHelp("The KO markdown file.", valueName: "file")) var file: String
    @Flag(help: "Only propose it (approve later with `ko approve`).") var draft = false
    @Option(help: ArgumentHelp("Who approved it (default: the actor).", valueName: "who")) var approver: String?
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            let bytes: [UInt8]
            do throws(SystemError) {
                bytes = try PosixFileSystem().readFile(file)
            } catch {
                throw CLIError(.error, code: "io", "cannot read \(file): \(error)", hint: "check the path")
            }
            let base = lastPathComponent(file)
            let ko: KOMarkdown
            do throws(LegacyError) {
                ko = try KOMarkdown.parse(
                    bytes, file: file, defaultID: base.hasSuffix(".md") ? String(base.dropLast(3)) : nil)
            } catch {
                throw CLIError.invalid(error.description, hint: error.hint)
            }
            let a = CommandAppender(root: root, actor: who.actor, team: who.team)
            let drafts: [EventDraft]
            do {
                drafts = try koDrafts(
                    ko, approve: !draft, approver: approver ?? (a.actor.isEmpty ? nil : a.actor), appender: a)
            } catch var e as CLIError {
                // The payload's checks (PII gate, schema) name the event; the user knows the file.
                e.message = "\(file): " + e.message
                throw e
            }
            let (r, _) = try a.append(drafts)
            try reportAppended(r, drafts, json: report.json, extra: [("ko_id", .string(ko.id))])
        }
    }
}

struct KOApprove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Approve a proposed knowledge object (it becomes searchable).")
    @Argument(help: ArgumentHelp("The KO id.", valueName: "ko")) var ko: String
    @Option(help: ArgumentHelp("Who approved it (default: the actor).", valueName: "who")) var approver: String?
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            let k = try existingKO(ko, try ProjectionAccess(root: root))
            guard k.status == .proposed || k.status == .approved else {
                throw CLIError(
                    .conflict, code: "illegal-transition", "\(ko) is \(k.status.name); only a proposed KO is approved",
                    hint:
                        "a \(k.status.name) KO stays \(k.status.name) (a new revision does not reopen it): record the "
                        + "lesson under a new id with `aibrain ko add FILE.md`")
            }
            let a = CommandAppender(root: root, actor: who.actor, team: who.team)
            try appendOne(
                a, .koApproved, task: nil,
                [
                    ("ko_id", .string(ko)),
                    ("approver", (approver ?? (a.actor.isEmpty ? nil : a.actor)).map { .string($0) } ?? .null),
                ], json: report.json, extra: [("ko_id", .string(ko))])
        }
    }
}

struct KOSupersede: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supersede", abstract: "Replace a knowledge object by another (it leaves search; history stays).")
    @Argument(help: ArgumentHelp("The KO id.", valueName: "ko")) var ko: String
    @Option(help: ArgumentHelp("The KO that replaces it.", valueName: "ko")) var by: String
    @Option(help: ArgumentHelp("Why.", valueName: "text")) var reason: String?
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            guard by != ko else { throw CLIError.usage("--by \(by): a KO cannot supersede itself") }
            let access = try ProjectionAccess(root: root)
            let k = try existingKO(ko, access)
            let replacement = try existingKO(by, access)
            guard k.status != .retired && k.status != .superseded else {
                throw CLIError(
                    .conflict, code: "illegal-transition",
                    "\(ko) is already \(k.status.name)"
                        + (k.supersededBy.isEmpty ? "" : " by \(k.supersededBy)"))
            }
            guard replacement.status == .approved || replacement.status == .proposed else {
                throw CLIError(
                    .conflict, code: "illegal-transition",
                    "\(by) is \(replacement.status.name): it cannot replace \(ko)")
            }
            let a = CommandAppender(root: root, actor: who.actor, team: who.team)
            try appendOne(
                a, .koSuperseded, task: nil,
                [("ko_id", .string(ko)), ("by", .string(by)), ("rationale", reason.map { .string($0) } ?? .null)],
                json: report.json, extra: [("ko_id", .string(ko)), ("by", .string(by))])
        }
    }
}

struct KORetire: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire", abstract: "Stop offering a knowledge object (it leaves search; history stays).")
    @Argument(help: ArgumentHelp("The KO id.", valueName: "ko")) var ko: String
    @Option(help: ArgumentHelp("Why.", valueName: "text")) var reason: String?
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            let k = try existingKO(ko, try ProjectionAccess(root: root))
            guard k.status != .retired else {
                throw CLIError(.conflict, code: "illegal-transition", "\(ko) is already retired")
            }
            let a = CommandAppender(root: root, actor: who.actor, team: who.team)
            try appendOne(
                a, .koRetired, task: nil, [("ko_id", .string(ko)), ("reason", reason.map { .string($0) } ?? .null)],
                json: report.json, extra: [("ko_id", .string(ko))])
        }
    }
}

struct KOConsult: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consult",
        abstract: "Record that a task looked at a knowledge object (its next outcome credits or debits the KO).",
        discussion: """
            The task's next task.outcome (for example `aibrain emit task.outcome --task T --data '{"success":true}'`) \
            counts as a success or a failure for every KO the task consulted since its previous outcome: that is \
            the effectiveness (s+1)/(c+2) that `ko search` and `ko rank` use.
            """)
    @Argument(help: ArgumentHelp("The KO id.", valueName: "ko")) var ko: String
    @Option(help: ArgumentHelp("The task that consulted it.", valueName: "id")) var task: String
    @Option(name: .customLong("session"), help: ArgumentHelp("The session.", valueName: "id")) var session: String?
    @Option(help: ArgumentHelp("Its rank in the results the agent saw.", valueName: "n")) var rank: Int?
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            _ = try existingKO(ko, try ProjectionAccess(root: root))
            let a = CommandAppender(root: root, actor: who.actor, team: who.team)
            try appendOne(
                a, .koConsulted, task: task,
                [
                    ("ko_id", .string(ko)), ("session_id", session.map { .string($0) } ?? .null),
                    ("rank", rank.map { .int(Int64($0)) } ?? .null),
                ], json: report.json, extra: [("ko_id", .string(ko)), ("task_id", .string(task))])
        }
    }
}

struct KOSearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find knowledge objects: tags, BM25 and embeddings fused, weighted by effectiveness and age.",
        discussion: """
            Approved KOs only (drafts with --include-drafts; superseded and retired never). --tags keeps KOs that \
            carry every listed tag; --project keeps KOs of that project or of none. Arms: lexical (BM25, k1 1.2, \
            b 0.75, over title, tags and body) and semantic (cosine to the KO's stored embedding: the query is \
            embedded by the store's embedding command, see `ko embed`, or given with --vector), fused by \
            reciprocal rank fusion (Σ w/(60 + rank), weights 1 and 1; a tag arm, query terms among the KO's tags, \
            joins with --weights), times the effectiveness (s+1)/(c+2), times 2^(−age/half-life). --explain prints \
            each signal. --ranking bm25 or tags prints the evaluation's baselines instead.
            """)
    enum Ranking: String, ExpressibleByArgument, CaseIterable {
        case hybrid, bm25, tags
    }
    @Argument(help: ArgumentHelp("What to look for.", valueName: "query")) var query: String
    @Option(help: ArgumentHelp("Only KOs with all of these tags (comma-separated).", valueName: "t1,t2")) var tags:
        String?
    @Option(help: ArgumentHelp("Only KOs of this project (or of none).", valueName: "name")) var project: String?
    @Option(help: ArgumentHelp("At most K results.", valueName: "k")) var limit = 10
    @Flag(help: "Print each signal's contribution.") var explain = false
    @Option(
        name: .customLong("half-life"), help: ArgumentHelp("Age decay half-life in days (0: none).", valueName: "days"))
    var halfLife = 180.0
    @Option(help: ArgumentHelp("The ranking: hybrid, or the baselines bm25 and tags.", valueName: "name"))
    var ranking: Ranking = .hybrid
    @Flag(name: .customLong("include-drafts"), help: "Also proposed (not yet approved) KOs.") var includeDrafts = false
    @Option(
        help: ArgumentHelp(
            "The query's embedding as a JSON array, with --model (what `ko embed --query` prints).", valueName: "json"))
    var vector: String?
    @Option(help: ArgumentHelp("The model of --vector.", valueName: "name")) var model: String?
    @Option(
        help: ArgumentHelp(
            "Reciprocal-rank-fusion weights of the lexical, tag and semantic arms (default 1,0,1).",
            valueName: "l,t,s"))
    var weights: String?
    @Option(
        name: .customLong("field-weights"),
        help: ArgumentHelp(
            "BM25 weights of title and tags against the body's 1 (lexical arm; default 1,1).", valueName: "title,tags"))
    var fieldWeights: String?
    @Option(
        name: .customLong("rank-window"),
        help: ArgumentHelp("How many of its best eligible KOs each arm ranks before fusion.", valueName: "n"))
    var rankWindow = 100
    @Flag(
        name: .customLong("no-semantic"),
        help: "Do not run the store's embedding command for the query (lexical and tag arms only).")
    var noSemantic = false
    @OptionGroup var nowOption: NowOption
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func validate() throws {
        if limit < 1 || limit > 1000 { throw ValidationError("--limit must be 1 to 1000") }
        if rankWindow < 1 || rankWindow > 100_000 { throw ValidationError("--rank-window must be 1 to 100000") }
        if halfLife < 0 || !halfLife.isFinite { throw ValidationError("--half-life must be 0 or more days") }
        if (vector == nil) != (model == nil) { throw ValidationError("--vector and --model go together") }
        if vector != nil && noSemantic { throw ValidationError("--vector and --no-semantic exclude each other") }
    }

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            let now = try nowOption.milliseconds()
            let access = try ProjectionAccess(root: root)
            func tooLarge(_ e: KnowledgeFileTooLarge) -> CLIError {
                CLIError(
                    .error, code: "index-too-large", "cannot build \(e.description)",
                    hint: "retire knowledge objects no longer needed (`aibrain ko retire`)")
            }
            let index: KOSearchIndex
            let rebuilt: String?
            do throws(KnowledgeFileTooLarge) {
                (index, rebuilt) = try KOSearchIndex.load(
                    path: access.reader.paths.projections + "/ko-search.idx", fs: access.reader.fs,
                    knowledge: access.engine.knowledge, write: true, body: access.body(of:))
            } catch {
                throw tooLarge(error)
            }
            let tagList = (tags ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
            var q = KOQuery(text: query, nowMS: now)
            q.tags = tagList
            q.project = project
            q.limit = limit
            q.halfLifeDays = halfLife
            q.includeDrafts = includeDrafts
            q.rankWindow = rankWindow
            if let weights {
                let w = try Self.weights(weights, count: 3, option: "--weights", example: "1,0.5,1")
                (q.lexicalWeight, q.tagWeight, q.semanticWeight) = (w[0], w[1], w[2])
            }
            if let fieldWeights {
                let w = try Self.weights(fieldWeights, count: 2, option: "--field-weights", example: "2,2")
                (q.bm25.titleWeight, q.bm25.tagsWeight) = (w[0], w[1])
            }
            if let vector {
                guard let data = vector.data(using: .utf8), let v = try? JSONDecoder().decode([Float].self, from: data),
                    !v.isEmpty, v.allSatisfy(\.isFinite)
                else { throw CLIError.usage("--vector: not a JSON array of numbers") }
                q.vector = v
                q.model = model
            }
            let knowledge = access.engine.knowledge
            // The embeddings, read only when the semantic arm can run (a --vector, or a configured embedder).
            var vectors: KOVectorIndex?
            func loadVectors() throws -> KOVectorIndex {
                do throws(KnowledgeFileTooLarge) {
                    let v = try KOVectorIndex.load(
                        path: access.reader.paths.projections + "/ko-vectors.idx", fs: access.reader.fs,
                        knowledge: knowledge, write: true, vector: access.vector(of:)
                    ).index
                    if !v.incomplete.isEmpty {
                        Output.stderr(
                            "aibrain: warning: the embedding of \(v.incomplete.prefix(3).joined(separator: ", "))"
                                + (v.incomplete.count > 3 ? " and \(v.incomplete.count - 3) more" : "")
                                + " could not be read from the log; the semantic arm leaves them out (`aibrain verify`)"
                        )
                    }
                    return v
                } catch {
                    throw tooLarge(error)
                }
            }
            if ranking == .hybrid, q.vector != nil { vectors = try loadVectors() }
            if vector == nil, !noSemantic, ranking == .hybrid, let e = try Embedder.configured(root) {
                let v = try loadVectors()
                vectors = v
                if v.models.contains(e.model) {
                    q.vector = try e.embed([("query", query)])["query"]
                    q.model = e.model
                }
            }
            if ranking != .hybrid {
                let ids = KOSearch.baseline(
                    query, plainBM25: ranking == .bm25, index: index, knowledge: knowledge, tags: tagList)
                let shown = Array(ids.prefix(limit))
                if report.json {
                    try Output.stdout.line(
                        JSONOut.object([
                            ("query", .string(query)), ("ranking", .string(ranking.rawValue)),
                            ("results", .array(shown.map { .object([("id", .string($0))]) })),
                        ]).text)
                } else {
                    for (i, id) in shown.enumerated() {
                        try Output.stdout.line("\(i + 1). \(id)  \(knowledge.ko(id)?.title ?? "")")
                    }
                }
                return
            }
            let hits = KOSearch.search(q, index: index, knowledge: knowledge, vectors: vectors)
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("query", .string(query)), ("ranking", .string("hybrid")), ("now", .string(rfc3339(now))),
                        ("index_rebuilt", rebuilt.map { .string($0) } ?? .null),
                        ("results", .array(hits.map { Self.json($0, knowledge.ko($0.id)!) })),
                    ]).text)
                return
            }
            if explain, let rebuilt {
                try Output.stdout.line(
                    "(search index rebuilt: \(rebuilt); \(index.documentCount) KOs, \(index.termCount) terms)")
            }
            if hits.isEmpty {
                try Output.stdout.line("no knowledge object matches")
                return
            }
            for (i, h) in hits.enumerated() {
                let k = knowledge.ko(h.id)!
                try Output.stdout.line(
                    "\(i + 1). \(h.id)  \(h.title)  [\(k.tags.joined(separator: ", "))]  score \(String(format: "%.5f", h.score))"
                )
                guard explain else { continue }
                func arm(_ name: String, _ a: KOHit.Arm?, _ what: String) -> String {
                    guard let a else { return "   \(name): -" }
                    return
                        "   \(name): rank \(a.rank), \(what) \(String(format: "%.3f", a.value)) → \(String(format: "%.5f", a.contribution))"
                }
                try Output.stdout.line(
                    [
                        arm("lexical ", h.lexical, "bm25"), arm("tags    ", h.tag, "matched terms"),
                        arm("semantic", h.semantic, "cosine"),
                        "   fused \(String(format: "%.5f", h.fused)) × effectiveness \(String(format: "%.3f", h.effectiveness)) ((\(k.totalSuccesses)+1)/(\(k.ratedConsultations)+2)) × decay \(String(format: "%.3f", h.decay)) (age \(String(format: "%.0f", h.ageDays)) d, half-life \(String(format: "%g", halfLife)) d) = \(String(format: "%.5f", h.score))",
                    ].joined(separator: "\n"))
            }
        }
    }

    /// `count` comma-separated numbers, each finite and 0 or more (a word among them is an error, not skipped).
    static func weights(_ text: String, count: Int, option: String, example: String) throws -> [Double] {
        let w = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Double($0.trimmingCharacters(in: .whitespaces))
        }
        let v = w.compactMap { $0 }
        guard w.count == count, v.count == count, v.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw CLIError.usage("\(option) \(text): \(count) numbers 0 or more, e.g. \(example)")
        }
        return v
    }

    static func json(_ h: KOHit, _ k: KnowledgeObject) -> JSONOut {
        func arm(_ a: KOHit.Arm?) -> JSONOut {
            guard let a else { return .null }
            return .object([
                ("rank", .int(Int64(a.rank))), ("value", .double(a.value)), ("contribution", .double(a.contribution)),
            ])
        }
        return .object([
            ("id", .string(h.id)), ("title", .string(h.title)), ("tags", .array(k.tags.map { .string($0) })),
            ("score", .double(h.score)), ("fused", .double(h.fused)), ("effectiveness", .double(h.effectiveness)),
            ("decay", .double(h.decay)), ("age_days", .double((h.ageDays * 10).rounded() / 10)),
            ("lexical", arm(h.lexical)), ("tag", arm(h.tag)), ("semantic", arm(h.semantic)),
        ])
    }
}

/// The embedding command of a store (`.aibrain/embedder.json`: `{"command": "…", "model": "…"}`): it reads
/// JSON lines `{"id", "text"}` on stdin and writes `{"id", "vector"}` lines on stdout (schemas/legacy.md,
/// "Embedding command"). It runs locally; its vectors are stored as `ko.embedded` events.
struct Embedder {
    var command: String
    var model: String

    static func configPath(_ root: String) -> String { root + "/embedder.json" }

    static func configured(_ root: String) throws -> Embedder? {
        guard let bytes = try? PosixFileSystem().readFile(configPath(root)) else { return nil }
        let data = Data(bytes)
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let c = o["command"] as? String,
            !c.isEmpty
        else {
            throw CLIError.invalid(
                "\(configPath(root)): needs {\"command\": \"…\", \"model\": \"…\"}",
                hint: "write it with `aibrain ko embed --configure --command CMD --model NAME`")
        }
        return Embedder(command: c, model: (o["model"] as? String) ?? "default")
    }

    /// Runs the command over `items`; every id must come back once with a vector of finite numbers.
    func embed(_ items: [(id: String, text: String)]) throws -> [String: [Float]] {
        let scratch = NSTemporaryDirectory() + "aibrain-embed-\(UUID().uuidString)"
        var input = ""
        for i in items {
            input += JSONOut.object([("id", .string(i.id)), ("text", .string(i.text))]).text + "\n"
        }
        let fs = PosixFileSystem()
        try fs.attempt("writing the embedding command's input", path: scratch) { () throws(SystemError) in
            try fs.writeFileAtomically(scratch + ".in", Array(input.utf8))
            try fs.writeFileAtomically(scratch + ".out", [])
            try fs.writeFileAtomically(scratch + ".err", [])
        }
        defer { for s in [".in", ".out", ".err"] { try? fs.unlink(scratch + s) } }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: scratch + ".in"))
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + ".out"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + ".err"))
        do { try p.run() } catch {
            throw CLIError(.error, code: "embedder", "cannot start the embedding command `\(command)`: \(error)")
        }
        p.waitUntilExit()
        let err = String(
            decoding: (try? Data(contentsOf: URL(fileURLWithPath: scratch + ".err"))) ?? Data(), as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw CLIError(
                .error, code: "embedder",
                "the embedding command `\(command)` exited \(p.terminationStatus): \(err.suffix(400))",
                hint: "run it by hand with one line {\"id\":\"x\",\"text\":\"hello\"} on stdin")
        }
        let out = (try? Data(contentsOf: URL(fileURLWithPath: scratch + ".out"))) ?? Data()
        var vectors: [String: [Float]] = [:]
        var n = 0
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            n += 1
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let id = o["id"] as? String, let v = o["vector"] as? [NSNumber], !v.isEmpty, v.count <= 4096
            else {
                throw CLIError(
                    .error, code: "embedder",
                    "the embedding command's output line \(n) is not {\"id\": …, \"vector\": [1 to 4096 numbers]}")
            }
            let f = v.map { $0.floatValue }
            guard f.allSatisfy(\.isFinite) else {
                throw CLIError(
                    .error, code: "embedder", "output line \(n) (id \(id)): the vector has a non-finite number")
            }
            vectors[id] = f
        }
        for i in items where vectors[i.id] == nil {
            throw CLIError(.error, code: "embedder", "the embedding command gave no vector for \(i.id)")
        }
        return vectors
    }
}

struct KOEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed knowledge objects with the store's embedding command (the semantic arm of `ko search`).",
        discussion: """
            The command reads JSON lines {"id","text"} and writes {"id","vector"} lines. Vectors are stored as \
            ko.embedded events, so searching needs no model or network. Only KOs whose text changed since their \
            last embedding (by the text's XXH3) are embedded again. --configure saves --command and --model in \
            .aibrain/embedder.json; --query TEXT prints that text's vector instead (what `ko search` does itself \
            when an embedder is configured).
            """)
    @Option(help: ArgumentHelp("The embedding command (default: .aibrain/embedder.json's).", valueName: "cmd"))
    var command: String?
    @Option(help: ArgumentHelp("The model name stored with the vectors.", valueName: "name")) var model: String?
    @Flag(help: "Save --command and --model as the store's embedder.") var configure = false
    @Option(help: ArgumentHelp("Embed this text and print its vector.", valueName: "text")) var query: String?
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            var e = try Embedder.configured(root)
            if let command { e = Embedder(command: command, model: model ?? e?.model ?? "default") }
            if let model, e != nil { e!.model = model }
            guard let e else {
                throw CLIError.usage(
                    "no embedding command", hint: "pass --command CMD, or save one with --configure --command CMD")
            }
            if configure {
                let text = JSONOut.object([("command", .string(e.command)), ("model", .string(e.model))]).text + "\n"
                try PosixFileSystem().attempt("writing the embedder", path: Embedder.configPath(root)) {
                    () throws(SystemError) in
                    try PosixFileSystem().writeFileAtomically(Embedder.configPath(root), Array(text.utf8))
                }
            }
            if let query {
                let v = try e.embed([("query", query)])["query"]!
                try Output.stdout.line(
                    JSONOut.object([
                        ("model", .string(e.model)), ("vector", .array(v.map { .double(Double($0)) })),
                    ]).text)
                return
            }
            let access = try ProjectionAccess(root: root)
            // Unchanged KOs are found by the projection's text hash; a body is read from the log (once) only
            // for a KO to embed, or when its hash is unknown.
            var todo: [(ko: KnowledgeObject, text: String, hash: UInt64)] = []
            for k in access.engine.knowledge.kos.values.sorted(by: { $0.id < $1.id })
            where (k.status == .approved || k.status == .proposed) && !k.title.isEmpty {
                let current = k.vectorModel == e.model && k.vectorDimensions > 0
                if current, k.textHash != 0, k.embeddedHash == k.textHash { continue }
                let text = KnowledgeObject.embeddingText(
                    title: k.title, tags: k.tags, body: try access.requireBody(of: k))
                let hash = XXH3.hash(text)
                if !current || k.embeddedHash != hash { todo.append((k, text, hash)) }
            }
            let a = CommandAppender(root: root, actor: who.actor, team: who.team)
            var drafts: [EventDraft] = []
            var at = 0
            while at < todo.count {
                let chunk = todo[at..<min(todo.count, at + 256)]
                let vectors = try e.embed(chunk.map { ($0.ko.id, $0.text) })
                for c in chunk {
                    drafts.append(
                        try a.draft(
                            .koEmbedded, task: nil,
                            [
                                ("ko_id", .string(c.ko.id)), ("model", .string(e.model)),
                                ("vector", .array(vectors[c.ko.id]!.map { .double(Double($0)) })),
                                ("text_hash", .string(hex64(c.hash))),
                            ]))
                }
                at += chunk.count
            }
            var appended = 0
            if !drafts.isEmpty {
                let (r, _) = try a.append(drafts)
                appended = r.events.filter { !$0.duplicate }.count
            }
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("model", .string(e.model)), ("embedded", .int(Int64(appended))),
                        ("unchanged", .int(Int64(access.engine.knowledge.kos.count - todo.count))),
                    ]).text)
            } else {
                try Output.stdout.line(
                    "embedded \(appended) knowledge object\(appended == 1 ? "" : "s") with \(e.model)")
            }
        }
    }
}
