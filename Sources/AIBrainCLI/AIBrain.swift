import ArgumentParser
import EventLog
import Foundation
import Trust

#if canImport(Glibc)
    import Glibc
#endif

/// `aibrain`: the command line over the event log. A tree of small commands (style point 14); each one
/// parses, calls the libraries and prints. Help texts and `-o json` shapes are API, pinned by tests.
public struct AIBrain: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "aibrain",
        abstract: "The memory and audit trail of AI coding agents: an append-only, checksummed event log.",
        discussion: """
            The store is the nearest .aibrain directory (walking up from here, like git), or --store / \
            $AIBRAIN_STORE. Every event is durable (fdatasync) before a command reports it.

            Exit codes: 0 ok, 1 error, 3 conflict (expected version or precondition), 4 rejected by policy \
            (PII gate, governance), 5 corruption or tampering found, 64 usage.
            """,
        version: "aibrain \(AIBrain.version) (store format 1)",
        subcommands: [
            Init.self, Emit.self, ImportCommand.self, Replay.self, Tail.self, Export.self, Verify.self, Dump.self,
            Seal.self, Stats.self, Recover.self, Queue.self, Session.self, Decisions.self, KnowledgeCommand.self,
            CostCommand.self, Rebuild.self, Ship.self, Scan.self, Keys.self, Head.self, Prove.self, VerifyProof.self,
            ShredCommand.self,
        ])

    /// The release, as handoff files name their generator.
    public static let version = "0.6.0"

    public init() {}

    /// The entry point of the `aibrain` executable.
    public static func start() {
        // A closed pipe must come back as EPIPE from write (handled: tail saves its cursor), not kill us.
        Output.ignoreSIGPIPE()
        // Every store this process opens reads and writes with its team keyring (encryption at rest).
        TeamCipher.registerAsDefault()
        main()
    }
}

/// `-o text|json` for commands whose output is a report.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// The `-o` option of every report command (one declaration, one help text).
struct ReportOutput: ParsableArguments {
    @Option(name: [.short, .customLong("output")], help: "Output format: text or json.")
    var output: ReportFormat = .text

    var json: Bool { output == .json }
}

/// Encodes a Codable report as one line of JSON with sorted keys (its shape is pinned by tests).
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    e.keyEncodingStrategy = .convertToSnakeCase
    return String(decoding: try e.encode(value), as: UTF8.self)
}
