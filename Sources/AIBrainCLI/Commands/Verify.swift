import ArgumentParser
import EventLog
import Foundation

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check every origin's headers, checksums, seals, seal chain and LSN continuity (exit 5 on corruption).",
        discussion: """
            --deep also decodes every record and checks that each payload is valid JSON and each envelope \
            keeps the rules of schemas/envelope.schema.json. Read-only: it never repairs (a writer's open, \
            or `aibrain recover`, does).
            """)
    @OptionGroup var store: StoreOptions
    @Flag(help: "Also decode every record and check payloads and envelopes.") var deep = false
    @OptionGroup var format: ReportOutput

    func run() throws {
        try runReporting(json: format.json) {
            let root = try store.locate()
            var report = try StoreVerifier.verify(root: root)
            var decoded: UInt64 = 0
            if deep {
                let reader = try StoreReader(root: root)
                for log in reader.logs {
                    // Corruption the structural pass found is reported once, not again by the decode pass.
                    let known = report.problems.contains { $0.origin == log.origin.hex && $0.kind == .corruption }
                    report.problems += Self.deepCheck(log, decoded: &decoded).filter {
                        !(known && $0.kind == .corruption)
                    }
                }
            }
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
                if deep { members.append(("records_decoded", .uint(decoded))) }
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
                if deep { try Output.stdout.line("deep: \(decoded) records decoded") }
                try Output.stdout.line(report.ok ? "verify: OK" : "verify: CORRUPTION FOUND")
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
    static func deepCheck(_ log: EventLog, decoded: inout UInt64) -> [VerifyReport.Problem] {
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
