import ArgumentParser
import EventLog
import Foundation
import Trust

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a store in ./.aibrain (or beside older file-based memory already there).",
        discussion: """
            Writes .aibrain/store.json (a new random origin id, epoch 1, durability `always`), log/, \
            .aibrain/.gitignore (the store is shipped with `aibrain ship`, not committed) and the origin's \
            Ed25519 signing key in .aibrain/keys/ (0700; every seal is signed with it). Refuses to \
            re-initialize an existing store.
            """)

    @Option(
        help: ArgumentHelp("Display name of this origin (default: the project directory's name).", valueName: "name"))
    var origin: String?

    @Option(help: ArgumentHelp("Where to create it: a .aibrain path, or a directory to hold one.", valueName: "path"))
    var store: String?

    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let cwd = StoreLocator.workingDirectory()
            let given = store ?? ProcessInfo.processInfo.environment["AIBRAIN_STORE"].flatMap { $0.isEmpty ? nil : $0 }
            var root = StoreLocator.absolute(given ?? ".aibrain", in: cwd)
            if !root.hasSuffix("/.aibrain") { root += "/.aibrain" }
            let projectName = lastPathComponent(directoryName(of: root))
            let name = origin ?? Self.sanitized(projectName)
            guard Self.isValidName(name) else {
                throw CLIError.usage(
                    "--origin `\(name)`: a name is 1–128 characters of [A-Za-z0-9._-], starting with a letter or digit")
            }
            let fs = PosixFileSystem()
            let legacy = (try? fs.stat(root))??.isDirectory == true && (try? fs.stat(root + "/store.json")) == nil
            if (try? fs.stat(root + "/store.json")) != nil {
                throw CLIError(
                    .error, code: "already-a-store", "\(root) is already an aibrain store; nothing was changed",
                    hint: "use it as it is; to make a copy a writer of its own run `aibrain recover --new-epoch`")
            }
            let config = try EventLog.create(at: root, name: name, fs: fs)
            // Every origin signs its seals from the first one (`aibrain keys show` prints the public half).
            let key = try KeyStore(storeRoot: root, origin: config.origin, fs: fs).generateOriginKey().verifier
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("store", .string(root)), ("origin", .string(config.originID)), ("name", .string(config.name)),
                        ("epoch", .uint(UInt64(config.epoch))), ("beside_legacy_files", .bool(legacy)),
                        ("verifier_key", .string(key.encoded)),
                    ]).text)
            } else {
                try Output.stdout.line(
                    "initialized aibrain store \(root): origin \(config.originID) (\(config.name)), epoch \(config.epoch)"
                        + "\n  signing key \(hexString(key.keyID)) (fingerprint \(key.fingerprint)); peers trust it with: aibrain keys trust \(config.originID) \(key.encoded)"
                        + (legacy ? "\n  kept the older file-based memory already in \(root)" : ""))
            }
        }
    }

    /// ARCHITECTURE.md's rule for ids used in file names: `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`.
    static func isValidName(_ s: String) -> Bool {
        let u = Array(s.utf8)
        func alnum(_ b: UInt8) -> Bool { b &- 0x30 < 10 || (b | 0x20) &- 0x61 < 26 }
        guard let first = u.first, u.count <= 128, alnum(first) else { return false }
        return u.allSatisfy {
            alnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    static func sanitized(_ s: String) -> String {
        let kept = String(
            s.unicodeScalars.map { c -> Character in
                c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "." || c == "_" || c == "-")
                    ? Character(c) : "-"
            })
        let trimmed = kept.drop { !($0.isLetter || $0.isNumber) }
        return trimmed.isEmpty ? "local" : String(trimmed.prefix(128))
    }
}

struct Seal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal the open segment now: LZ4 blocks, stream table, SHA-256 seal chained to the previous one.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let log = try LogAccess.open(try store.locate())
            let before = log.config.head?.lastSealedLSN ?? 0
            try log.seal()
            let head = log.config.head
            let sealed = (head?.lastSealedLSN ?? 0) - before
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("sealed_events", .uint(sealed)), ("last_sealed_lsn", .optional(head?.lastSealedLSN)),
                        ("head_seal_hash", .optional(head?.sealHash)),
                    ]).text)
            } else if sealed == 0 {
                try Output.stdout.line("seal: nothing to seal (the open segment is empty)")
            } else {
                try Output.stdout.line(
                    "sealed \(sealed) events up to LSN \(head!.lastSealedLSN); head seal \(head!.sealHash.prefix(16))…")
            }
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Per origin: segments, events, bytes, compression ratio and time range.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let reader = try StoreReader(root: try store.locate())
            let names = EventRenderer(reader: reader)
            var rows: [JSONOut] = []
            for log in reader.logs {
                var s = try StoreStats.collect(log).origins[0]
                s.local = log.origin == reader.localOrigin
                // The time range of every event, open segment included (CATALOG covers the sealed ones only):
                // the writer clocks of the first and the last event.
                let firstAt = try s.firstLSN.flatMap { try log.event(lsn: $0) }?.recordedAt
                let lastAt = try s.lastLSN.flatMap { try log.event(lsn: $0) }?.recordedAt
                let time = { (ms: Int64?) in ms.map { JSONOut.string(ISO8601.format(milliseconds: $0)) } ?? .null }
                let ratio = s.compressionRatio.map { JSONOut.double(($0 * 1000).rounded() / 1000) } ?? .null
                if format.json {
                    rows.append(
                        .object([
                            ("origin", .string(s.origin)), ("name", .string(names.origin(log.origin))),
                            ("local", .bool(s.local)), ("sealed_segments", .int(Int64(s.sealedSegments))),
                            ("open_segments", .int(Int64(s.openSegments))), ("events", .uint(s.events)),
                            ("first_lsn", .optional(s.firstLSN)), ("last_lsn", .optional(s.lastLSN)),
                            ("sealed_bytes", .int(s.sealedBytes)), ("open_bytes", .int(s.openBytes)),
                            ("sealed_record_bytes", .uint(s.sealedRecordBytes)), ("compression_ratio", ratio),
                            ("streams", .int(Int64(s.streams))), ("first_recorded_at", time(firstAt)),
                            ("last_recorded_at", time(lastAt)),
                        ]))
                } else {
                    let range = s.firstLSN.map { "LSN \($0)…\(s.lastLSN!)" } ?? "no events"
                    var text =
                        "origin \(s.origin) (\(names.origin(log.origin))\(s.local ? ", local" : "")): \(s.events) events, \(range)"
                    text +=
                        "\n  \(s.sealedSegments) sealed segment\(s.sealedSegments == 1 ? "" : "s"), \(s.sealedBytes) bytes"
                    if let r = s.compressionRatio { text += String(format: " (records %.2f× smaller)", r) }
                    text += "; \(s.openSegments) open segment\(s.openSegments == 1 ? "" : "s"), \(s.openBytes) bytes"
                    if let a = firstAt, let b = lastAt {
                        text += "\n  recorded \(ISO8601.format(milliseconds: a)) → \(ISO8601.format(milliseconds: b))"
                    }
                    text += "\n  \(s.streams) streams and keys"
                    try Output.stdout.line(text)
                }
            }
            if format.json { try Output.stdout.line(JSONOut.object([("origins", .array(rows))]).text) }
        }
    }
}

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Show the structure (header, batches or blocks, seal) and the records of one segment file.")
    @Argument(help: ArgumentHelp("A .seg or .open file.", valueName: "segment")) var segment: String
    @Flag(help: "Structure only, no records.") var noRecords = false
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let d = try SegmentDump.dump(path: segment, records: !noRecords)
            if format.json {
                try Output.stdout.line(try jsonLine(d))
            } else {
                try Output.stdout.write(Array(d.text().utf8))
            }
        }
    }
}

struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Run recovery now and report what it repaired; --new-epoch makes a copied store a writer.",
        discussion: """
            Recovery also runs whenever a writer opens the store: it cuts a torn tail (keeping the bytes \
            in a .broken file), finishes or redoes an interrupted seal, and rebuilds CATALOG and EVENTIDS. \
            A store that was copied, cloned or restored refuses to append (exit 3) until `recover \
            --new-epoch` starts a new epoch, so it never reuses positions of the original.
            """)
    @OptionGroup var store: StoreOptions
    @Flag(help: "Start a new epoch (for a copied, cloned or restored store).") var newEpoch = false
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let log = try LogAccess.open(try store.locate())
            let actions = log.recoveryReport.actions.map { "\($0)" }
            var epoch = log.epoch
            if newEpoch { epoch = try log.startNewEpoch().epoch }
            if format.json {
                try Output.stdout.line(
                    JSONOut.object([
                        ("actions", .array(actions.map { .string($0) })), ("epoch", .uint(UInt64(epoch))),
                        ("new_epoch", .bool(newEpoch)), ("head_lsn", .uint(log.headLSN)),
                    ]).text)
            } else {
                if actions.isEmpty { try Output.stdout.line("recovery: nothing to repair") }
                for a in actions { try Output.stdout.line("recovery: \(a)") }
                if newEpoch { try Output.stdout.line("started epoch \(epoch): this store appends again") }
                try Output.stdout.line("head LSN \(log.headLSN), epoch \(epoch)")
            }
        }
    }
}
