import ArgumentParser
import EventLog
import Foundation

enum ReplayFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, jsonl, md
}

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "A task's whole history across every origin, in merged order (hlc, origin, lsn).",
        discussion: """
            Served from the seals' stream tables and CATALOG (no scan of the log). Formats: text (a \
            timeline), md (a report to paste into a ticket), jsonl (one event per line, the shape of \
            `export`), json (one document: {"task","stream","count","events":[…]}).

            --until takes a position ([ORIGIN:]LSN, a cursor) or a time (RFC 3339, a date, or 2h ago): \
            the history up to and including it.
            """)

    @Option(help: ArgumentHelp("The task id (its stream is task/<id>).", valueName: "id")) var task: String
    @Option(name: [.short, .customLong("output")], help: "Output format: text, json, jsonl or md.")
    var output: ReplayFormat = .text
    @Option(help: ArgumentHelp("Stop at this position or time.", valueName: "position|time")) var until: String?
    @Flag(help: "Newest first.") var reverse = false
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting(json: output == .json) {
            let reader = try StoreReader(root: try store.locate())
            var events = try reader.history(stream: "task/" + task)
            if let until { events = try Self.cut(events, until: until, reader: reader) }
            if reverse { events.reverse() }
            let renderer = EventRenderer(reader: reader)
            switch output {
            case .text: try Output.stdout.line(renderer.timeline(task: task, events: events))
            case .md: try Output.stdout.line(renderer.markdown(task: task, events: events))
            case .jsonl: for e in events { try Output.stdout.line(EventJSON.line(e)) }
            case .json:
                try Output.stdout.line(
                    JSONOut.object([
                        ("task", .string(task)), ("stream", .string("task/" + task)),
                        ("count", .int(Int64(events.count))),
                        ("events", .array(events.map { .raw(EventJSON.line($0)) })),
                    ]).bytes)
            }
        }
    }

    /// The events up to and including `until`: a position (in merged order) or a time (writer clock).
    static func cut(_ events: [Event], until: String, reader: StoreReader) throws -> [Event] {
        let t = until.trimmingCharacters(in: .whitespaces)
        let looksLikeTime = t == "now" || TimeArgument.relative(t) != nil || TimeArgument.rfc3339(t) != nil
        if !looksLikeTime {
            switch try Position.parse(until, reader: reader) {
            case .event(let origin, let lsn):
                guard let log = reader.log(origin), let mark = try log.event(lsn: lsn) else {
                    throw CLIError(
                        .error, code: "not-found", "--until \(until): origin \(origin.hex) has no LSN \(lsn)")
                }
                return events.filter { !StoreReader.mergedOrder(mark, $0) }
            case .cursor(let c):
                try c.check(against: reader)
                let last = Dictionary(uniqueKeysWithValues: c.marks.map { ($0.origin, $0.lsn) })
                return events.filter { e in last[e.origin].map { e.lsn <= $0 } ?? false }
            }
        }
        let ms = try TimeArgument.parse(until)
        return events.filter { $0.recordedAt <= ms }
    }
}
