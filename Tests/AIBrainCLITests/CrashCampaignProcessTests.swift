import Foundation
import StorageTesting
import Testing

/// The short version of `make crash-campaign` (Tests/Campaigns/crash_campaign.py): concurrent writers, a tail
/// and a shipper killed with SIGKILL at random, then the fsync-failure run under the LD_PRELOAD shim. The long
/// runs and their figures are in RELIABILITY.md.
@Suite(.serialized) struct CrashCampaignProcessTests {
    static let campaign = packageRoot + "/Tests/Campaigns/crash_campaign.py"

    /// Runs a program to completion; stdout and stderr go to one file (no pipe to drain).
    static func run(_ tool: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let log = NSTemporaryDirectory() + "aibrain-campaign-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: log) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: try Data(contentsOf: URL(fileURLWithPath: log)), as: UTF8.self))
    }

    @Test func killNineCampaignLosesAndDuplicatesNothing() throws {
        let python = try requireTool("python3")
        let (status, output) = try Self.run(
            python, [Self.campaign, "--aibrain", aibrainBinary, "--seconds", "10", "--seed", "7"])
        print(output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(status == 0, "\(output)")
        #expect(output.contains("0 lost, 0 duplicated, 0 phantom"))
    }

    @Test func fsyncFailuresAreNeverAcknowledged() throws {
        let python = try requireTool("python3")
        let cc = try (try? requireTool("cc")) ?? requireTool("clang")
        let shim = NSTemporaryDirectory() + "aibrain-fsyncfail-\(UUID().uuidString).so"
        defer { try? FileManager.default.removeItem(atPath: shim) }
        let built = try Self.run(
            cc, ["-shared", "-fPIC", "-O2", "-o", shim, packageRoot + "/Tests/Campaigns/fsyncfail.c", "-ldl"])
        try #require(built.status == 0, "cannot build the LD_PRELOAD shim: \(built.output)")
        let (status, output) = try Self.run(
            python,
            [
                Self.campaign, "--aibrain", aibrainBinary, "--mode", "fsync", "--shim", shim, "--seconds", "6",
                "--seed", "7",
            ])
        print(output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(status == 0, "\(output)")
        #expect(output.contains(" 0 acknowledgements after a failed fsync"))
        #expect(!output.contains(" 0 injected"), "the shim injected no fault")
    }
}
