import ArgumentParser
import BrainEvents
import EventLog
import Foundation

/// `aibrain scan`: the PII gate over what a log already holds. Events stored as given (imports with
/// `--pii-policy warn`, segments adopted from peers) never passed this store's gate; this finds what they
/// carry, naming the event and the field, never the value.
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Report personal identifiers already in the log (every origin, adopted ones included).",
        discussion: """
            Runs the PII gate's detectors (ssn, npi, email, dea, mbi, phone, dob, mrn: the ones emit and \
            import run) over every envelope field and payload string of every event, and reports each event \
            with a finding: origin, LSN, type, field path and detector (never the value). Exit 4 when \
            anything is found, 0 when the log is clean. The log is never changed: it is an append-only audit \
            trail.
            """)
    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("Only this origin (its id, or the name shown by `stats`).", valueName: "origin"))
    var origin: String?
    @Option(help: ArgumentHelp("List at most this many findings (all are counted).", valueName: "n"))
    var limit: Int = 1000
    @OptionGroup var format: ReportOutput

    func validate() throws {
        guard limit >= 0 else { throw ValidationError("--limit must be 0 or more") }
    }

    struct Finding {
        var origin: OriginID
        var lsn: UInt64
        var type: String
        var field: String
        var detector: String
    }

    func run() throws {
        try runReporting(json: format.json) {
            let reader = try StoreReader(root: try store.locate())
            let names = EventRenderer(reader: reader)
            var only: OriginID?
            if let origin {
                guard let o = reader.logs.first(where: { $0.origin.hex == origin || names.origin($0.origin) == origin })
                else {
                    throw CLIError.invalid(
                        "--origin \(origin): this store holds no such origin",
                        hint: "`aibrain stats` lists the origins and their names")
                }
                only = o.origin
            }
            let gate = PIIGate.standard
            var scanned: UInt64 = 0
            var findings: [Finding] = []
            var total = 0
            var byDetector: [String: Int] = [:]
            // Payloads this store cannot read (encrypted without the team's key, shredded): their envelopes
            // are scanned, their payloads cannot be, and the report says how many.
            var unreadable: UInt64 = 0
            try reader.forEachMerged { e in
                if let only, e.origin != only { return true }
                scanned += 1
                if e.payloadState != .plain { unreadable += 1 }
                if let f = gate.firstFinding(in: e.draft) {
                    total += 1
                    byDetector[f.detector, default: 0] += 1
                    if findings.count < limit {
                        findings.append(
                            Finding(origin: e.origin, lsn: e.lsn, type: e.type, field: f.field, detector: f.detector))
                    }
                }
                return true
            }
            if format.json {
                try Output.stdout.line(
                    JSONOut.object(
                        [
                            ("scanned", .uint(scanned)), ("events_with_findings", .int(Int64(total))),
                        ] + (unreadable > 0 ? [("payloads_not_scanned", .uint(unreadable))] : []) + [
                            (
                                "by_detector",
                                .object(byDetector.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })
                            ),
                            (
                                "findings",
                                .array(
                                    findings.map { f in
                                        .object([
                                            ("origin", .string(f.origin.hex)),
                                            ("name", .string(names.origin(f.origin))),
                                            ("lsn", .uint(f.lsn)), ("type", .string(f.type)),
                                            ("field", .string(f.field)),
                                            ("detector", .string(f.detector)),
                                        ])
                                    })
                            ),
                        ]
                    ).text)
            } else {
                for f in findings {
                    try Output.stdout.line(
                        "\(names.origin(f.origin)):\(f.lsn)  \(f.type)  field `\(f.field)` looks like \(f.detector)")
                }
                if total > findings.count { try Output.stdout.line("… and \(total - findings.count) more") }
                let counts = byDetector.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                try Output.stdout.line(
                    "scanned \(scanned) events: "
                        + (total == 0
                            ? "no personal identifiers found"
                            : "\(total) with findings (\(counts.joined(separator: ", ")))"))
                if unreadable > 0 {
                    try Output.stdout.line(
                        "\(unreadable) payload(s) not scanned: encrypted without their team's key here, or shredded (envelopes were scanned)"
                    )
                }
            }
            if total > 0 {
                var e = CLIError(
                    .policy, code: "pii-found",
                    "\(total) event(s) in the log carry what looks like personal identifiers",
                    hint:
                        "the log is append-only: find where they came from (`aibrain replay`, the origin's repo) and stop them at the source; the PII gate refuses new ones"
                )
                e.reportedOnStdout = format.json
                throw e
            }
        }
    }
}
