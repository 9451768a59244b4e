import EventLog
import StorageTesting
import Testing

/// The crash model is the oracle every durability test trusts, so its own rules are pinned here: each test
/// would fail if the model were too kind (never loses unsynced data) or too cruel (loses synced data).
@Suite struct SimulatedFileSystemTests {
    static let payload = Array("hello, crash model".utf8)
    static let seeds: Range<UInt64> = 0..<200

    // MARK: - File data across a crash

    @Test func unsyncedWriteIsLostKeptOrTornDependingOnSeed() throws {
        var outcomes: Set<[UInt8]> = []
        for seed in Self.seeds {
            let fs = SimulatedFileSystem(seed: seed)
            try createDurably(fs, "/log", [])
            let fd = try fs.open("/log", .readWrite)
            try fs.writeAll(fd, Self.payload, at: 0)
            #expect(fs.contents(of: "/log") == Self.payload)
            #expect(fs.durableContents(of: "/log") == [])
            fs.crash()
            let after = try #require(fs.contents(of: "/log"), "seed \(seed): durable file vanished")
            #expect(Self.payload.starts(with: after), "seed \(seed): \(after) is not a prefix of the write")
            outcomes.insert(after)
        }
        #expect(outcomes.contains([]), "some seed must drop the unsynced write")
        #expect(outcomes.contains(Self.payload), "some seed must keep the unsynced write")
        #expect(outcomes.count > 2, "some seed must tear the unsynced write")
    }

    @Test func syncedWriteAlwaysSurvives() throws {
        for seed in Self.seeds {
            let fs = SimulatedFileSystem(seed: seed)
            try fs.makeDirectories("/data")
            try createDurably(fs, "/data/segment", Self.payload)
            // Unsynced noise around it: an append to the same file and a new file.
            let fd = try fs.open("/data/segment", .readWrite)
            try fs.writeAll(fd, [1, 2, 3], at: Int64(Self.payload.count))
            let other = try fs.open("/data/other", .createExclusive(permissions: 0o644))
            try fs.writeAll(other, Self.payload, at: 0)
            fs.crash()
            let after = try #require(fs.contents(of: "/data/segment"), "seed \(seed)")
            #expect(after.starts(with: Self.payload), "seed \(seed): synced bytes damaged: \(after)")
            #expect(after.count <= Self.payload.count + 3)
        }
    }

    @Test func unsyncedTruncationHappensOrNot() throws {
        var outcomes: Set<[UInt8]> = []
        for seed in Self.seeds {
            let fs = SimulatedFileSystem(seed: seed)
            try createDurably(fs, "/log", Self.payload)
            let fd = try fs.open("/log", .readWrite)
            try fs.truncate(fd, to: 5)
            #expect(try fs.size(fd) == 5)
            fs.crash()
            let after = try #require(fs.contents(of: "/log"))
            #expect(after == Self.payload || after == Array(Self.payload.prefix(5)), "seed \(seed): \(after)")
            outcomes.insert(after)
        }
        #expect(outcomes.count == 2)
    }

    @Test func writeBeyondLostEarlierWriteLeavesZeros() throws {
        // Independent survival of writes is the reordering a log must survive: a later write lands while an
        // earlier one is lost, leaving a hole of zeros.
        var sawHole = false
        for seed in Self.seeds {
            let fs = SimulatedFileSystem(seed: seed)
            try createDurably(fs, "/log", [])
            let fd = try fs.open("/log", .readWrite)
            try fs.writeAll(fd, [1, 1, 1, 1], at: 0)
            try fs.writeAll(fd, [2, 2, 2, 2], at: 4)
            fs.crash()
            if fs.contents(of: "/log") == [0, 0, 0, 0, 2, 2, 2, 2] { sawHole = true }
        }
        #expect(sawHole)
    }

    // MARK: - Directory entries across a crash

    @Test func newFileWithoutDirectoryFsyncCanVanish() throws {
        var vanished = 0
        var survived = 0
        for seed in Self.seeds {
            let fs = SimulatedFileSystem(seed: seed)
            let fd = try fs.open("/new", .createExclusive(permissions: 0o644))
            try fs.writeAll(fd, Self.payload, at: 0)
            try fs.fsync(fd)
            fs.close(fd)
            fs.crash()
            if let after = fs.contents(of: "/new") {
                #expect(after == Self.payload, "seed \(seed)")
                survived += 1
            } else {
                vanished += 1
            }
        }
        #expect(vanished > 0, "a file whose directory was never fsynced must be able to vanish")
        #expect(survived > 0)
    }

    @Test func newFileWithDirectoryFsyncAlwaysSurvives() throws {
        for seed in Self.seeds {
            let fs = SimulatedFileSystem(seed: seed)
            try fs.makeDirectories("/a/b")
            try createDurably(fs, "/a/b/new", Self.payload)
            fs.crash()
            #expect(fs.contents(of: "/a/b/new") == Self.payload, "seed \(seed)")
            #expect(try fs.listDirectory("/a/b") == ["new"])
        }
    }

    @Test func directoryCreatedWithoutParentFsyncCanVanishWithItsFiles() throws {
        var vanished = false
        for seed in Self.seeds {
            let fs = SimulatedFileSystem(seed: seed)
            try fs.makeDirectory("/dir")  // "/" never fsynced
            try createDurably(fs, "/dir/file", Self.payload)  // fsyncs the file and /dir
            fs.crash()
            if !fs.exists("/dir") {
                vanished = true
                #expect(!fs.exists("/dir/file"))
            } else {
                #expect(fs.contents(of: "/dir/file") == Self.payload)
            }
        }
        #expect(vanished)
    }

    @Test func renameWithoutDirectoryFsyncMayRevert() throws {
        let old = Array("old".utf8)
        var outcomes: Set<[UInt8]> = []
        for seed in Self.seeds {
            let fs = SimulatedFileSystem(seed: seed)
            try fs.writeFileAtomically("/config", old)
            // writeFileAtomically without its final directory fsync.
            let fd = try fs.open("/config.tmp", .createExclusive(permissions: 0o644))
            try fs.writeAll(fd, Self.payload, at: 0)
            try fs.fsync(fd)
            fs.close(fd)
            try fs.rename("/config.tmp", "/config")
            #expect(fs.contents(of: "/config") == Self.payload)
            fs.crash()
            let after = try #require(fs.contents(of: "/config"), "seed \(seed): replaced file vanished")
            #expect(after == old || after == Self.payload, "seed \(seed): \(after)")
            outcomes.insert(after)
        }
        #expect(outcomes == [old, Self.payload])
    }

    @Test func atomicReplaceWithDirectoryFsyncAlwaysHasTheNewContent() throws {
        for seed in Self.seeds {
            let fs = SimulatedFileSystem(seed: seed)
            try fs.writeFileAtomically("/config", Array("old".utf8))
            try fs.writeFileAtomically("/config", Self.payload)
            fs.crash()
            #expect(fs.contents(of: "/config") == Self.payload, "seed \(seed)")
            #expect(!fs.exists("/config.tmp"), "seed \(seed)")
        }
    }

    @Test func renamedDurableFileIsUnderExactlyOneName() throws {
        var underOld = false
        var underNew = false
        for seed in Self.seeds {
            let fs = SimulatedFileSystem(seed: seed)
            try createDurably(fs, "/a", Self.payload)
            try fs.rename("/a", "/b")
            fs.crash()
            #expect(fs.exists("/a") != fs.exists("/b"), "seed \(seed): rename must be atomic across a crash")
            underOld = underOld || fs.exists("/a")
            underNew = underNew || fs.exists("/b")
        }
        #expect(underOld && underNew)
    }

    @Test func unlinkWithoutDirectoryFsyncMayBeUndone() throws {
        var cameBack = false
        for seed in Self.seeds {
            let fs = SimulatedFileSystem(seed: seed)
            try createDurably(fs, "/gone", Self.payload)
            try fs.unlink("/gone")
            #expect(!fs.exists("/gone"))
            fs.crash()
            if let after = fs.contents(of: "/gone") {
                #expect(after == Self.payload)
                cameBack = true
            }
        }
        #expect(cameBack)
    }

    // MARK: - Injected faults

    @Test func failedFsyncThenSuccessfulFsyncStillLosesTheData() throws {
        for seed in UInt64(0)..<50 {
            let fs = SimulatedFileSystem(seed: seed)
            try createDurably(fs, "/wal", [])
            let fd = try fs.open("/wal", .readWrite)
            try fs.writeAll(fd, Self.payload, at: 0)
            fs.faultPlan.failSync(.once)
            #expect(errnoOf { try fs.fsync(fd) } == 5)
            #expect(fs.contents(of: "/wal") == Self.payload, "the page cache still shows the write")
            try fs.fsync(fd)  // fsyncgate: "succeeds" without writing the poisoned pages
            #expect(fs.durableContents(of: "/wal") == [])
            fs.crash()
            #expect(fs.contents(of: "/wal") == [], "seed \(seed): data behind a failed fsync must be lost")
            #expect(fs.faultLog.contains { $0.contains("fsyncgate") })
        }
    }

    @Test func rewritingAfterFailedFsyncMakesTheDataDurable() throws {
        let fs = SimulatedFileSystem(seed: 7)
        try createDurably(fs, "/wal", [])
        let fd = try fs.open("/wal", .readWrite)
        try fs.writeAll(fd, Self.payload, at: 0)
        fs.faultPlan.failSync(.once)
        #expect(errnoOf { try fs.fdatasync(fd) } == 5)
        try fs.writeAll(fd, Self.payload, at: 0)
        try fs.fdatasync(fd)
        #expect(fs.durableContents(of: "/wal") == Self.payload)
        fs.crash()
        #expect(fs.contents(of: "/wal") == Self.payload)
    }

    @Test func syncFailsForeverWhenAskedTo() throws {
        let fs = SimulatedFileSystem(seed: 1)
        let fd = try fs.open("/f", .createExclusive(permissions: 0o644))
        fs.faultPlan.failSync(.forever)
        for _ in 0..<5 { #expect(errnoOf { try fs.fsync(fd) } == 5) }
        #expect(errnoOf { try fs.fsyncDirectory("/") } == 5)
        fs.faultPlan = .none
        try fs.fsync(fd)
    }

    @Test func enospcWritesNothing() throws {
        let fs = SimulatedFileSystem(seed: 2)
        let fd = try fs.open("/f", .createExclusive(permissions: 0o644))
        try fs.writeAll(fd, [1, 2, 3], at: 0)
        fs.faultPlan.failWrites(errno: 28, .once)
        #expect(errnoOf { try fs.writeAll(fd, Self.payload, at: 3) } == 28)
        #expect(try fs.size(fd) == 3)
        #expect(fs.contents(of: "/f") == [1, 2, 3])
        try fs.writeAll(fd, Self.payload, at: 3)  // .once: the next write goes through
        #expect(fs.contents(of: "/f") == [1, 2, 3] + Self.payload)
        #expect(fs.faultLog.contains { $0.contains("ENOSPC") })
    }

    @Test func writeFaultsCanTargetPaths() throws {
        let fs = SimulatedFileSystem(seed: 3)
        fs.faultPlan.failWrites(errno: 5, .forever, paths: .suffix(".seg"))
        let segment = try fs.open("/0001.seg", .createExclusive(permissions: 0o644))
        let index = try fs.open("/0001.idx", .createExclusive(permissions: 0o644))
        #expect(errnoOf { try fs.writeAll(segment, Self.payload, at: 0) } == 5)
        #expect(errnoOf { try fs.writeAll(segment, Self.payload, at: 0) } == 5)
        try fs.writeAll(index, Self.payload, at: 0)
        #expect(fs.contents(of: "/0001.seg") == [])
        #expect(fs.contents(of: "/0001.idx") == Self.payload)
    }

    @Test func shortWritesHappenAndWriteAllStillCompletes() throws {
        let fs = SimulatedFileSystem(seed: 4)
        fs.faultPlan.shortWriteProbability = 1
        let big = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let fd = try fs.open("/big", .createExclusive(permissions: 0o644))
        let written = try big.withUnsafeBytes { raw in try fs.pwrite(fd, raw, at: 0) }
        #expect(written > 0 && written < big.count)
        #expect(fs.contents(of: "/big") == Array(big.prefix(written)))
        try fs.writeAll(fd, big, at: 0)
        #expect(fs.contents(of: "/big") == big)
        #expect(fs.faultLog.contains { $0.contains("short write") })
    }

    // MARK: - Crash points

    @Test func crashPointStopsEveryLaterOperation() throws {
        let probe = SimulatedFileSystem(seed: 5)
        try workload(probe)
        let total = probe.mutatingOperationCount
        #expect(total >= 12)

        for point in 0..<total {
            let fs = SimulatedFileSystem(seed: UInt64(point))
            fs.crashAfterOperations = point
            #expect(errnoOf { try workload(fs) } == SimulatedFileSystem.crashErrno, "crash point \(point)")
            #expect(fs.isCrashed)
            #expect(fs.mutatingOperationCount == point + 1)
            // The machine is dead: reads fail too, and nothing more is counted.
            #expect(errnoOf { _ = try fs.stat("/") } == SimulatedFileSystem.crashErrno)
            #expect(errnoOf { _ = try fs.listDirectory("/") } == SimulatedFileSystem.crashErrno)
            #expect(errnoOf { _ = try fs.open("/db/log", .readOnly) } == SimulatedFileSystem.crashErrno)
            #expect(errnoOf { try fs.makeDirectory("/later") } == SimulatedFileSystem.crashErrno)
            #expect(fs.mutatingOperationCount == point + 1)

            fs.crash()
            #expect(!fs.isCrashed)
            #expect(fs.openDescriptorCount == 0)
            // writeFileAtomically's promise holds at every crash point: absent or whole.
            if let meta = fs.contents(of: "/db/meta") { #expect(meta == Array("v1".utf8), "crash point \(point)") }
            try fs.makeDirectories("/after")  // the same object runs again
            #expect(fs.exists("/after"))
        }

        let complete = SimulatedFileSystem(seed: 5)
        complete.crashAfterOperations = total
        try workload(complete)
        #expect(!complete.isCrashed)
    }

    @Test func armCrashCountsFromNow() throws {
        let fs = SimulatedFileSystem(seed: 6)
        try fs.makeDirectory("/a")
        fs.armCrash(afterOperations: 1)
        try fs.makeDirectory("/b")
        #expect(errnoOf { try fs.makeDirectory("/c") } == SimulatedFileSystem.crashErrno)
        #expect(fs.faultLog.contains { $0.contains("power lost") })
    }

    @Test func crashInvalidatesDescriptors() throws {
        let fs = SimulatedFileSystem(seed: 8)
        try createDurably(fs, "/f", Self.payload)
        let fd = try fs.open("/f", .readWrite)
        fs.crash()
        #expect(errnoOf { try fs.writeAll(fd, [1], at: 0) } == 9)
        #expect(errnoOf { _ = try fs.size(fd) } == 9)
        #expect(fs.contents(of: "/f") == Self.payload)
    }

    // MARK: - Locks

    @Test func flockIsExclusiveBetweenOpenFileDescriptions() throws {
        let fs = SimulatedFileSystem(seed: 9)
        let first = try fs.open("/LOCK", .createOrOpen(permissions: 0o644))
        let second = try fs.open("/LOCK", .readWrite)
        #expect(try fs.lock(first, nonBlocking: true))
        #expect(try fs.lock(first, nonBlocking: true), "the holder may lock again")
        #expect(try fs.lock(second, nonBlocking: true) == false)
        #expect(errnoOf { _ = try fs.lock(second, nonBlocking: false) } == 11)
        fs.unlock(first)
        #expect(try fs.lock(second, nonBlocking: true))
        #expect(try fs.lock(first, nonBlocking: true) == false)
        fs.close(second)
        #expect(try fs.lock(first, nonBlocking: true), "close releases the lock")

        fs.crash()
        let third = try fs.open("/LOCK", .createOrOpen(permissions: 0o644))
        #expect(try fs.lock(third, nonBlocking: true), "a crash forgets every lock")
    }

    // MARK: - Determinism

    @Test func sameSeedSameDisk() throws {
        var distinct: Set<[[UInt8]?]> = []
        for seed in UInt64(0)..<20 {
            let one = try crashedChurn(seed: seed)
            let two = try crashedChurn(seed: seed)
            #expect(one.files == two.files, "seed \(seed)")
            #expect(one.log == two.log, "seed \(seed)")
            distinct.insert(one.files)
        }
        #expect(distinct.count > 1, "different seeds must give different crashes")
    }

    // MARK: - POSIX semantics

    @Test func errnoAndPathSemantics() throws {
        let fs = SimulatedFileSystem(seed: 10)
        try fs.makeDirectory("/d")
        let fd = try fs.open("//d/./f/", .createExclusive(permissions: 0o640))
        try fs.writeAll(fd, Self.payload, at: 0)
        #expect(fs.contents(of: "/d/f") == Self.payload)
        #expect(fs.contents(of: "d/f") == Self.payload, "relative paths are relative to /")

        #expect(errnoOf { _ = try fs.open("/d/missing", .readOnly) } == 2)
        #expect(errnoOf { _ = try fs.open("/nope/f", .createOrOpen(permissions: 0o644)) } == 2)
        #expect(errnoOf { _ = try fs.open("/d/f", .createExclusive(permissions: 0o644)) } == 17)
        #expect(errnoOf { try fs.makeDirectory("/d") } == 17)
        #expect(errnoOf { try fs.makeDirectory("/") } == 17)
        #expect(errnoOf { try fs.link("/d/f", "/d/f") } == 17)
        #expect(errnoOf { _ = try fs.open("/d/f/x", .createOrOpen(permissions: 0o644)) } == 20)
        #expect(errnoOf { _ = try fs.open("/d/f", .directory) } == 20)
        #expect(errnoOf { _ = try fs.open("/d", .readWrite) } == 21)
        #expect(errnoOf { try fs.unlink("/d") } == 21)
        #expect(errnoOf { try fs.rename("/d/f", "/d") } == 21)
        #expect(errnoOf { try fs.rename("/d/missing", "/d/g") } == 2)
        #expect(errnoOf { try fs.rename("/d", "/d/sub") } == 22)

        let reader = try fs.open("/d/f", .readOnly)
        #expect(errnoOf { try fs.writeAll(reader, [1], at: 0) } == 9)
        #expect(errnoOf { try fs.truncate(reader, to: 0) } == 22)

        let status = try #require(try fs.stat("/d/f"))
        #expect(status.size == Int64(Self.payload.count))
        #expect(!status.isDirectory)
        #expect(status.permissions == 0o640)
        try fs.setMode("/d/f", 0o444)
        #expect(try fs.stat("/d/f")?.permissions == 0o444)
        #expect(try fs.stat("/d/missing") == nil)
        #expect(try fs.stat("/d/f/x") == nil)
        #expect(try fs.stat("/")?.isDirectory == true)

        try fs.link("/d/f", "/d/b")
        try fs.rename("/d/b", "/d/a")
        #expect(try fs.listDirectory("/d") == ["a", "f"])
        #expect(try fs.stat("/d/a")?.inode == status.inode)

        // An unlinked file stays usable through an open descriptor.
        try fs.unlink("/d/f")
        try fs.unlink("/d/a")
        #expect(!fs.exists("/d/f"))
        try fs.writeAll(fd, [9], at: 0)
        #expect(try fs.read(fd, count: 3, at: 0) == [9] + Array(Self.payload[1..<3]))
        #expect(try fs.listDirectory("/d") == [])
    }

    @Test func renameReplacesTargetAtomically() throws {
        let fs = SimulatedFileSystem(seed: 11)
        try createDurably(fs, "/target", Array("old".utf8))
        try createDurably(fs, "/source", Self.payload)
        let held = try fs.open("/target", .readOnly)
        try fs.rename("/source", "/target")
        #expect(fs.contents(of: "/target") == Self.payload)
        #expect(!fs.exists("/source"))
        #expect(try fs.read(held, count: 3, at: 0) == Array("old".utf8), "the replaced file lives on while open")
    }
}

// MARK: - Helpers

/// The errno `body` failed with, or nil when it succeeded.
private func errnoOf(_ body: () throws -> Void) -> Int32? {
    do {
        try body()
        return nil
    } catch let error as SystemError {
        return error.errno
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

/// Creates `path` holding `bytes`, then fsyncs the file and its directory: after this, crashes keep it.
private func createDurably(_ fs: SimulatedFileSystem, _ path: String, _ bytes: [UInt8]) throws(SystemError) {
    let fd = try fs.open(path, .createExclusive(permissions: 0o644))
    defer { fs.close(fd) }
    try fs.writeAll(fd, bytes, at: 0)
    try fs.fsync(fd)
    try fs.fsyncDirectory(directoryName(of: path))
}

/// A small workload that makes every kind of mutating call.
private func workload(_ fs: SimulatedFileSystem) throws(SystemError) {
    try fs.makeDirectories("/db")
    let fd = try fs.open("/db/log", .createOrOpen(permissions: 0o644))
    defer { fs.close(fd) }
    try fs.writeAll(fd, Array("record-1".utf8), at: 0)
    try fs.fdatasync(fd)
    try fs.fsyncDirectory("/db")
    try fs.writeFileAtomically("/db/meta", Array("v1".utf8))
    try fs.setMode("/db/meta", 0o444)
    try fs.link("/db/log", "/db/log.bak")
    try fs.unlink("/db/log.bak")
    try fs.truncate(fd, to: 4)
}

/// Many unsynced writes over three files, then a crash: the surviving contents and the fault log.
private func crashedChurn(seed: UInt64) throws -> (files: [[UInt8]?], log: [String]) {
    let fs = SimulatedFileSystem(seed: seed)
    let names = ["/a", "/b", "/c"]
    for name in names { try createDurably(fs, name, []) }
    let fds = try names.map { try fs.open($0, .readWrite) }
    for round in 0..<30 {
        try fs.writeAll(fds[round % 3], [UInt8](repeating: UInt8(round), count: 700), at: Int64(round * 600))
    }
    try fs.rename("/c", "/d")
    fs.crash()
    return ((names + ["/d"]).map { fs.contents(of: $0) }, fs.faultLog)
}
