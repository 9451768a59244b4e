import Foundation
import StorageTesting
import Testing

@testable import EventLog
@testable import Shipping

/// The manifest and quarantine report formats are pinned (fixtures/ship/) and match their JSON Schemas.
@Suite struct ManifestTests {
    static let originA = OriginID(hex: "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a")!
    static let originB = OriginID(hex: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")!

    /// Two reproducible stores: A with two sealed segments, B holding A's first one.
    func stores() throws -> (ShipStore, ShipStore, SimulatedFileSystem, ManualClock) {
        let fs = SimulatedFileSystem(seed: 1)
        let clock = ManualClock()
        let a = try ShipStore(
            root: "/a/.aibrain", fs: fs, origin: Self.originA, clock: clock, name: "orchestrator", idPrefix: "a")
        let b = try ShipStore(
            root: "/b/.aibrain", fs: fs, origin: Self.originB, clock: clock, name: "credentialmate", idPrefix: "b")
        try a.emit(3)
        clock.advance(1000)
        try a.emit(2)
        try b.emit(1)
        try b.receive(from: a, [try a.segments()[0]])
        var adopter = b.adopter()
        adopter.clock = { 1_767_225_700_000 }
        _ = try adopter.run()
        return (a, b, fs, clock)
    }

    @Test func theManifestIsPinnedAndMatchesItsSchema() throws {
        let (_, b, fs, _) = try stores()
        let m = try Manifest.local(root: b.root, fs: fs)
        #expect(m.origins.map(\.origin) == [Self.originA.hex, Self.originB.hex])
        #expect(m.origins[0].segments == 1 && m.origins[0].events == 3 && m.origins[1].events == 1)
        let bytes = m.encoded()
        let pinned = try pinnedFixture("ship/manifest.json", current: bytes)
        #expect(
            String(decoding: bytes, as: UTF8.self) == String(decoding: pinned, as: UTF8.self),
            "see fixtures/ship/manifest.json")
        #expect(try Manifest.decode(pinned, path: "fixtures/ship/manifest.json") == m)
        #expect(try schemaErrors("manifest.schema.json", [packageRoot + "/fixtures/ship/manifest.json"]) == "")
    }

    @Test func theQuarantineReportIsPinnedAndMatchesItsSchema() throws {
        let (a, b, fs, clock) = try stores()
        let twin = try ShipStore(
            root: "/twin/.aibrain", fs: fs, origin: Self.originA, clock: clock, name: "twin", idPrefix: "t")
        try twin.emit(3)
        try b.receive(from: twin)
        var adopter = b.adopter()
        adopter.clock = { 1_767_225_700_000 }
        let r = try adopter.run()
        let q = try #require(r.arrivals.first?.quarantinedAs)
        let bytes = try fs.readFile(b.root + "/" + q + ".json")
        let pinned = try pinnedFixture("ship/quarantine-report.json", current: bytes)
        #expect(
            String(decoding: bytes, as: UTF8.self) == String(decoding: pinned, as: UTF8.self),
            "see fixtures/ship/quarantine-report.json")
        #expect(
            try schemaErrors("quarantine-report.schema.json", [packageRoot + "/fixtures/ship/quarantine-report.json"])
                == "")
        _ = a
    }

    @Test func aBadManifestIsNamedNeverFatal() throws {
        #expect {
            _ = try Manifest.decode(Array("{\"format\":".utf8), path: "incoming/x.manifest.json")
        } throws: { e in
            (e as? ShipError)?.message.contains("incoming/x.manifest.json does not parse") == true
        }
        let future =
            #"{"format":"aibrain-manifest","version":2,"store":"0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a","name":"x","origins":[]}"#
        #expect {
            _ = try Manifest.decode(Array(future.utf8), path: "m.json")
        } throws: { e in
            (e as? ShipError)?.message.contains("version 2; this build reads version 1") == true
        }
        // In adoption, a broken manifest is reported and the segments are still adopted.
        let (a, b, fs, _) = try stores()
        try fs.writeFileAtomically(b.root + "/incoming/\(a.origin.hex).manifest.json", Array("not json".utf8))
        try b.receive(from: a)
        let r = try b.adopter().run()
        #expect(r.count(.adopted) == 1 && r.manifestErrors.count == 1)
    }
}

@Suite struct SyncComparisonTests {
    func seal(_ first: UInt64, _ last: UInt64, _ hash: String) -> Manifest.Seal {
        Manifest.Seal(
            name: SegmentName.make(epoch: 1, firstLSN: first, sealed: true), firstLSN: first, lastLSN: last,
            lastHLC: last, bytes: 100, sealHash: String(repeating: hash, count: 64))
    }

    func manifest(_ seals: [Manifest.Seal]) -> Manifest {
        var o = Manifest.Origin(origin: ManifestTests.originA, entries: [])
        o.seals = seals
        o.segments = seals.count
        return Manifest(store: ManifestTests.originB, name: "x", origins: [o])
    }

    @Test func inSyncBehindAheadAndForked() {
        let s1 = seal(1, 10, "a")
        let s2 = seal(11, 20, "b")
        let s3 = seal(21, 30, "c")
        #expect(SyncComparison(ours: manifest([s1, s2]), theirs: manifest([s1, s2])).inSync)
        #expect(
            SyncComparison(ours: manifest([s1]), theirs: manifest([s1, s2, s3])).rows[0].state == .behind(segments: 2))
        #expect(SyncComparison(ours: manifest([s1, s2]), theirs: manifest([s1])).rows[0].state == .ahead(segments: 1))
        let other = seal(11, 20, "d")
        let c = SyncComparison(ours: manifest([s1, s2, s3]), theirs: manifest([s1, other]))
        #expect(c.forked)
        guard case .forked(let lsn, let os, let oh, _, let th) = c.rows[0].state else {
            Issue.record("expected a fork")
            return
        }
        #expect(lsn == 11 && os == s2.name && oh == s2.sealHash && th == other.sealHash)
        // Different segment boundaries over the same LSNs are a fork too.
        let longer = seal(11, 25, "b")
        #expect(SyncComparison(ours: manifest([s1, s2]), theirs: manifest([s1, longer])).forked)
        // A peer holding more of this store's own origin than this store: not "behind", a conflict.
        var own = manifest([s1, s2])
        own.store = ManifestTests.originA.hex
        var mine = manifest([s1])
        mine.store = ManifestTests.originA.hex
        let conflict = SyncComparison(ours: mine, theirs: own)
        #expect(conflict.rows[0].state == .ownOriginAhead(segments: 1) && conflict.forked)
        // An origin only one side holds.
        let empty = Manifest(store: ManifestTests.originB, name: "x", origins: [])
        #expect(SyncComparison(ours: empty, theirs: manifest([s1])).rows[0].state == .behind(segments: 1))
    }
}

@Suite struct PeerTests {
    @Test func peersFollowRsyncsSyntax() throws {
        let local = try Peer(parsing: "../repo", workingDirectory: "/work/app")
        #expect(local.isLocal && local.storePath == "/work/repo/.aibrain")
        #expect(try Peer(parsing: "/x/y/.aibrain/", workingDirectory: "/").storePath == "/x/y/.aibrain")
        let remote = try Peer(parsing: "ops@build-1:repos/cm", workingDirectory: "/w")
        #expect(
            remote.host == "ops@build-1" && remote.rsyncPath("incoming") == "ops@build-1:repos/cm/.aibrain/incoming")
        #expect(try Peer(parsing: "host:", workingDirectory: "/w").rsyncPath("") == "host:.aibrain")
        // A colon after a slash is part of a local path.
        #expect(try Peer(parsing: "./a:b", workingDirectory: "/w").storePath == "/w/a:b/.aibrain")
        let v6 = try Peer(parsing: "[fe80::1]:repo", workingDirectory: "/w")
        #expect(v6.host == "[fe80::1]" && v6.rsyncPath("") == "[fe80::1]:repo/.aibrain")
        for bad in ["", "rsync://h/m", "h::module", ":path", "-e sh:x"] {
            #expect(throws: ShipError.self, "\(bad)") { try Peer(parsing: bad, workingDirectory: "/w") }
        }
    }
}
