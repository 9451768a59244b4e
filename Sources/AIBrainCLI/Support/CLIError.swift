import ArgumentParser
import BrainEvents
import EventLog

#if canImport(Glibc)
    import Glibc
#endif

/// Exit codes of ARCHITECTURE.md's command-line table. 64 (usage) comes from swift-argument-parser.
public enum ExitStatus: Int32, Sendable {
    case ok = 0
    case error = 1
    /// Expected version or another precondition does not hold.
    case conflict = 3
    /// Rejected by policy (PII gate, governance rules).
    case policy = 4
    /// `verify` (or a read) found corruption.
    case corruption = 5
    case usage = 64
}

/// The one error a command reports: a message naming file/line/field, what the user can do, and the exit
/// status. `code` is the stable machine-readable cause (`-o json` prints it).
public struct CLIError: Error, Sendable, CustomStringConvertible {
    public var status: ExitStatus
    public var code: String
    public var message: String
    public var hint: String?
    /// Extra machine-readable members for `-o json` (e.g. `current_version`).
    public var details: [(String, JSONOut)] = []
    /// The command's `-o json` document already says what failed (verify's report): no second object.
    public var reportedOnStdout = false

    public init(_ status: ExitStatus, code: String, _ message: String, hint: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
    }

    public var description: String { message + (hint.map { ". \($0)" } ?? "") }

    /// Maps the engine's error to its exit status (ARCHITECTURE.md: 3 conflict, 5 corruption, else 1).
    public init(_ e: EventLogError) {
        let status: ExitStatus
        switch e.code {
        case .corruption: status = .corruption
        case .preconditionFailed, .copiedStore: status = .conflict
        default: status = .error
        }
        self.init(status, code: e.code.rawValue, e.summary, hint: e.hint)
    }

    static func usage(_ message: String, hint: String? = nil) -> CLIError {
        CLIError(.usage, code: "usage", message, hint: hint)
    }

    /// A failed read of stdin, with the system's reason (nothing was appended from the failed read on).
    static func stdin(_ doing: String) -> CLIError {
        CLIError(
            .error, code: "io", "\(doing) failed: \(String(cString: strerror(errno)))",
            hint: "what was acknowledged before stays durable; send the rest again (event ids make repeats harmless)")
    }

    static func invalid(_ message: String, hint: String? = nil) -> CLIError {
        CLIError(.error, code: EventLogError.Code.invalidInput.rawValue, message, hint: hint)
    }

    static func pii(_ finding: PIIFinding, line: Int?) -> CLIError {
        var e = CLIError(
            .policy, code: "pii-rejected",
            "\(line.map { "line \($0): " } ?? "")\(finding): rejected by the PII gate; nothing was appended",
            hint: "remove or tokenize the value (the log is an audit trail and keeps everything forever)")
        e.details = [("field", .string(finding.field)), ("detector", .string(finding.detector))]
        if let line { e.details.append(("line", .int(Int64(line)))) }
        return e
    }
}

/// Runs a command body: errors go to stderr as `aibrain: error: …` (and, with `json`, as an error object
/// on stdout for scripts), then the process exits with the error's status.
func runReporting(json: Bool = false, _ body: () throws -> Void) throws {
    do {
        try body()
        try Output.stdout.flush()
    } catch let e as CLIError {
        report(e, json: json)
    } catch let e as EventLogError {
        report(CLIError(e), json: json)
    } catch let e as OutputClosed {
        _ = e
        throw ExitCode(0)
    }
}

func report(_ e: CLIError, json: Bool) -> Never {
    try? Output.stdout.flush()
    if json && !e.reportedOnStdout {
        var members: [(String, JSONOut)] = [
            ("code", .string(e.code)), ("message", .string(e.message)), ("exit", .int(Int64(e.status.rawValue))),
        ]
        if let hint = e.hint { members.append(("hint", .string(hint))) }
        members += e.details
        try? Output.stdout.line(JSONOut.object([("error", .object(members))]).text)
        try? Output.stdout.flush()
    }
    Output.stderr("aibrain: error: \(e.message)")
    if let hint = e.hint { Output.stderr("hint: \(hint)") }
    exit(e.status.rawValue)
}
