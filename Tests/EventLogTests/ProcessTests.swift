import Foundation
import StorageTesting
import Testing

@testable import EventLog

/// Real processes on the real file system: SIGKILL at random points, and concurrent writers.
/// Run serialized (`make test` runs this suite on its own with --no-parallel).
@Suite(.serialized) struct ProcessTests {
    static var tool: String {
        let path = packageRoot + "/.build/debug/aibrain-storage"
        if !FileManager.default.isExecutableFile(atPath: path) {
            Issue.record("\(path) is missing: run `swift build` first (make test does)")
        }
        return path
    }

    func launch(_ args: [String], output: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.tool)
        p.arguments = args
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func acks(_ output: String) throws -> [(id: String, lsn: UInt64)] {
        let text = try String(contentsOfFile: output, encoding: .utf8)
        // Only complete lines count: a line cut by the kill was never fully reported.
        return text.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
            guard text.contains(line + "\n") else { return nil }
            let f = line.split(separator: " ")
            guard f.count == 3, f[0] == "ack", let l = UInt64(f[2]) else { return nil }
            return (String(f[1]), l)
        }
    }

    @Test func killMinus9LoopLosesNoAcknowledgedEvent() throws {
        let dir = temporaryDirectory()
        let store = dir + "/.aibrain"
        try EventLog.create(at: store, name: "kill")
        var acknowledged: [String: UInt64] = [:]
        var rng = SystemRandomNumberGenerator()
        let iterations = Int(ProcessInfo.processInfo.environment["AIBRAIN_KILL_ITERATIONS"] ?? "") ?? 50
        var totalAcks = 0
        for it in 0..<iterations {
            let out = dir + "/out-\(it).txt"
            let p = try launch(
                [
                    "append-loop", "--store", store, "--count", "100000", "--prefix", "k\(it)", "--batch",
                    "\(1 + it % 3)",
                    "--roll-bytes", "30000", "--payload-bytes", "300",
                ], output: out)
            usleep(UInt32.random(in: 20_000...150_000, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            #expect(
                p.terminationReason == .uncaughtSignal,
                "iteration \(it): the child exited on its own: \(p.terminationStatus)")
            for a in try acks(out) {
                #expect(acknowledged[a.id] == nil || acknowledged[a.id] == a.lsn)
                acknowledged[a.id] = a.lsn
                totalAcks += 1
            }
            // Recovery in this process, then the oracles.
            let log = try EventLog(root: store)
            let events = try allEvents(log)
            let ids = events.map(\.eventID)
            #expect(Set(ids).count == ids.count, "iteration \(it): duplicates")
            #expect(
                events.map(\.lsn) == Array(stride(from: UInt64(1), through: UInt64(events.count), by: 1)),
                "iteration \(it): gap")
            let byID = Dictionary(uniqueKeysWithValues: events.map { ($0.eventID, $0.lsn) })
            let lost = acknowledged.filter { byID[$0.key] != $0.value }
            #expect(lost.isEmpty, "iteration \(it): acknowledged events lost or moved: \(lost.prefix(5))")
            #expect(ids.allSatisfy { $0.hasPrefix("k") }, "phantom events")
        }
        let report = try StoreVerifier.verify(root: store)
        #expect(report.ok, "\(report.problems)")
        print(
            "kill -9 loop: \(iterations) kills, \(totalAcks) acknowledged events, 0 lost, 0 duplicated; \(report.origins.first?.sealedSegments ?? 0) sealed segments"
        )
    }

    @Test func fourProcessesAppendingAtOnceStayGapFreeAndOrdered() throws {
        let dir = temporaryDirectory()
        let store = dir + "/.aibrain"
        try EventLog.create(at: store, name: "multi")
        let n = 2000
        let procs = try (0..<4).map { k in
            try launch(
                ["append-loop", "--store", store, "--count", "\(n)", "--prefix", "p\(k)", "--payload-bytes", "100"],
                output: dir + "/p\(k).txt")
        }
        for p in procs {
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
        let log = try EventLog(root: store)
        let events = try allEvents(log)
        #expect(events.count == 4 * n)
        #expect(events.map(\.lsn) == Array(1...UInt64(4 * n)))
        for k in 0..<4 {
            let mine = events.filter { $0.eventID.hasPrefix("p\(k)-") }.map(\.eventID)
            #expect(mine == (0..<n).map { "p\(k)-\($0)-0" }, "process \(k) order")
            let reported = try acks(dir + "/p\(k).txt")
            #expect(reported.count == n)
            #expect(reported.allSatisfy { a in events[Int(a.lsn) - 1].eventID == a.id }, "acknowledged LSNs match")
        }
        #expect(try StoreVerifier.verify(root: store).ok)
    }
}
