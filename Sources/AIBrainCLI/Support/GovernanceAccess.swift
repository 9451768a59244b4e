import BrainEvents
import EventLog

/// The store's governance contracts (`.aibrain/contracts.yaml`), loaded once per command and checked in the
/// append's precondition, under the writer lock, on the events that will really be appended (a retry of an
/// event the origin holds is a duplicate, never refused: idempotency first, as for the queue's rules).
///
/// The engine wraps what a precondition throws in `preconditionFailed`; the refusal is kept here so the
/// command reports it as itself (exit 4, code `governance`, the rule id). One gate serves one command; the
/// precondition runs while the command waits for its append, so the box is never shared across threads at
/// once (hence `@unchecked Sendable`, like `VersionBox`).
final class GovernanceGate: @unchecked Sendable {
    let contracts: Contracts
    /// The contracts file, for hints.
    let file: String
    /// What the last `check` refused, if it refused.
    private(set) var refusal: CLIError?

    private init(contracts: Contracts, file: String) {
        self.contracts = contracts
        self.file = file
    }

    /// The gate of the store at `root`, or nil when it has no contracts file (nothing is enforced). A file
    /// that cannot be read or parsed is an error (exit 1): governance never silently turns off.
    static func load(root: String) throws(CLIError) -> GovernanceGate? {
        do throws(ContractsError) {
            guard let c = try Contracts.load(storeDirectory: root) else { return nil }
            return GovernanceGate(contracts: c, file: root + "/" + Contracts.fileName)
        } catch {
            var e = CLIError(
                .error, code: "contracts-invalid",
                "governance contracts \(error) (nothing can be appended until the file is fixed)", hint: error.hint)
            e.details = [("file", .string(error.file)), ("key", .string(error.keyPath))]
            if let line = error.line { e.details.append(("line", .int(Int64(line)))) }
            if let column = error.column { e.details.append(("column", .int(Int64(column)))) }
            throw e
        }
    }

    /// One event or `--batch` (one transaction): throws, refusing the whole append, when any event that will
    /// be appended breaks a rule. `lines` are the input line numbers of `drafts` (nil for one event).
    func check(_ drafts: [EventDraft], lines: [Int]?, _ ctx: AppendContext) throws {
        guard let (index, violations) = try refusals(drafts, ctx).first else { return }
        var e = Self.error(violations, line: lines?[index], file: file)
        if lines != nil {
            e.message = "stdin: " + e.message + " (the batch is one transaction: none of its events was appended)"
        }
        refusal = e
        throw e
    }

    /// `--stream`: the indexes of drafts that break a rule, with the rules broken (events the origin already
    /// holds, or that repeat an id earlier in the group, come back as duplicates and are not judged).
    func refusals(_ drafts: [EventDraft], _ ctx: AppendContext) throws -> [(index: Int, violations: [Violation])] {
        var seen = Set<String>()
        var out: [(index: Int, violations: [Violation])] = []
        for (i, d) in drafts.enumerated() where seen.insert(d.eventID).inserted {
            let violations = contracts.violations(for: d)
            if violations.isEmpty { continue }
            if try ctx.existingLSN(ofEventID: d.eventID) != nil { continue }
            out.append((i, violations))
        }
        return out
    }

    /// Exit 4, code `governance`: the first rule broken and what is missing; `-o json` adds the rule id, the
    /// field and every violation.
    static func error(_ violations: [Violation], line: Int?, file: String) -> CLIError {
        let first = violations[0]
        let more = violations.count > 1 ? " (and \(violations.count - 1) more rule(s))" : ""
        var e = CLIError(
            .policy, code: "governance",
            "\(line.map { "line \($0): " } ?? "")\(first)\(more); rejected by governance, nothing was appended",
            hint:
                "set data.approver to the human who approved it (not an agent, not the event's actor), or change the rule in \(file)"
        )
        e.details = [("rule", .string(first.ruleID)), ("field", .string(first.field))]
        if let line { e.details.append(("line", .int(Int64(line)))) }
        e.details.append(
            (
                "violations",
                .array(
                    violations.map {
                        .object([
                            ("rule", .string($0.ruleID)), ("reason", .string($0.reason)), ("field", .string($0.field)),
                        ])
                    })
            ))
        return e
    }
}
