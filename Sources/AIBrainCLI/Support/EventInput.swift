import BrainEvents
import EventLog
import Foundation

/// Turns input lines into checked drafts: JSON shape (EventJSON), envelope rules (EnvelopeValidation) and
/// the PII gate, each failure naming the source, line and field. Nothing here writes.
struct EventInput: Sendable {
    var gate: PIIGate
    var policy: PIIPolicy
    /// Findings let through under `--pii-policy warn` and values replaced under `redact`, reported on
    /// stderr by the caller.
    var warnings: [String] = []
    /// The payload values replaced under `--pii-policy redact`, in input order (for a JSON report).
    var redactions: [Redaction] = []

    /// One payload value replaced by the gate: where, and which detector (never the value).
    struct Redaction: Sendable, Equatable {
        var line: Int?
        var field: String
        var detector: String
    }

    init(gate: PIIGate = .standard, policy: PIIPolicy = .reject) {
        self.gate = gate
        self.policy = policy
    }

    /// One parsed line.
    struct Line {
        var number: Int
        var draft: EventDraft
        var writer: EventJSON.WriterFields
    }

    /// Parses and checks one line. `source` names the input in messages (a file, `stdin`); `number` is
    /// nil for an event built from arguments (messages then name only the field).
    mutating func parse(
        _ bytes: [UInt8], number: Int?, source: String, prepare: ((inout Line) -> Void)? = nil
    ) throws(CLIError) -> Line {
        var writer = EventJSON.WriterFields()
        let draft: EventDraft
        do throws(EventLogError) {
            draft = try EventJSON.draft(fromLine: bytes, lineNumber: number ?? 1, writer: &writer)
        } catch {
            let message =
                number == nil && error.message.hasPrefix("line 1: ")
                ? String(error.message.dropFirst(8)) : error.message
            throw CLIError.invalid("\(source): \(message)", hint: Self.inputHint)
        }
        var line = Line(number: number ?? 1, draft: draft, writer: writer)
        // What the caller adds (import's provenance and derived ids) is checked with the rest.
        prepare?(&line)
        let left = Self.addCatalogueKeys(&line.draft)
        if let item = left.first(where: { $0.hasPrefix("item/") }),
            EventKind(typeName: line.draft.type)?.isQueueTransition == true
        {
            // The queue's emit-time checks find an item's history through this key: never append without it.
            let place = number.map { "\(source): line \($0)" } ?? source
            throw CLIError.invalid(
                "\(place): a \(line.draft.type) event needs the index key \(item), and 4 keys are already given",
                hint: "give at most 3 keys of your own on work-item events")
        }
        try check(&line.draft, number: number, source: source)
        return line
    }

    /// The index keys a catalogue type implies (item/<id>, unique/<key>, ko/<id>, session/<id>), after the
    /// keys given, without repeats, up to the envelope's limit: queue checks and `queue show` read them.
    /// Returns the derived keys that did not fit.
    @discardableResult
    static func addCatalogueKeys(_ d: inout EventDraft) -> [String] {
        guard d.type.hasPrefix("work_item.") || d.type.hasPrefix("ko.") || d.type.hasPrefix("session.") else {
            return []
        }
        var left: [String] = []
        for k in CatalogueKeys.derive(type: d.type, payload: d.payload) where k != d.stream && !d.keys.contains(k) {
            if d.keys.count < Limits.maxKeys { d.keys.append(k) } else { left.append(k) }
        }
        return left
    }

    /// Envelope rules and the PII gate for a draft the caller appends as it is: under `--pii-policy redact`
    /// a finding is rejected (there is no redacted copy to append).
    mutating func check(_ draft: EventDraft, number: Int?, source: String) throws(CLIError) {
        var copy = draft
        try check(&copy, number: number, source: source, redacting: false)
    }

    /// Envelope rules and the PII gate for a draft built from arguments or a line; under `--pii-policy
    /// redact`, flagged payload values of `draft` are replaced.
    mutating func check(_ draft: inout EventDraft, number: Int?, source: String) throws(CLIError) {
        try check(&draft, number: number, source: source, redacting: true)
    }

    private mutating func check(_ draft: inout EventDraft, number: Int?, source: String, redacting: Bool)
        throws(CLIError)
    {
        let place = number.map { "\(source): line \($0)" } ?? source
        do throws(EventLogError) {
            try EnvelopeValidation.validate(draft, index: 0)
        } catch {
            let message = error.message.hasPrefix("event 0: ") ? String(error.message.dropFirst(9)) : error.message
            throw CLIError.invalid("\(place): \(message)", hint: Self.inputHint)
        }
        guard let finding = gate.firstFinding(in: draft) else { return }
        // The source's name may itself be what was found (a file named after a person): then it is not
        // repeated either.
        var name = source
        let flagged = name.withUTF8 { gate.detect($0) } != nil
        let label = flagged ? "the input (its name is withheld)" : source
        let location = number.map { "\(label): line \($0)" } ?? label
        func rejection(_ finding: PIIFinding, because reason: String? = nil) -> CLIError {
            var e = CLIError.pii(finding, line: number)
            e.message = "\(label): " + e.message
            if let reason {
                e.message = e.message.replacingOccurrences(
                    of: ": rejected by the PII gate;", with: ": rejected by the PII gate (\(reason));")
            }
            return e
        }
        switch policy {
        case .reject:
            throw rejection(finding)
        case .warn:
            warnings.append("\(location): \(finding) (appended: --pii-policy warn)")
        case .redact:
            guard redacting else { throw rejection(finding) }
            let r = gate.redact(&draft)
            if let refused = r.refused {
                // Redacting an envelope field would make another event (ids, stream and keys are its
                // identity and index); renaming an object key would change the payload's shape.
                let reason =
                    refused.field.hasPrefix("data")
                    ? "--pii-policy redact replaces values, never object keys"
                    : "--pii-policy redact never changes envelope fields: they are the event's identity"
                throw rejection(refused, because: reason)
            }
            for f in r.redacted {
                warnings.append("\(location): \(f) (redacted: --pii-policy redact)")
                redactions.append(Redaction(line: number, field: f.field, detector: f.detector))
            }
        }
    }

    /// Every non-blank line of `bytes`, parsed and checked; the first bad line fails the whole input.
    mutating func parseAll(
        _ bytes: [UInt8], source: String, progress: inout Progress, prepare: ((inout Line) -> Void)? = nil
    ) throws(CLIError) -> [Line] {
        let out = try parseRange(
            bytes, 0..<bytes.count, firstLine: 1, source: source, progress: &progress, prepare: prepare)
        progress.finish()
        return out
    }

    /// `parseAll` on two cores: the input is cut at a line boundary near its middle and both halves are
    /// parsed at once. The result, the first bad line reported and the warnings are those of `parseAll`.
    mutating func parseAllOnTwoCores(
        _ bytes: [UInt8], source: String, progress: inout Progress, prepare: @escaping @Sendable (inout Line) -> Void
    ) throws(CLIError) -> [Line] {
        guard bytes.count >= 1 << 20 else {
            return try parseAll(bytes, source: source, progress: &progress, prepare: prepare)
        }
        var cut = bytes.count / 2
        while cut < bytes.count && bytes[cut - 1] != 0x0A { cut += 1 }
        let split = cut
        let secondFirstLine = 1 + bytes[..<split].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        final class Slot: @unchecked Sendable {
            var lines: [Line] = []
            var error: CLIError?
            var warnings: [String] = []
            var redactions: [Redaction] = []
        }
        let slots = [Slot(), Slot()]
        let base = self
        let showProgress = progress.enabled
        let total = bytes.count
        DispatchQueue.concurrentPerform(iterations: 2) { k in
            var input = base
            input.warnings = []
            input.redactions = []
            var p = Progress("checking \(source)", total: showProgress && k == 0 ? split : 0)
            do throws(CLIError) {
                slots[k].lines = try input.parseRange(
                    bytes, k == 0 ? 0..<split : split..<total, firstLine: k == 0 ? 1 : secondFirstLine,
                    source: source, progress: &p, prepare: prepare)
            } catch {
                slots[k].error = error
            }
            if k == 0 { p.finish() }
            slots[k].warnings = input.warnings
            slots[k].redactions = input.redactions
        }
        // The first bad line of the file wins, as in a sequential parse (a first-half error comes first).
        if let e = slots[0].error { throw e }
        warnings += slots[0].warnings
        redactions += slots[0].redactions
        if let e = slots[1].error { throw e }
        warnings += slots[1].warnings
        redactions += slots[1].redactions
        return slots[0].lines + slots[1].lines
    }

    mutating func parseRange(
        _ bytes: [UInt8], _ range: Range<Int>, firstLine: Int, source: String, progress: inout Progress,
        prepare: ((inout Line) -> Void)?
    ) throws(CLIError) -> [Line] {
        var out: [Line] = []
        var number = firstLine - 1
        var start = range.lowerBound
        let end = range.upperBound
        while start < end {
            var stop = start
            while stop < end && bytes[stop] != 0x0A { stop += 1 }
            number += 1
            let slice = bytes[start..<stop]
            if !slice.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) {
                out.append(try parse(Array(slice), number: number, source: source, prepare: prepare))
            }
            if number % 8192 == 0 { progress.update(stop - range.lowerBound) }
            start = stop + 1
        }
        progress.update(end - range.lowerBound)
        return out
    }

    static let inputHint =
        "fix that line and run again; nothing was appended (schemas/envelope.schema.json describes the input)"
}
