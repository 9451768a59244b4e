import Foundation
import StorageTesting
import Testing

@testable import EventLog
@testable import Shipping

/// Adoption (contract 8) on the real file system: every bad delivery is detected, reported precisely, and
/// nothing is adopted wrongly or lost.
@Suite struct AdoptionTests {
    let dir = temporaryDirectory()
    let fs = PosixFileSystem()

    func store(_ name: String, origin: OriginID = .random()) throws -> ShipStore {
        try ShipStore(root: dir + "/\(name)/.aibrain", fs: fs, origin: origin, name: name)
    }

    @Test func adoptsInOrderRaisesTheClockAndDuplicatesAreNoOps() throws {
        let a = try store("a")
        let b = try store("b")
        for i in 0..<3 { try a.emit(4, tag: "a\(i)") }
        try b.receive(from: a)
        let r = try b.adopter().run()
        #expect(r.count(.adopted) == 3 && r.adoptedEvents == 12 && !r.needsAttention, "\(r.arrivals)")
        #expect(try b.events(of: a.origin) == (try a.events(of: a.origin)))
        #expect(b.incomingNames(a.origin).isEmpty)
        #expect(try b.verifyClean())
        // CATALOG was written, so readers need not rebuild it from the seals.
        let reopened = try EventLog(root: b.root, fs: fs, options: OpenOptions(readOnly: true, origin: a.origin))
        #expect(!reopened.recoveryReport.actions.contains(.rebuiltCatalog))
        // The writer's next clock sorts after everything adopted (contract 6).
        let aLast = try #require(reopened.sealedCatalog.last?.lastHLC)
        #expect(AdoptedClock.read(fs, StorePaths(root: b.root)) == aLast)
        try b.emit(1, seal: false)
        let mine = try #require(try b.log.event(lsn: 1))
        #expect(mine.hlc > aLast)

        // The same files again: no-ops, removed from incoming/.
        try b.receive(from: a)
        let again = try b.adopter().run()
        #expect(again.count(.duplicate) == 3 && again.count(.adopted) == 0 && !again.needsAttention)
        #expect(b.incomingNames(a.origin).isEmpty)
        #expect(try b.events(of: a.origin).count == 12)
    }

    @Test func aForkIsQuarantinedWithBothHashesAndNeverOverwrites() throws {
        let a = try store("a")
        // A second store writing as the same origin (a copy that skipped `recover --new-epoch`).
        let twin = try store("twin", origin: a.origin)
        let b = try store("b")
        try a.emit(5, tag: "original")
        try a.emit(5, tag: "original")
        try twin.emit(5, tag: "twin")
        try twin.emit(5, tag: "twin")
        try b.receive(from: a, [try a.segments()[0]])
        #expect(try b.adopter().run().count(.adopted) == 1)
        let before = try b.events(of: a.origin)

        // Same name, different bytes: a fork at an adopted position.
        try b.receive(from: twin, [try twin.segments()[0]])
        let r1 = try b.adopter().run()
        let f1 = try #require(r1.arrivals.first)
        #expect(f1.outcome == .fork && r1.needsAttention)
        let originalSeal = hexString(
            try SealedSegment(fs: fs, path: a.root + "/log/\(a.origin.hex)/" + (try a.segments()[0])).sealHash)
        let twinSeal = hexString(
            try SealedSegment(fs: fs, path: twin.root + "/log/\(a.origin.hex)/" + (try twin.segments()[0])).sealHash)
        #expect(f1.adoptedSeal == originalSeal && f1.arrivedSeal == twinSeal)
        #expect(f1.detail.contains(originalSeal) && f1.detail.contains(twinSeal))
        let q = try #require(f1.quarantinedAs)
        #expect(fs.fileExists(b.root + "/" + q) && fs.fileExists(b.root + "/" + q + ".json"))
        let report =
            try JSONSerialization.jsonObject(with: Data(try fs.readFile(b.root + "/" + q + ".json"))) as? [String: Any]
        #expect(report?["kind"] as? String == "fork" && report?["adopted_seal"] as? String == originalSeal)

        // The next position, chained to the twin's seal, not to the adopted one: also a fork.
        try b.receive(from: twin, [try twin.segments()[1]])
        let r2 = try b.adopter().run()
        #expect(r2.arrivals.first?.outcome == .fork, "\(r2.arrivals)")
        #expect(r2.arrivals.first?.detail.contains("chains to seal") == true)
        #expect(try b.events(of: a.origin) == before)
        #expect(try b.verifyClean())

        // The true continuation is still adopted.
        try b.receive(from: a, [try a.segments()[1]])
        #expect(try b.adopter().run().count(.adopted) == 1)
        #expect(try b.events(of: a.origin).count == 10)
    }

    @Test func aBitFlippedInTransitIsCaughtWhereverItLands() throws {
        let a = try store("a")
        let b = try store("b")
        try a.emit(40, tag: "payload")
        let name = try a.segments()[0]
        let good = try a.segmentBytes(name)
        // Header, first block, middle, footer, seal trailer.
        let offsets = [20, 70, good.count / 2, good.count - 300, good.count - 30]
        for (i, off) in offsets.enumerated() {
            var bad = good
            bad[off] ^= 0x10
            try b.receive(bad, origin: a.origin, name: name)
            let r = try b.adopter().run()
            let arrival = try #require(r.arrivals.first)
            #expect(arrival.outcome == .corrupt, "offset \(off): \(arrival)")
            #expect(arrival.detail.contains("fails verification"), "\(arrival.detail)")
            #expect(arrival.quarantinedAs != nil)
            #expect(try b.events(of: a.origin).isEmpty, "flip \(i) adopted nothing")
            #expect(b.incomingNames(a.origin).isEmpty, "the bad copy left incoming/ for quarantine/")
        }
        // A good copy sent again is adopted.
        try b.receive(good, origin: a.origin, name: name)
        #expect(try b.adopter().run().count(.adopted) == 1)
        #expect(try b.verifyClean())

        // A truncated copy (a partial transfer under the final name, which rsync never makes) is also caught.
        try a.emit(3)
        let second = try a.segments()[1]
        try b.receive(Array(try a.segmentBytes(second).dropLast(100)), origin: a.origin, name: second)
        let r = try b.adopter().run()
        #expect(r.arrivals.first?.outcome == .corrupt)
    }

    @Test func aMissingMiddleSegmentWaitsThenEverythingIsAdopted() throws {
        let a = try store("a")
        let b = try store("b")
        for i in 0..<3 { try a.emit(3, tag: "s\(i)") }
        let s = try a.segments()
        try b.receive(from: a, [s[0], s[2]])
        let r = try b.adopter().run()
        #expect(r.count(.adopted) == 1 && r.count(.waiting) == 1 && !r.needsAttention)
        let w = try #require(r.arrivals.first { $0.outcome == .waiting })
        #expect(w.file == s[2] && w.detail.contains("LSNs 4–6"), "\(w.detail)")
        #expect(b.incomingNames(a.origin) == [s[2]])
        try b.receive(from: a, [s[1]])
        let r2 = try b.adopter().run()
        #expect(r2.count(.adopted) == 2)
        #expect(try b.events(of: a.origin).count == 9)
    }

    @Test func twoAdoptersAtOnceAdoptEachSegmentExactlyOnce() throws {
        let a = try store("a")
        let b = try store("b")
        for i in 0..<24 { try a.emit(2, tag: "c\(i)") }
        try b.receive(from: a)
        let results = LockedBox<[AdoptionReport]>([])
        let errors = LockedBox<[String]>([])
        let start = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<2 {
            Thread {
                start.wait()
                do {
                    let r = try b.adopter().run()
                    results.mutate { $0.append(r) }
                } catch {
                    errors.mutate { $0.append("\(error)") }
                }
                done.signal()
            }.start()
        }
        start.signal()
        start.signal()
        done.wait()
        done.wait()
        #expect(errors.value.isEmpty)
        let all = results.value
        #expect(all.count == 2)
        #expect(all.reduce(0) { $0 + $1.count(.adopted) } == 24)
        #expect(all.allSatisfy { !$0.needsAttention })
        #expect(try b.events(of: a.origin).count == 48)
        #expect(try b.verifyClean())

        // An adopter that cannot get the lock in time says who holds it and adopts nothing.
        let lockPath = b.root + "/incoming/LOCK"
        let fd = try fs.open(lockPath, .readWrite)
        defer { fs.close(fd) }
        #expect(try fs.lock(fd, nonBlocking: true))
        try fs.writeAll(fd, Array("4242           \n".utf8), at: 0)
        var quick = b.adopter()
        quick.lockTimeoutMilliseconds = 150
        #expect {
            _ = try quick.run()
        } throws: { e in
            guard let e = e as? ShipError else { return false }
            return e.code == .lockTimeout && e.message.contains("pid 4242")
        }
        fs.unlock(fd)
    }

    @Test func ownOriginAndMisplacedArrivals() throws {
        let a = try store("a")
        let twin = try store("twin", origin: a.origin)
        let other = try store("other")
        try a.emit(3)
        try twin.emit(3)
        try twin.emit(3)
        try other.emit(2)
        // Our own segment coming back from a peer: the same bytes, a no-op.
        try a.receive(from: a)
        #expect(try a.adopter().run().count(.duplicate) == 1)
        // A segment of our origin we did not write, past our head: never adopted.
        try a.receive(from: twin, [try twin.segments()[1]])
        let r = try a.adopter().run()
        #expect(r.arrivals.first?.outcome == .fork)
        #expect(r.arrivals.first?.detail.contains("this store's own origin") == true)
        // A segment delivered into another origin's folder.
        try a.receive(
            try other.segmentBytes((try other.segments())[0]), origin: OriginID.random(),
            name: (try other.segments())[0])
        let misplaced = try a.adopter().run()
        #expect(misplaced.arrivals.first?.outcome == .corrupt)
        #expect(misplaced.arrivals.first?.detail.contains("header names origin") == true)
        #expect(try a.verifyClean())
    }
}

extension AdoptionTests {
    @Test func staleRsyncTemporariesAreRemovedAndLiveOnesKept() throws {
        let a = try store("a")
        let b = try store("b")
        try a.emit(3)
        let name = try a.segments()[0]
        let dir = b.root + "/incoming/" + a.origin.hex
        try FileManager.default.createDirectory(atPath: dir + "/.rsync-partial", withIntermediateDirectories: true)
        // A killed rsync's temporaries: one two hours old, one being written now.
        let stale = dir + "/." + name + ".Ab12Cd"
        let live = dir + "/." + name + ".Xy34Zw"
        _ = FileManager.default.createFile(atPath: stale, contents: Data([1, 2, 3]))
        _ = FileManager.default.createFile(atPath: live, contents: Data([1, 2, 3]))
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: stale)
        try b.receive(from: a)
        let r = try b.adopter().run()
        #expect(r.count(.adopted) == 1 && r.removedTemporaries == 1 && r.partialTransfers == 1, "\(r)")
        #expect(!fs.fileExists(stale) && fs.fileExists(live))
        // A delayed update of a segment adopted meanwhile is garbage once no transfer touched it for an hour
        // (a running rsync may still rename a fresh one into place).
        let delayed = dir + "/.rsync-partial/" + name
        _ = FileManager.default.createFile(atPath: delayed, contents: Data(try a.segmentBytes(name)))
        #expect(try b.adopter().run().removedTemporaries == 0 && fs.fileExists(delayed))
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: delayed)
        let r2 = try b.adopter().run()
        #expect(r2.removedTemporaries == 1 && !fs.fileExists(delayed))
    }

    /// Contract 6: after an adoption the writer's clock sorts after the adopted events, but a peer whose clock
    /// runs far ahead moves it by at most the skew limit, and is flagged.
    @Test func theAdoptedClockFloorIsCappedAtTheSkewLimit() throws {
        let clockB = ManualClock()
        let clockA = ManualClock(clockB.now + 30_000)  // 30 s ahead: within the limit
        let clockC = ManualClock(clockB.now + 3_600_000)  // an hour ahead: beyond it
        let a = try ShipStore(root: dir + "/a/.aibrain", fs: fs, clock: clockA)
        let c = try ShipStore(root: dir + "/c/.aibrain", fs: fs, clock: clockC)
        let b = try ShipStore(root: dir + "/b/.aibrain", fs: fs, clock: clockB)
        try a.emit(2)
        try b.receive(from: a)
        var adopter = b.adopter()
        adopter.clock = clockB.function
        #expect(try adopter.run().clockAhead.isEmpty)
        try b.emit(1, seal: false)
        let aLast = try #require(try a.log.event(lsn: 2)).hlc
        let first = try #require(try b.log.event(lsn: 1))
        #expect(first.hlc > aLast, "sorts after the adopted events although B's own clock is 30 s behind")
        #expect(first.recordedAt == clockB.now, "recorded_at stays the writer's clock")

        try c.emit(2)
        try b.receive(from: c)
        let r = try adopter.run()
        #expect(r.clockAhead.map(\.origin) == [c.origin.hex], "flagged")
        try b.emit(1, seal: false)
        let second = try #require(try b.log.event(lsn: 2))
        #expect(HLC.milliseconds(second.hlc) <= clockB.now + AdoptedClock.maxSkewMilliseconds + 1, "capped")
        #expect(second.hlc < (try #require(try c.log.event(lsn: 2)).hlc))
    }

    @Test func aRejectedArrivalNeverMovesTheClockAndStaleCatalogsAreRewritten() throws {
        let a = try store("a")
        let b = try store("b")
        try a.emit(2)
        try b.receive(from: a)
        #expect(try b.adopter().run().count(.adopted) == 1)
        let paths = StorePaths(root: b.root)
        let floor = AdoptedClock.read(fs, paths)
        // A twin of A's origin with a clock an hour ahead: its continuation is a fork, and moves nothing.
        let twin = try ShipStore(
            root: dir + "/twin/.aibrain", fs: fs, origin: a.origin,
            clock: ManualClock(OpenOptions.wallClockMilliseconds() + 3_600_000))
        try twin.emit(2)
        try twin.emit(2)
        try b.receive(from: twin, [try twin.segments()[1]])
        let r = try b.adopter().run()
        #expect(r.arrivals.first?.outcome == .fork && r.clockAhead.isEmpty)
        #expect(AdoptedClock.read(fs, paths) == floor, "a rejected segment never raises the floor")
        // A folder that only looks like an origin (upper case) is reported, never read.
        try fs.makeDirectories(b.root + "/incoming/" + a.origin.hex.uppercased())
        let upper = try b.adopter().run()
        #expect(upper.arrivals.contains { $0.outcome == .ignored && $0.detail.contains("not an origin folder name") })
        // A stale CATALOG of an adopted origin is rewritten even when nothing arrives for it.
        try fs.unlink(b.root + "/log/\(a.origin.hex)/CATALOG")
        #expect(try b.adopter().run().errors.isEmpty)
        let reopened = try EventLog(root: b.root, fs: fs, options: OpenOptions(readOnly: true, origin: a.origin))
        #expect(!reopened.recoveryReport.actions.contains(.rebuiltCatalog))
    }

    @Test func aNonCanonicalNameIsNeverLinked() throws {
        let a = try store("a")
        let b = try store("b")
        try a.emit(2)
        let name = try a.segments()[0]
        try b.receive(try a.segmentBytes(name), origin: a.origin, name: "+" + name.dropFirst())
        let r = try b.adopter().run()
        #expect(r.arrivals.first?.outcome == .corrupt && r.arrivals.first?.detail.contains("canonical") == true)
        #expect(try b.events(of: a.origin).isEmpty)
        try b.receive(from: a)
        #expect(try b.adopter().run().count(.adopted) == 1)
    }
}

/// The crash model: a power cut at every step of an adoption leaves no partial adoption, and the next run
/// finishes the job.
@Suite struct AdoptionCrashTests {
    @Test func aPowerCutAtAnyPointOfAdoptionLeavesNoPartialAdoption() throws {
        let fs = SimulatedFileSystem(seed: 5)
        let clock = ManualClock()
        let a = try ShipStore(root: "/a/.aibrain", fs: fs, clock: clock)
        for i in 0..<4 {
            try a.emit(3, tag: "k\(i)")
            clock.advance(10)
        }
        let names = try a.segments()
        let truth = try a.events(of: a.origin)
        var hits = 0
        for point in 0..<60 {
            let b = try ShipStore(root: "/b\(point)/.aibrain", fs: fs, clock: clock)
            try b.receive(from: a)
            fs.armCrash(afterOperations: point)
            if (try? b.adopter().run()) == nil || fs.isCrashed { hits += 1 }
            fs.crash()
            fs.crashAfterOperations = nil
            // After the cut: whatever is in log/ verifies and is a prefix of the origin's history.
            let seen = try b.events(of: a.origin)
            #expect(seen == Array(truth.prefix(seen.count)), "point \(point)")
            #expect(try b.verifyClean(), "point \(point)")
            // Every delivery is still somewhere: adopted, or in incoming/ (claimed or not). Nothing is lost.
            for n in names {
                let held = [
                    "/log/\(a.origin.hex)/", "/incoming/\(a.origin.hex)/", "/incoming/\(a.origin.hex)/.claimed/",
                ]
                #expect(held.contains { fs.exists(b.root + $0 + n) }, "point \(point): \(n) lost")
            }
            // The next run finishes the job, and leaves CATALOG and the clock floor current.
            let r = try b.adopter().run()
            #expect(!r.needsAttention, "point \(point): \(r.arrivals)")
            #expect(try b.events(of: a.origin) == truth, "point \(point)")
            #expect(b.incomingNames(a.origin).isEmpty, "point \(point)")
            let reopened = try EventLog(root: b.root, fs: fs, options: OpenOptions(readOnly: true, origin: a.origin))
            #expect(!reopened.recoveryReport.actions.contains(.rebuiltCatalog), "point \(point): CATALOG stale")
            #expect(
                AdoptedClock.read(fs, StorePaths(root: b.root)) == reopened.sealedCatalog.last?.lastHLC,
                "point \(point)")
        }
        #expect(hits > 20, "the crash points hit the adoption")
    }
}

/// A value shared between test threads.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ v: T) { stored = v }
    var value: T {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
    func mutate(_ body: (inout T) throws -> Void) rethrows {
        lock.lock()
        defer { lock.unlock() }
        try body(&stored)
    }
}

extension FileSystem {
    func fileExists(_ path: String) -> Bool { (try? stat(path)) != nil }
}
