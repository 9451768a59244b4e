import ArgumentParser
import BrainEvents
import EventLog
import Foundation
import Projections

/// `--pii-policy` for commands that write events.
struct PIIOptions: ParsableArguments {
    @Option(
        name: .customLong("pii-policy"),
        help: ArgumentHelp(
            "What the PII gate does with an event that looks like it holds personal data: reject (exit 4, nothing appended), warn (append, report on stderr) or redact (append with each flagged payload string replaced by \"[redacted: DETECTOR]\", report on stderr; a finding in an envelope field, the event's identity, or in an object key is still rejected).",
            valueName: "reject|warn|redact"))
    var policy: PIIPolicy = .reject

    func input() -> EventInput { EventInput(gate: .standard, policy: policy) }

    /// Findings let through (`warn`) and values replaced (`redact`), one stderr line each: field path and
    /// detector, never the value.
    static func printWarnings(_ input: EventInput) {
        for w in input.warnings { Output.stderr("aibrain: warning: \(w)") }
    }
}

extension PIIPolicy: ExpressibleByArgument {}

struct Emit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emit",
        abstract: "Append one event, a batch from stdin (--batch), or a stream of events from a pipe (--stream).",
        discussion: """
            One event:   aibrain emit decision.recorded --task TASK-123 --data '{"kind":"APPROACH","value":"retry"}'
            A batch:     aibrain emit --batch < events.jsonl      (one transaction: all lines or none)
            A pipe:      producer | aibrain emit --stream         (one ack line per input line, after each fsync)

            Input lines are JSON objects, nested ({"type":…,"task_id":…,"data":{…}}) or flat (domain fields \
            beside the envelope fields); schemas/envelope.schema.json describes them. Every string goes \
            through the PII gate (SSN, NPI, email, DEA, MBI, phone, date of birth, MRN) and, when \
            .aibrain/contracts.yaml exists, the governance rules (exit 4) first. An event id the store already holds is not \
            appended again: the command exits 0 with the original LSN and "duplicate": true.
            """)

    @Argument(help: ArgumentHelp("The event type, e.g. decision.recorded (one-event mode).", valueName: "type"))
    var type: String?

    @Option(help: ArgumentHelp("The task: the event's stream is task/<id>.", valueName: "id")) var task: String?
    @Option(
        name: .customLong("stream-name"),
        help: ArgumentHelp("The primary stream, when it is not a task's (item/…, ko/…).", valueName: "stream"))
    var streamName: String?
    @Option(help: ArgumentHelp("The payload: a JSON object.", valueName: "json")) var data: String = "{}"
    @Option(name: .customLong("key"), help: ArgumentHelp("An index key (up to 4), e.g. item/WI-7.", valueName: "key"))
    var keys: [String] = []
    @Option(help: ArgumentHelp("Who emits it (default: $AIBRAIN_ACTOR; one-event mode).", valueName: "name")) var actor:
        String?
    @Option(
        help: ArgumentHelp(
            "The team that owns the payload (default: $AIBRAIN_TEAM; one-event mode).", valueName: "team"))
    var team: String?
    @Option(
        name: .customLong("event-id"),
        help: ArgumentHelp("The event id, kept verbatim: 1–128 of [A-Za-z0-9._:-].", valueName: "id"))
    var eventID: String?
    @Option(
        name: .customLong("idempotency-key"),
        help: ArgumentHelp(
            "Derive the event id from this key (scoped to the stream): re-sending is a no-op.", valueName: "key"))
    var idempotencyKey: String?
    @Option(
        name: .customLong("expect-version"),
        help: ArgumentHelp(
            "Append only if the stream holds exactly N events (exit 3 otherwise, with the current version).",
            valueName: "n"))
    var expectVersion: Int?
    @Option(name: .customLong("type-version"), help: ArgumentHelp("The type's schema version.", valueName: "n"))
    var typeVersion: UInt16 = 1
    @Option(name: .customLong("correlation-id"), help: ArgumentHelp("Correlation id.", valueName: "id"))
    var correlationID: String?
    @Option(
        name: .customLong("causation-id"),
        help: ArgumentHelp("Causation id (the event that caused this one).", valueName: "id"))
    var causationID: String?
    @Option(
        name: .customLong("occurred-at"),
        help: ArgumentHelp(
            "Your own time claim, kept verbatim (the writer records its clock anyway).", valueName: "time"))
    var occurredAt: String?

    @Flag(help: "Read JSON lines from stdin and append them as one transaction.") var batch = false
    @Flag(
        help:
            "Read JSON lines from stdin as they come; commit groups of up to 1,000 lines or 5 ms; ack each line as JSON."
    )
    var stream = false

    @OptionGroup var pii: PIIOptions
    @OptionGroup var store: StoreOptions
    @Option(
        name: [.short, .customLong("output")], help: "Output format: text or json (--stream always prints JSON acks).")
    var output: ReportFormat = .text

    func validate() throws {
        if batch && stream { throw ValidationError("--batch and --stream exclude each other") }
        if batch || stream {
            let eventOptions =
                type != nil || task != nil || streamName != nil || eventID != nil || idempotencyKey != nil
                || expectVersion != nil || actor != nil || team != nil || !keys.isEmpty || data != "{}"
                || correlationID != nil || causationID != nil || occurredAt != nil || typeVersion != 1
            if eventOptions {
                throw ValidationError(
                    "--\(batch ? "batch" : "stream") reads whole events from stdin; give no TYPE or event options")
            }
        } else {
            guard type != nil else { throw ValidationError("give the event TYPE, or --batch / --stream to read stdin") }
            if task != nil && streamName != nil { throw ValidationError("give --task or --stream-name, not both") }
            if eventID != nil && idempotencyKey != nil {
                throw ValidationError("give --event-id or --idempotency-key, not both")
            }
            if expectVersion != nil && task == nil && streamName == nil {
                throw ValidationError("--expect-version needs the stream it applies to (--task or --stream-name)")
            }
            if let v = expectVersion, v < 0 { throw ValidationError("--expect-version must be 0 or more") }
        }
    }

    func run() throws {
        try runReporting(json: output == .json) {
            if stream {
                try EmitStream(pii: pii).run(root: try store.locate())
            } else if batch {
                try runBatch()
            } else {
                try runOne()
            }
        }
    }

    /// The single event, built as a nested input line so it follows exactly the rules of `--batch`.
    func draft(environment: [String: String]) throws -> EventDraft {
        let dataBytes = Array(data.utf8)
        do throws(JSONScanner.Failure) {
            _ = try JSONScanner.members(of: dataBytes)
        } catch {
            throw CLIError.invalid(
                "--data: not a JSON object (\(error))", hint: "pass an object, e.g. --data '{\"kind\":\"APPROACH\"}'")
        }
        var members: [(String, JSONOut)] = [("type", .string(type!)), ("type_version", .uint(UInt64(typeVersion)))]
        if let task { members.append(("task_id", .string(task))) }
        if let streamName { members.append(("stream", .string(streamName))) }
        if !keys.isEmpty { members.append(("keys", .array(keys.map { .string($0) }))) }
        if let a = actor ?? environment["AIBRAIN_ACTOR"], !a.isEmpty { members.append(("actor", .string(a))) }
        if let t = team ?? environment["AIBRAIN_TEAM"], !t.isEmpty { members.append(("team", .string(t))) }
        if let correlationID { members.append(("correlation_id", .string(correlationID))) }
        if let causationID { members.append(("causation_id", .string(causationID))) }
        if let occurredAt { members.append(("occurred_at", .string(occurredAt))) }
        let streamText = task.map { "task/" + $0 } ?? streamName ?? ""
        if let eventID { members.append(("event_id", .string(eventID))) }
        if let idempotencyKey {
            members.append(("event_id", .string(Self.derivedEventID(stream: streamText, key: idempotencyKey))))
        }
        members.append(("data", .raw(dataBytes)))
        var input = pii.input()
        let line = try input.parse(JSONOut.object(members).bytes, number: nil, source: "emit")
        PIIOptions.printWarnings(input)
        return line.draft
    }

    /// Contract 9: an id derived from `--idempotency-key`, scoped to the stream so that two tasks may use
    /// the same key: `ik-` + 32 hex digits of SHA-256("aibrain-idempotency-v1" 0x00 stream 0x00 key).
    static func derivedEventID(stream: String, key: String) -> String {
        let bytes = Array("aibrain-idempotency-v1".utf8) + [0] + Array(stream.utf8) + [0] + Array(key.utf8)
        return "ik-" + hexString(SHA256Digest.hash(bytes).prefix(16))
    }

    func runOne() throws {
        let d = try draft(environment: ProcessInfo.processInfo.environment)
        let root = try store.locate()
        let log = try LogAccess.open(root)
        let expected = expectVersion
        let found = VersionBox()
        let queueCheck = try QueueCheck(root: root, drafts: [d])
        let governance = try GovernanceGate.load(root: root)
        let check: ((AppendContext) throws -> Void)? = { ctx in
            // A retry of an event that made it wins over every check: idempotency first.
            if try ctx.existingLSN(ofEventID: d.eventID) != nil { return }
            try governance?.check([d], lines: nil, ctx)
            try queueCheck?.run(ctx)
            if let expected {
                let current = try ctx.version(ofStream: d.stream)
                if current != expected {
                    found.current = current
                    throw EventLogError(
                        .preconditionFailed,
                        "stream \(d.stream) is at version \(current), expected \(expected); nothing was appended",
                        hint:
                            "read the stream (aibrain replay), decide again, and retry with --expect-version \(current)"
                    )
                }
            }
        }
        let result: AppendResult
        do throws(EventLogError) {
            result = try log.append([d], precondition: check)
        } catch {
            if let refusal = governance?.refusal { throw refusal }
            guard error.code == .preconditionFailed else { throw error }
            var c = CLIError(error)
            if found.current == nil {
                c.code = "illegal-transition"
                c.message += "; nothing was appended"
            }
            if let v = found.current {
                c.details = [("current_version", .int(Int64(v))), ("expected_version", .int(Int64(expected!)))]
            }
            throw c
        }
        let a = result.events[0]
        let stored = a.duplicate ? try log.event(lsn: a.lsn) : nil
        let e =
            stored
            ?? Event(
                origin: log.origin, epoch: result.epoch, lsn: a.lsn, hlc: a.hlc, recordedAt: HLC.milliseconds(a.hlc),
                draft: d)
        var cursor = TailCursor()
        cursor.advance(to: e)
        if output == .json {
            try Output.stdout.line(
                JSONOut.object([
                    ("event_id", .string(a.eventID)), ("type", .string(e.type)), ("stream", .string(e.stream)),
                    ("origin", .string(log.origin.hex)), ("epoch", .uint(UInt64(e.epoch))), ("lsn", .uint(a.lsn)),
                    ("hlc", .uint(e.hlc)), ("cursor", .string(cursor.token)), ("duplicate", .bool(a.duplicate)),
                    ("durable", .bool(result.durable)),
                ]).text)
        } else if a.duplicate {
            try Output.stdout.line("duplicate: event \(a.eventID) is already at LSN \(a.lsn); nothing appended")
        } else {
            try Output.stdout.line(
                "appended \(e.type) at LSN \(a.lsn) (event \(a.eventID)\(result.durable ? ", durable" : ", NOT durable yet"))"
            )
        }
    }

    func runBatch() throws {
        let bytes = try readStandardInput()
        var input = pii.input()
        var progress = Progress("checking", total: bytes.count)
        let lines = try input.parseAll(bytes, source: "stdin", progress: &progress)
        PIIOptions.printWarnings(input)
        guard !lines.isEmpty else { throw CLIError.invalid("stdin: no events (every line is blank)") }
        let root = try store.locate()
        let log = try LogAccess.open(root)
        let drafts = lines.map(\.draft)
        let queueCheck = try QueueCheck(root: root, drafts: drafts)
        let governance = try GovernanceGate.load(root: root)
        let lineNumbers = lines.map(\.number)
        let check: ((AppendContext) throws -> Void)? =
            queueCheck == nil && governance == nil
            ? nil
            : { ctx in
                try governance?.check(drafts, lines: lineNumbers, ctx)
                try queueCheck?.run(ctx)
            }
        let result: AppendResult
        do throws(EventLogError) {
            result = try log.append(drafts, precondition: check)
        } catch {
            // (A `catch where` here crashes the 6.3 compiler's ownership verifier.)
            if let refusal = governance?.refusal { throw refusal }
            if error.code == .preconditionFailed {
                var c = CLIError(error)
                c.code = "illegal-transition"
                c.message += "; nothing was appended"
                throw c
            }
            guard error.code == .invalidInput else { throw error }
            throw CLIError.invalid(
                "stdin: \(error.message); nothing was appended",
                hint: "split the input, or load it with `aibrain import jsonl FILE` (bulk, in several transactions)")
        }
        let fresh = result.events.filter { !$0.duplicate }
        var cursor = TailCursor()
        if let last = fresh.last, let e = try log.event(lsn: last.lsn) { cursor.advance(to: e) }
        if output == .json {
            try Output.stdout.line(
                JSONOut.object([
                    ("count", .int(Int64(lines.count))), ("appended", .int(Int64(fresh.count))),
                    ("duplicates", .int(Int64(lines.count - fresh.count))), ("first_lsn", .optional(fresh.first?.lsn)),
                    ("last_lsn", .optional(fresh.last?.lsn)), ("cursor", fresh.isEmpty ? .null : .string(cursor.token)),
                    ("durable", .bool(result.durable)),
                    (
                        "events",
                        .array(
                            zip(lines, result.events).map { l, a in
                                .object([
                                    ("line", .int(Int64(l.number))), ("event_id", .string(a.eventID)),
                                    ("lsn", .uint(a.lsn)),
                                    ("duplicate", .bool(a.duplicate)),
                                ])
                            })
                    ),
                ]).text)
        } else {
            let range = fresh.first.map { "LSN \($0.lsn)…\(fresh.last!.lsn)" } ?? "nothing new"
            try Output.stdout.line(
                "appended \(fresh.count) of \(lines.count) events in one transaction (\(range)); \(lines.count - fresh.count) duplicates\(result.durable ? "; durable" : "")"
            )
        }
    }
}

/// The stream version a failed `--expect-version` check saw (set under the writer lock, read after).
final class VersionBox: @unchecked Sendable {
    var current: Int?
}

/// All of stdin.
func readStandardInput() throws -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw CLIError.stdin("reading stdin")
        }
        if n == 0 { return out }
        out += chunk[..<n]
    }
}

/// The queue's transition rules for the work-item events of a batch (nil when it has none): they run in
/// the append's precondition, under the writer lock.
struct QueueCheck {
    let reader: StoreReader
    let drafts: [EventDraft]

    init?(root: String, drafts: [EventDraft]) throws {
        guard drafts.contains(where: { EventKind(typeName: $0.type)?.isQueueTransition == true }) else { return nil }
        reader = try StoreReader(root: root)
        self.drafts = drafts
    }

    func run(_ ctx: AppendContext) throws {
        let fresh = try freshIndexes(ctx).map { drafts[$0] }
        try QueueGuard.check(fresh, reader: reader, context: ctx)
    }

    /// Drafts that will really be appended: events this origin already holds, or that repeat an id earlier
    /// in the batch, come back as duplicates (retries), not transitions.
    func freshIndexes(_ ctx: AppendContext) throws -> [Int] {
        var seen = Set<String>()
        var fresh: [Int] = []
        for (i, d) in drafts.enumerated() where seen.insert(d.eventID).inserted {
            if try ctx.existingLSN(ofEventID: d.eventID) == nil { fresh.append(i) }
        }
        return fresh
    }

    /// For `emit --stream`: the indexes of drafts to leave out, with why (retries of stored events are
    /// duplicates, never refused).
    func refusals(_ ctx: AppendContext) throws -> [(index: Int, refusal: QueueRefusal)] {
        let fresh = try freshIndexes(ctx)
        return try QueueGuard.refusals(
            fresh.map { drafts[$0] }, reader: reader, context: ctx
        ).map { (fresh[$0.index], $0.refusal) }
    }
}
