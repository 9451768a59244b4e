import Foundation
import StorageTesting
import Testing

@testable import EventLog

/// `Catalog.add` on a CATALOG read from disk merges into the encoded stream table; it must produce exactly
/// what the decoded path produces.
struct CatalogMergeTests {
    @Test func mergingIntoTheEncodedTableEqualsTheDecodedPath() throws {
        let fs = try simulatedStore(seed: 3)
        let log = try EventLog(root: "/s/.aibrain", fs: fs, options: OpenOptions(autoSeal: false))
        // Streams that sort before, between and after the existing ones, shared and new, and one name in
        // NFC and NFD (canonically equivalent as Swift Strings, two names in the byte-ordered table).
        let rounds: [[String]] = [
            ["task/M", "task/C", "item/7"], ["task/M", "task/A", "ko/x"], ["task/Z", "task/C", "item/7", "task/B"],
            ["zz", "task/M", Self.nfc], ["task/Ä", "task/A", "a", Self.nfd, Self.nfc],
        ]
        var n = 0
        for streams in rounds {
            try log.append(
                streams.map { s in
                    n += 1
                    return draft("e\(n)", stream: s)
                })
            try log.seal()
        }
        let dir = "/s/.aibrain/log/" + testOrigin.hex
        let segs = try fs.listDirectory(dir).filter { $0.hasSuffix(".seg") }.sorted().map {
            try SealedSegment(fs: fs, path: dir + "/" + $0)
        }
        #expect(segs.count == rounds.count)
        var decoded = Catalog()
        for s in segs { decoded.add(s) }
        for k in 0..<segs.count {
            var prefix = Catalog()
            for s in segs[..<k] { prefix.add(s) }
            var merged = try Catalog.decode(prefix.encode())
            for s in segs[k...] { merged.add(s) }
            #expect(merged.encode() == decoded.encode(), "merging from segment \(k)")
            #expect(merged == decoded)
            #expect(merged.segments(ofStream: "task/C") == [0, 2])
            #expect(merged.segments(ofStream: Self.nfd) == [4] && merged.segments(ofStream: Self.nfc) == [3, 4])
        }
        #expect(decoded.streamCount == 12)
    }

    static let nfc = "task/caf\u{E9}"
    static let nfd = "task/cafe\u{301}"

    /// A history by name never returns the events of a canonically equivalent name (sealed or open).
    @Test func equivalentNamesStayApartInHistories() throws {
        let fs = try simulatedStore(seed: 4)
        let log = try EventLog(root: "/s/.aibrain", fs: fs, options: OpenOptions(autoSeal: false))
        try log.append([draft("c1", stream: Self.nfc), draft("d1", stream: Self.nfd)])
        #expect(try log.history(stream: Self.nfc).map(\.eventID) == ["c1"], "open segment")
        try log.seal()
        try log.append([draft("d2", stream: Self.nfd)])
        #expect(try log.history(stream: Self.nfc).map(\.eventID) == ["c1"], "sealed")
        #expect(try log.history(stream: Self.nfd).map(\.eventID) == ["d1", "d2"], "sealed and open")
        let reopened = try EventLog(root: "/s/.aibrain", fs: fs, options: OpenOptions(readOnly: true))
        #expect(try reopened.history(stream: Self.nfd).map(\.eventID) == ["d1", "d2"], "through CATALOG")
    }
}
