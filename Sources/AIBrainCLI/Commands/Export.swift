import ArgumentParser
import EventLog

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write events as JSON lines (the machine shape), for backups, other tools and `import jsonl`.",
        subcommands: [ExportJSONL.self, ExportSQLite.self, ExportLegacy.self], defaultSubcommand: ExportJSONL.self)
}

struct ExportJSONL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jsonl",
        abstract: "Every event (or one task's) in merged order, one JSON object per line, on stdout.",
        discussion: """
            Each line is the envelope (event_id, type, type_version, stream, keys, actor, team, \
            correlation_id, causation_id, occurred_at, provenance, flags) plus the writer's origin, epoch, \
            lsn, hlc, recorded_at, and data. `aibrain import jsonl` reads it back: importing an export into \
            another store keeps every id, type, stream, key, actor, team, time claim and payload.
            """)
    @Option(help: ArgumentHelp("Only this task's events (from the stream tables, no scan).", valueName: "id"))
    var task: String?
    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting {
            let reader = try StoreReader(root: try store.locate())
            if let task {
                for e in try reader.history(stream: "task/" + task) { try Output.stdout.line(EventJSON.line(e)) }
                return
            }
            var total = 0
            for log in reader.logs { total += Int(log.headLSN) }
            var progress = Progress("exporting", total: total)
            var n = 0
            try reader.forEachMerged { e in
                try Output.stdout.line(EventJSON.line(e))
                n += 1
                if n % 4096 == 0 { progress.update(n) }
                return true
            }
            progress.finish()
        }
    }
}
