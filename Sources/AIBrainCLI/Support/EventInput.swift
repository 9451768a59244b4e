import BrainEvents
import EventLog

/// Turns input lines into checked drafts: JSON shape (EventJSON), envelope rules (EnvelopeValidation) and
/// the PII gate, each failure naming the source, line and field. Nothing here writes.
struct EventInput {
    var gate: PIIGate
    var policy: PIIPolicy
    /// Findings let through under `--pii-policy warn`, reported on stderr by the caller.
    var warnings: [String] = []

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
        try check(line.draft, number: number, source: source)
        return line
    }

    /// Envelope rules and the PII gate for a draft built from arguments or a line.
    mutating func check(_ draft: EventDraft, number: Int?, source: String) throws(CLIError) {
        let place = number.map { "\(source): line \($0)" } ?? source
        do throws(EventLogError) {
            try EnvelopeValidation.validate(draft, index: 0)
        } catch {
            let message = error.message.hasPrefix("event 0: ") ? String(error.message.dropFirst(9)) : error.message
            throw CLIError.invalid("\(place): \(message)", hint: Self.inputHint)
        }
        if let finding = gate.firstFinding(in: draft) {
            // The source's name may itself be what was found (a file named after a person): then it is not
            // repeated either.
            var name = source
            let flagged = name.withUTF8 { gate.detect($0) } != nil
            let label = flagged ? "the input (its name is withheld)" : source
            let where_ = number.map { "\(label): line \($0)" } ?? label
            switch policy {
            case .reject:
                var e = CLIError.pii(finding, line: number)
                e.message = "\(label): " + e.message
                throw e
            case .warn:
                warnings.append("\(where_): \(finding) (appended: --pii-policy warn)")
            }
        }
    }

    /// Every non-blank line of `bytes`, parsed and checked; the first bad line fails the whole input.
    mutating func parseAll(
        _ bytes: [UInt8], source: String, progress: inout Progress, prepare: ((inout Line) -> Void)? = nil
    ) throws(CLIError) -> [Line] {
        var out: [Line] = []
        var number = 0
        var start = 0
        let count = bytes.count
        while start < count {
            var end = start
            while end < count && bytes[end] != 0x0A { end += 1 }
            number += 1
            let slice = bytes[start..<end]
            if !slice.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) {
                out.append(try parse(Array(slice), number: number, source: source, prepare: prepare))
            }
            if number % 8192 == 0 { progress.update(end) }
            start = end + 1
        }
        progress.update(count)
        progress.finish()
        return out
    }

    static let inputHint =
        "fix that line and run again; nothing was appended (schemas/envelope.schema.json describes the input)"
}
