import ArgumentParser
import BrainEvents
import EventLog
import Foundation
import Projections

/// `--now`: the instant queries are evaluated at (claimability, lease expiry, ages). Projections never read
/// the clock; commands do, here, once — and `-o json` echoes it, so a report can be reproduced.
struct NowOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Evaluate leases, retries and ages at this time (RFC 3339, a date, or 2h ago; default: now).",
            valueName: "time"))
    var now: String?

    func milliseconds() throws -> Int64 {
        guard let now else { return OpenOptions.wallClockMilliseconds() }
        return try TimeArgument.parse(now)
    }
}

/// Engines a command keeps until the process exits. A command runs once and exits; freeing a 1M-event
/// fold's millions of objects one by one took ~28% of a query's instructions (callgrind), for memory the
/// kernel takes back at exit anyway.
nonisolated(unsafe) var keptUntilExit: [AnyObject] = []

/// Opens the projections of a store: its snapshots plus the events after them (rebuilt when the snapshots
/// cannot be trusted), saving new snapshots when anything changed.
struct ProjectionAccess {
    let root: String
    let reader: StoreReader
    let engine: ReplayEngine
    let outcome: ProjectionStore.Outcome

    init(root: String, save: Bool = true) throws {
        self.root = root
        reader = try StoreReader(root: root)
        do {
            (engine, outcome) = try ProjectionStore(paths: reader.paths, fs: reader.fs).open(
                reader, save: save ? .whenWorthIt : .never)
        } catch let e as EventLogError {
            throw e
        } catch {
            throw CLIError(.error, code: "projection", "folding the log failed: \(error)")
        }
        keptUntilExit.append(engine)
        if let why = outcome.saveError {
            Output.stderr("aibrain: warning: the projection snapshots were not saved (\(why)); the view is current")
        }
        if let why = outcome.rebuiltBecause, ProcessInfo.processInfo.environment["AIBRAIN_QUIET"] == nil,
            outcome.folded > 100_000
        {
            Output.stderr("aibrain: rebuilt the projections from the log (\(why))")
        }
    }

    /// The full event behind a projection's reference.
    func event(_ ref: EventRef) throws -> Event? {
        guard let o = engine.origins.origin(ref.origin), let log = reader.log(o) else { return nil }
        return try log.event(lsn: ref.lsn)
    }

    func position(_ ref: EventRef) -> String {
        guard let o = engine.origins.origin(ref.origin) else { return "?:\(ref.lsn)" }
        return o == reader.localOrigin ? "\(ref.lsn)" : "\(o.hex):\(ref.lsn)"
    }
}

/// Builds and appends the events of aibrain's own commands (queue, session): envelope rules, the PII gate,
/// derived index keys, and the queue's transition rules under the writer lock (exit 3 on a refusal).
struct CommandAppender {
    let root: String
    let actor: String
    let team: String

    init(root: String, actor: String?, team: String?) {
        self.root = root
        let env = ProcessInfo.processInfo.environment
        self.actor = actor ?? env["AIBRAIN_ACTOR"] ?? ""
        self.team = team ?? env["AIBRAIN_TEAM"] ?? ""
    }

    /// A draft of a catalogue event; `members` become the payload, in order.
    func draft(_ kind: EventKind, task: String?, stream: String? = nil, _ members: [(String, JSONOut)]) throws
        -> EventDraft
    {
        var d = EventDraft(eventID: EventDraft.randomEventID(), type: kind.typeName)
        d.stream = task.map { "task/" + $0 } ?? stream ?? ""
        d.actor = actor
        d.team = team
        d.payload = JSONOut.object(members.filter { if case .null = $0.1 { return false } else { return true } }).bytes
        d.keys = CatalogueKeys.derive(type: d.type, payload: d.payload)
        var input = EventInput(gate: .standard, policy: .reject)
        try input.check(d, number: nil, source: kind.typeName)
        return d
    }

    func append(_ drafts: [EventDraft]) throws -> (AppendResult, EventLog) {
        let log = try LogAccess.open(root)
        let reader = try StoreReader(root: root)
        do throws(EventLogError) {
            let r = try log.append(drafts) { ctx in
                try QueueGuard.check(drafts, reader: reader, context: ctx)
            }
            return (r, log)
        } catch {
            guard error.code == .preconditionFailed else { throw error }
            throw CLIError(
                .conflict, code: "illegal-transition", error.message + "; nothing was appended",
                hint: "see the item with `aibrain queue show ITEM`")
        }
    }
}

/// Durations on the command line: 90s, 5m, 2h, 1d, or plain milliseconds.
func durationMS(_ text: String, option: String) throws -> Int64 {
    if let ms = Int64(text), ms > 0 { return ms }
    guard let ms = TimeArgument.relative(text), ms > 0 else {
        throw CLIError.usage("\(option) \(text): not a duration", hint: "use e.g. 90s, 5m, 2h or 1d")
    }
    return ms
}

func rfc3339(_ ms: Int64) -> String { ISO8601.format(milliseconds: ms) }

/// Renders rows as aligned columns (text mode).
func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in
            i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count)
        }.joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}
