import ArgumentParser
import EventLog
import Foundation

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Load events from files.", subcommands: [ImportJSONL.self, ImportLegacy.self])
}

struct ImportJSONL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jsonl",
        abstract: "Bulk-load a JSON-lines file (the input forms, or the output of `export` / `tail -o jsonl`).",
        discussion: """
            Every line is parsed, checked and passed through the PII gate before the first event is \
            written; a bad line names its number and field, and nothing is appended. Events then go in \
            transactions of up to 50,000 events. Event ids are kept, so importing the same file again \
            appends nothing; a line without an event_id gets one derived from its content (and its \
            occurrence in the file), so that holds for those lines too. Each event records where it came \
            from in `provenance`: the source origin/epoch/lsn of an exported line, else FILE:LINE (an \
            existing provenance is kept).
            """)

    @Argument(help: ArgumentHelp("The file, or - for stdin.", valueName: "file")) var file: String
    @OptionGroup var pii: PIIOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    static let maxTransactionEvents = 50_000
    static let maxTransactionBytes = 48 << 20

    func run() throws {
        try runReporting(json: format.json) {
            let started = OpenOptions.monotonicNanoseconds()
            let bytes: [UInt8]
            if file == "-" {
                bytes = try readStandardInput()
            } else {
                do throws(SystemError) {
                    bytes = try PosixFileSystem().readFile(file)
                } catch {
                    throw CLIError(
                        .error, code: "io", "cannot read \(file): \(error)", hint: "check the path and permissions")
                }
            }
            let source = file == "-" ? "stdin" : file
            var input = pii.input()
            var progress = Progress("checking \(source)", total: bytes.count)
            // Provenance is set before each line's checks (envelope limits, PII gate), so a line it would make
            // invalid fails here, before the first append. Derived ids come after, in file order (they count
            // identical lines before them; a 32-hex id is always valid and never looks like PII).
            var lines = try input.parseAllOnTwoCores(bytes, source: source, progress: &progress) { line in
                if line.draft.provenance.isEmpty { line.draft.provenance = Self.provenance(line, source: source) }
            }
            var seen: [ID128: Int] = [:]
            for i in lines.indices where !lines[i].writer.eventIDGiven {
                lines[i].draft.eventID = Self.derivedID(lines[i], seen: &seen)
            }
            PIIOptions.printWarnings(input)
            let log = try LogAccess.open(try store.locate())
            var appended = 0
            var duplicates = 0
            var firstLSN: UInt64?
            var lastLSN: UInt64?
            var at = 0
            var write = Progress("importing", total: lines.count)
            while at < lines.count {
                var end = at
                var size = 0
                while end < lines.count && end - at < Self.maxTransactionEvents && size < Self.maxTransactionBytes {
                    size += EnvelopeCodec.encodedSize(lines[end].draft) + lines[end].draft.payload.count
                    end += 1
                }
                let r = try log.append(lines[at..<end].map(\.draft))
                for a in r.events {
                    if a.duplicate {
                        duplicates += 1
                    } else {
                        appended += 1
                        firstLSN = firstLSN ?? a.lsn
                        lastLSN = a.lsn
                    }
                }
                at = end
                write.update(at)
            }
            write.finish()
            let seconds = Double(OpenOptions.monotonicNanoseconds() - started) / 1e9
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("file", .string(source)), ("events", .int(Int64(lines.count))),
                        ("appended", .int(Int64(appended))),
                        ("duplicates", .int(Int64(duplicates))), ("first_lsn", .optional(firstLSN)),
                        ("last_lsn", .optional(lastLSN)), ("seconds", .double((seconds * 1000).rounded() / 1000)),
                    ]).text)
            } else {
                let range = firstLSN.map { "LSN \($0)…\(lastLSN!)" } ?? "nothing new"
                try Output.stdout.line(
                    "imported \(source): \(lines.count) events, \(appended) appended (\(range)), \(duplicates) already present, \(String(format: "%.2f", seconds)) s"
                )
            }
        }
    }

    /// Where an imported event came from: the source origin/epoch/lsn of an exported line (only when those
    /// members have the writer's shapes: 32 hex digits and integers), else FILE:LINE.
    static func provenance(_ line: EventInput.Line, source: String) -> String {
        let w = line.writer
        if let o = w.origin, OriginID(hex: o) != nil, let l = w.lsn, UInt64(l) != nil, UInt32(w.epoch ?? "1") != nil {
            return "\(o)/\(w.epoch ?? "1")/\(l)"
        }
        return "\(source):\(line.number)"
    }

    /// An id for a line without one: 32 hex digits of XXH3-128 over the event's content (its envelope and payload,
    /// not the file's path) and the number of identical events before it, so re-importing the file (from any path, into any store) adds nothing.
    static func derivedID(_ line: EventInput.Line, seen: inout [ID128: Int]) -> String {
        var material = Array(
            EventJSON.line(
                Event(
                    origin: OriginID(bytes: [UInt8](repeating: 0, count: 16)), epoch: 0, lsn: 0, hlc: 0, recordedAt: 0,
                    draft: line.draft.withoutID)))
        let key = material.withUnsafeBytes { ID128($0) }
        let n = seen[key, default: 0]
        seen[key] = n + 1
        withUnsafeBytes(of: UInt64(n).littleEndian) { material += $0 }
        return material.withUnsafeBytes { ID128($0) }.hex
    }
}

extension ID128 {
    /// 32 lowercase hex digits, high half first: how derived event ids are written.
    var hex: String {
        var out: [UInt8] = []
        withUnsafeBytes(of: high.bigEndian) { out += $0 }
        withUnsafeBytes(of: low.bigEndian) { out += $0 }
        return hexString(out)
    }
}

extension EventDraft {
    /// The draft with its id and provenance blanked (the content a derived id is computed from).
    var withoutID: EventDraft {
        var d = self
        d.eventID = ""
        d.provenance = ""
        return d
    }
}
