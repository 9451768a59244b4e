import Foundation
import StorageTesting
import Testing

@testable import EventLog

/// The golden store: written with a fixed clock, origin and segment ids, so its bytes are stable.
/// Any change to the format shows as a diff of `fixtures/golden-v1/` (regenerate with
/// `AIBRAIN_UPDATE_FIXTURES=1 swift test --filter Golden`).
enum Golden {
    static let drafts: [EventDraft] = [
        EventDraft(
            eventID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", type: "session.checkpointed", stream: "task/TASK-123",
            keys: ["session/S-1"], actor: "claude-dev-1", team: "dev", occurredAt: "2026-02-07T10:15:00Z",
            payload: Array(
                #"{"iteration":1,"verdict":"PASS","summary":"tests pass","cost":{"tokens_in":1200,"usd":0.0123}}"#.utf8)
        ),
        EventDraft(
            eventID: "wi-7:claimed", type: "work_item.transitioned", typeVersion: 1, stream: "task/TASK-123",
            keys: ["item/WI-7"], actor: "claude-qa", team: "qa", correlationID: "corr-1",
            payload: Array(#"{"from":"pending","to":"claimed","retry_count":0}"#.utf8)),
        EventDraft(
            eventID: "decision-1", type: "decision.recorded", stream: "task/TASK-123", actor: "claude-lead",
            team: "dev",
            causationID: "wi-7:claimed", provenance: "decisions/TASK-123.jsonl:1",
            payload: Array(#"{"kind":"GUARDRAIL_OVERRIDE","value":"allow_external_api","severity":"medium"}"#.utf8)),
    ]
    static let openDrafts: [EventDraft] = [
        EventDraft(
            eventID: "ko-1:consulted", type: "ko.consulted", stream: "ko/KO-cm-001", keys: ["task/TASK-123"],
            actor: "claude-dev-1", team: "dev", payload: Array(#"{"rank":1}"#.utf8)),
        EventDraft(
            eventID: "outcome-1", type: "task.outcome", stream: "task/TASK-123",
            payload: Array(#"{"success":true}"#.utf8)),
    ]

    /// Writes the golden store on a simulated file system; returns (fs, sealed path, open path).
    static func build() throws -> (SimulatedFileSystem, String, String) {
        let fs = try simulatedStore(seed: 7)
        let clock = ManualClock()
        let ids = CountingSegmentIDs(first: 0x5E)
        let log = try EventLog(
            root: "/s/.aibrain", fs: fs,
            options: OpenOptions(clock: clock.function, preallocationBytes: 256, segmentIDs: ids.function))
        try log.append([drafts[0]])
        clock.advance(5)
        try log.append(Array(drafts[1...]))
        try log.seal()
        clock.advance(5)
        try log.append(openDrafts)
        let dir = "/s/.aibrain/log/" + testOrigin.hex
        return (fs, dir + "/00000001-00000000000000000001.seg", dir + "/00000001-00000000000000000004.open")
    }

    static var directory: String { packageRoot + "/fixtures/golden-v1" }
}

@Suite struct GoldenFileTests {
    @Test func goldenFilesAreReproducedByteForByte() throws {
        let (fs, sealed, open) = try Golden.build()
        let sealedBytes = try #require(fs.contents(of: sealed))
        let openBytes = try #require(fs.contents(of: open))
        let dir = Golden.directory
        if ProcessInfo.processInfo.environment["AIBRAIN_UPDATE_FIXTURES"] == "1" {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data(sealedBytes).write(to: URL(fileURLWithPath: dir + "/sealed.seg"))
            try Data(openBytes).write(to: URL(fileURLWithPath: dir + "/open.open"))
            let log = try EventLog(root: "/s/.aibrain", fs: fs, options: OpenOptions(readOnly: true))
            let lines = try allEvents(log).map { String(decoding: EventJSON.line($0), as: UTF8.self) }
            try (lines.joined(separator: "\n") + "\n").write(
                toFile: dir + "/events.jsonl", atomically: true, encoding: .utf8)
        }
        let goldenSealed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/sealed.seg")))
        let goldenOpen = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/open.open")))
        #expect(sealedBytes == goldenSealed, "sealed segment format changed: update FORMAT.md and regenerate fixtures")
        #expect(openBytes == goldenOpen, "open segment format changed: update FORMAT.md and regenerate fixtures")
    }

    func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
    func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * $1) } }

    @Test func sealedGoldenDecodesByteByByte() throws {
        let b = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Golden.directory + "/sealed.seg")))
        // Header.
        #expect(Array(b[0..<8]) == Array("AIBLOG\r\n".utf8))
        #expect(u16(b, 8) == 1)  // format version
        #expect(b[10] == 2)  // kind: sealed
        #expect(b[11] == 1)  // codec: LZ4 frame
        #expect(b[12] == 0)  // cipher
        #expect(u32(b, 16) == 0)  // key version
        #expect(u32(b, 20) == 0 && u32(b, 24) == 0)  // feature flags
        #expect(u32(b, 28) == 1)  // epoch
        #expect(Array(b[32..<48]) == testOrigin.bytes)
        #expect(Array(b[48..<64]) == [0x5E] + [UInt8](repeating: 0, count: 14) + [1])  // segment id
        #expect(u64(b, 64) == 1)  // first LSN
        #expect(u64(b, 72) == 1_767_225_600_000)  // created at
        #expect(u64(b, 88) == XXH3.hash(Array(b[0..<88])))
        #expect(b[96..<128].allSatisfy { $0 == 0 })
        // First block at 128.
        #expect(u32(b, 128) == 0x4B42_4941)
        let blockLength = Int(u32(b, 132))
        #expect(u64(b, 136) == XXH3.hash(Array(b[(128 + 16)..<(128 + blockLength)])))
        #expect(u64(b, 144) == 1 && u32(b, 152) == 3)  // first LSN, count
        #expect(u16(b, 184) == 2)  // regions: dev, qa
        // Trailer.
        let t = b.count - 256
        #expect(Array(b[(t + 248)...]) == Array("AIBSEAL1".utf8))
        #expect(u64(b, t + 240) == XXH3.hash(Array(b[t..<(t + 240)])))
        let footerOffset = Int(u64(b, t))
        let footerLength = Int(u32(b, t + 8))
        #expect(footerOffset == 128 + blockLength)
        #expect(footerOffset + footerLength == t)
        #expect(Array(b[(t + 16)..<(t + 48)]) == SHA256Digest.hash(Array(b[footerOffset..<t])))
        // Footer.
        let f = footerOffset
        #expect(u32(b, f) == 0x4642_4941 && u32(b, f + 4) == 1)
        #expect(u64(b, f + 8) == 3 && u64(b, f + 16) == 1 && u64(b, f + 24) == 3)
        #expect(b[(f + 72)..<(f + 104)].allSatisfy { $0 == 0 })  // first segment: no previous seal
        #expect(Array(b[(f + 136)..<(f + 168)]) == SHA256Digest.hash(Array(b[0..<footerOffset])))
        let merkleRoot = Array(b[(f + 168)..<(f + 200)])  // checked against the records below
        #expect(u32(b, f + 200) == 1)  // one block
        // Decoded records equal the drafts.
        let fs = try simulatedStore(seed: 1)
        let path = "/golden.seg"
        let fd = try fs.open(path, .createExclusive(permissions: 0o644))
        try fs.writeAll(fd, b, at: 0)
        fs.close(fd)
        let seg = try SealedSegment(fs: fs, path: path)
        let block = try seg.decodeBlock(0, decompressor: LZ4Frame.Decompressor())
        for i in 0..<3 {
            let e = block.event(i, origin: testOrigin, epoch: 1)
            #expect(e.draft == Golden.drafts[i])
            #expect(e.lsn == UInt64(i + 1))
        }
        #expect(seg.lsns(of: "task/TASK-123") == [1, 2, 3])
        #expect(seg.lsns(of: "item/WI-7") == [2])
        // The Merkle root (footer 168): RFC 6962 over the logical records, written out here for 3 leaves:
        // leaf = SHA-256(0x00 ‖ envelope with byte 6 zeroed ‖ u8 team length ‖ team ‖ payload), and
        // root = SHA-256(0x01 ‖ SHA-256(0x01 ‖ leaf0 ‖ leaf1) ‖ leaf2).
        let leaves = (0..<3).map { i in
            block.withRecord(i) { view, env, payload in
                var entry = Array(view.bytes(in: env))
                entry[6] = 0
                let team = Array(block.teams[Int(block.payloadRegion[i])].utf8)
                return SHA256Digest.hash([0x00] + entry + [UInt8(team.count)] + team + Array(payload))
            }
        }
        let left = SHA256Digest.hash([0x01] + leaves[0] + leaves[1])
        #expect(merkleRoot == SHA256Digest.hash([0x01] + left + leaves[2]))
    }

    @Test func openGoldenDecodesByteByByte() throws {
        let b = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Golden.directory + "/open.open")))
        #expect(Array(b[0..<8]) == Array("AIBLOG\r\n".utf8))
        #expect(b[10] == 1 && b[11] == 0)  // kind open, no codec
        #expect(u64(b, 64) == 4)
        // The rewritable area: reserved, and no successor (the readers' watermark lives in LOCK).
        #expect(b[96..<128].allSatisfy { $0 == 0 })
        let batchLength = Int(u32(b, 132))
        // The batch.
        #expect(u32(b, 128) == 0x4242_4941)
        #expect(batchLength % 8 == 0)
        #expect(u64(b, 136) == XXH3.hash(Array(b[144..<(128 + batchLength)])))
        #expect(u64(b, 144) == 4 && u32(b, 152) == 2)
        #expect(u64(b, 160) < u64(b, 168) || u32(b, 152) == 1)  // first HLC < last HLC
        let envelopeLength = Int(u32(b, 176))
        #expect(u16(b, 180) == 2)  // regions: dev, "" (no team)
        // Region table: u32 bytes, u8 team length, team.
        #expect(
            u32(b, 184) == UInt32(Golden.openDrafts[0].payload.count) && b[188] == 3
                && Array(b[189..<192]) == Array("dev".utf8))
        #expect(u32(b, 192) == UInt32(Golden.openDrafts[1].payload.count) && b[196] == 0)
        // First envelope at 197.
        let e = 197
        #expect(Int(u16(b, e)) <= envelopeLength)
        #expect(b[e + 3] == 1)  // one key, text event id
        #expect(u16(b, e + 4) == 1)  // type version
        #expect(b[e + 6] == 0)  // region 0
        #expect(u64(b, e + 8) >> 16 == 1_767_225_600_010)  // HLC physical part = clock
        #expect(Int64(bitPattern: u64(b, e + 16)) == 1_767_225_600_010)  // recorded at
        #expect(u32(b, e + 24) == UInt32(Golden.openDrafts[0].payload.count))
        #expect(
            b[e + 28] == UInt8("ko-1:consulted".utf8.count)
                && Array(b[(e + 29)..<(e + 43)]) == Array("ko-1:consulted".utf8))
        // Everything after the batch is preallocated zeros.
        #expect(b[(128 + batchLength)...].allSatisfy { $0 == 0 })
    }

    @Test func xxh3MatchesXxhsum() throws {
        let xxhsum = try requireTool("xxhsum")
        let dir = temporaryDirectory()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Golden.directory + "/sealed.seg")))
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/x.bin"))
        let out = try runTool(xxhsum, ["-H3", dir + "/x.bin"])
        #expect(out.status == 0)
        #expect(out.stdout.contains("= \(hex64(XXH3.hash(bytes)))"), "xxhsum said: \(out.stdout)")
    }

    @Test func lz4FrameFromASealedSegmentDecodesWithTheLz4Tool() throws {
        let lz4 = try requireTool("lz4")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Golden.directory + "/sealed.seg")))
        let layout = try bytes.withUnsafeBytes { raw in
            try BlockLayout.parse(UnsafeRawBufferPointer(rebasing: raw[128...]), fileOffset: 128, path: "golden")
        }
        let dir = temporaryDirectory()
        for (name, range, size) in [
            ("env", layout.envelopeFrame, layout.envelopeLength),
            ("pay0", layout.regionFrames[0], layout.regionLengths[0]),
        ] {
            let frame = Array(bytes[(128 + range.lowerBound)..<(128 + range.upperBound)])
            try Data(frame).write(to: URL(fileURLWithPath: dir + "/\(name).lz4"))
            let out = try runTool(lz4, ["-d", "-f", dir + "/\(name).lz4", dir + "/\(name).raw"])
            #expect(out.status == 0, "lz4 -d failed: \(out.stderr)")
            let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/\(name).raw")))
            #expect(raw.count == size)
            var mine = [UInt8](repeating: 0, count: size)
            try frame.withUnsafeBytes { src in
                try mine.withUnsafeMutableBytes { dst in
                    try LZ4Frame.Decompressor().decompress(src, into: dst, expectedSize: size)
                }
            }
            #expect(raw == mine)
        }
    }
}
