import ArgumentParser
import BrainEvents
import EventLog
import Foundation

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check every origin's headers, checksums, seals, seal chain and LSN continuity (exit 5 on corruption).",
        discussion: """
            --deep also decodes every record and checks that each payload is valid JSON, each envelope \
            keeps the rules of schemas/envelope.schema.json, and each payload of a catalogue type matches \
            its schema (schemas/events/, exit 1 if one does not); types the catalogue does not know are \
            counted and reported, not failed. Read-only: it never repairs (a writer's open, or `aibrain \
            recover`, does).
            """)
    @OptionGroup var store: StoreOptions
    @Flag(help: "Also decode every record and check payloads and envelopes.") var deep = false
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let root = try store.locate()
            var report = try StoreVerifier.verify(root: root)
            var decoded: UInt64 = 0
            var types = TypeTally()
            if deep {
                let reader = try StoreReader(root: root)
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
                }
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
                let damaged = Set(
                    report.problems.filter { $0.kind == .corruption || $0.kind == .invalidRecord }.map(Self.path))
                var e = CLIError(
                    .corruption, code: "corruption",
                    "verify found corruption in \(damaged.sorted().joined(separator: ", "))",
                    hint: "data before the damage is still readable; restore the named files from a peer or a backup")
                e.reportedOnStdout = true
                throw e
            }
        }
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
