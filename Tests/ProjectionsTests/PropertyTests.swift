import BrainEvents
import Foundation
import StorageTesting
import Testing

@testable import EventLog
@testable import Projections

/// Contract 6 and 7 as properties: the same events, arriving in any order across three origins, give
/// byte-identical snapshots, and folding incrementally (through saved snapshots) equals folding from scratch.
@Suite struct PropertyTests {
    /// Three origins writing interleaved agent work on a shared clock, each sealing now and then.
    static func world(seed: UInt64) throws -> (fs: SimulatedFileSystem, stores: [TestStore]) {
        let fs = SimulatedFileSystem(seed: seed)
        let clock = ManualClock()
        let stores = try ["orchestrator", "credentialmate", "karematch"].map { try TestStore($0, fs: fs, clock: clock) }
        var rng = SplitMix64(seed: seed)
        var itemsOf: [[String]] = [[], [], []]
        for n in 0..<360 {
            let k = Int(rng.next() % 3)
            let s = stores[k]
            clock.advance(Int64(rng.next() % 3))  // equal milliseconds happen: the HLC counter breaks ties
            let task = "T-\(rng.next() % 12)"
            switch rng.next() % 8 {
            case 0, 1:
                try s.raw([
                    s.draft(
                        "session.checkpointed", task: task,
                        #"{"iteration":\#(n),"verdict":"\#(["PASS", "FAIL", "PARTIAL"][Int(rng.next() % 3)])","summary":"step \#(n)","state":{"n":\#(n)}}"#
                    )
                ])
            case 2:
                let id = "WI-\(k)-\(n)"
                itemsOf[k].append(id)
                try s.emit("work_item.enqueued", task: task, #"{"work_item_id":"\#(id)","team":"dev"}"#)
            case 3:
                if let id = itemsOf[k].randomElement(using: &rng) {
                    try s.emit(
                        "work_item.leased", task: task, #"{"work_item_id":"\#(id)","lease_id":"L\#(n)","ttl_ms":5}"#)
                }
            case 4:
                if let id = itemsOf[k].randomElement(using: &rng) {
                    try s.emit("work_item.completed", task: task, #"{"work_item_id":"\#(id)"}"#)
                }
            case 5:
                try s.raw([
                    s.draft(
                        "decision.recorded", task: task,
                        #"{"kind":"APPROACH","value":"v\#(n)","cost":{"tokens_in":\#(n),"tokens_out":1,"usd":0.001}}"#)
                ])
            case 6:
                try s.raw([s.draft("ko.consulted", task: task, #"{"ko_id":"KO-\#(rng.next() % 5)"}"#)])
            default:
                try s.raw([s.draft("task.outcome", task: task, #"{"success":\#(rng.next() % 2 == 0)}"#)])
            }
            // The same event id on two origins (a relayed re-emit): the first in merged order is kept.
            if n % 97 == 0 {
                try s.raw([
                    s.draft(
                        "decision.recorded", task: "T-dup", id: "shared-\(n / 97)",
                        #"{"kind":"APPROACH","value":"dup"}"#)
                ])
                try stores[(k + 1) % 3].raw([
                    stores[(k + 1) % 3].draft(
                        "decision.recorded", task: "T-dup", id: "shared-\(n / 97)",
                        #"{"kind":"APPROACH","value":"dup"}"#)
                ])
            }
            if rng.next() % 40 == 0 { try s.log.seal() }
        }
        for s in stores { try s.log.seal() }
        return (fs, stores)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func anyArrivalOrderGivesTheSameSnapshots(seed: UInt64) throws {
        let (_, stores) = try Self.world(seed: seed)
        var results: [[String: [UInt8]]] = []
        for target in 0..<3 {
            let me = stores[target]
            var arrivals: [(Int, String)] = []
            for (k, s) in stores.enumerated() where k != target {
                arrivals += try s.sealedSegments().map { (k, $0) }
            }
            // A random interleaving that keeps each origin's segments in order (adoption needs continuity).
            var rng = SplitMix64(seed: seed &* 31 &+ UInt64(target))
            var queues = Dictionary(grouping: arrivals, by: { $0.0 }).mapValues { $0.map(\.1) }
            _ = try me.incremental()
            while !queues.isEmpty {
                let keys = queues.keys.sorted()
                let k = keys[Int(rng.next() % UInt64(keys.count))]
                let name = queues[k]!.removeFirst()
                if queues[k]!.isEmpty { queues[k] = nil }
                try me.adopt(name, from: stores[k])
                if rng.next() % 2 == 0 { _ = try me.incremental() }  // fold between some arrivals
            }
            let (inc, _) = try me.incremental()
            let fresh = try me.rebuild()
            #expect(snapshotBytes(inc) == snapshotBytes(fresh), "incremental == rebuild (store \(target))")
            #expect(fresh.duplicates == 4, "shared ids kept once")
            results.append(snapshotBytes(fresh))
        }
        #expect(results[0] == results[1] && results[1] == results[2], "byte-identical in all three stores")
        // And a projection is a pure function of the log: folding twice gives the same bytes.
        #expect(snapshotBytes(try stores[0].rebuild()) == results[0])
    }

    /// A damaged or stale snapshot is never trusted: it is rebuilt, and the reason is given.
    @Test func damagedOrStaleSnapshotsAreRebuilt() throws {
        let (fs, stores) = try Self.world(seed: 5)
        let s = stores[0]
        let (good, _) = try s.incremental()
        let path = s.root + "/projections/queue.snap"
        var bytes = try fs.readFile(path)
        bytes[bytes.count / 2] ^= 0x40
        try fs.writeFileAtomically(path, bytes)
        let (e, outcome) = try s.incremental()
        #expect(outcome.rebuiltBecause?.contains("checksum") == true, "\(outcome)")
        #expect(snapshotBytes(e) == snapshotBytes(good))
        // A snapshot file from another point of the log.
        let older = try fs.readFile(s.root + "/projections/cost.snap")
        try s.raw([s.draft("decision.recorded", task: "T-1", #"{"kind":"APPROACH","value":"more"}"#)])
        _ = try s.incremental()
        try fs.writeFileAtomically(s.root + "/projections/cost.snap", older)
        let (_, o2) = try s.incremental()
        #expect(o2.rebuiltBecause?.contains("another point") == true, "\(o2)")
    }

    /// The crash model: a power cut at every point of a snapshot save never yields a wrong view.
    @Test func aCrashDuringSnapshotWritingNeverYieldsAWrongView() throws {
        let fs = SimulatedFileSystem(seed: 11)
        let clock = ManualClock()
        let s = try TestStore("crash", fs: fs, clock: clock)
        for n in 0..<60 {
            try s.raw([
                s.draft("session.checkpointed", task: "T-\(n % 4)", #"{"iteration":\#(n),"verdict":"PASS"}"#),
                s.draft("decision.recorded", task: "T-\(n % 4)", #"{"kind":"APPROACH","value":"v\#(n)"}"#),
            ])
        }
        _ = try s.incremental()
        let dir = s.root + "/projections"
        let older = try fs.listDirectory(dir).map { ($0, try fs.readFile(dir + "/" + $0)) }
        try s.raw([s.draft("decision.recorded", task: "T-9", #"{"kind":"APPROACH","value":"after"}"#)])
        let truth = snapshotBytes(try s.rebuild())
        var crashes = 0
        for point in 0..<40 {
            // The older snapshots come back each time, so every crash point interrupts the same save.
            for (name, bytes) in older { try fs.writeFileAtomically(dir + "/" + name, bytes) }
            fs.armCrash(afterOperations: point)
            // A save that fails is reported (the view is still right), not thrown.
            let outcome = try? s.incremental().1
            if fs.isCrashed || outcome?.saveError != nil { crashes += 1 }
            fs.crash()
            fs.crashAfterOperations = nil
            let (after, _) = try s.incremental()
            #expect(snapshotBytes(after) == truth, "crash point \(point)")
        }
        #expect(crashes > 5, "the crash points hit the save")
    }
}
