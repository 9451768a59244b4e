import ArgumentParser
import EventLog
import Foundation

enum TailFormat: String, ExpressibleByArgument, CaseIterable {
    case short, verbose, json, jsonl
}

struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Show the newest events and, with -f, follow the log as it grows (like journalctl).",
        discussion: """
            Filters: the same option given twice matches either value (OR); different options must all \
            match (AND). --type takes shell globs (decision.*). Local events come in LSN order; events of \
            other origins in the order they are adopted.

            Cursors: --show-cursor prints the position after the last event shown ("-- cursor: c1-…" in \
            short/verbose output; on stderr in json/jsonl output). --after-cursor C starts after C. \
            --cursor-file F starts after the cursor saved in F (from the beginning if F does not exist) and \
            saves the position atomically after each flushed batch of output (at least once a second while \
            the log grows but the filters match nothing). After SIGTERM, SIGINT or a closed pipe the saved \
            cursor is exactly the last line written out: a restart continues with no gap and no duplicate. \
            After SIGKILL, lines since the last save may repeat (dedupe on event_id).

            Formats: short (one line per event), verbose (every field), json (each event's object, \
            pretty), jsonl (one object per line, the shape of `export`).
            """)

    @Option(
        name: [.customShort("n"), .customLong("lines")],
        help: ArgumentHelp(
            "Show the last N events (default 10). Not with --after-cursor or --since; with --cursor-file only while the file does not exist yet.",
            valueName: "n"))
    var lines: Int?
    @Flag(name: [.short, .customLong("follow")], help: "Keep printing new events as they are appended or adopted.")
    var follow = false
    @Option(
        name: .customLong("type"),
        help: ArgumentHelp("Only these event types (a glob, e.g. decision.*).", valueName: "glob"))
    var types: [String] = []
    @Option(name: .customLong("task"), help: ArgumentHelp("Only events of this task.", valueName: "id")) var tasks:
        [String] = []
    @Option(
        name: .customLong("origin"),
        help: ArgumentHelp("Only events of this origin (id, 4+ hex prefix, or local name).", valueName: "origin"))
    var origins: [String] = []
    @Option(name: .customLong("actor"), help: ArgumentHelp("Only events of this actor.", valueName: "name")) var actors:
        [String] = []
    @Option(name: .customLong("team"), help: ArgumentHelp("Only events of this team.", valueName: "team")) var teams:
        [String] = []
    @Option(
        help: ArgumentHelp(
            "Only events recorded at or after this time (RFC 3339, a date, or 2h / 2h ago).", valueName: "time"))
    var since: String?
    @Option(name: .customLong("after-cursor"), help: ArgumentHelp("Start after this cursor.", valueName: "cursor"))
    var afterCursor: String?
    @Option(
        name: .customLong("cursor-file"),
        help: ArgumentHelp("Start after the cursor in this file; keep it up to date.", valueName: "file"))
    var cursorFile: String?
    @Flag(name: .customLong("show-cursor"), help: "Print the cursor after the events.") var showCursor = false
    @Option(name: [.short, .customLong("output")], help: "Output format: short, verbose, json or jsonl.")
    var output: TailFormat = .short
    @OptionGroup var store: StoreOptions

    func validate() throws {
        if let lines, lines < 0 { throw ValidationError("-n must be 0 or more") }
        if lines != nil && (afterCursor != nil || since != nil) {
            throw ValidationError("-n picks the newest events; --after-cursor and --since pick a start: give one")
        }
    }

    func run() throws {
        try runReporting {
            let reader = try StoreReader(root: try store.locate())
            let filter = try TailFilter(
                types: types, tasks: tasks, origins: origins.map { try Position.resolveOrigin($0, reader: reader) },
                actors: actors, teams: teams, since: try since.map { try TimeArgument.parse($0) })
            var start: TailCursor?
            if let afterCursor {
                start = try TailCursor(token: afterCursor)
            } else if let cursorFile, let saved = try CursorFile.read(cursorFile) {
                start = saved
            }
            if let start { try start.check(against: reader) }
            let session = TailSession(
                reader: reader, filter: filter, format: output, renderer: EventRenderer(reader: reader),
                cursorFile: cursorFile, showCursor: showCursor)
            try session.run(
                start: start,
                lastN: start == nil && since == nil && (cursorFile == nil || lines != nil) ? (lines ?? 10) : nil,
                follow: follow)
        }
    }
}

/// journalctl's matching: the same field OR, different fields AND.
struct TailFilter {
    var types: [String]
    var tasks: Set<String>
    var origins: Set<OriginID>
    var actors: Set<String>
    var teams: Set<String>
    var since: Int64?

    init(types: [String], tasks: [String], origins: [OriginID], actors: [String], teams: [String], since: Int64?) {
        self.types = types
        self.tasks = Set(tasks.map { "task/" + $0 })
        self.origins = Set(origins)
        self.actors = Set(actors)
        self.teams = Set(teams)
        self.since = since
    }

    var isEmpty: Bool {
        types.isEmpty && tasks.isEmpty && origins.isEmpty && actors.isEmpty && teams.isEmpty && since == nil
    }

    func matches(_ e: Event) -> Bool {
        if !origins.isEmpty && !origins.contains(e.origin) { return false }
        if let since, e.recordedAt < since { return false }
        if !tasks.isEmpty && !tasks.contains(e.stream) && !e.draft.keys.contains(where: tasks.contains) { return false }
        if !actors.isEmpty && !actors.contains(e.draft.actor) { return false }
        if !teams.isEmpty && !teams.contains(e.draft.team) { return false }
        if !types.isEmpty && !types.contains(where: { fnmatch($0, e.type, 0) == 0 }) { return false }
        return true
    }
}

/// The cursor file: one token and a newline, replaced atomically (tmp → fsync → rename → fsync dir).
public enum CursorFile {
    public static func read(_ path: String, fs: any FileSystem = PosixFileSystem()) throws -> TailCursor? {
        let bytes: [UInt8]
        do throws(SystemError) {
            bytes = try fs.readFile(path)
        } catch  where error.errno == ENOENT {
            return nil
        } catch {
            throw CLIError(.error, code: "io", "cannot read cursor file \(path): \(error)")
        }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        do throws(CLIError) {
            return try TailCursor(token: text)
        } catch {
            throw CLIError(
                .error, code: error.code, "cursor file \(path): \(error.message)",
                hint: "delete it to start from the beginning")
        }
    }

    public static func write(_ path: String, _ cursor: TailCursor, fs: any FileSystem = PosixFileSystem()) throws {
        do throws(SystemError) {
            try fs.writeFileAtomically(path, Array((cursor.token + "\n").utf8))
        } catch {
            throw CLIError(.error, code: "io", "cannot save cursor file \(path): \(error)")
        }
    }
}
