import ArgumentParser
import EventLog
import Foundation

/// `aibrain-storage`: the storage engine's own tool (init, ingest, seal, verify, dump, stats, history).
/// The user-facing `aibrain` CLI (issue 3) is built over the same library calls.
@main
struct StorageTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aibrain-storage",
        abstract: "Low-level tool for aibrain's event log: create, load, seal, verify and inspect segments.",
        subcommands: [
            InitStore.self, Ingest.self, Seal.self, Verify.self, Dump.self, Stats.self, History.self, Recover.self,
            AppendLoop.self,
        ])
}

struct StoreOption: ParsableArguments {
    @Option(name: .long, help: "The store directory (.aibrain).")
    var store: String = ".aibrain"
}

func printLine(_ s: String) {
    print(s)
    fflush(nil)
}

/// Errors become `Error: …` on stderr with the exit code of the architecture's table.
func exitCode(for e: EventLogError) -> ExitCode {
    switch e.code {
    case .corruption: return ExitCode(5)
    case .preconditionFailed: return ExitCode(3)
    default: return ExitCode(1)
    }
}

func run<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as EventLogError {
        FileHandle.standardError.write(Data("Error: \(e)\n".utf8))
        throw exitCode(for: e)
    }
}

struct InitStore: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a new store.")
    @OptionGroup var options: StoreOption
    @Option(help: "Display name of this origin.") var name: String = "local"
    func run() throws {
        let c = try aibrain_storage.run { try EventLog.create(at: options.store, name: name) }
        printLine("created store \(options.store): origin \(c.originID) (\(c.name)), epoch \(c.epoch)")
    }
}

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append the events of a JSON-lines file (nested `data` or flat form), in atomic batches.")
    @OptionGroup var options: StoreOption
    @Argument(help: "The JSON-lines file.") var file: String
    @Option(help: "Events per atomic batch.") var batch: Int = 1000
    func run() throws {
        try aibrain_storage.run {
            let bytes = try PosixFileSystem().readFile(file)
            // Every line is parsed and validated before the first byte is written: a bad line (named by
            // number and field) appends nothing.
            var all: [EventDraft] = []
            var lineNumber = 0
            for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
                lineNumber += 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
                let d = try EventJSON.draft(fromLine: Array(line), lineNumber: lineNumber)
                do throws(EventLogError) {
                    try EnvelopeValidation.validate(d, index: all.count)
                } catch {
                    throw EventLogError(.invalidInput, "\(file): line \(lineNumber): \(error.message)")
                }
                all.append(d)
            }
            let log = try EventLog(root: options.store)
            var appended = 0
            var duplicates = 0
            let start = Date()
            var at = 0
            while at < all.count {
                let r = try log.append(Array(all[at..<min(all.count, at + max(1, batch))]))
                appended += r.events.filter { !$0.duplicate }.count
                duplicates += r.events.filter(\.duplicate).count
                at += max(1, batch)
            }
            let secs = Date().timeIntervalSince(start)
            printLine(
                "appended \(appended) events (\(duplicates) duplicates) from \(file) in \(String(format: "%.2f", secs)) s; head LSN \(log.headLSN)"
            )
        }
    }
}

struct Seal: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Seal the open segment now.")
    @OptionGroup var options: StoreOption
    func run() throws {
        try aibrain_storage.run {
            let log = try EventLog(root: options.store)
            try log.seal()
            let s = try StoreStats.collect(log).origins[0]
            printLine("sealed: \(s.sealedSegments) sealed segments, \(s.events) events, \(s.sealedBytes) bytes on disk")
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check headers, checksums, seals, the seal chain and LSN continuity. Exit 5 on corruption.")
    @OptionGroup var options: StoreOption
    @Flag(help: "JSON output.") var json = false
    func run() throws {
        let report = try aibrain_storage.run { try StoreVerifier.verify(root: options.store) }
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            printLine(String(decoding: try e.encode(report), as: UTF8.self))
        } else {
            for o in report.origins {
                printLine(
                    "origin \(o.origin): \(o.sealedSegments) sealed + \(o.openSegments) open segments, \(o.events) events, LSN \(o.firstLSN.map(String.init) ?? "-")…\(o.lastLSN.map(String.init) ?? "-"), head seal \(o.headSealHash?.prefix(16) ?? "-")"
                )
            }
            for p in report.problems {
                printLine(
                    "\(p.kind.rawValue): \(p.file)\(p.offset.map { " at offset \($0)" } ?? "")\(p.lsn.map { " (LSN \($0))" } ?? ""): \(p.message)"
                )
            }
            printLine(report.ok ? "verify: OK" : "verify: CORRUPTION FOUND")
        }
        if !report.ok { throw ExitCode(5) }
    }
}

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the structure and records of a segment file.")
    @Argument(help: "A .seg or .open file.") var segment: String
    @Flag(help: "Structure only, no records.") var noRecords = false
    @Flag(help: "JSON output.") var json = false
    func run() throws {
        let d = try aibrain_storage.run { try SegmentDump.dump(path: segment, records: !noRecords) }
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            printLine(String(decoding: try e.encode(d), as: UTF8.self))
        } else {
            print(d.text(), terminator: "")
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Segments, events, bytes and ranges.")
    @OptionGroup var options: StoreOption
    func run() throws {
        try aibrain_storage.run {
            let log = try EventLog(root: options.store, options: OpenOptions(readOnly: true))
            for o in try StoreStats.collect(log).origins {
                printLine(
                    "origin \(o.origin)\(o.local ? " (local)" : ""): \(o.events) events, LSN \(o.firstLSN.map(String.init) ?? "-")…\(o.lastLSN.map(String.init) ?? "-"), \(o.sealedSegments) sealed segments (\(o.sealedBytes) B, \(o.sealedRecordBytes) B of records, ratio \(o.compressionRatio.map { String(format: "%.2f", $0) } ?? "-")), \(o.openSegments) open (\(o.openBytes) B), \(o.streams) streams/keys"
                )
            }
        }
    }
}

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print every event of a stream or key as JSON lines.")
    @OptionGroup var options: StoreOption
    @Argument(help: "Stream or key, e.g. task/T-000008.") var stream: String
    func run() throws {
        try aibrain_storage.run {
            let log = try EventLog(root: options.store, options: OpenOptions(readOnly: true))
            for e in try log.history(stream: stream) {
                printLine(String(decoding: EventJSON.line(e), as: UTF8.self))
            }
        }
    }
}

struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open the store as a writer (runs recovery) and report what was repaired.")
    @OptionGroup var options: StoreOption
    func run() throws {
        try aibrain_storage.run {
            let log = try EventLog(root: options.store)
            if log.recoveryReport.actions.isEmpty { printLine("recovery: nothing to do") }
            for a in log.recoveryReport.actions { printLine("recovery: \(a)") }
            printLine("head LSN \(log.headLSN)")
        }
    }
}

/// Test helper for crash loops: appends events one at a time (or in small batches) and prints
/// `ack <event-id> <lsn>` after each append returned, flushing stdout, so a parent that kills this
/// process with SIGKILL knows exactly which events were acknowledged.
struct AppendLoop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-loop", abstract: "Append events and print each acknowledgement (tests).")
    @OptionGroup var options: StoreOption
    @Option(help: "Number of appends.") var count: Int = 1000
    @Option(help: "Event id prefix.") var prefix: String = "e"
    @Option(help: "Events per append.") var batch: Int = 1
    @Option(help: "Payload bytes per event.") var payloadBytes: Int = 200
    @Option(help: "Roll size in bytes (small values exercise roll and seal).") var rollBytes: Int = 16 << 20
    func run() throws {
        try aibrain_storage.run {
            var p = StoreConfig.Policies()
            p.rollBytes = rollBytes
            let log = try EventLog(root: options.store, options: OpenOptions(policies: p))
            let filler = String(repeating: "x", count: payloadBytes)
            for i in 0..<count {
                let drafts = (0..<batch).map { k in
                    EventDraft(
                        eventID: "\(prefix)-\(i)-\(k)", type: "test.appended", stream: "task/\(prefix)",
                        payload: Array("{\"i\":\(i),\"k\":\(k),\"fill\":\"\(filler)\"}".utf8))
                }
                let r = try log.append(drafts)
                for a in r.events { printLine("ack \(a.eventID) \(a.lsn)") }
            }
        }
    }
}
