import BrainEvents
import EventLog

/// The handoff file a fresh agent context reads first: `.aibrain/session-{task}-{checkpoint}.md`.
///
/// It is a projection, not a note: JSON front matter pins the log position and the state hash it was
/// rendered from, and rendering it again from the same log gives the same bytes (no clock, no paths).
/// The body is budgeted like Claude Code's always-loaded memory (200 lines, 25 KB) and filled most
/// important first; lists keep their newest entries and drop the oldest (never cut from the newest end).
public struct Handoff {
    public static let maxLines = 200
    public static let maxBytes = 25_000
    public static let generatorPrefix = "aibrain/"

    public var fileName: String
    public var text: String
    public var checkpoint: Checkpoint

    /// The front matter's fields, parsed back (what a fresh agent reads).
    public struct FrontMatter: Sendable, Equatable {
        public var generator: String
        public var task: String
        public var checkpoint: String
        public var iteration: Int
        public var verdict: String
        public var stateHash: String
        public var logPosition: String
        /// XXH3-64 of the body as generated: a file whose body no longer matches was edited by someone.
        public var bodyHash: String
    }

    /// Renders the handoff of `task`, or nil when the task has no checkpoint.
    public static func render(task: String, engine: ReplayEngine, reader: StoreReader, version: String) throws
        -> Handoff?
    {
        guard let t = engine.sessions.task(task), let c = t.latest else { return nil }
        guard let origin = engine.origins.origin(c.ref.origin), let log = reader.log(origin),
            let event = try log.event(lsn: c.ref.lsn)
        else { return nil }
        let f = PayloadFields()
        var summary = ""
        var nextSteps: [String] = []
        var files: [String] = []
        var state = ""
        event.payload.withUnsafeBytes { p in
            guard f.scan(p) else { return }
            summary = f.string(.summary) ?? ""
            nextSteps = f.strings(.nextSteps) ?? []
            files = f.strings(.filesTouched) ?? []
            state = f.raw(.state).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        var front = JSONLine()
        front.add("generator", generatorPrefix + version)
        front.add("task_id", task)
        front.add("checkpoint", c.id)
        front.addRaw("iteration", String(c.iteration))
        front.add("verdict", c.verdict)
        front.add("branch", c.branch)
        front.add("parent_checkpoint", c.parent)
        front.add("session_id", c.session)
        front.add("log_position", "\(origin.hex):\(c.ref.lsn)")
        front.add("state_hash", c.stateHash == 0 ? "" : "xxh3:" + hex64(c.stateHash))
        front.addRaw("checkpoints", String(t.checkpoints.count))

        var b = Budget()
        b.line("# Resume \(task) at checkpoint \(c.id)")
        b.line("")
        b.line(
            "Iteration \(c.iteration), verdict \(c.verdict.isEmpty ? "none" : c.verdict), branch \(c.branch)"
                + (c.session.isEmpty ? "" : ", session \(c.session)") + ". Continue with iteration \(c.iteration + 1)"
                + " and parent checkpoint \(c.id).")
        b.line("")
        b.section("Summary", summary.isEmpty ? ["(no summary recorded)"] : [summary])
        b.section("Next steps", nextSteps.map { "- " + $0 })
        if !state.isEmpty {
            if state.utf8.count <= 8_000 {
                b.section(
                    "State",
                    [
                        "The checkpoint's `state`, verbatim (its XXH3-64 is the front matter's state_hash):",
                        "```json", state, "```",
                    ], atomic: true)
            } else {
                b.section("State", ["(\(state.utf8.count) bytes: read it with `aibrain session show \(task) -o json`)"])
            }
        }
        let open = engine.decisions.select(task: task, kind: nil).filter { $0.supersededBy.isEmpty }
        b.section(
            "Open decisions",
            open.reversed().map { d in
                var s = "- \(d.kind): \(d.value)"
                var extra: [String] = []
                if !d.severity.isEmpty { extra.append("severity \(d.severity)") }
                if !d.approver.isEmpty { extra.append("approver \(d.approver)") }
                if !d.confidence.isEmpty { extra.append("confidence \(d.confidence)") }
                if !extra.isEmpty { s += " (" + extra.joined(separator: ", ") + ")" }
                return s
            }, more: "aibrain decisions --task \(task)")
        let items = engine.queue.allItems.filter { $0.task == task && !$0.errors.isEmpty }
            .sorted { $0.updatedHLC > $1.updatedHLC }
        b.section(
            "Last errors", items.flatMap { i in i.errors.reversed().map { "- \(i.id) (\(i.status.name)): \($0)" } },
            more: "aibrain queue ls --task \(task)")
        let consulted = Set(engine.knowledge.pending(task: task))
        let kos = engine.knowledge.ranked(all: false).filter { consulted.contains($0.id) }
        b.section(
            "Relevant knowledge",
            kos.map { k in
                "- \(k.id)" + (k.title.isEmpty ? "" : " \(k.title)")
                    + " (effectiveness \(fixed2(k.effectiveness)), consulted \(k.consultations))"
            }, more: "aibrain ko rank")
        b.section("Files touched", files.map { "- " + $0 })
        b.section(
            "Checkpoint history",
            t.checkpoints.reversed().map { x in
                "- \(x.id): iteration \(x.iteration), \(x.verdict)" + (x.branch == "main" ? "" : ", branch \(x.branch)")
            }, more: "aibrain session history \(task)")
        if !t.forks.isEmpty {
            b.section("Forks", t.forks.reversed().map { "- \($0.branch) from \($0.from): \($0.reason)" })
        }
        front.add("body_xxh3", hex64(XXH3.hash(Array(b.text.utf8))))
        let text = "---\n" + front.text + "\n---\n" + b.text
        return Handoff(fileName: "session-\(task)-\(c.id).md", text: text, checkpoint: c)
    }

    /// Parses a handoff file's front matter; nil if the file is not one aibrain generated.
    public static func frontMatter(_ text: String) -> FrontMatter? {
        let lines = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false)
        guard lines.count >= 3, lines[0] == "---", lines[2] == "---" else { return nil }
        let json = Array(lines[1].utf8)
        guard let members = try? JSONScanner.members(of: json) else { return nil }
        func s(_ k: String) -> String {
            members.first { $0.key == k }.flatMap { JSONScanner.unescape($0.value) } ?? ""
        }
        let generator = s("generator")
        guard generator.hasPrefix(generatorPrefix) else { return nil }
        let iteration = members.first { $0.key == "iteration" }.flatMap {
            Int(String(decoding: $0.value, as: UTF8.self))
        }
        return FrontMatter(
            generator: generator, task: s("task_id"), checkpoint: s("checkpoint"), iteration: iteration ?? 0,
            verdict: s("verdict"), stateHash: s("state_hash"), logPosition: s("log_position"),
            bodyHash: s("body_xxh3"))
    }

    /// Whether `text` is a handoff file aibrain wrote and nobody edited since (so regenerating may replace it).
    public static func isUntouched(_ text: String) -> Bool {
        guard let f = frontMatter(text), !f.bodyHash.isEmpty else { return false }
        let parts = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return hex64(XXH3.hash(Array(parts[3].utf8))) == f.bodyHash
    }

    /// ARCHITECTURE.md: every id used in a file name matches `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`.
    public static func isFileNameID(_ id: String) -> Bool {
        let u = Array(id.utf8)
        guard (1...128).contains(u.count) else { return false }
        func alnum(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
        }
        return alnum(u[0])
            && u.allSatisfy {
                alnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
    }
}

/// Fills the body within the line and byte budget, a section at a time.
struct Budget {
    var text = ""
    var lines = 0
    var full = false

    func fits(_ s: String) -> Bool {
        lines + 1 <= Handoff.maxLines - 1 && text.utf8.count + s.utf8.count + 1 <= Handoff.maxBytes - 120
    }

    mutating func line(_ s: String) {
        text += s + "\n"
        lines += s.split(separator: "\n", omittingEmptySubsequences: false).count
    }

    /// A section; entries are newest/most important first, and the oldest are dropped to fit. `atomic`
    /// sections go in whole or not at all.
    mutating func section(_ title: String, _ entries: [String], atomic: Bool = false, more: String? = nil) {
        guard !entries.isEmpty, !full else { return }
        guard fits("## " + title) else {
            full = true
            return
        }
        let startText = text
        let startLines = lines
        line("## " + title)
        var used = 0
        for e in entries {
            let n = e.split(separator: "\n", omittingEmptySubsequences: false).count
            if lines + n + 2 <= Handoff.maxLines - 1, text.utf8.count + e.utf8.count + 200 <= Handoff.maxBytes {
                line(e)
                used += 1
                continue
            }
            // The first entry of a section always gets in, cut to what is left (a huge summary must not
            // push every later section out); later ones wait for the "not shown" line.
            if used == 0 && !atomic, let cut = Self.cut(e, bytes: Handoff.maxBytes - text.utf8.count - 400),
                lines + 3 <= Handoff.maxLines - 1
            {
                line(cut)
                used += 1
            }
            break
        }
        if atomic && used < entries.count || used == 0 {
            text = startText
            lines = startLines
            if atomic && fits("## " + title) {
                line("## " + title)
                line("(left out: larger than the room left in this file)")
                line("")
            }
            return
        }
        if used < entries.count {
            line(
                "- … \(entries.count - used) older entr\(entries.count - used == 1 ? "y" : "ies") not shown"
                    + (more.map { ": `\($0)`" } ?? ""))
        }
        line("")
    }
}

extension Budget {
    /// The first line of `s`, cut to at most `bytes` UTF-8 bytes on a character boundary, marked as cut.
    static func cut(_ s: String, bytes: Int) -> String? {
        guard bytes > 40 else { return nil }
        var out = ""
        var size = 0
        for ch in s.prefix(while: { $0 != "\n" }) {
            let n = String(ch).utf8.count
            if size + n > bytes - 20 { break }
            out.append(ch)
            size += n
        }
        return out + " … (cut to fit)"
    }
}

/// One line of JSON with members in the order added.
struct JSONLine {
    var parts: [String] = []
    mutating func add(_ key: String, _ value: String) {
        var out: [UInt8] = []
        JSONScanner.quote(key, into: &out)
        out.append(UInt8(ascii: ":"))
        JSONScanner.quote(value, into: &out)
        parts.append(String(decoding: out, as: UTF8.self))
    }
    mutating func addRaw(_ key: String, _ raw: String) {
        var out: [UInt8] = []
        JSONScanner.quote(key, into: &out)
        parts.append(String(decoding: out, as: UTF8.self) + ":" + raw)
    }
    var text: String { "{" + parts.joined(separator: ",") + "}" }
}

/// Two decimals, rounded half up, without Foundation's locale-dependent formatting.
func fixed2(_ x: Double) -> String {
    let n = Int((x * 100).rounded())
    let frac = n % 100
    return "\(n / 100)." + (frac < 10 ? "0" : "") + String(frac)
}
