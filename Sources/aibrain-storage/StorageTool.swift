import ArgumentParser
import EventLog
import Foundation

/// `aibrain-storage`: the storage engine's crash-test driver. Everything a user does with a store is
/// `aibrain` (init, emit, import, verify, dump, seal, stats, recover); this tool only appends in a loop and
/// reports each acknowledgement, for the tests that kill it with SIGKILL or run it in several processes.
@main
struct StorageTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aibrain-storage",
        abstract: "The storage engine's crash-test driver (use `aibrain` for stores).",
        subcommands: [AppendLoop.self])
}

struct StoreOption: ParsableArguments {
    @Option(name: .long, help: "The store directory (.aibrain).")
    var store: String = ".aibrain"
}

func printLine(_ s: String) {
    print(s)
    fflush(nil)
}

/// Errors become `Error: …` on stderr with the exit code of the architecture's table.
func exitCode(for e: EventLogError) -> ExitCode {
    switch e.code {
    case .corruption: return ExitCode(5)
    case .preconditionFailed: return ExitCode(3)
    default: return ExitCode(1)
    }
}

func run<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as EventLogError {
        FileHandle.standardError.write(Data("Error: \(e)\n".utf8))
        throw exitCode(for: e)
    }
}

/// Test helper for crash loops: appends events one at a time (or in small batches) and prints
/// `ack <event-id> <lsn>` after each append returned, flushing stdout, so a parent that kills this
/// process with SIGKILL knows exactly which events were acknowledged.
struct AppendLoop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-loop", abstract: "Append events and print each acknowledgement (tests).")
    @OptionGroup var options: StoreOption
    @Option(help: "Number of appends.") var count: Int = 1000
    @Option(help: "Event id prefix.") var prefix: String = "e"
    @Option(help: "Events per append.") var batch: Int = 1
    @Option(help: "Payload bytes per event.") var payloadBytes: Int = 200
    @Option(help: "Roll size in bytes (small values exercise roll and seal).") var rollBytes: Int = 16 << 20
    func run() throws {
        try aibrain_storage.run {
            var p = StoreConfig.Policies()
            p.rollBytes = rollBytes
            let log = try EventLog(root: options.store, options: OpenOptions(policies: p))
            let filler = String(repeating: "x", count: payloadBytes)
            for i in 0..<count {
                let drafts = (0..<batch).map { k in
                    EventDraft(
                        eventID: "\(prefix)-\(i)-\(k)", type: "test.appended", stream: "task/\(prefix)",
                        payload: Array("{\"i\":\(i),\"k\":\(k),\"fill\":\"\(filler)\"}".utf8))
                }
                let r = try log.append(drafts)
                for a in r.events { printLine("ack \(a.eventID) \(a.lsn)") }
            }
        }
    }
}
