import ArgumentParser
import Foundation
import StorageTesting
import Testing

@testable import AIBrainCLI

/// Help texts are API (style point 14): each command's `--help` is pinned in `fixtures/cli/help/`.
/// After an intended change: `AIBRAIN_UPDATE_FIXTURES=1 swift test --filter HelpTextTests`, and review the diff.
struct HelpTextTests {
    static let commands: [(String, ParsableCommand.Type)] = [
        ("aibrain", AIBrain.self), ("init", Init.self), ("emit", Emit.self), ("import-jsonl", ImportJSONL.self),
        ("replay", Replay.self), ("tail", Tail.self), ("export-jsonl", ExportJSONL.self), ("verify", Verify.self),
        ("dump", Dump.self), ("seal", Seal.self), ("stats", Stats.self), ("recover", Recover.self),
        ("queue", Queue.self), ("queue-ls", QueueList.self), ("queue-lease", QueueLease.self),
        ("queue-next", QueueNext.self), ("queue-fail", QueueFail.self), ("session", Session.self),
        ("session-handoff", SessionHandoff.self), ("session-fork", SessionFork.self), ("decisions", Decisions.self),
        ("ko", KnowledgeCommand.self), ("ko-rank", KORank.self), ("cost", CostCommand.self), ("rebuild", Rebuild.self),
        ("export-sqlite", ExportSQLite.self), ("ship", Ship.self), ("ship-push", ShipPush.self),
        ("ship-pull", ShipPull.self), ("ship-adopt", ShipAdopt.self), ("ship-status", ShipStatus.self),
        ("scan", Scan.self), ("keys", Keys.self), ("keys-show", KeysShow.self), ("keys-generate", KeysGenerate.self),
        ("keys-trust", KeysTrust.self), ("keys-list", KeysList.self), ("head", Head.self), ("prove", Prove.self),
        ("verify-proof", VerifyProof.self), ("keys-team", TeamKeysCommand.self),
        ("keys-stream-key", StreamKeysCommand.self),
        ("shred", ShredCommand.self), ("ko-add", KOAdd.self), ("ko-search", KOSearchCommand.self),
        ("ko-embed", KOEmbed.self), ("import-legacy", ImportLegacy.self), ("export-legacy", ExportLegacy.self),
    ]

    @Test(arguments: commands.map(\.0))
    func helpIsPinned(_ name: String) throws {
        let command = Self.commands.first { $0.0 == name }!.1
        let text = AIBrain.helpMessage(for: command, columns: 100) + "\n"
        let pinned = try pinnedFixture("cli/help/\(name).txt", current: text)
        #expect(text == pinned, "`aibrain \(name) --help` changed; see fixtures/cli/help/\(name).txt")
    }
}
