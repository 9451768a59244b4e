import ArgumentParser
import BrainEvents
import EventLog
import Foundation
import Projections

struct Session: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "A task's sessions: the resume point, the checkpoint tree, handoff files, forks.",
        subcommands: [SessionShow.self, SessionHistory.self, SessionHandoff.self, SessionFork.self])
}

extension Checkpoint {
    func json(_ access: ProjectionAccess) -> JSONOut {
        .object([
            ("checkpoint_id", .string(id)), ("iteration", .int(Int64(iteration))), ("verdict", .string(verdict)),
            ("parent_checkpoint", parent.isEmpty ? .null : .string(parent)), ("branch", .string(branch)),
            ("session_id", session.isEmpty ? .null : .string(session)), ("position", .string(access.position(ref))),
            ("timestamp", .string(rfc3339(HLC.milliseconds(hlc)))),
            ("state_hash", stateHash == 0 ? .null : .string("xxh3:" + hex64(stateHash))),
            ("files_touched", .int(Int64(filesTouched))),
        ])
    }
}

func sessions(_ task: String, _ access: ProjectionAccess) throws -> TaskSessions {
    guard let t = access.engine.sessions.task(task) else {
        throw CLIError(
            .error, code: "not-found", "task \(task) has no session events",
            hint:
                "record one with `aibrain emit session.checkpointed --task \(task) --data '{\"iteration\":1,\"verdict\":\"PARTIAL\"}'`"
        )
    }
    return t
}

struct SessionShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Where a task resumes: the active branch's latest checkpoint and its state.")
    @Argument(help: ArgumentHelp("The task id.", valueName: "task")) var task: String
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let access = try ProjectionAccess(root: try store.locate())
            let t = try sessions(task, access)
            let latest = t.latest
            var summary = ""
            var state: [UInt8]?
            var next: [String] = []
            if let c = latest, let e = try access.event(c.ref) {
                let f = PayloadFields()
                e.payload.withUnsafeBytes { p in
                    guard f.scan(p) else { return }
                    summary = f.string(.summary) ?? ""
                    state = f.raw(.state).map { Array($0) }
                    next = f.strings(.nextSteps) ?? []
                }
            }
            let verdicts = t.checkpoints.map(\.verdict)
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("task_id", .string(task)), ("active_branch", .string(t.activeBranch)),
                        ("iteration_count", .int(Int64(latest?.iteration ?? 0))),
                        ("latest", latest.map { $0.json(access) } ?? .null), ("summary", .string(summary)),
                        ("next_steps", .array(next.map { .string($0) })), ("state", state.map { .raw($0) } ?? .null),
                        ("verdicts", .array(verdicts.map { .string($0) })),
                        ("checkpoints", .int(Int64(t.checkpoints.count))),
                        ("branches", .array(t.branches.map(\.name).sorted().map { .string($0) })),
                        ("sessions", .array(t.sessions.map { .string($0) })),
                        ("conflicts", .array(t.conflicts.map { .string($0) })),
                    ]).text)
                return
            }
            guard let c = latest else {
                try Output.stdout.line("task \(task): no checkpoint yet (\(t.sessions.count) session(s) started)")
                return
            }
            var lines = [
                "task \(task): resume at \(c.id) (iteration \(c.iteration), \(c.verdict)) on branch \(t.activeBranch)",
                "  position \(access.position(c.ref)), \(rfc3339(HLC.milliseconds(c.hlc)))"
                    + (c.stateHash == 0 ? "" : ", state xxh3:\(hex64(c.stateHash))"),
                "  \(t.checkpoints.count) checkpoint(s), \(t.branches.count) branch(es), \(t.sessions.count) session(s)",
                "  verdicts: " + verdicts.suffix(12).joined(separator: " "),
            ]
            if !summary.isEmpty { lines.append("  summary: \(summary)") }
            for n in next { lines.append("  next: \(n)") }
            try Output.stdout.line(lines.joined(separator: "\n"))
        }
    }
}

struct SessionHistory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Every checkpoint of a task as a tree (forks indented), with verdicts.")
    @Argument(help: ArgumentHelp("The task id.", valueName: "task")) var task: String
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let access = try ProjectionAccess(root: try store.locate())
            let t = try sessions(task, access)
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("task_id", .string(task)), ("active_branch", .string(t.activeBranch)),
                        ("checkpoints", .array(t.checkpoints.map { $0.json(access) })),
                        (
                            "forks",
                            .array(
                                t.forks.map { f in
                                    .object([
                                        ("from_checkpoint", .string(f.from)), ("branch", .string(f.branch)),
                                        ("reason", .string(f.reason)), ("position", .string(access.position(f.ref))),
                                    ])
                                })
                        ),
                        ("conflicts", .array(t.conflicts.map { .string($0) })),
                    ]).text)
                return
            }
            var children: [String: [Checkpoint]] = [:]
            for c in t.checkpoints { children[c.parent, default: []].append(c) }
            var lines = ["task \(task): \(t.checkpoints.count) checkpoint(s); active branch \(t.activeBranch)"]
            let active = Set(activePath(t))
            func walk(_ parent: String, depth: Int) {
                for c in children[parent] ?? [] {
                    let mark = t.latest?.id == c.id ? "  ← resume here" : ""
                    lines.append(
                        String(repeating: "  ", count: depth + 1) + (active.contains(c.id) ? "* " : "- ")
                            + "\(c.id)  iteration \(c.iteration)  \(c.verdict)  [\(c.branch)]\(mark)")
                    let kids = children[c.id] ?? []
                    walk(c.id, depth: kids.count > 1 || kids.contains { $0.branch != c.branch } ? depth + 1 : depth)
                }
            }
            walk("", depth: 0)
            for f in t.forks { lines.append("  fork \(f.branch) from \(f.from): \(f.reason)") }
            for c in t.conflicts { lines.append("  conflict: \(c)") }
            try Output.stdout.line(lines.joined(separator: "\n"))
        }
    }

    func activePath(_ t: TaskSessions) -> [String] {
        var out: [String] = []
        var at = t.latest
        while let c = at {
            out.append(c.id)
            at = t.position(of: c.parent).map { t.checkpoints[$0] }
        }
        return out
    }
}

struct SessionHandoff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handoff",
        abstract: "Write .aibrain/session-{task}-{checkpoint}.md: what a fresh agent context reads first.",
        discussion: """
            JSON front matter (task, checkpoint, iteration, verdict, log position, state hash, generator) and \
            a markdown body of at most 200 lines / 25 KB, most important first: summary, next steps, state, \
            open decisions, last errors, relevant knowledge, files, history. Regenerating it gives the same \
            bytes. A file of that name that aibrain did not generate is never overwritten without --force.
            """)
    @Argument(help: ArgumentHelp("The task id.", valueName: "task")) var task: String
    @Flag(help: "Overwrite a file of that name that aibrain did not generate.") var force = false
    @Flag(name: .customLong("stdout"), help: "Print the handoff instead of writing the file.") var toStdout = false
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: report.json) {
            let access = try ProjectionAccess(root: try store.locate())
            _ = try sessions(task, access)
            guard
                let h = try Handoff.render(
                    task: task, engine: access.engine, reader: access.reader, version: AIBrain.version)
            else {
                throw CLIError(.error, code: "not-found", "task \(task) has no checkpoint to hand off")
            }
            if toStdout {
                try Output.stdout.write(Array(h.text.utf8))
                return
            }
            for (what, id) in [("task id", task), ("checkpoint id", h.checkpoint.id)] where !Handoff.isFileNameID(id) {
                throw CLIError(
                    .error, code: "invalid-input",
                    "the \(what) \(id) cannot name a handoff file (session-{task}-{checkpoint}.md needs [A-Za-z0-9][A-Za-z0-9._-]*, at most 128)",
                    hint: "print it instead with --stdout")
            }
            let (path, unchanged) = try HandoffFile.write(
                h, root: access.reader.paths.root, fs: access.reader.fs, force: force)
            let bytes = Array(h.text.utf8)
            if report.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("path", .string(path)), ("task_id", .string(task)), ("checkpoint", .string(h.checkpoint.id)),
                        ("iteration", .int(Int64(h.checkpoint.iteration))), ("bytes", .int(Int64(bytes.count))),
                        (
                            "lines",
                            .int(Int64(h.text.split(separator: "\n", omittingEmptySubsequences: false).count - 1))
                        ),
                        ("unchanged", .bool(unchanged)),
                    ]).text)
            } else {
                try Output.stdout.line((unchanged ? "unchanged: " : "wrote ") + path)
            }
        }
    }
}

/// Writes a handoff file next to the log: atomically (tmp, fsync, rename, fsync of the directory), never
/// over a file of that name that aibrain did not generate or that was edited since, unless `force`.
public enum HandoffFile {
    public static func write(_ h: Handoff, root: String, fs: any FileSystem, force: Bool) throws -> (
        path: String, unchanged: Bool
    ) {
        let path = root + "/" + h.fileName
        let bytes = Array(h.text.utf8)
        var unchanged = false
        if let old = try? fs.readFile(path) {
            unchanged = old == bytes
            if !unchanged && !Handoff.isUntouched(String(decoding: old, as: UTF8.self)) && !force {
                throw CLIError(
                    .error, code: "not-generated",
                    "\(path) exists and was not generated by aibrain, or was edited since; left as it is",
                    hint: "move it away, or pass --force to overwrite it")
            }
        }
        if !unchanged {
            try fs.attempt("writing the handoff file", path: path) { () throws(SystemError) in
                try fs.writeFileAtomically(path, bytes, tmpSuffix: ProjectionStore.uniqueTmpSuffix)
            }
        }
        return (path, unchanged)
    }
}

struct SessionFork: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fork", abstract: "Start a new branch of a task from an earlier checkpoint (history is kept).")
    @Argument(help: ArgumentHelp("The task id.", valueName: "task")) var task: String
    @Option(help: ArgumentHelp("The checkpoint to branch from.", valueName: "checkpoint")) var from: String
    @Option(help: ArgumentHelp("Why (required: it is the audit trail).", valueName: "text")) var reason: String
    @Option(help: ArgumentHelp("The new branch's name (default: fork-N).", valueName: "name")) var branch: String?
    @OptionGroup var who: WhoOptions
    @OptionGroup var report: ReportOutput
    @OptionGroup var store: StoreOptions

    func validate() throws {
        if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason must not be empty") }
    }

    func run() throws {
        try runReporting(json: report.json) {
            let root = try store.locate()
            let access = try ProjectionAccess(root: root)
            let t = try sessions(task, access)
            guard t.position(of: from) != nil else {
                throw CLIError(
                    .conflict, code: "not-found", "task \(task) has no checkpoint \(from)",
                    hint: "see `aibrain session history \(task)`")
            }
            let a = CommandAppender(root: root, actor: who.actor, team: who.team)
            let d = try a.draft(
                .sessionForked, task: task,
                [
                    ("from_checkpoint", .string(from)), ("reason", .string(reason)),
                    ("branch", branch.map { .string($0) } ?? .null),
                ])
            let (r, _) = try a.append([d])
            try reportAppended(
                r, [d], json: report.json, extra: [("task_id", .string(task)), ("from_checkpoint", .string(from))])
        }
    }
}
