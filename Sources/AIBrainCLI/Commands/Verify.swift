import ArgumentParser
import BrainEvents
import EventLog
import Foundation
import Trust

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Check every origin's headers, checksums, seals, seal chain and LSN continuity (exit 5 on corruption).",
        discussion: """
            --deep also decodes every record and checks that each payload is valid JSON, each envelope \
            keeps the rules of schemas/envelope.schema.json, and each payload of a catalogue type matches \
            its schema (schemas/events/, exit 1 if one does not); types the catalogue does not know are \
            counted and reported, not failed. Read-only: it never repairs (a writer's open, or `aibrain \
            recover`, does).

            Signed seals are checked with this origin's key and the keys trusted for peers (`aibrain keys`): \
            a seal signed by another key, one whose signature fails, an unsigned seal after signed history, \
            or a segment other than the one this origin's key signed for its position is tampering (exit 5). \
            --against HEADFILE (from `aibrain head`, kept elsewhere) also detects what a local chain cannot: \
            deleted newest segments, a rollback to an older copy, rewritten history.
            """)
    @OptionGroup var store: StoreOptions
    @Flag(help: "Also decode every record and check payloads and envelopes.") var deep = false
    @Option(
        help: ArgumentHelp("Also check the history against a signed head from `aibrain head`.", valueName: "headfile"))
    var against: String?
    @Option(
        help: ArgumentHelp(
            "The verifier key the head must be signed with (default: the keys in this store; pass the origin's published key when the store's own keys/ may have been replaced).",
            valueName: "key"))
    var key: String?
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let root = try store.locate()
            var report = try StoreVerifier.verify(root: root)
            // One reader for the signature pass, the head check and the deep pass.
            let reader = try StoreReader(root: root)
            let signatures = try SignatureAudit.audit(reader, root: root)
            report.problems += signatures.findings.map {
                VerifyReport.Problem(
                    kind: .corruption, file: $0.file, offset: nil, lsn: $0.lsn, message: $0.message,
                    origin: $0.origin.hex)
            }
            let given = try key.map { (k) throws(EventLogError) in try NoteVerifierKey(parsing: k) }
            let headCheck = try against.map { try Self.checkHead($0, reader: reader, root: root, key: given) }
            if let headCheck, headCheck.comparison.isFailure {
                report.problems.append(
                    .init(
                        kind: .corruption, file: headCheck.file, offset: nil, lsn: nil,
                        message: headCheck.comparison.summary))
            }
            var decoded: UInt64 = 0
            var types = TypeTally()
            if deep {
                for log in reader.logs {
                    // Corruption the structural pass found is reported once, not again by the decode pass.
                    let known = report.problems.contains { $0.origin == log.origin.hex && $0.kind == .corruption }
                    report.problems += Self.deepCheck(log, decoded: &decoded, types: &types).filter {
                        !(known && $0.kind == .corruption)
                    }
                }
            }
            let mismatches = report.problems.filter { $0.kind == .schemaMismatch }.count
            if format.json {
                var members: [(String, JSONOut)] = [
                    ("ok", .bool(report.ok)), ("deep", .bool(deep)),
                    (
                        "origins",
                        .array(
                            report.origins.map { o in
                                .object([
                                    ("origin", .string(o.origin)), ("sealed_segments", .int(Int64(o.sealedSegments))),
                                    ("open_segments", .int(Int64(o.openSegments))), ("events", .uint(o.events)),
                                    ("first_lsn", .optional(o.firstLSN)), ("last_lsn", .optional(o.lastLSN)),
                                    ("head_seal_hash", .optional(o.headSealHash)),
                                ])
                            })
                    ),
                    (
                        "problems",
                        .array(
                            report.problems.map { p in
                                .object([
                                    ("kind", .string(p.kind.rawValue)), ("file", .string(Self.path(p))),
                                    ("offset", p.offset.map { .int($0) } ?? .null), ("lsn", .optional(p.lsn)),
                                    ("message", .string(p.message)),
                                ])
                            })
                    ),
                ]
                members.append(
                    (
                        "signatures",
                        .array(
                            signatures.origins.map { r in
                                .object([
                                    ("origin", .string(r.origin.hex)), ("signed", .int(Int64(r.signed))),
                                    ("verified", .int(Int64(r.verified))), ("untrusted", .int(Int64(r.untrusted))),
                                    ("legacy_unsigned", .int(Int64(r.legacyUnsigned))),
                                ])
                            })
                    ))
                if let headCheck {
                    members.append(
                        (
                            "head",
                            .object([
                                ("file", .string(headCheck.file)), ("origin", .string(headCheck.head.origin.hex)),
                                ("segments", .int(Int64(headCheck.head.segments))),
                                ("consistent", .bool(!headCheck.comparison.isFailure)),
                                ("message", .string(headCheck.comparison.summary)),
                            ])
                        ))
                }
                // Only when some record hashes or payloads could not be checked (encryption without keys).
                if !report.unchecked.isEmpty {
                    members.append(
                        (
                            "record_hashes_unchecked",
                            .array(
                                report.unchecked.map {
                                    .object([("team", .string($0.team)), ("segments", .int(Int64($0.segments)))])
                                })
                        ))
                }
                if deep && types.unreadable > 0 {
                    members.append(("payloads_not_checked", .int(Int64(types.unreadable))))
                }
                if deep {
                    members.append(("records_decoded", .uint(decoded)))
                    members.append(("schema_checked", .int(Int64(types.checked))))
                    members.append(("schema_mismatches", .int(Int64(mismatches))))
                    members.append(
                        (
                            "unknown_types",
                            .object(types.unknown.keys.sorted().map { ($0, .int(Int64(types.unknown[$0]!))) })
                        ))
                }
                try Output.stdout.line(JSONOut.object(members).text)
            } else {
                for o in report.origins {
                    let range = o.firstLSN.map { "LSN \($0)…\(o.lastLSN!)" } ?? "no events"
                    try Output.stdout.line(
                        "origin \(o.origin): \(o.sealedSegments) sealed + \(o.openSegments) open segments, \(o.events) events, \(range), head seal \(o.headSealHash.map { String($0.prefix(16)) + "…" } ?? "-")"
                    )
                }
                for r in signatures.origins where r.signed + r.legacyUnsigned > 0 {
                    var parts: [String] = []
                    if r.verified > 0 { parts.append("\(r.verified) verified with \(r.keyName ?? "its key")") }
                    if r.untrusted > 0 {
                        parts.append("\(r.untrusted) signed but not checked (origin not trusted: aibrain keys trust)")
                    }
                    if r.legacyUnsigned > 0 {
                        parts.append("\(r.legacyUnsigned) unsigned before the first signed seal (legacy)")
                    }
                    let bad = r.signed - r.verified - r.untrusted
                    if bad > 0 { parts.append("\(bad) FAILED") }
                    try Output.stdout.line("signatures \(r.origin.hex): " + parts.joined(separator: ", "))
                }
                if let headCheck {
                    try Output.stdout.line("head \(headCheck.file): \(headCheck.comparison.summary)")
                }
                for p in report.problems {
                    try Output.stdout.line(
                        "\(p.kind.rawValue): \(Self.path(p))\(p.offset.map { " at offset \($0)" } ?? "")\(p.lsn.map { " (LSN \($0))" } ?? ""): \(p.message)"
                    )
                }
                if deep {
                    try Output.stdout.line(
                        "deep: \(decoded) records decoded, \(types.checked) payloads checked against their type's schema, \(mismatches) mismatch\(mismatches == 1 ? "" : "es")"
                    )
                    for t in types.unknown.keys.sorted() {
                        try Output.stdout.line(
                            "  type \(t): \(types.unknown[t]!) event(s), not in the catalogue (kept, not checked)")
                    }
                    if types.unreadable > 0 {
                        try Output.stdout.line(
                            "  \(types.unreadable) payload(s) not checked: encrypted without their team's key here, or shredded"
                        )
                    }
                }
                for line in report.uncheckedSummary { try Output.stdout.line(line) }
                try Output.stdout.line(report.ok ? "verify: OK" : "verify: CORRUPTION FOUND")
            }
            if report.ok && mismatches > 0 {
                var e = CLIError(
                    .error, code: "schema-mismatch",
                    "\(mismatches) payload\(mismatches == 1 ? "" : "s") do not match their type's schema (schemas/events/)",
                    hint: "the events are kept as written; fix the producer, and see each LSN above")
                e.reportedOnStdout = format.json
                throw e
            }
            if !report.ok {
                try Output.stdout.flush()
                let headFile = headCheck.flatMap { $0.comparison.isFailure ? $0.file : nil }
                let damaged = Set(
                    report.problems.filter {
                        ($0.kind == .corruption || $0.kind == .invalidRecord)
                            && !($0.origin == nil && $0.file == headFile)
                    }.map(Self.path))
                var parts: [String] = []
                if !damaged.isEmpty {
                    parts.append("corruption or tampering in \(damaged.sorted().joined(separator: ", "))")
                }
                if let headFile { parts.append("a history that does not match the signed head \(headFile)") }
                var e = CLIError(
                    .corruption, code: "corruption", "verify found " + parts.joined(separator: ", and "),
                    hint: headFile != nil && damaged.isEmpty
                        ? "the newest segments are gone or were rewritten: restore them from a peer that holds them (aibrain ship pull) or a backup"
                        : "data before the damage is still readable; restore the named files from a peer or a backup")
                e.reportedOnStdout = true
                throw e
            }
        }
    }

    struct HeadCheck {
        var file: String
        var head: SignedHead
        var comparison: HeadComparison
    }

    /// Reads a head file, checks its signature with the origin's key, and compares it with the store.
    static func checkHead(_ file: String, reader: StoreReader, root: String, key: NoteVerifierKey?) throws -> HeadCheck
    {
        let fs = PosixFileSystem()
        let path = StoreLocator.absolute(file, in: StoreLocator.workingDirectory())
        let bytes = try fs.attempt("reading the head", path: path) { () throws(SystemError) in try fs.readFile(path) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CLIError(.corruption, code: "corruption", "\(file) is not UTF-8 text: not a head from `aibrain head`")
        }
        let note: SignedNote
        let head: SignedHead
        do throws(EventLogError) {
            note = try SignedNote.parse(text)
            head = try SignedHead(parsing: note, path: file)
        } catch {
            throw CLIError(
                .corruption, code: "corruption", "\(file): \(error.message)",
                hint: "pass a file written by `aibrain head`")
        }
        let keys = try key.map { [$0] } ?? KeyStore.local(storeRoot: root).verifiers(for: head.origin)
        // Only the origin's own key vouches for its head (another origin's key, given by mistake, never does).
        if let key, key.name != SealNote.keyName(origin: head.origin) {
            throw CLIError(
                .corruption, code: "corruption",
                "\(file) is a head of origin \(head.origin.hex), but --key is \(key.name)'s key",
                hint: "pass the verifier key that origin published")
        }
        switch NoteCheck.check(note, against: keys) {
        case .verified: break
        case .badSignature(let name):
            throw CLIError(
                .corruption, code: "corruption",
                "\(file): the head's signature by \(name) does not verify: it was altered")
        case .unknownKeys(let ids):
            throw CLIError(
                .corruption, code: "corruption",
                "\(file) is not signed by origin \(head.origin.hex)'s key (signed by \(ids.isEmpty ? "nobody" : ids.joined(separator: ", ")))",
                hint: keys.isEmpty ? "trust the origin's key first: aibrain keys trust \(head.origin.hex) KEY" : nil)
        }
        guard let log = reader.log(head.origin) else {
            return HeadCheck(file: file, head: head, comparison: .missingSegments(have: 0, head: head.segments))
        }
        let entries = log.sealedCatalog
        let epoch = head.origin == reader.localOrigin ? reader.config.epoch : (entries.last?.epoch ?? 0)
        let comparison = HeadComparison.compare(
            head, segments: entries.map { ($0.epoch, $0.firstLSN, $0.lastLSN, $0.sealHash) }, storeEpoch: epoch)
        return HeadCheck(file: file, head: head, comparison: comparison)
    }

    /// The store-relative path of a problem's file.
    static func path(_ p: VerifyReport.Problem) -> String {
        p.origin.map { "log/\($0)/\(p.file)" } ?? p.file
    }

    /// Decodes every record of one origin; problems for records that break the writer's rules.
    /// What the schema pass saw.
    struct TypeTally {
        var checked = 0
        var unknown: [String: Int] = [:]
        /// Payloads not checked: encrypted without their team's key here, or shredded (the envelope was).
        var unreadable = 0
    }

    static func deepCheck(_ log: EventLog, decoded: inout UInt64, types: inout TypeTally) -> [VerifyReport.Problem] {
        let schemas = EventSchemas.embedded
        var problems: [VerifyReport.Problem] = []
        func add(_ kind: VerifyReport.Problem.Kind, _ lsn: UInt64?, _ message: String, file: String = "") {
            problems.append(
                .init(kind: kind, file: file, offset: nil, lsn: lsn, message: message, origin: log.origin.hex))
        }
        var count: UInt64 = 0
        do {
            try log.scan { r in
                count += 1
                let e = r.event(origin: log.origin)
                do throws(EventLogError) {
                    try EnvelopeValidation.validate(e.draft, index: 0)
                } catch {
                    add(
                        .invalidRecord, r.lsn,
                        "envelope: " + error.message.replacingOccurrences(of: "event 0: ", with: ""))
                }
                guard e.payloadState == .plain else {
                    types.unreadable += 1
                    return
                }
                do throws(JSONScanner.Failure) {
                    try JSONScanner.validate(e.payload)
                    if let schema = schemas[e.type], e.draft.typeVersion == 1 {
                        types.checked += 1
                        let found = schema.validate(payload: e.payload)
                        if !found.isEmpty {
                            add(.schemaMismatch, r.lsn, "\(e.type) v1: " + found.prefix(3).joined(separator: "; "))
                        }
                    } else {
                        types.unknown["\(e.type) v\(e.draft.typeVersion)", default: 0] += 1
                    }
                } catch {
                    add(.invalidRecord, r.lsn, "payload is not valid JSON (\(error))")
                }
            }
        } catch let e as EventLogError {
            add(.corruption, e.lsn, e.message, file: e.path.map(lastPathComponent) ?? "")
        } catch {
            add(.corruption, nil, "\(error)")
        }
        decoded += count
        return problems
    }
}
